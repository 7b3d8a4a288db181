"""Rebuild the demo runs shipped in ``checkpoints/`` from scratch: one command, about 25 minutes
on 2 CPU cores.

    python scripts/build_demo_runs.py                     # demo-mnist and demo-fashion-mnist
    python scripts/build_demo_runs.py --datasets mnist    # one of them
    python scripts/build_demo_runs.py --evaluate-only     # evaluate the shipped runs again
    python -m ganlib directions --run checkpoints/demo-mnist --epoch all   # their Steer directions
    python scripts/build_demo_runs.py --datasets toys     # the 2-D toys' lesson: a minute

Each demo run is the app's default configuration (the quick-start preset with the dataset's own
defaults) trained for ``--steps`` steps in 64 epochs, of which those at doubling intervals are kept
(epochs 1, 2, 4, ..., 64: at 12,800 steps, 200, 400, 800, ... steps: the first blobs, then the
best), so the Gallery's slider and the FID curve tell the whole story in seven checkpoints. The
kept checkpoints are slimmed to what a read-only host needs (``checkpoints.slim``: the EMA
generator, D and the grid; no optimizer state, so a demo run cannot be resumed), then every one
is evaluated at 10,000 samples with the results, the real-data floor and a grid of real test
images cached in the run, and given its latent directions (the Gallery's Steer sliders): a host
without the dataset shows all of it.

The toys' lesson (``TOY_LESSON``: the same GAN on ring8 with D as fast as G, and 10x slower) is
trained as configured (20 epochs of 375 steps), every second checkpoint kept, slimmed and
evaluated by its modes at 2,500 points.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from ganlib import directions, evaluation
from ganlib.config import DEFAULT_PRESET, TOY_LESSON, Lesson, starting_point
from ganlib.runs import checkpoints
from ganlib.runs.rundir import RunDir, RunState
from ganlib.training.train import train

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 64  # of a demo run; those at doubling intervals are kept: seven checkpoints, 2.6 MB each
NAMES = {"mnist": "demo-mnist", "fashion_mnist": "demo-fashion-mnist"}


def doubling(last: int) -> list[int]:
    """1, 2, 4, ... up to ``last``, and ``last`` itself."""
    kept = [1]
    while kept[-1] * 2 < last:
        kept.append(kept[-1] * 2)
    return sorted({*kept, last})


def build(dataset: str, steps: int, out: Path, samples: int) -> RunDir:
    config = starting_point(DEFAULT_PRESET, dataset).replace(
        epochs=EPOCHS, steps_per_epoch=steps // EPOCHS, checkpoint_every=1, tensorboard=False
    )  # no TensorBoard events: the host's 40 MB are for checkpoints
    scratch = Path(tempfile.mkdtemp(prefix="demo-build-"))
    run = RunDir(scratch, NAMES[dataset])
    state = train(config, run, verbose=0)
    if state != RunState.FINISHED:
        sys.exit(f"{run.name}: training ended {state}")
    run.remove_preview()
    kept = doubling(EPOCHS)
    for checkpoint in run.checkpoints():
        if checkpoint.epoch not in kept:
            shutil.rmtree(checkpoint.path)
        else:
            checkpoints.slim(checkpoint)
            directions.find_and_save(run, checkpoint.epoch)
    evaluate(run, samples)
    final = out / run.name
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(run.path, final)
    shutil.rmtree(scratch, ignore_errors=True)
    size = sum(f.stat().st_size for f in final.rglob("*") if f.is_file())
    print(f"{run.name}: {len(kept)} checkpoints, {size / 1e6:.1f} MB in {final}", file=sys.stderr)
    return RunDir(out, run.name)


def build_lesson(lesson: Lesson, out: Path) -> RunDir:
    scratch = Path(tempfile.mkdtemp(prefix="demo-build-"))
    run = RunDir(scratch, lesson.run_name)
    if train(lesson.config.replace(tensorboard=False), run) != RunState.FINISHED:
        sys.exit(f"{run.name}: training did not finish")
    run.remove_preview()
    for checkpoint in run.checkpoints():
        if checkpoint.epoch % 2:
            shutil.rmtree(checkpoint.path)
        else:
            checkpoints.slim(checkpoint)
    evaluated = evaluation.evaluate_run(evaluation.ModeEngine(run))
    for r in evaluated.results:
        print(
            f"  epoch {r.epoch:3d}: {r.modes_covered}/{r.modes} modes, {r.high_quality:.1%} near one",
            file=sys.stderr,
        )
    final = out / run.name
    shutil.rmtree(final, ignore_errors=True)
    shutil.move(run.path, final)
    shutil.rmtree(scratch, ignore_errors=True)
    return RunDir(out, run.name)


def evaluate(run: RunDir, samples: int) -> None:
    """Evaluate every checkpoint afresh, with the floor and real test images, into the run."""
    shutil.rmtree(run.eval_dir, ignore_errors=True)
    engine = evaluation.Engine(run, samples)
    engine.real_grid()
    evaluated = evaluation.evaluate_run(
        engine, progress=lambda f, m: print(f"  {run.name}: {m}", file=sys.stderr)
    )
    results, best = evaluated.results, evaluated.best
    for r in results:
        print(
            f"  epoch {r.epoch:4d} step {r.step:6d} FID {r.fid:9.3f} copy share {r.copy_share:.3f}",
            file=sys.stderr,
        )
    print(
        f"{run.name}: best epoch {best.epoch} FID {best.fid:.3f} at {best.samples:,} samples",
        file=sys.stderr,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", choices=[*NAMES, "toys"], default=[*NAMES, "toys"])
    parser.add_argument("--steps", type=int, default=12_800, help=f"training steps (a multiple of {EPOCHS})")
    parser.add_argument("--samples", type=int, default=evaluation.DEFAULT_SAMPLES, help="samples per FID")
    parser.add_argument("--out", type=Path, default=ROOT / "checkpoints")
    parser.add_argument(
        "--evaluate-only", action="store_true", help="evaluate the runs in --out again (a new engine version)"
    )
    args = parser.parse_args()
    for dataset in args.datasets:
        if dataset == "toys":
            for lesson in TOY_LESSON:
                build_lesson(lesson, args.out)
        elif args.evaluate_only:
            evaluate(RunDir(args.out, NAMES[dataset]), args.samples)
        else:
            build(dataset, args.steps, args.out, args.samples)


if __name__ == "__main__":
    main()
