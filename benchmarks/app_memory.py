"""Resident memory of the app process while it trains with a page polling it.

    python benchmarks/app_memory.py --minutes 20

Starts `streamlit run app.py` on a free localhost port (runs in a temporary folder), opens the
Train page in headless Chromium, starts a run with the form's defaults, keeps the page open (its
fragment polls every second) and prints the server's RSS every 30 s, then the growth.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=20)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    runs = Path(tempfile.mkdtemp(prefix="mem-"))
    shutil.copytree(ROOT / "checkpoints" / "demo-mnist", runs / "demo-mnist")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GANLIB_RUNS_DIR": str(runs), "GANLIB_AUTO_RESUME": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.goto(f"{url}/train")
            page.get_by_role("button", name="Start").click()
            page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
            start, readings = time.monotonic(), []
            while time.monotonic() - start < args.minutes * 60:
                readings.append((time.monotonic() - start, rss_mb(server.pid)))
                print(f"{readings[-1][0]:7.0f} s  RSS {readings[-1][1]:8.1f} MB", flush=True)
                time.sleep(30)
            page.get_by_role("button", name="Stop").click()
            browser.close()
    finally:
        server.terminate()
        server.wait(30)
    # Growth after the first minute (TensorFlow's graphs and the first checkpoint are built by then).
    settled = [mb for t, mb in readings if t >= 60] or [readings[-1][1]]
    print(
        f"RSS after 1 min {settled[0]:.1f} MB, at the end {readings[-1][1]:.1f} MB, growth {readings[-1][1] - settled[0]:+.1f} MB"
    )


if __name__ == "__main__":
    main()
