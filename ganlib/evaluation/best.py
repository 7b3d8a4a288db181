"""The steps every evaluation takes, and the one writer of a run's best epoch."""

from __future__ import annotations

from dataclasses import dataclass

from ganlib.data import toys
from ganlib.evaluation.cache import OnProgress, _quiet
from ganlib.evaluation.image_engine import Engine
from ganlib.evaluation.results import (
    DEFAULT_SAMPLES,
    MODES_METRIC,
    EpochResult,
    ModeResult,
    SetMetrics,
    best_by_modes,
    best_epoch,
    metric_label,
)
from ganlib.evaluation.toy_engine import ModeEngine
from ganlib.measure import modes
from ganlib.runs.rundir import Best, ChosenBy, RunDir


@dataclass
class RunEvaluation:
    floor: SetMetrics | modes.ModeStats  # real data against real data at the same sample count
    results: list[EpochResult] | list[ModeResult]
    best: Best | None  # best.json after this evaluation


def evaluate_run(
    engine: Engine | ModeEngine, epochs: list[int] | None = None, progress: OnProgress = _quiet
) -> RunEvaluation:
    """The evaluate steps every caller takes (the CLI, the Evaluate page, the demo builder), in
    order: the real-data floor at this sample count, each epoch's metrics (both cached), then the
    best epoch recorded, unless a person has chosen one."""
    floor = engine.floor()
    results = engine.evaluate(epochs, progress=progress)
    return RunEvaluation(floor, results, record_best(engine.run, results))


def mark_best(
    run: RunDir, epoch: int, chosen_by: ChosenBy, result: EpochResult | ModeResult | None = None
) -> None:
    """The one writer of ``best.json``: the epoch, who chose it and, when it is evaluated, its
    figures with the metric and sample count they are in."""
    figures = {}
    if isinstance(result, ModeResult):
        figures = dict(metric=MODES_METRIC, samples=result.samples)
    elif result is not None:
        figures = dict(
            fid=result.fid, kid=result.kid, metric=metric_label(result.evaluator), samples=result.samples
        )
    run.set_best(Best(epoch, chosen_by, **figures))


def record_best(run: RunDir, results: list[EpochResult] | list[ModeResult]) -> Best | None:
    """Store the best epoch by FID (a toy's: by its modes), unless people chose one (by hand or
    by their blind picks), or the best was chosen among results of more samples: FID is biased by the sample
    count, so only results of one count compare, and a smaller pass never replaces a larger one's
    choice."""
    toy = any(isinstance(r, ModeResult) for r in results)
    best = best_by_modes(results) if toy else best_epoch(results)
    current = run.best()
    if best is None or (current and current.chosen_by.by_people):
        return current
    if current and (current.samples or 0) > best.samples:
        return current
    mark_best(run, best.epoch, ChosenBy.MODES if toy else ChosenBy.FID, best)
    return run.best()


def engine_for(
    run: RunDir, samples: int | None = None, read_only: bool = False, evaluator: str | None = None
):
    """The engine that evaluates ``run``: by its modes for a 2-D toy, else by FID and friends."""
    if toys.is_toy(run.config().dataset):
        return ModeEngine(run, samples or modes.DEFAULT_POINTS, read_only)
    return Engine(run, samples or DEFAULT_SAMPLES, evaluator, read_only)
