"""The default at every run length: train MNIST's default for a given number of steps under each
learning-rate schedule, evaluate every checkpoint, and print the best and the last FID (issue 40).

    python -m benchmarks.run_lengths --lengths 1000,1500,3370,4680 --schedules constant,linear,hold-linear
    python -m benchmarks.run_lengths --lengths 16848 --schedules hold-linear --seeds 3 --samples 10000
    python -m benchmarks.run_lengths --lengths 1000 --schedules constant,constant+beta_1=0  # a lever

Lengths are steps, so a figure does not depend on the machine's load: on a 2-core AMD EPYC the
Train form's default run is 4,680 steps, a 2-minute time budget about 3,370 and ten minutes about
16,848. Each run has ``--checkpoints`` evenly spaced checkpoints (the last at its end). Every
other setting is the default's (``starting_point``); prints a JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks import variants
from ganlib import evaluation
from ganlib.config import DEFAULT_PRESET, starting_point
from ganlib.runs import estimate
from ganlib.runs.rundir import RunDir
from ganlib.training.train import train
from ganlib.zoo import schedules


def measure(
    dataset: str, steps: int, schedule: str, seed: int, checkpoints: int, samples: int, runs_dir: Path
) -> dict:
    """Train one run of ``steps`` steps under ``schedule`` (a variant: "constant+beta_1=0" changes
    another setting too) and return its best and last FID."""
    variant = schedule
    schedule, _, given = variants.split(variant)
    config = starting_point(DEFAULT_PRESET, dataset).replace(lr_schedule=schedule, seed=seed, **given)
    # An epoch is at most one pass over the data (936 steps on MNIST): more checkpoints if need be.
    full_epoch = estimate.steps_per_epoch(config) or steps
    checkpoints = max(checkpoints, -(-steps // full_epoch))
    config = config.replace(epochs=checkpoints, steps_per_epoch=max(1, round(steps / checkpoints)))
    config = config.replace(log_every=config.steps_per_epoch)
    config.validate()
    hold = f"{schedules.HOLD_STEPS}" if schedule == "hold-linear" else ""
    share = "" if schedules.BOOST_SHARE == 0.1 else f"-boost{schedules.BOOST_SHARE:g}"
    data = "" if dataset == "mnist" else f"{dataset.replace(':', '-')}-"
    run = RunDir(runs_dir, variants.run_name(f"{data}len{steps}-{variant}{hold}{share}-seed{seed}"))
    train(config, run)
    results = evaluation.Engine(run, samples=samples).evaluate()
    best = min(results, key=lambda r: r.fid)
    return {
        "dataset": dataset,
        "steps": results[-1].step,
        "schedule": variant + (f" (hold {schedules.HOLD_STEPS:,})" if schedule == "hold-linear" else ""),
        "boost": config.lr_boost,
        "boost_share": schedules.BOOST_SHARE,
        "seed": seed,
        "samples": samples,
        "fid": [round(r.fid, 3) for r in results],
        "best_fid": round(best.fid, 3),
        "best_at_step": best.step,
        "last_fid": round(results[-1].fid, 3),
        "last_recall": round(results[-1].recall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument(
        "--lengths", default="1000,1500,3370,4680", help="run lengths in steps, comma-separated"
    )
    parser.add_argument(
        "--schedules",
        default="constant,linear,hold-linear",
        help='comma-separated; each may change other settings too: "constant+beta_1=0+lr_boost=3"',
    )
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--checkpoints", type=int, default=10)
    parser.add_argument("--samples", type=int, default=2000, help="samples per FID")
    parser.add_argument("--runs-dir", type=Path, default=None)
    parser.add_argument(
        "--hold", type=int, default=None, help="hold-linear's steps at the full rate (a screen)"
    )
    parser.add_argument(
        "--boost-share", type=float, default=None, help="the share of the run a boost lasts (a screen)"
    )
    args = parser.parse_args()
    if args.hold is not None:
        schedules.HOLD_STEPS = args.hold
    if args.boost_share is not None:
        schedules.BOOST_SHARE = args.boost_share
    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="lengths-"))
    for seed in range(args.seed, args.seed + args.seeds):
        for steps in (int(s) for s in args.lengths.split(",")):
            for schedule in args.schedules.split(","):
                line = measure(args.dataset, steps, schedule, seed, args.checkpoints, args.samples, runs_dir)
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
