"""End to end in a real browser: `streamlit run app.py` driven by Playwright with Debian's Chromium.

Screenshots of every page go to tests/artifacts/ (the README's come from this test).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"

if not CHROMIUM.exists():
    if os.environ.get("GANLIB_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium is missing at /usr/bin/chromium: apt-get install chromium", pytrace=False)
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = tmp_path_factory.mktemp("browser-runs")
    shutil.copytree(ROOT / "checkpoints" / "demo-mnist", runs / "demo-mnist")
    port = _free_port()
    env = {**os.environ, "GANLIB_RUNS_DIR": str(runs), "GANLIB_AUTO_RESUME": "0"}
    log = open(tmp_path_factory.mktemp("log") / "streamlit.log", "w")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "streamlit did not start"
            time.sleep(0.3)
    yield url, runs
    process.terminate()
    process.wait(20)
    log.close()


@pytest.fixture(scope="module")
def page():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def _settle(page):
    page.wait_for_selector('[data-testid="stApp"]')
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
    )
    page.wait_for_timeout(500)


def _wait_count(page, selector, count, timeout=120_000):
    page.wait_for_function(
        f"() => document.querySelectorAll({selector!r}).length >= {count}", timeout=timeout
    )


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()


def test_every_page_renders(server, page):
    url, _ = server
    page.goto(url)
    _settle(page)
    table = page.locator('[data-testid="stDataFrame"]')
    table.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stDataFrame\"]').textContent.includes('demo-mnist')"
    )  # the grid is a canvas; its accessible cells hold the text
    _no_exception(page)
    _shot(page, "home")

    page.goto(f"{url}/gallery")
    _settle(page)
    _wait_count(page, '[data-testid="stImage"] img', 4)
    _no_exception(page)
    _shot(page, "gallery")

    page.goto(f"{url}/evaluate")
    _settle(page)
    _wait_count(page, ".js-plotly-plot", 5)
    _no_exception(page)
    _shot(page, "evaluate")


def test_start_and_stop_training(server, page):
    url, runs = server
    page.goto(f"{url}/train")
    _settle(page)
    page.get_by_role("textbox", name="Run name (empty: automatic)").fill("browser-run")
    for label, value in [
        ("Epochs", "100"),
        ("Steps per epoch (0 = all)", "4"),
        ("Batch size", "32"),
        ("Width", "0.25"),
    ]:
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_selector('[data-testid="stImage"] img', timeout=120_000)  # the first grid
    _shot(page, "train")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("browser-run · stopped").wait_for(timeout=60_000)
    _no_exception(page)
    status = (runs / "browser-run" / "status.json").read_text()
    assert '"stopped"' in status
