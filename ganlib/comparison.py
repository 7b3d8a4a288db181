"""Comparing runs: each run's checkpoints on a common axis of training progress, the checkpoint of
each nearest to a point on it, and the settings in which the runs differ.

Runs differ in batch size and D steps, so a step of one is not a step of another: progress is
measured in steps or in real images seen (steps x batch size x D steps per G step), the fair axis
when batch sizes differ. The FID beside each checkpoint is its cached evaluation at the largest
sample count (``evaluation.cached_results``): nothing is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ganlib import GanlibError, evaluation
from ganlib.config import TrainConfig
from ganlib.data import toys
from ganlib.runs.checkpoints import Checkpoint
from ganlib.runs.rundir import RunDir

MAX_RUNS = 4


class Axis(StrEnum):
    IMAGES = "images seen"
    STEPS = "steps"


@dataclass(frozen=True)
class Point:
    """One checkpoint of a run on the progress axes, with its FID when evaluated."""

    checkpoint: Checkpoint
    images_seen: int
    seconds: float
    fid: float | None
    samples: int | None  # the FID's sample count

    @property
    def step(self) -> int:
        return self.checkpoint.step

    def at(self, axis: Axis) -> int:
        return self.images_seen if axis == Axis.IMAGES else self.step


def points(run: RunDir) -> list[Point]:
    """The run's checkpoints in order, each on the progress axes with its cached FID."""
    config = run.config()
    images_per_step = config.batch_size * config.critic_steps()
    scores = evaluation.cached_results(run)
    out = []
    for checkpoint in run.checkpoints():
        score = scores.get(checkpoint.epoch)
        out.append(
            Point(
                checkpoint,
                checkpoint.step * images_per_step,
                float(checkpoint.state.get("elapsed", 0.0)),
                None if score is None else score.fid,
                None if score is None else score.samples,
            )
        )
    return out


def nearest(run_points: list[Point], position: int, axis: Axis) -> Point | None:
    """The checkpoint nearest to ``position`` on ``axis`` (the earlier one on a tie)."""
    return min(run_points, key=lambda p: (abs(p.at(axis) - position), p.at(axis)), default=None)


def differing_settings(configs: dict[str, TrainConfig]) -> dict[str, dict[str, object]]:
    """``{setting: {run: value}}`` for every setting whose value is not the same in all runs."""
    values = {name: config.to_dict() for name, config in configs.items()}
    settings = sorted({key for row in values.values() for key in row})
    return {
        key: {name: row.get(key) for name, row in values.items()}
        for key in settings
        if len({repr(row.get(key)) for row in values.values()}) > 1
    }


TRACKED_SETTINGS = (
    "dataset",
    "model",
    "loss",
    "epochs",
    "batch_size",
    "latent_dim",
    "seed",
)  # ganlib.track reads
RESULT_COLUMNS = ("best epoch", "best FID", "KID", "precision", "recall", "FID samples")
# A 2-D toy's result is its modes, not an FID (issue 44: its FID cells read "None").
MODE_COLUMNS = ("modes covered", "high quality")


def mode_figures(run: RunDir, epoch: int | None) -> dict[str, object]:
    """A toy run's result at ``epoch`` (its best): modes covered as "k/K" and the share of
    high-quality points; empty for an image run or an epoch not evaluated."""
    figures = dict.fromkeys(MODE_COLUMNS)
    if epoch is None or not toys.is_toy(run.config().dataset):
        return figures  # an image run has no modes: its caches are not read again
    result = evaluation.cached_mode_results(run).get(epoch)
    if result is not None:
        figures.update(
            {"modes covered": f"{result.modes_covered}/{result.modes}", "high quality": result.high_quality}
        )
    return figures


def runs_table(runs: list[RunDir]) -> list[dict[str, object]]:
    """One row per run: its best checkpoint's figures (cached at the largest sample count, else
    what ``best.json`` holds; a toy's modes) and every setting, for a table sorted and filtered by
    any of them. An unreadable run is left out: the Home page says why."""
    rows = []
    for run in runs:
        try:
            config, best = run.config(), run.best()
            scored = evaluation.cached_results(run).get(best.epoch) if best else None
            toy = mode_figures(run, best and best.epoch)
        except (GanlibError, OSError):
            continue
        figures = dict.fromkeys(RESULT_COLUMNS)
        if best is not None:
            figures.update({"best epoch": best.epoch, "best FID": best.fid, "KID": best.kid})
        if scored is not None:
            figures.update(
                {"best FID": scored.fid, "KID": scored.kid, "precision": scored.precision,
                 "recall": scored.recall, "FID samples": scored.samples}
            )  # fmt: skip
        settings = {k: v for k, v in config.to_dict().items() if k != "extra"}
        if run.trained_elsewhere:  # its own settings, as its writer gave them, not our trainer's defaults
            given = {k: v for k, v in config.extra.items() if isinstance(v, (int, float, str, bool))}
            settings = {k: settings[k] for k in TRACKED_SETTINGS} | given
        rows.append({"run": run.name, **figures, **toy, **settings})
    return rows


def parallel_axes(
    rows: list[dict[str, object]], configs: dict[str, TrainConfig]
) -> tuple[list[dict], list[str]]:
    """What Compare's parallel coordinates plot: the rows with a best FID (a line needs its end)
    and the settings that differ between those runs alone; ``([], [])`` under two such runs.
    Settings all of them share would be flat axes that bury the few that differ (issue 44)."""
    scored = [row for row in rows if row.get("best FID") is not None and row["run"] in configs]
    if len(scored) < 2:
        return [], []
    return scored, list(differing_settings({row["run"]: configs[row["run"]] for row in scored}))
