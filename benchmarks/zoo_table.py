"""The README's model-zoo table: every model x loss, the same wall-clock budget, then
FID (MNIST-classifier features) of the last checkpoint.

    python -m benchmarks.zoo_table --seconds 60
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks import trainer_speed
from ganlib import evaluation
from ganlib.config import TrainConfig
from ganlib.runs.rundir import RunDir
from ganlib.zoo import losses, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--width", type=float, default=0.5)
    parser.add_argument("--models", nargs="*", default=list(models.ARCHITECTURES))
    parser.add_argument("--losses", nargs="*", default=list(losses.LOSSES))
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="zoo-"))
    rows = []
    for model in args.models:
        for loss in args.losses:
            config = TrainConfig(model=model, loss=loss, width=args.width, steps_per_epoch=50, log_every=50)
            if config.problems():  # e.g. wgan-gp with BatchNorm in D
                print(f"skipped {model} + {loss}: {'; '.join(config.problems())}", file=sys.stderr)
                continue
            run = RunDir(runs_dir, f"{model}-{loss}")
            trainer_speed.train_for(config, args.seconds, run)
            last = run.checkpoints()[-1]
            result = evaluation.Engine(run, samples=args.samples).evaluate([last.epoch])[0]
            row = {"model": model, "loss": loss, "steps": last.step, "fid": round(result.fid, 2),
                   "precision": round(result.precision, 3), "recall": round(result.recall, 3)}  # fmt: skip
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("| model | loss | steps in budget | FID (MNIST-classifier features) | precision | recall |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['loss']} | {r['steps']} | {r['fid']} | {r['precision']} | {r['recall']} |"
        )


if __name__ == "__main__":
    main()
