"""Time to quality: wall-clock seconds from Start until the generator draws recognisable digits,
and until the MNIST-classifier FID falls below 10x and 3x the real-data floor, on this machine.

    python -m benchmarks.time_to_quality --minutes 10                     # the app's default
    python -m benchmarks.time_to_quality --minutes 10 --preset tutorial  # the TF DCGAN tutorial
    python -m benchmarks.time_to_quality --minutes 3 --model dcgan --width 0.25  # any variation

It trains with short "epochs" (a checkpoint every --steps steps) for a fixed wall-clock budget,
then evaluates every checkpoint; the seconds are the trainer's own (state.json "elapsed"), so
evaluation time is not counted.

"Recognisable" is decided by the shipped MNIST classifier, so that it is repeatable: of 1,000
fresh samples, at least 80% are classified with probability >= 0.9 and every class gets at least
5% of them (1,000 real test digits: 98.6% sure, smallest class 8.5%; uniform noise: 100% sure,
all of one class). Look at the grids too: the script prints the
path of the checkpoint where that first happens. Results print as JSON lines, then a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import trainer_speed
from ganlib import evaluation
from ganlib.config import PRESETS, starting_point
from ganlib.runs.rundir import RunDir
from ganlib.training import model_io

CONFIDENCE, CONFIDENT_SHARE, MIN_CLASS_SHARE = 0.9, 0.8, 0.05
PROBE_SAMPLES = 1000


def recognisability(probabilities: np.ndarray) -> dict:
    """Share of samples the classifier is sure of, and the smallest class share among them."""
    confident = probabilities.max(axis=1) >= CONFIDENCE
    shares = np.bincount(probabilities.argmax(axis=1), minlength=probabilities.shape[1]) / len(probabilities)
    share = float(confident.mean())
    return {
        "confident": round(share, 3),
        "min_class_share": round(float(shares.min()), 3),
        "recognisable": bool(share >= CONFIDENT_SHARE and shares.min() >= MIN_CLASS_SHARE),
    }


def probe(run: RunDir, epoch: int, classify) -> dict:
    gan, _ = model_io.load_models(run, epoch)
    latents = np.random.default_rng(31337).standard_normal((PROBE_SAMPLES, gan.latent_dim))
    return recognisability(classify(gan.sample(latents.astype(np.float32)))[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument(
        "--preset", choices=PRESETS, default="quick-start", help="the app's default or the tutorial"
    )
    # Each of these overrides the preset's value when given.
    overrides = {
        "dataset": str, "model": str, "loss": str, "width": float, "batch_size": int, "lr_g": float, "lr_d": float,
        "beta_1": float, "ema": float, "steps_per_execution": int, "augment": str,
    }  # fmt: skip
    for name, kind in overrides.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    parser.add_argument("--steps", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--samples", type=int, default=2000, help="samples per FID")
    parser.add_argument("--runs-dir", type=Path, default=None)
    parser.add_argument("--evaluate-only", action="store_true", help="re-evaluate a finished run")
    args = parser.parse_args()

    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="ttq-"))
    given = {name: getattr(args, name) for name in overrides if getattr(args, name) is not None}
    config = starting_point(args.preset, given.get("dataset")).replace(
        **given, steps_per_epoch=args.steps, log_every=args.steps
    )
    config.validate()
    run = RunDir(runs_dir, "-".join(["ttq", args.preset, *(f"{k}{v}" for k, v in given.items())])[:64])
    if not args.evaluate_only:
        trainer_speed.train_for(config, args.minutes * 60, run)
    print(f"trained into {run.path}", file=sys.stderr)

    engine = evaluation.Engine(run, samples=args.samples)
    floor = engine.floor().fid
    first: dict[str, float] = {}
    best = None
    for result in engine.evaluate():
        checkpoint = run.checkpoint(result.epoch)
        elapsed = checkpoint.state["elapsed"]
        line = {"elapsed_sec": elapsed, "step": result.step, "fid": round(result.fid, 3)}
        line.update(probe(run, result.epoch, engine.evaluator))
        print(json.dumps(line), flush=True)
        if line["recognisable"] and "digits" not in first:
            first["digits"] = elapsed
            print(f"first recognisable grid: {checkpoint.grid_path}", file=sys.stderr)
        for factor in (10, 3):
            if result.fid < factor * floor and f"{factor}x" not in first:
                first[f"{factor}x"] = elapsed
        if best is None or result.fid < best[0]:
            best = (result.fid, elapsed)
    never = f"not within {args.minutes:g} min"
    summary = {
        "config": {k: v for k, v in config.to_dict().items() if k in overrides},
        "floor_fid": round(floor, 4),
        "samples": args.samples,
        "first_grid_sec": run.checkpoints()[0].state["elapsed"],
        "sec_to_recognisable": first.get("digits", never),
        "sec_to_10x_floor": first.get("10x", never),
        "sec_to_3x_floor": first.get("3x", never),
        "best_fid": round(best[0], 3),
        "best_fid_at_sec": best[1],
    }
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
