"""End to end in a real browser: `streamlit run app.py` driven by Playwright with Debian's Chromium.

Screenshots of every page go to tests/artifacts/ (the README's come from this test).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from benchmarks.appdriver import CHROMIUM, chromium, host_env, serve, settle, shipped_runs

pytestmark = pytest.mark.slow  # minutes, not seconds: left out of the editing subset

ARTIFACTS = ROOT / "tests" / "artifacts"
NAVIGATION = ["Home", "Train", "Gallery", "Evaluate", "Compare", "Pick"]

if not CHROMIUM.exists():
    if os.environ.get("GANLIB_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium is missing at /usr/bin/chromium: apt-get install chromium", pytrace=False)
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = shipped_runs(tmp_path_factory.mktemp("browser-runs"))
    with serve(runs, tmp_path_factory.mktemp("log") / "streamlit.log") as server:
        yield server.url, runs


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def page(browser):
    return browser.new_page(viewport={"width": 1400, "height": 1000})


def _settle(page):
    settle(page)


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


def _navigation(page) -> list[str]:
    """The page titles in the sidebar navigation (icons are ligature text: dropped)."""
    links = page.locator('[data-testid="stSidebarNav"] a')
    return [links.nth(i).locator("span").last.inner_text() for i in range(links.count())]


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

    page.goto(f"{url}/gallery?run=demo-mnist")  # the README's screenshots: the image demo
    _settle(page)
    _wait_count(page, '[data-testid="stImage"] img', 4)
    _no_exception(page)
    _shot(page, "gallery")
    heading = page.get_by_role("heading", name="All checkpoints at a glance")
    heading.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.get_by_text("· best · FID").first.wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contact-sheet.png"))  # the viewport, scrolled to the sheet

    page.goto(f"{url}/evaluate?run=demo-mnist")
    _settle(page)
    _wait_count(page, ".js-plotly-plot", 5)
    _no_exception(page)
    _shot(page, "evaluate")


def _table_text(page) -> str:
    """The first table's cells as text (the grid is a canvas; its accessible cells hold the text)."""
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    return table.text_content()


def test_what_the_eye_sees_the_tables_the_compare_axes_and_the_form_estimate(server, page):
    # Issue 44, items 1, 2 and 5, in the browser as a person sees them.
    url, _ = server
    page.goto(url)
    _settle(page)
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=\"stDataFrame\"]')?.textContent || '').includes('8/8')",
        timeout=120_000,
    )
    assert "None" not in _table_text(page)  # toys show modes; missing figures are empty cells
    page.goto(f"{url}/compare")
    _settle(page)
    _wait_count(page, ".js-plotly-plot", 1)
    assert "None" not in _table_text(page)
    axes = page.locator(".js-plotly-plot").first.locator("text.axis-title").all_text_contents()
    assert axes == ["dataset", "ema", "lr_boost", "lr_schedule", "best FID"]  # what differs, then FID
    _no_exception(page)
    _shot(page, "compare")
    page.goto(f"{url}/train")
    _settle(page)
    said = page.locator('[data-testid="stCaptionContainer"]', has_text="How long, as the form opened:")
    said.wait_for()
    assert "5 epochs x 936 steps = 4,680 steps" in said.inner_text()
    _shot(page, "train-form")


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_lines(path, count: int) -> list[dict]:
    deadline = time.monotonic() + 60
    while len(_lines(path)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return _lines(path)


def test_the_pick_page_is_played_with_the_keyboard(server, page):
    # Issue 43: blind A/B with the arrow keys (left, the same, right), then real or fake.
    url, runs = server
    page.goto(f"{url}/pick?run=demo-mnist")
    _settle(page)
    page.get_by_role("button", name="Left is better").wait_for(timeout=120_000)
    picked = runs / "demo-mnist" / "picks.jsonl"
    before = len(_lines(picked))
    for count, key in enumerate(["ArrowLeft", "ArrowDown", "ArrowRight"], start=1):
        page.locator("body").press(key)
        _wait_lines(picked, before + count)
        _settle(page)
    made = _lines(picked)[before:]
    assert [p["preferred"] for p in made] == [made[0]["left"], None, made[2]["right"]]
    _shot(page, "pick")
    page.get_by_role("button", name="Real or fake").click()
    page.get_by_role("button", name=re.compile(r"^Fake")).wait_for(timeout=60_000)
    _settle(page)
    answers = runs / "demo-mnist" / "real-or-fake.jsonl"
    for count, key in enumerate(["ArrowLeft", "ArrowRight"], start=1):
        page.locator("body").press(key)
        _wait_lines(answers, count)
        _settle(page)
    assert [a["judged_real"] for a in _lines(answers)] == [True, False]
    _no_exception(page)


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
        ("Log every (steps)", "1"),
    ]:
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_selector('[data-testid="stImage"] img', timeout=120_000)  # the first grid
    quality = runs / "browser-run" / "quality.jsonl"
    # The live quick FID (the README's screenshot): a few checkpoints' worth of points.
    deadline = time.monotonic() + 120
    while (not quality.exists() or len(quality.read_text().splitlines()) < 4) and time.monotonic() < deadline:
        time.sleep(0.5)
    page.get_by_text("Quick FID (n=1,000)").wait_for(timeout=60_000)
    _shot(page, "train")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("browser-run · stopped").wait_for(timeout=60_000)
    _no_exception(page)
    status = (runs / "browser-run" / "status.json").read_text()
    assert '"stopped"' in status


