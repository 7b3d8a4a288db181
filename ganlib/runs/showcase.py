"""What the Home page leads with: the best checkpoint of each image dataset's best run."""

from __future__ import annotations

from pathlib import Path

from ganlib import GanlibError
from ganlib.data import toys
from ganlib.runs.checkpoints import Checkpoint
from ganlib.runs.rundir import RunDir, list_runs


def best_checkpoints(runs_dir: Path | str | None = None, limit: int = 2) -> list[tuple[RunDir, Checkpoint]]:
    """What the Home page leads with: for each image dataset (up to ``limit``), the best checkpoint of
    the run whose best epoch has the lowest FID among those chosen at the largest sample count
    (FID is biased by the count, so only equal counts compare). Runs without a best epoch, or
    whose best checkpoint is gone, are passed over. Datasets come in the order their first run
    was made."""
    candidates: dict[str, list[tuple[tuple[int, float], RunDir, Checkpoint]]] = {}
    for run in reversed(list_runs(runs_dir)):  # oldest first
        try:
            best = run.best()
            if best is None:
                continue
            checkpoint = run.checkpoint(best.epoch)
            rank = (-(best.samples or 0), float("inf") if best.fid is None else best.fid)
            dataset = run.config().dataset
        except (GanlibError, OSError):
            continue
        if toys.is_toy(dataset):  # 2-D toys have Home's lesson of their own
            continue
        candidates.setdefault(dataset, []).append((rank, run, checkpoint))
    chosen = [min(found, key=lambda c: c[0]) for found in candidates.values()]
    return [(run, checkpoint) for _, run, checkpoint in chosen[:limit]]
