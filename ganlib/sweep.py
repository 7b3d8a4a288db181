"""Sweeps: settings over seeds, since one GAN run's FID is one draw of a noisy number.

A sweep is a plan (a base configuration, the values each swept setting takes, the seeds, how many
samples evaluate a checkpoint) and one run per (point of the grid, seed), named after its settings
(``loss-hinge.lr_g-0.0004.seed-1``). It lives in one of two places:

- a folder of its own (``python -m ganlib sweep --folder F``): ``F/sweep.json`` and the runs in
  ``F``, a runs directory the app opens with ``GANLIB_RUNS_DIR=F``;
- named, among a runs directory's other runs (the app's Train page, or ``--folder D --name N``):
  ``D/sweeps/N.json``, and runs named ``N.loss-hinge.seed-1``, so every page of the app shows
  them beside the others.

``run`` trains the planned runs one after another with the library's trainer, evaluates each when
it ends (its best epoch is then recorded as for any run), and is resumable: a killed sweep started
again skips finished runs and resumes the interrupted one from its newest checkpoint, losing at
most one checkpoint interval. With ``share=(k, n)`` it trains every n-th run from the k-th, so n
processes, one per GPU, split a sweep without two ever taking the same run. ``table`` gives each
point's best FID (and recall) as mean and standard deviation over seeds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ganlib import GanlibError, atomic, evaluation
from ganlib.config import SETTINGS, ConfigError, TrainConfig, check_run_name, setting_type
from ganlib.runs.rundir import RunDir, RunState

SWEEP_FILE = "sweep.json"  # a sweep folder's plan
SWEEPS_FOLDER = "sweeps"  # a runs directory's named sweeps: sweeps/NAME.json
DEFAULT_SAMPLES = 5000  # per checkpoint: half of Evaluate's, since a sweep evaluates every run
NOT_SWEPT = {"seed", "dataset"}  # seeds have their own count; a sweep compares on one dataset


@dataclass(frozen=True)
class Point:
    """One combination of the swept settings, and the name its runs share (without the seed)."""

    settings: dict[str, Any]

    @property
    def label(self) -> str:
        return ".".join(f"{name}-{value}" for name, value in self.settings.items()) or "base"

    def run_name(self, seed: int) -> str:
        return f"{self.label}.seed-{seed}"


@dataclass(frozen=True)
class Plan:
    base: TrainConfig
    grid: dict[str, list[Any]]  # setting -> the values it takes, in order
    seeds: list[int]
    samples: int = DEFAULT_SAMPLES  # per checkpoint evaluation
    draws: int | None = None  # a random draw of this many points from the grid (None: all)
    draw_seed: int = 0

    def points(self) -> list[Point]:
        every = [Point(dict(zip(self.grid, values))) for values in itertools.product(*self.grid.values())]
        if self.draws is None or self.draws >= len(every):
            return every
        chosen = sorted(random.Random(self.draw_seed).sample(range(len(every)), self.draws))
        return [every[i] for i in chosen]

    def runs(self) -> list[tuple[str, TrainConfig]]:
        """(run name, configuration) in training order: every point at seed 0, then at seed 1...,
        so a sweep cut short still has a first figure for every point."""
        return [
            (point.run_name(seed), self.base.replace(**point.settings, seed=seed))
            for seed in self.seeds
            for point in self.points()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base.to_dict(),
            "grid": self.grid,
            "seeds": self.seeds,
            "samples": self.samples,
            "draws": self.draws,
            "draw_seed": self.draw_seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            TrainConfig.from_dict(data["base"]),
            {k: list(v) for k, v in data["grid"].items()},
            [int(s) for s in data["seeds"]],
            int(data["samples"]),
            data.get("draws"),
            int(data.get("draw_seed", 0)),
        )


def parse_grid(assignments: list[str]) -> dict[str, list[Any]]:
    """``["loss=bce,hinge", "lr_g=2e-4,4e-4"]`` -> ``{"loss": ["bce", "hinge"], "lr_g": [...]}``,
    each value converted as its setting's flag converts it; every problem reported at once."""
    grid, problems = {}, []
    for text in assignments:
        name, _, values = text.partition("=")
        name = name.strip().replace("-", "_")
        if name not in SETTINGS or name in NOT_SWEPT:
            problems.append(f"{name!r} is not a setting a sweep varies ({text!r})")
            continue
        kind = setting_type(name)
        try:
            parsed = [_convert(kind, v.strip()) for v in values.split(",") if v.strip()]
        except ValueError:
            problems.append(
                f"{name}: every value must be a{'n' if kind is int else ''} {kind.__name__} ({text!r})"
            )
            continue
        if not parsed:
            problems.append(f"{name}: no values ({text!r})")
        grid[name] = [SETTINGS[name].from_input(v) for v in dict.fromkeys(parsed)]  # duplicates once
    if problems:
        raise ConfigError(problems)
    return grid