def test_a_sweep_from_the_train_form_shows_its_queue_stops_and_offers_to_resume(server, page):
    url, runs = server
    page.goto(f"{url}/train")
    _settle(page)
    for label, value in [
        ("Epochs", "100"),
        ("Steps per epoch (0 = all)", "4"),
        ("Batch size", "32"),
        ("Width", "0.25"),
    ]:
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_text("Sweep: these settings with some varied, over seeds").click()
    page.get_by_role("textbox", name="Vary (a setting a line: name=value,value)").fill("lr_g=2e-4,4e-4")
    for label, value in [("Seeds", "1"), ("Samples per evaluation", "100")]:
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_role("textbox", name="Sweep name (empty: automatic)").fill("browser-sweep")
    page.get_by_role("button", name="Start sweep").click()
    first = "browser-sweep.lr_g-0.0002.seed-0"
    page.get_by_text(f"sweep browser-sweep, run 1/2: {first} · training").wait_for(timeout=120_000)
    page.get_by_role("heading", name="Sweep browser-sweep", exact=True).wait_for(timeout=60_000)  # its queue
    page.get_by_role("button", name="Stop").click()
    page.get_by_text(f"sweep browser-sweep, run 1/2: {first} · stopped").wait_for(timeout=60_000)
    page.get_by_role("heading", name="Resume a sweep").wait_for(timeout=60_000)
    _no_exception(page)
    assert json.loads((runs / first / "status.json").read_text())["state"] == "stopped"
    assert not (runs / "browser-sweep.lr_g-0.0004.seed-0").exists()  # the queue stopped with its run
    assert (runs / "sweeps" / "browser-sweep.json").is_file()


def _plane_step(page) -> int:
    """The step the Train page's live plane says it shows."""
    caption = page.get_by_text(re.compile(r"^the plane, live: step \d+")).first.inner_text()
    return int(re.search(r"step (\d+)", caption).group(1))


