"""Page latency in a real browser: from a widget change to the updated element, idle and while a
job trains.

    python -m benchmarks.page_latency [--repeats 5]

Starts `streamlit run app.py` on a free localhost port with the shipped demo run, opens Chromium
and times, each ``--repeats`` times:

- Gallery, epoch slider: a key press on the slider until the grid's caption names the new epoch;
- Gallery, interpolation: choosing slerp or lerp until the strip's caption says the new method;
- Gallery, steer: a key press on the ink slider of the Steer panel until the sample's caption
  names the new value;
- Evaluate, opened from the sidebar (cached results): the click until its five charts are drawn;
- Compare, the progress slider of the two demo runs side by side: a key press until the first
  grid's caption changes.

first idle, then while a run started from the Train form with its defaults trains with the Train
page open in a second tab. Prints each reading as a JSON line, then median and worst per case.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.appdriver import (
    chromium,
    serve,
    settle,
    shipped_runs,
    start_run_from_form,
    stop_run_from_page,
)

TIMEOUT_MS = 120_000


def _caption_shown(page, text: str) -> None:
    page.wait_for_function(
        'text => [...document.querySelectorAll(\'[data-testid="stImageCaption"], [data-testid="stCaptionContainer"]\')]'
        ".some(e => e.textContent.trim() === text)",
        arg=text,
        timeout=TIMEOUT_MS,
    )


def _timed(action, done) -> float:
    start = time.perf_counter()
    action()
    done()
    return time.perf_counter() - start


def gallery_epoch(page, epochs: list[int], step: int) -> float:
    """Move the epoch slider one notch (alternating direction) and wait for that grid."""
    index = epochs.index(int(page.url.split("epoch=")[1].split("&")[0]))
    key, target = ("ArrowLeft", index - 1) if step % 2 == 0 else ("ArrowRight", index + 1)
    if not 0 <= target < len(epochs):
        key, target = ("ArrowRight", index + 1) if key == "ArrowLeft" else ("ArrowLeft", index - 1)
    slider = page.get_by_role("slider").first
    return _timed(
        lambda: (slider.focus(), slider.press(key)), lambda: _caption_shown(page, f"epoch {epochs[target]}")
    )


def gallery_interpolation(page, step: int) -> float:
    method = "lerp" if step % 2 == 0 else "slerp"
    epoch = int(page.url.split("epoch=")[1].split("&")[0])
    return _timed(
        lambda: page.get_by_text(method, exact=True).click(),
        lambda: _caption_shown(page, f"{method}, epoch {epoch}"),
    )


def gallery_steer(page, step: int) -> float:
    """Move the Steer panel's ink slider one notch right, then back, and wait for the sample."""
    key, caption = (
        ("ArrowRight", "seed 0: ink +0.1") if step % 2 == 0 else ("ArrowLeft", "seed 0: no slider moved")
    )
    ink = page.get_by_role("slider", name=re.compile(r"^ink · R² \d"))
    return _timed(lambda: (ink.focus(), ink.press(key)), lambda: _caption_shown(page, caption))


def evaluate_open(page, base_url: str) -> float:
    page.goto(f"{base_url}/gallery?run=demo-mnist")
    page.get_by_role("slider").first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    return _timed(
        lambda: page.locator('[data-testid="stSidebarNav"] a', has_text="Evaluate").click(),
        lambda: page.wait_for_function(
            "() => document.querySelectorAll('.js-plotly-plot').length >= 5", timeout=TIMEOUT_MS
        ),
    )


def compare_step(page, step: int) -> float:
    """Move Compare's progress slider one notch (alternating direction); wait for the new grids."""
    caption = page.locator('[data-testid="stImageCaption"]').first
    before = caption.inner_text()
    slider = page.get_by_role("slider").first
    key = "ArrowLeft" if step % 2 == 0 else "ArrowRight"
    return _timed(
        lambda: (slider.focus(), slider.press(key)),
        lambda: page.wait_for_function(
            "old => document.querySelector('[data-testid=\"stImageCaption\"]').textContent.trim() !== old",
            arg=before.strip(),
            timeout=TIMEOUT_MS,
        ),
    )


def measure(page, base_url: str, epochs: list[int], repeats: int, condition: str) -> dict[str, list[float]]:
    readings: dict[str, list[float]] = {
        "gallery_epoch": [], "gallery_interpolation": [], "gallery_steer": [], "evaluate_open": [], "compare_step": []
    }  # fmt: skip
    page.goto(f"{base_url}/gallery?run=demo-mnist&epoch={epochs[len(epochs) // 2]}")
    _caption_shown(page, "as an animation")
    settle(page)

    def record(case: str, seconds: float) -> None:
        readings[case].append(seconds)
        print(json.dumps({"condition": condition, "case": case, "seconds": round(seconds, 3)}), flush=True)

    for i in range(repeats):
        record("gallery_epoch", gallery_epoch(page, epochs, i))
        settle(page)
        record("gallery_interpolation", gallery_interpolation(page, i))
        settle(page)
        record("gallery_steer", gallery_steer(page, i))
        settle(page)
    for _ in range(repeats):
        record("evaluate_open", evaluate_open(page, base_url))
    page.goto(f"{base_url}/compare?runs=demo-mnist,demo-fashion-mnist")
    page.locator('[data-testid="stImageCaption"]').first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    for i in range(repeats):
        record("compare_step", compare_step(page, i))
        settle(page)
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    runs = shipped_runs(Path(tempfile.mkdtemp(prefix="latency-")))
    epochs = sorted(int(p.name) for p in (runs / "demo-mnist" / "epochs").iterdir())
    summary = {}
    with serve(runs, runs / "streamlit.log") as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        summary["idle"] = measure(page, server.url, epochs, args.repeats, "idle")
        trainer = browser.new_page(viewport={"width": 1400, "height": 1000})
        start_run_from_form(trainer, server.url, "latency")
        time.sleep(15)  # past TensorFlow's start-up in the worker: measure steady training
        summary["training"] = measure(page, server.url, epochs, args.repeats, "training")
        stop_run_from_page(trainer, server.url, "latency")
    print(
        json.dumps(
            {
                "summary": {
                    condition: {
                        case: {"median": round(statistics.median(v), 3), "worst": round(max(v), 3)}
                        for case, v in readings.items()
                    }
                    for condition, readings in summary.items()
                }
            }
        )
    )


if __name__ == "__main__":
    main()