def _convert(kind: type, text: str) -> Any:
    if kind is bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(text)
        return text.lower() in ("true", "1", "yes")
    return kind(text)


class Phase(StrEnum):
    TRAINING = "training"
    EVALUATING = "evaluating"


@dataclass(frozen=True)
class Position:
    """Where a running sweep is: its ``index``-th run of ``total`` and what is being done to it."""

    run: str
    index: int
    total: int
    phase: Phase

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        return cls(str(data["run"]), int(data["index"]), int(data["total"]), Phase(data["phase"]))


def plan_path(folder: Path, name: str = "") -> Path:
    """Where a sweep's plan is: its own folder's ``sweep.json``, or ``sweeps/NAME.json``."""
    return folder / SWEEPS_FOLDER / f"{name}.json" if name else folder / SWEEP_FILE


@dataclass
class Sweep:
    folder: Path  # where its runs are
    plan: Plan = field(repr=False)
    name: str = ""  # "": the folder is the sweep's own

    @classmethod
    def create(cls, folder: Path, plan: Plan, name: str = "") -> Sweep:
        """A new sweep and its plan; every run's settings checked before any trains."""
        problems = []
        if name:
            try:
                check_run_name(name)
            except ConfigError as exc:
                problems += exc.problems
        if not 100 <= plan.samples <= evaluation.MAX_SAMPLES:
            problems.append(f"samples per evaluation must be between 100 and {evaluation.MAX_SAMPLES:,}")
        job = cls(folder, plan, name)
        for run_name, config in job.runs():
            try:
                RunDir(folder, run_name)
            except ConfigError:
                problems.append(f"{run_name}: too long or odd for a run name; sweep fewer settings at once")
            else:
                if (folder / run_name).exists():
                    problems.append(
                        f"{run_name}: a run of that name exists already; name the sweep otherwise"
                    )
            problems += [f"{run_name}: {p}" for p in config.problems()]
        if problems:
            raise ConfigError(problems)
        if job.plan_path.exists():
            raise GanlibError(
                f"{job.plan_path} holds a sweep already: resume it or choose another "
                f"{'name' if name else 'folder'}"
            )
        job.plan_path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(job.plan_path, plan.to_dict())
        return job

    @classmethod
    def open(cls, folder: Path, name: str = "") -> Sweep:
        path = plan_path(folder, name)
        try:
            return cls(folder, Plan.from_dict(atomic.read_json(path)), name)
        except FileNotFoundError:
            raise GanlibError(f"{folder} holds no sweep {name or SWEEP_FILE!r}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise GanlibError(f"{path} is unreadable ({type(exc).__name__}: {exc})") from exc

    @property
    def plan_path(self) -> Path:
        return plan_path(self.folder, self.name)

    def run_name(self, point: Point, seed: int) -> str:
        return f"{self.name}.{point.run_name(seed)}" if self.name else point.run_name(seed)

    def runs(self) -> list[tuple[str, TrainConfig]]:
        """(run name, configuration) in training order (``Plan.runs``)."""
        return [(f"{self.name}.{n}" if self.name else n, config) for n, config in self.plan.runs()]

    def run_dir(self, name: str) -> RunDir:
        return RunDir(self.folder, name)

    def states(self) -> dict[str, RunState | None]:
        """Each planned run's state (None: not started)."""
        return {name: _state(self.run_dir(name)) for name, _ in self.runs()}

    def pending(self) -> list[str]:
        """The planned runs not finished yet, in training order."""
        return [name for name, state in self.states().items() if state != RunState.FINISHED]

    def run(
        self,
        log: Callable[[str], None] = print,
        on_position: Callable[[Position], None] = lambda position: None,
        share: tuple[int, int] = (0, 1),
        **train_options: Any,
    ) -> RunState:
        """Train and evaluate every planned run of this process' ``share`` not finished yet, one
        after another; ``train_options`` go to ``train()`` (verbose, control, report, strategy,
        precision). Returns finished, or the state of the run that did not finish (stopped)."""
        from ganlib.training.train import train

        control = train_options.get("control")
        planned = self.runs()
        part, parts = share
        for i, (name, config) in enumerate(planned, 1):
            if (i - 1) % parts != part:
                continue
            if control is not None and control.stop_requested:  # a Stop during an evaluation
                return RunState.STOPPED
            run = self.run_dir(name)
            state = _state(run)
            if state != RunState.FINISHED:
                # A run started before (interrupted, stopped) goes on from its newest checkpoint,
                # or from the start if it was killed before its first one.
                resume = state is not None
                log(f"[{i}/{len(planned)}] {name}: {'resuming' if resume else 'training'}")
                on_position(Position(name, i, len(planned), Phase.TRAINING))
                state = train(config, run, resume=resume, log=log, **train_options)
                if state != RunState.FINISHED:
                    log(f"{name}: {state}; the sweep stops here (run it again to go on)")
                    return state
            if len(evaluation.cached_results(run)) < len(run.checkpoints()) or not run.best():
                on_position(Position(name, i, len(planned), Phase.EVALUATING))
                evaluated = evaluation.evaluate_run(evaluation.Engine(run, self.plan.samples))
                log(f"[{i}/{len(planned)}] {name}: best FID {_best_fid(evaluated.results):.2f}")
        return RunState.FINISHED

    def table(self) -> list[PointResult]:
        """Per point of the grid: its settings and the best FID and recall of each seed done."""
        rows = []
        for point in self.plan.points():
            bests = []
            for seed in self.plan.seeds:
                run = self.run_dir(self.run_name(point, seed))
                results = evaluation.cached_results(run) if run.exists() else {}
                best = run.best() if results else None
                if best is not None and best.epoch in results:
                    bests.append(results[best.epoch])
            rows.append(PointResult(point.settings, [r.fid for r in bests], [r.recall for r in bests]))
        return rows


@dataclass(frozen=True)
class PointResult:
    """One row of a sweep's table: a point's settings and, per seed done, its run's best FID and
    the recall at that checkpoint; the figures a reader compares are their mean and spread."""

    settings: dict[str, Any]
    best_fids: list[float]
    recalls: list[float]

    @property
    def seeds(self) -> int:
        return len(self.best_fids)

    @property
    def fid_mean(self) -> float | None:
        return statistics.fmean(self.best_fids) if self.best_fids else None

    @property
    def fid_std(self) -> float | None:
        """The sample standard deviation over seeds; None below two seeds."""
        return statistics.stdev(self.best_fids) if self.seeds > 1 else None

    @property
    def recall_mean(self) -> float | None:
        return statistics.fmean(self.recalls) if self.recalls else None

    def to_dict(self) -> dict[str, Any]:
        """The row as the CLI prints it (one JSON object a line): the settings, then the figures."""
        return {
            **self.settings,
            "seeds": self.seeds,
            "best FID mean": self.fid_mean,
            "best FID std": self.fid_std,
            "recall mean": self.recall_mean,
            "best FIDs": [round(f, 3) for f in self.best_fids],
        }


def named_sweeps(runs_dir: Path | str) -> list[Sweep]:
    """The named sweeps among a runs directory's runs (unreadable plans are left out), by name."""
    found = []
    for path in sorted((Path(runs_dir) / SWEEPS_FOLDER).glob("*.json")):
        with contextlib.suppress(GanlibError):
            found.append(Sweep.open(Path(runs_dir), path.stem))
    return found


def sweep_of(runs_dir: Path | str, run_name: str) -> Sweep | None:
    """The named sweep that plans ``run_name``, if any."""
    return next((job for job in named_sweeps(runs_dir) if run_name in dict(job.runs())), None)


def _best_fid(results: list[evaluation.EpochResult]) -> float:
    return min((r.fid for r in results), default=float("nan"))


def _state(run: RunDir) -> RunState | None:
    return run.status().state if run.exists() else None
