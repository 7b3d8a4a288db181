"""Time to quality: wall-clock seconds from Start until the generator draws recognisable digits,
and until the MNIST-classifier FID falls below 10x and 3x the real-data floor, on this machine.

    python -m benchmarks.time_to_quality --minutes 10                     # the app's default
    python -m benchmarks.time_to_quality --minutes 10 --preset tutorial  # the TF DCGAN tutorial
    python -m benchmarks.time_to_quality --minutes 3 --model dcgan --width 0.25  # any variation
    python -m benchmarks.time_to_quality --minutes 10 --dataset fashion_mnist --seeds 3 --steps 936 --samples 10000

It trains with short "epochs" (a checkpoint every --steps steps) for a fixed wall-clock budget,
then evaluates every checkpoint; the seconds are the trainer's own (state.json "elapsed"), so
evaluation time is not counted.

"Recognisable" is decided by the shipped MNIST classifier, so that it is repeatable: of 1,000
fresh samples, at least 80% are classified with probability >= 0.9 and every class gets at least
5% of them (1,000 real test digits: 98.6% sure, smallest class 8.5%; uniform noise: 100% sure,
all of one class). Look at the grids too: the script prints the
path of the checkpoint where that first happens. Results print as JSON lines (each with its seed),
then a summary per seed, then one over the seeds: the best FID's mean and spread, and whether
issue 22's targets for the dataset are met (judged on the mean; the worst seed is given too).
Steps are printed beside seconds: machines differ 3-4x, steps do not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks import trainer_speed
from ganlib import evaluation
from ganlib.config import PRESETS, TrainConfig, starting_point
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


@dataclass(frozen=True)
class Targets:
    """Issue 22's targets for a 10-minute run of the default, FID at 10,000 samples."""

    best_fid: float
    probe_steps: int  # recognisable samples (the probe) within this many steps
    last_over_best: float = 1.25  # the last checkpoint's FID within this factor of the run's best


TARGETS = {
    "mnist": Targets(best_fid=0.5, probe_steps=500),
    "fashion_mnist": Targets(best_fid=2.5, probe_steps=1000),
}


def over_seeds(summaries: list[dict], targets: Targets | None) -> dict:
    """The seeds' summaries in one: mean and spread of the best FID, the worst of each, the targets."""
    bests = np.array([s["best_fid"] for s in summaries])
    ratios = [s["last_over_best"] for s in summaries]
    probes = [s["step_to_recognisable"] for s in summaries]
    probe_worst = None if None in probes else max(probes)
    result = {
        "seeds": [s["seed"] for s in summaries],
        "best_fid": [s["best_fid"] for s in summaries],
        "best_fid_mean": round(float(bests.mean()), 3),
        "best_fid_std": round(float(bests.std()), 3),
        "best_fid_at_step": [s["best_fid_at_step"] for s in summaries],
        "last_over_best_worst": max(ratios),
        "step_to_recognisable_worst": probe_worst,
        "steps": [s["steps"] for s in summaries],
    }
    if targets is not None:
        result["targets"] = {
            "best_fid": {"target": targets.best_fid, "met": bool(bests.mean() <= targets.best_fid)},
            "last_over_best": {
                "target": targets.last_over_best,
                "met": max(ratios) <= targets.last_over_best,
            },
            "step_to_recognisable": {
                "target": targets.probe_steps,
                "met": probe_worst is not None and probe_worst <= targets.probe_steps,
            },
        }
    return result


def measure(config: TrainConfig, run: RunDir, minutes: float, samples: int, train: bool) -> dict:
    """Train ``run`` for ``minutes`` (unless only evaluating), evaluate every checkpoint, print a
    line for each, and return the run's summary."""
    if train:
        trainer_speed.train_for(config, minutes * 60, run)
    print(f"trained into {run.path}", file=sys.stderr)

    engine = evaluation.Engine(run, samples=samples)
    floor = engine.floor().fid
    first: dict[str, tuple[float, int]] = {}  # mark -> (seconds, step) where it is first reached
    points = []
    for result in engine.evaluate():
        checkpoint = run.checkpoint(result.epoch)
        elapsed = checkpoint.state["elapsed"]
        line = {"seed": config.seed, "elapsed_sec": elapsed, "step": result.step, "fid": round(result.fid, 3)}
        line.update(precision=round(result.precision, 3), recall=round(result.recall, 3))
        line.update(probe(run, result.epoch, engine.evaluator))
        print(json.dumps(line), flush=True)
        points.append(line)
        if line["recognisable"] and "digits" not in first:
            first["digits"] = (elapsed, result.step)
            print(f"first recognisable grid: {checkpoint.grid_path}", file=sys.stderr)
        for factor in (10, 3):
            if result.fid < factor * floor and f"{factor}x" not in first:
                first[f"{factor}x"] = (elapsed, result.step)
    best = min(points, key=lambda p: p["fid"])
    never = (f"not within {minutes:g} min", None)  # (seconds, step) of a mark never reached
    digits, tenfold, threefold = (first.get(mark, never) for mark in ("digits", "10x", "3x"))
    return {
        "seed": config.seed,
        "floor_fid": round(floor, 4),
        "samples": samples,
        "steps": points[-1]["step"],
        "first_grid_sec": points[0]["elapsed_sec"],
        "sec_to_recognisable": digits[0],
        "step_to_recognisable": digits[1],
        "sec_to_10x_floor": tenfold[0],
        "sec_to_3x_floor": threefold[0],
        "step_to_3x_floor": threefold[1],
        "best_fid": best["fid"],
        "best_fid_at_sec": best["elapsed_sec"],
        "best_fid_at_step": best["step"],
        "recall_at_best": best["recall"],
        "precision_at_best": best["precision"],
        "last_fid": points[-1]["fid"],
        "last_over_best": round(points[-1]["fid"] / best["fid"], 3),
    }


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
        "beta_1": float, "ema": float, "r1": float, "steps_per_execution": int, "augment": str,
        "lr_schedule": str, "lr_boost": float,
    }  # fmt: skip
    for name, kind in overrides.items():
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument(
        "--seeds", type=int, default=1, help="how many seeds, one run each, one after another"
    )
    parser.add_argument("--steps", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--samples", type=int, default=2000, help="samples per FID")
    parser.add_argument("--runs-dir", type=Path, default=None)
    parser.add_argument("--evaluate-only", action="store_true", help="re-evaluate finished runs")
    args = parser.parse_args()

    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="ttq-"))
    given = {name: getattr(args, name) for name in overrides if getattr(args, name) is not None}
    base = starting_point(args.preset, given.get("dataset")).replace(
        **given, steps_per_epoch=args.steps, log_every=args.steps
    )
    summaries = []
    for seed in range(args.seed, args.seed + args.seeds):
        config = base.replace(seed=seed)
        config.validate()
        name = "-".join(["ttq", args.preset, *(f"{k}{v}" for k, v in given.items())])[:56] + f"-seed{seed}"
        summary = measure(config, RunDir(runs_dir, name), args.minutes, args.samples, not args.evaluate_only)
        summary["config"] = {k: v for k, v in config.to_dict().items() if k in overrides}
        print(json.dumps({"summary": summary}), flush=True)
        summaries.append(summary)
    # The targets are for ten minutes at 10,000 samples: a shorter or smaller run is not judged.
    judged = args.minutes >= 10 and args.samples >= 10_000
    print(json.dumps({"over_seeds": over_seeds(summaries, TARGETS.get(base.dataset) if judged else None)}))


if __name__ == "__main__":
    main()