def test_a_toy_trains_live_its_plane_redrawn_stepped_and_evaluated(server, page):
    url, runs = server
    page.goto(f"{url}/train?from=toy")  # the toy preset, by deep link
    _settle(page)
    page.get_by_role("textbox", name="Run name (empty: automatic)").fill("browser-toy")
    epochs = page.get_by_role("spinbutton", name="Epochs", exact=True)
    epochs.fill("1000")
    epochs.press("Tab")
    page.get_by_role("button", name="Start", exact=True).click()
    page.get_by_role("button", name="Pause").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^the plane, live: step \d+")).first.wait_for(timeout=120_000)
    # While it trains the plane is redrawn on its own clock: new pictures keep arriving.
    shown = set()
    while len(shown) < 4:
        shown.add(page.locator('[data-testid="stImage"] img').first.get_attribute("src"))
        page.wait_for_timeout(200)
    page.get_by_text("what D believes over the plane").wait_for()
    deadline = time.monotonic() + 120  # a first checkpoint for Evaluate below (a busy machine is slow)
    while not (runs / "browser-toy" / "epochs" / "0001").is_dir() and time.monotonic() < deadline:
        time.sleep(0.2)
    page.get_by_role("button", name="Pause").click()
    page.get_by_text("browser-toy · paused").wait_for(timeout=60_000)
    _settle(page)
    # Where it paused (the trainer draws the plane as it pauses; the page may show one before).
    before = json.loads((runs / "browser-toy" / "preview.json").read_text())["step"]
    page.get_by_role("button", name="Step", exact=True).click()  # one logging interval: 25 steps
    page.wait_for_function(
        "s => [...document.querySelectorAll('[data-testid=stImageCaption]')].some(c => "
        "(c.innerText.match(/live: step (\\d+)/) || [])[1] > s)",
        arg=before,
        timeout=60_000,
    )
    assert _plane_step(page) == before + 25
    _shot(page, "train-toy")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("browser-toy · stopped").wait_for(timeout=60_000)
    _no_exception(page)
    # Evaluate: the modes per epoch, computed from the page.
    page.goto(f"{url}/evaluate?run=browser-toy")
    page.get_by_role("button", name=re.compile(r"^Compute \d+ epoch")).click(timeout=120_000)
    page.get_by_text("Modes covered (of 8), higher is better").wait_for(timeout=120_000)
    _no_exception(page)
    assert '"chosen_by": "modes"' in (runs / "browser-toy" / "best.json").read_text()


LIVE_WRITER = """
import sys, time, numpy as np, ganlib.track
from ganlib.data import datasets
real = datasets.load_dataset("mnist", "test").images[:1000]
rng = np.random.default_rng(0)
config = {"epochs": 3, "steps_per_epoch": 20}
with ganlib.track.Run("browser-own-loop", config=config, runs_dir=sys.argv[1], samples=1000) as run:
    for step in range(1, 1_000_000):
        run.log(step, d_loss=1.0 + np.sin(step / 10), g_loss=1.0)
        if step % 20 == 0 and step <= 60:  # three epochs, each nearer the data
            clean = step / 60
            mixed = clean * real + (1 - clean) * rng.integers(0, 256, real.shape)
            run.checkpoint(step // 20, samples=mixed.round().astype(np.uint8))
        if run.should_stop():
            break
        time.sleep(0.05)
"""


