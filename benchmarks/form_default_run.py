"""The Train form's default run, as a person starts it: does it keep improving to its end?

    python -m benchmarks.form_default_run [--samples 10000] [--timeout-min 30]

Starts `streamlit run app.py` on a free localhost port (runs in a temporary folder), opens the
Train page in Chromium, names the run and presses Start without touching another field (the
form's defaults: the quick-start preset on MNIST), keeps the page open, as a person watching
does, until the run finishes, then prints the live quick FID the page charted at each checkpoint
(``quality.jsonl``) and, with ``--samples``, the Evaluate page's FID at that many samples for
every checkpoint. The summary gives each one's best, last and last over best: issue 22 asks the
last checkpoint to be within 1.25x of the best, seen from the form with its defaults.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.appdriver import chromium, serve, shipped_runs, start_run_from_form
from ganlib import evaluation
from ganlib.runs.records import RunState
from ganlib.runs.rundir import RunDir

NAME = "form-default"


def wait_until_done(run: RunDir, timeout_sec: float) -> RunState:
    """Poll the run's status until it is no longer training (or the time-out passes); the job may
    create the run's folder a moment after the page shows it started."""
    deadline = time.monotonic() + timeout_sec
    while time.monotonic() < deadline:
        state = run.status().state
        if state not in (RunState.MISSING, RunState.CREATED) and not state.active:
            return state
        time.sleep(2)
    return run.status().state


def last_over_best(points: list[tuple[int, float]]) -> dict:
    """(step, FID) points in step order -> the best, the last and their ratio."""
    best_step, best = min(points, key=lambda p: p[1])
    last = points[-1][1]
    return {
        "best": round(best, 3),
        "best_at_step": best_step,
        "last": round(last, 3),
        "last_over_best": round(last / best, 3),
    }


def print_points(kind: str, points: list[tuple[int, float, float]]) -> None:
    """A JSON line per (step, FID, recall), under ``kind``: the live quick FID or Evaluate's."""
    for step, fid, recall in points:
        print(json.dumps({kind: {"step": step, "fid": round(fid, 3), "recall": round(recall, 3)}}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10_000, help="Evaluate's FID samples (0: skip)")
    parser.add_argument("--timeout-min", type=float, default=30, help="give up waiting after this")
    args = parser.parse_args()

    runs_dir = shipped_runs(Path(tempfile.mkdtemp(prefix="form-")))
    run = RunDir(runs_dir, NAME)
    with serve(runs_dir, runs_dir / "streamlit.log") as server, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start_run_from_form(page, server.url, NAME)
        state = wait_until_done(run, args.timeout_min * 60)
        page.close()
    print(json.dumps({"run": str(run.path), "state": state.value, "config": run.config().to_dict()}))

    live = run.quality()
    print_points("live", [(p.step, p.fid, p.recall) for p in live])
    summary = {"steps": run.history()[-1].step, "live_samples": live[0].samples if live else None}
    if live:
        summary["live_fid"] = last_over_best([(p.step, p.fid) for p in live])
    if args.samples:
        engine = evaluation.Engine(run, samples=args.samples)
        results = engine.evaluate()
        print_points("evaluated", [(r.step, r.fid, r.recall) for r in results])
        summary["fid"] = last_over_best([(r.step, r.fid) for r in results])
        summary["floor_fid"] = round(engine.floor().fid, 4)
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
