"""``python -m benchmarks.toy_table``: the 2-D toy benchmarks' two numbers, modes covered and
the high-quality share (``ganlib.measure.modes``), per loss on ring8 and grid25 over seeds, each
run trained with the toy preset and evaluated at every checkpoint (2,500 points each). Prints a
JSON line per run, then a Markdown table of the mean and range over seeds at the last
checkpoint and at the best one (the highest balanced quality).

    python -m benchmarks.toy_table --seeds 3                      # the table in docs/benchmarks.md
    python -m benchmarks.toy_table --toys ring8 --variants bce hinge+sn --seeds 1 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from benchmarks import variants
from ganlib import evaluation
from ganlib.config import PRESETS, TOY_SLOW_D, TrainConfig
from ganlib.runs.rundir import RunDir
from ganlib.training.train import train

# A variant is a loss, then options: "+sn" spectral norm in D, "+ema" the generator's moving
# average, "+slow-d" D's rate 10x below G's with Metz et al.'s batch 512 and latent 256 (TOY_SLOW_D),
# "+SETTING=VALUE" any other setting (e.g. "hinge+lr_g=5e-4+lr_d=5e-4").
VARIANTS = ["bce", "lsgan", "hinge", "wgan-gp", "bce+sn", "bce+slow-d"]


def variant_config(toy: str, variant: str, seed: int, epochs: int) -> TrainConfig:
    loss, options, given = variants.split(variant)
    base = TOY_SLOW_D if "slow-d" in options else PRESETS["toy"]
    settings = {
        "dataset": f"toy:{toy}",
        "pack": 1,  # one point at a time unless the variant says "+pack=N" (the tables before PacGAN)
        "loss": loss,
        "spectral_norm": "sn" in options,
        "ema": 0.999 if "ema" in options else 0.0,
        "seed": seed,
        "epochs": epochs,
        "tensorboard": False,
    }
    return base.replace(**(settings | given))


def measure(runs_dir: Path, toy: str, variant: str, seed: int, epochs: int) -> dict:
    run = RunDir(runs_dir, variants.run_name(f"{toy}-{variant}-seed{seed}"))
    if not run.exists():
        train(variant_config(toy, variant, seed, epochs), run)
    results = evaluation.evaluate_run(evaluation.ModeEngine(run)).results
    last, best = results[-1], evaluation.best_by_modes(results)
    return {
        "toy": toy, "variant": variant, "seed": seed, "steps": last.step,
        "last_modes": last.modes_covered, "last_hq": round(last.high_quality, 3), "last_kl": round(last.mode_kl, 3),
        "last_balanced": round(last.balanced_quality, 3), "best_balanced": round(best.balanced_quality, 3),
        "best_modes": best.modes_covered, "best_hq": round(best.high_quality, 3), "best_epoch": best.epoch,
    }  # fmt: skip


def _mean_range(values: list[float], digits: int) -> str:
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(rows: list[dict]) -> str:
    lines = [
        "| toy | variant | steps | modes, last | high quality, last | mode KL, last | balanced, last "
        "| modes, best | high quality, best | balanced, best |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for toy in dict.fromkeys(r["toy"] for r in rows):
        for variant in dict.fromkeys(r["variant"] for r in rows if r["toy"] == toy):
            group = [r for r in rows if r["toy"] == toy and r["variant"] == variant]
            cells = [
                _mean_range([r["last_modes"] for r in group], 1),
                _mean_range([r["last_hq"] for r in group], 2),
                _mean_range([r["last_kl"] for r in group], 2),
                _mean_range([r["last_balanced"] for r in group], 2),
                _mean_range([r["best_modes"] for r in group], 1),
                _mean_range([r["best_hq"] for r in group], 2),
                _mean_range([r["best_balanced"] for r in group], 2),
            ]
            lines.append(f"| {toy} | {variant} | {group[0]['steps']:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--toys", nargs="+", default=["ring8", "grid25"])
    parser.add_argument("--variants", nargs="+", default=VARIANTS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="confirm on seeds not screened on")
    parser.add_argument("--epochs", type=int, default=PRESETS["toy"].epochs)
    parser.add_argument("--runs-dir", type=Path, default=None, help="keep (and reuse) the runs here")
    args = parser.parse_args()
    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="toy-table-"))
    rows = []
    for toy in args.toys:
        for variant in args.variants:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                rows.append(measure(runs_dir, toy, variant, seed, args.epochs))
                print(json.dumps(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