def test_your_own_loop_shows_live_stops_from_the_page_and_evaluates_per_epoch(server, page):
    """ganlib.track from another process: Train shows it live with Stop, which reaches the loop;
    Evaluate computes the FID of its stored samples per epoch and picks the best; Gallery shows
    them. (Each example of examples/ is opened through AppTest: test_examples.py.)"""
    url, runs = server
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GANLIB_OFFLINE": "1"}
    writer = subprocess.Popen([sys.executable, "-c", LIVE_WRITER, str(runs)], env=env, cwd=ROOT)
    run = runs / "browser-own-loop"
    deadline = time.monotonic() + 120
    while not (run / "epochs" / "0003").is_dir() and time.monotonic() < deadline:
        time.sleep(0.2)
    page.goto(f"{url}/train")
    page.get_by_text("Training elsewhere").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"browser-own-loop · training · epoch 3/3")).wait_for(timeout=60_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    _shot(page, "train-own-loop")
    page.get_by_role("button", name="Stop").click()
    assert writer.wait(timeout=60) == 0
    assert json.loads((run / "status.json").read_text())["state"] == "stopped"
    _no_exception(page)
    page.goto(f"{url}/evaluate?run=browser-own-loop")
    page.get_by_text("Samples per epoch").wait_for(timeout=60_000)
    page.get_by_role("slider").first.focus()
    for _ in range(3):  # 10,000 -> 1,000 samples, as the writer stored
        page.keyboard.press("ArrowLeft")
    page.get_by_role("button", name=re.compile(r"^Compute 3 epoch.* at 1,000 samples")).click(timeout=120_000)
    page.get_by_text("Inspect an epoch").wait_for(timeout=300_000)
    _no_exception(page)
    fids = [json.loads((run / "eval" / f"epoch-{e:04d}.json").read_text()) for e in (1, 2, 3)]
    fids = [next(iter(cached.values()))["fid"] for cached in fids]
    assert fids[0] > fids[1] > fids[2], fids  # each epoch's samples nearer the data
    assert json.loads((run / "best.json").read_text())["epoch"] == 3
    page.goto(f"{url}/gallery?run=browser-own-loop")
    page.get_by_text("Stored samples").wait_for(timeout=60_000)
    _wait_count(page, '[data-testid="stImage"] img', 3)  # the grid, beside it, the stored samples
    _shot(page, "gallery-own-loop")
    _no_exception(page)


@pytest.mark.parametrize(
    "path, heading, shows",
    [
        ("", "GAN Workbench", "Runs"),
        ("train", "Train", "New run"),
        ("gallery", "Gallery", "epoch 4"),
        ("evaluate", "Evaluate", "real-data floor"),
        ("compare", "Compare runs", "Settings that differ"),
    ],
)
def test_a_deep_link_on_a_fresh_server_opens_the_app_page(path, heading, shows, browser, tmp_path):
    # Free hosts put idle apps to sleep, so any shared link can be the server's first request.
    with serve(shipped_runs(tmp_path), tmp_path / "streamlit.log") as fresh:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{fresh.url}/{path}?run=demo-mnist&epoch=4")
        page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=120_000)
        page.get_by_text(shows).first.wait_for(timeout=120_000)
        assert _navigation(page) == NAVIGATION  # the app's pages, not the folder's file names
        width = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
        assert width > 1000  # app.py's wide layout, not Streamlit's centred default
        assert "run=demo-mnist" in page.url or "runs=" in page.url  # Compare links its runs
        _no_exception(page)
        page.close()


def test_the_demo_link_works_on_a_host_with_only_the_repository(browser, tmp_path):
    # A free host: demo mode, no network, no dataset installed, an empty home and caches.
    runs = shipped_runs(tmp_path / "runs")
    with serve(runs, tmp_path / "streamlit.log", host_env(tmp_path / "empty-home")) as host:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(host.url)
        page.get_by_text("Read-only demo").first.wait_for(timeout=120_000)
        page.get_by_text("What the best checkpoints draw").wait_for()
        _wait_count(page, '[data-testid="stImage"] img', 4)  # two runs: best grid and animation each
        page.locator('[data-testid="stDataFrame"]').wait_for()
        _no_exception(page)
        for run in sorted(p.name for p in runs.iterdir()):
            page.goto(f"{host.url}/gallery?run={run}")
            _wait_count(page, '[data-testid="stImage"] img', 8)  # grids, samples, strip, sheet, GIFs
            settle(page)
            _no_exception(page)
            page.goto(f"{host.url}/evaluate?run={run}")
            _wait_count(page, ".js-plotly-plot", 5)
            if run.startswith("demo-2d-"):  # the toys' lesson: its modes, cached in the run
                page.get_by_text("Modes covered (of 8), higher is better").wait_for()
            else:
                page.get_by_text("real test images").wait_for()  # cached in the run: no dataset needed
                assert page.get_by_text("Real images are not shown").count() == 0
            _no_exception(page)
        _steer(browser, page, host.url)
        _download_numpy_export(page, host.url, tmp_path)
        _compare_slider(page, host.url)
        _real_or_fake_on_the_demo(page, host.url)
        page.goto(f"{host.url}/train")
        assert page.get_by_role("button", name="Start", exact=True).is_disabled(timeout=120_000)
        # The reason first, above the form (issue 44): within the first screen, before "Start from".
        reason = page.get_by_text("Training is switched off in this read-only demo")
        assert reason.bounding_box()["y"] < min(600, page.get_by_text("Start from").bounding_box()["y"])
        _no_exception(page)
        _shot(page, "train-demo")
        page.close()


