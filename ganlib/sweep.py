"""Sweeps: settings over seeds, since one GAN run's FID is one draw of a noisy number.

A sweep is a folder that is also a runs directory: ``sweep.json`` (the plan: a base
configuration, the values each swept setting takes, the seeds, how many samples evaluate a
checkpoint) and one run per (point of the grid, seed), named after its settings
(``loss-hinge.lr_g-0.0004.seed-1``). ``run`` trains them one after another with the library's
trainer, evaluates each run's checkpoints when it ends (its best epoch is then recorded as for
any run), and is resumable: a killed sweep started again skips finished runs and resumes the
interrupted one from its newest checkpoint, losing at most one checkpoint interval.
``table`` gives each point's best FID (and recall) as mean and standard deviation over seeds.
The app opens a sweep like any runs folder (``GANLIB_RUNS_DIR=SWEEP``) and compares its runs.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganlib import GanlibError, atomic, evaluation
from ganlib.config import SETTINGS, ConfigError, TrainConfig, setting_type
from ganlib.runs.rundir import RunDir, RunState

SWEEP_FILE = "sweep.json"
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
    samples: int = 5000  # per checkpoint evaluation
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


@dataclass
class Sweep:
    folder: Path
    plan: Plan = field(repr=False)

    @classmethod
    def create(cls, folder: Path, plan: Plan) -> Sweep:
        """A new sweep folder with its plan; every run's settings checked before any trains."""
        problems = []
        if not 100 <= plan.samples <= evaluation.MAX_SAMPLES:
            problems.append(f"samples per evaluation must be between 100 and {evaluation.MAX_SAMPLES:,}")
        for name, config in plan.runs():
            try:
                RunDir(folder, name)
            except ConfigError:
                problems.append(f"{name}: too long or odd for a run name; sweep fewer settings at once")
            problems += [f"{name}: {p}" for p in config.problems()]
        if problems:
            raise ConfigError(problems)
        if (folder / SWEEP_FILE).exists():
            raise GanlibError(
                f"{folder} already holds a sweep: resume it (sweep --resume) or choose another folder"
            )
        folder.mkdir(parents=True, exist_ok=True)
        atomic.write_json(folder / SWEEP_FILE, plan.to_dict())
        return cls(folder, plan)

    @classmethod
    def open(cls, folder: Path) -> Sweep:
        try:
            return cls(folder, Plan.from_dict(atomic.read_json(folder / SWEEP_FILE)))
        except FileNotFoundError:
            raise GanlibError(f"{folder} holds no sweep ({SWEEP_FILE})") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise GanlibError(f"{folder / SWEEP_FILE} is unreadable ({type(exc).__name__}: {exc})") from exc

    def run_dir(self, name: str) -> RunDir:
        return RunDir(self.folder, name)

    def states(self) -> dict[str, RunState | None]:
        """Each planned run's state (None: not started)."""
        return {name: _state(self.run_dir(name)) for name, _ in self.plan.runs()}

    def run(self, log: Callable[[str], None] = print, **train_options: Any) -> None:
        """Train and evaluate every planned run not finished yet, one after another;
        ``train_options`` go to ``train()`` (verbose, control, strategy, precision)."""
        from ganlib.training.train import train

        planned = self.plan.runs()
        for i, (name, config) in enumerate(planned, 1):
            run = self.run_dir(name)
            state = _state(run)
            if state != RunState.FINISHED:
                # A run started before (interrupted, stopped) goes on from its newest checkpoint,
                # or from the start if it was killed before its first one.
                resume = state is not None
                log(f"[{i}/{len(planned)}] {name}: {'resuming' if resume else 'training'}")
                state = train(config, run, resume=resume, log=log, **train_options)
                if state != RunState.FINISHED:
                    log(f"{name}: {state}; the sweep stops here (run it again to go on)")
                    return
            if len(evaluation.cached_results(run)) < len(run.checkpoints()) or not run.best():
                evaluated = evaluation.evaluate_run(evaluation.Engine(run, self.plan.samples))
                log(f"[{i}/{len(planned)}] {name}: best FID {_best_fid(evaluated.results):.2f}")

    def table(self) -> list[dict[str, Any]]:
        """Per point: the swept settings, seeds done, best FID and its recall as mean and std."""
        rows = []
        for point in self.plan.points():
            bests = []
            for seed in self.plan.seeds:
                run = self.run_dir(point.run_name(seed))
                results = evaluation.cached_results(run) if run.exists() else {}
                best = run.best() if results else None
                if best is not None and best.epoch in results:
                    bests.append(results[best.epoch])
            fids, recalls = [r.fid for r in bests], [r.recall for r in bests]
            rows.append(
                {
                    **point.settings,
                    "seeds": len(bests),
                    "best FID mean": statistics.fmean(fids) if fids else None,
                    "best FID std": statistics.stdev(fids) if len(fids) > 1 else None,
                    "recall mean": statistics.fmean(recalls) if recalls else None,
                    "best FIDs": [round(f, 3) for f in fids],
                }
            )
        return rows


def _best_fid(results: list[evaluation.EpochResult]) -> float:
    return min((r.fid for r in results), default=float("nan"))


def _state(run: RunDir) -> RunState | None:
    return run.status().state if run.exists() else None
