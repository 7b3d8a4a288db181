"""Time to quality: wall-clock seconds from Start until the MNIST-classifier FID falls below
10x and 3x the real-data floor, for a configuration, on this machine.

    python benchmarks/time_to_quality.py --minutes 10 --width 0.5          # the app's default
    python benchmarks/time_to_quality.py --minutes 10 --width 1.0          # the tutorial DCGAN

It trains with short "epochs" (a checkpoint every --steps steps) for a fixed wall-clock budget,
then evaluates every checkpoint; the seconds are the trainer's own (state.json "elapsed"), so
evaluation time is not counted. Results print as JSON lines, then a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganlib import bench, evaluate  # noqa: E402
from ganlib.config import TrainConfig  # noqa: E402
from ganlib.rundir import RunDir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--ema", type=float, default=0.0)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--runs-dir", type=Path, default=None)
    args = parser.parse_args()

    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="ttq-"))
    config = TrainConfig(
        model=args.model, width=args.width, batch_size=args.batch_size,
        steps_per_epoch=args.steps, ema=args.ema, log_every=args.steps,
    )  # fmt: skip
    run = RunDir(runs_dir, f"ttq-{args.model}-w{args.width}-b{args.batch_size}")
    bench.train_for(config, args.minutes * 60, run)
    print(f"trained into {run.path}", file=sys.stderr)

    engine = evaluate.Engine(run, samples=args.samples)
    floor = engine.floor()["fid"]
    first = {}
    for result in engine.evaluate():
        elapsed = run.checkpoint(result["epoch"]).state["elapsed"]
        line = {"elapsed_sec": elapsed, "step": result["step"], "fid": round(result["fid"], 3)}
        print(json.dumps(line))
        for factor in (10, 3):
            if result["fid"] < factor * floor and factor not in first:
                first[factor] = elapsed
    summary = {
        "config": {k: v for k, v in config.to_dict().items() if k in ("model", "width", "batch_size", "ema")},
        "floor_fid": round(floor, 4),
        "samples": args.samples,
        "first_grid_sec": run.checkpoints()[0].state["elapsed"],
        "sec_to_10x_floor": first.get(10, f"not within {args.minutes:g} min"),
        "sec_to_3x_floor": first.get(3, f"not within {args.minutes:g} min"),
        "best_fid": round(min(r["fid"] for r in engine.evaluate()), 3),
    }
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