def _real_or_fake_on_the_demo(page, url: str) -> None:
    """A visitor plays real or fake on a host without the dataset (the real images are the tiles
    of the run's cached real grid) and sees their score and every visitor's (in memory only)."""
    page.goto(f"{url}/pick?run=demo-mnist")
    page.get_by_role("button", name="Real or fake").click(timeout=120_000)
    page.get_by_role("button", name=re.compile(r"^Fake")).wait_for(timeout=60_000)
    for answered in range(20):
        settle(page)
        page.get_by_text(f"Image {answered + 1} of 20").wait_for(timeout=60_000)
        page.locator("body").press("ArrowRight" if answered % 2 else "ArrowLeft")
    page.get_by_text("You were fooled").wait_for(timeout=60_000)
    page.get_by_text("Every visitor so far").wait_for()
    _no_exception(page)
    _shot(page, "pick-demo")


def _compare_slider(page, url: str) -> None:
    """Compare's progress slider follows every key press (a slider made anew at each move once
    lost the second), and the grids and the address follow it."""
    page.goto(f"{url}/compare?runs=demo-mnist,demo-fashion-mnist&step=800")
    caption = page.locator('[data-testid="stImageCaption"]').first
    caption.wait_for(timeout=120_000)
    for step, epoch in [(400, 2), (200, 1), (400, 2)]:  # the demo runs' epochs are 200 steps
        settle(page)
        slider = page.get_by_role("slider").first
        slider.focus()
        shown = int(re.search(r"[?&]step=(\d+)", page.url).group(1))
        slider.press("ArrowLeft" if step < shown else "ArrowRight")
        page.wait_for_url(re.compile(rf"[?&]step={step}(&|$)"), timeout=60_000)
        page.get_by_text(f"demo-mnist · epoch {epoch} · step {step}").wait_for(timeout=60_000)
    _no_exception(page)


def _download_numpy_export(page, url: str, tmp_path) -> None:
    """A visitor downloads the NumPy export (built on the click, with no TensorFlow on the host)
    and it samples with NumPy alone; the formats that need TensorFlow are not offered."""
    page.goto(f"{url}/gallery?run=demo-mnist&epoch=32")
    button = page.get_by_role("button", name="NumPy sampler (.zip)")
    button.wait_for(timeout=120_000)
    assert page.get_by_role("button", name="SavedModel (.zip)").count() == 0
    with page.expect_download(timeout=120_000) as download:
        button.click()
    assert download.value.suggested_filename == "demo-mnist-epoch0032-numpy.zip"
    saved = tmp_path / "export.zip"
    download.value.save_as(saved)
    shutil.unpack_archive(saved, tmp_path / "export")
    done = subprocess.run(
        [sys.executable, "sampler.py", "--count", "3"], cwd=tmp_path / "export" / "numpy",
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "3 images of (28, 28, 1)" in done.stdout


def _steer(browser, page, url: str) -> None:
    """The Gallery's Steer panel: a deep link sets its sliders, a key press moves one and redraws
    the sample, the address bar follows (and opens the same view elsewhere), Reset clears."""
    page.goto(f"{url}/gallery?run=demo-mnist&epoch=64&steer_slant=1.5&steer_seed=3&steer_strip=slant")
    page.get_by_text("seed 3: slant +1.5").wait_for(timeout=120_000)
    settle(page)
    ink = page.get_by_role("slider", name=re.compile(r"^ink · R² \d"))
    ink.focus()
    ink.press("ArrowRight")
    page.get_by_text("seed 3: ink +0.1, slant +1.5").wait_for(timeout=60_000)
    page.wait_for_url(re.compile(r"steer_ink=0\.1"))
    page.get_by_text("along slant, -3 to +3 sd").wait_for()
    _shot(page, "steer")
    shared = browser.new_page(viewport={"width": 1400, "height": 1000})
    shared.goto(page.url)
    shared.get_by_text("seed 3: ink +0.1, slant +1.5").wait_for(timeout=120_000)
    shared.close()
    page.get_by_role("button", name="Reset the sliders").click()
    page.get_by_text("seed 3: no slider moved").wait_for(timeout=60_000)
    _no_exception(page)
