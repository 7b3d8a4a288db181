"""Draw the strips of docs/directions.md: for each shipped demo run's best checkpoint, each saved
latent direction as rows of base samples moved from -3 to +3 sd, and a Markdown table of the
directions' figures.

    python scripts/direction_strips.py [--out docs/directions]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ganlib import atomic, directions
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images, latents
from ganlib.training import model_io

ROOT = Path(__file__).resolve().parents[1]
RUNS = ["demo-mnist", "demo-fashion-mnist"]
ROWS = 4  # base samples per strip (for a conditional model: classes 0, 3, 6, 9 or so)
STEPS = 7


def strips(run: RunDir, out: Path) -> list[str]:
    """Write one PNG per direction of the run's best checkpoint; return the table's rows."""
    epoch = (best := run.best()) and best.epoch or run.checkpoint().epoch
    checkpoint = run.checkpoint(epoch)
    found = directions.load(checkpoint)
    if found is None:
        raise SystemExit(f"{run.name} epoch {epoch} has no directions: python -m ganlib directions")
    generator = model_io.load_sampler(run, epoch)
    bases = latents.truncated_latents(found.latent_dim, 1, ROWS)
    labels = None
    if generator.conditional:
        classes = np.linspace(0, generator.num_classes - 1, ROWS).round().astype(np.int32)
        labels = np.repeat(classes, STEPS)
    rows = []
    for direction in found.directions:
        path = np.concatenate([found.strip(base, direction.name, STEPS) for base in bases])
        drawn = generator.sample(path, labels)
        name = f"{run.name}-{direction.name.replace(' ', '')}.png"
        atomic.write_bytes(out / name, images.png_bytes(images.grid(drawn, columns=STEPS), scale=2))
        explained = (
            f"{direction.explained:.1%} of the variance"
            if direction.kind == directions.PRINCIPAL
            else f"R² {direction.explained:.2f}"
        )
        entangled = "" if direction.entanglement is None else f"{direction.entanglement:.2f}"
        effects = ", ".join(f"{k} {v:+.2f}" for k, v in direction.effects.items())
        rows.append(
            f"| {run.name} @ {epoch} | {direction.name} | {explained} | {entangled} | {effects} | "
            f"![{direction.name}](directions/{name}) |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "directions")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        "| run @ epoch | direction | explains | entanglement | per sd moved (attribute sds) | -3 ... +3 sd |"
    )
    print("|---|---|---|---|---|---|")
    for name in RUNS:
        for row in strips(RunDir(ROOT / "checkpoints", name), args.out):
            print(row)


if __name__ == "__main__":
    main()
