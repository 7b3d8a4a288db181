"""Training speed with the live Train page open in Chromium, against the same with no page open.

    python -m benchmarks.live_train_page --seconds 120 [--repeats 2]
    python -m benchmarks.live_train_page --seconds 60 --preset toy   # a 2-D toy's live plane

Starts `streamlit run app.py` on a free localhost port (runs in a temporary folder). For each
condition, "unwatched" (the page is closed right after Start) then "watched" (the Train page
stays open, its live panel polling every second), it starts a run from the Train form with the
form's defaults (the quick-start preset), lets it train ``--seconds``, and stops it from the page.
It records every live preview grid the trainer writes. Then, per run:

- steps/s: from the trainer's own history (steps over its elapsed seconds), the first 10 s
  excluded (TensorFlow's start-up and tracing);
- seconds to the first recognisable grid: the trainer's seconds at the first preview grid of
  which the shipped MNIST classifier is sure (p >= 0.9) of at least 80% of the tiles and, for a
  conditional model, puts at least 80% in the class of their row;

and the ratio watched / unwatched of steps/s. Results print as JSON lines, then a summary.

With ``--preset toy`` (a 2-D toy, whose plane the page redraws twice a second) it also counts,
while watched, the pictures the browser shows: the plane's redraws per second as a person sees
them (its image's address changes with each new picture).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.appdriver import chromium, serve, shipped_runs, start_run_from_form, stop_run_from_page
from ganlib import atomic
from ganlib.runs.records import PointKind
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images
from ganlib.sampling.latents import GRID_COLUMNS

STARTUP_SEC = 10.0
TOY_FIELDS = {"Epochs": "10000"}  # a toy's 20 epochs take a minute: let the measurement end it
CONFIDENCE, SHARE = 0.9, 0.8


def record_previews(
    run: RunDir, seconds: float, page=None
) -> tuple[list[tuple[float, int, bytes]], set[str]]:
    """(trainer seconds, step, PNG) of every preview grid written in the next ``seconds``; and,
    with the ``page`` open, the address of every picture it showed meanwhile."""
    previews, shown, last_step, deadline = [], set(), None, time.monotonic() + seconds
    while time.monotonic() < deadline:
        preview = run.preview()
        if preview and preview[1]["step"] != last_step:
            png, info = preview
            last_step = info["step"]
            previews.append((info["elapsed"], info["step"], png))
        time.sleep(0.5)
    if page is not None:
        shown = set(page.evaluate("() => window.__pictures || []"))
    return previews, shown


# Counts, in the page itself, every picture address its first image shows: read every 100 ms by
# the browser's own timer, so that watching costs what a person's watching costs (no round trip
# to the benchmark per look).
COUNT_PICTURES = """() => {
  window.__pictures = [];
  const seen = new Set();
  setInterval(() => {
    const image = document.querySelector('[data-testid="stImage"] img');
    if (image && !seen.has(image.src)) { seen.add(image.src); window.__pictures.push(image.src); }
  }, 100);
}"""


def steps_per_sec(run: RunDir) -> float:
    points = [r for r in run.history(PointKind.STEP) if r.elapsed >= STARTUP_SEC]
    if len(points) < 2:
        return float("nan")
    return (points[-1].step - points[0].step) / (points[-1].elapsed - points[0].elapsed)


def recognisable(png: bytes, classify, conditional: bool) -> bool:
    canvas = images.read_png(png)
    canvas = canvas[..., None] if canvas.ndim == 2 else canvas
    rows = (canvas.shape[0] - 2) // 30
    samples = images.tiles(canvas, 28, 28, GRID_COLUMNS, rows * GRID_COLUMNS)
    probabilities = classify(samples)[1]
    sure = (probabilities.max(axis=1) >= CONFIDENCE).mean() >= SHARE
    if not conditional:
        return bool(sure)
    asked = np.repeat(np.arange(rows), GRID_COLUMNS)
    return bool(sure and (probabilities.argmax(axis=1) == asked).mean() >= SHARE)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=120, help="training time per run")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs (unwatched, watched)")
    parser.add_argument("--preset", choices=["quick-start", "toy"], default=None, help="the form's start")
    args = parser.parse_args()
    toy = args.preset == "toy"

    from ganlib.measure.features import load_evaluator

    runs_dir = shipped_runs(Path(tempfile.mkdtemp(prefix="live-")))
    results = []
    with serve(runs_dir, runs_dir / "streamlit.log") as server, chromium() as browser:
        for repeat in range(args.repeats):
            for condition in ("unwatched", "watched"):
                name = f"{condition}-{repeat + 1}"
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start_run_from_form(
                    page, server.url, name, start_from=args.preset, fields=TOY_FIELDS if toy else None
                )
                if condition == "unwatched":
                    page.close()  # no session left to poll the job
                watched = page if condition == "watched" and toy else None
                if watched is not None:
                    watched.evaluate(COUNT_PICTURES)
                previews, shown = record_previews(RunDir(runs_dir, name), args.seconds, watched)
                if condition == "unwatched":
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                stop_run_from_page(page, server.url, name)
                page.close()
                results.append((condition, name, previews, shown))
    classify = None if toy else load_evaluator("mnist")
    summary: dict[str, list] = {"unwatched": [], "watched": []}
    for condition, name, previews, shown in results:
        run = RunDir(runs_dir, name)
        conditional = run.meta().get("num_classes", 0) > 1 and run.config().model.startswith("c")
        first = None
        if not toy:
            first = next(
                ((t, step) for t, step, png in previews if recognisable(png, classify, conditional)), None
            )
        history = run.history()
        line = {
            "condition": condition,
            "run": name,
            "steps_per_sec": round(steps_per_sec(run), 2),
            "steps": history[-1].step if history else 0,
            "previews": len(previews),
            "sec_to_recognisable_grid": first and first[0],
            "step_of_recognisable_grid": first and first[1],
        }
        if toy and condition == "watched":
            line["pictures_shown_per_sec"] = round(len(shown) / args.seconds, 2)
        summary[condition].append(line)
        print(json.dumps(line), flush=True)
        atomic.write_bytes(runs_dir / f"{name}-last-preview.png", previews[-1][2] if previews else b"")
    mean = {c: float(np.mean([r["steps_per_sec"] for r in rows])) for c, rows in summary.items()}
    print(
        json.dumps(
            {
                "summary": {
                    "steps_per_sec": {c: round(v, 2) for c, v in mean.items()},
                    "watched_over_unwatched": round(mean["watched"] / mean["unwatched"], 3),
                    "sec_to_recognisable_grid": {
                        c: [r["sec_to_recognisable_grid"] for r in rows] for c, rows in summary.items()
                    },
                    "runs_dir": str(runs_dir),
                }
            }
        )
    )


if __name__ == "__main__":
    main()
