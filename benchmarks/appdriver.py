"""The real app, served and driven: ``streamlit run app.py`` on a free localhost port, and
Playwright in Debian's Chromium. Shared by the browser tests and the app benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path
    started: float  # time.monotonic() when `streamlit run` was launched

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(runs_dir: Path, log_path: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run the app on the runs in ``runs_dir`` until the block ends (no auto-resume)."""
    port = free_port()
    env = {**os.environ, "GANLIB_RUNS_DIR": str(runs_dir), "GANLIB_AUTO_RESUME": "0", **(env or {})}
    with open(log_path, "w") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"streamlit did not start:\n{log_path.read_text()}") from None
                    time.sleep(0.2)
            yield Server(url, process, log_path, started)
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def host_env(home: Path) -> dict[str, str]:
    """A free host's setting: demo mode, offline, an empty home with empty data and cache folders."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "GANLIB_DEMO": "1", "GANLIB_OFFLINE": "1", "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
        "GANLIB_DATA_DIR": str(home / "data"),
    }  # fmt: skip


def shipped_runs(folder: Path) -> Path:
    """A copy of the runs shipped in ``checkpoints/`` (what a host of the repository serves)."""
    for run in (ROOT / "checkpoints").iterdir():
        if run.is_dir():
            shutil.copytree(run, folder / run.name)
    return folder


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def settle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the app has rendered and no script run is in progress."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )
    page.wait_for_timeout(300)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (the app's training worker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pids_named(name: str) -> list[int]:
    """Every process whose command name contains ``name`` (e.g. Chromium's renderers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if name in (entry / "comm").read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def start_run_from_form(
    page, base_url: str, name: str, fields: dict[str, str] | None = None, start_from: str | None = None
) -> None:
    """Open the Train page (starting from the preset ``start_from``, if given), name the run,
    change ``fields`` (label: value), press Start and wait for the live panel (its Stop button)."""
    page.goto(f"{base_url}/train" + (f"?from={start_from}" if start_from else ""))
    page.get_by_role("button", name="Start", exact=True).wait_for(timeout=120_000)
    page.get_by_role("textbox", name="Run name (empty: automatic)").fill(name)
    for label, value in (fields or {}).items():
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Stop").wait_for(timeout=120_000)


def stop_run_from_page(page, base_url: str, name: str) -> None:
    """Open the Train page (if needed), press Stop and wait until the run says stopped."""
    if "/train" not in page.url:
        page.goto(f"{base_url}/train")
    page.get_by_role("button", name="Stop").click(timeout=120_000)
    page.get_by_text(f"{name} · stopped").wait_for(timeout=120_000)
