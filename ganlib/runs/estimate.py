"""How long a run will take on this machine, said before it starts (issue 44).

Its steps follow from the epochs and the dataset's size (or the steps-per-epoch cap), cut by a
time budget; its seconds from the speed this machine measured on an earlier run of the same cost.
Every run keeps that measure already: its history's speed at each log point and, in
config.json, the machine that trained it. So the estimate reads the runs folder and keeps
no file of its own; before the first run of a cost on this machine it says so.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ganlib import GanlibError
from ganlib.config import TrainConfig
from ganlib.data import catalog, toys
from ganlib.runs.records import PointKind
from ganlib.runs.rundir import RunDir

# The settings that set what a step costs (r1 and the EMA: on or off).
COST_SETTINGS = (
    "dataset", "image_size", "model", "width", "latent_dim", "batch_size", "loss", "spectral_norm",
    "d_steps", "augment", "steps_per_execution", "live_fid_samples",
)  # fmt: skip

# What the default (the quick-start preset on its dataset) reaches by a step count, measured over
# 3 seeds on 2 cores (docs/benchmarks.md, issue 22 and 40): a run shorter than the last mark ends
# short of the default's usual quality. FID at 10,000 samples unless said.
QUALITY_MARKS: dict[str, tuple[tuple[int, str], ...]] = {
    "mnist": (
        (400, "recognisable digits"),
        (1_600, "FID under 3x the real-data floor"),
        (12_800, "its usual best, FID about 0.5"),
    ),
    "fashion_mnist": (
        (2_800, "recognisable clothes"),
        (16_848, "its usual best, FID about 2.2"),
    ),
}


def cpu_model() -> str:
    """The CPU's model name (machines differ 3-4x in speed: every figure names its CPU)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():  # Linux
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    if platform.system() == "Darwin":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            )
            if done.stdout.strip():
                return done.stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


def cost_key(config: TrainConfig) -> tuple:
    """What makes two runs' steps cost the same on one machine."""
    return (*(getattr(config, name) for name in COST_SETTINGS), config.r1 > 0, config.ema > 0)


def steps_per_epoch(config: TrainConfig) -> int | None:
    """The trainer's steps per epoch (``datasets.steps_per_epoch``, whole executions) from the
    dataset's known size; None for a folder whose size is read only when it loads (uncapped)."""
    if toys.is_toy(config.dataset):
        size = toys.SPLIT_SIZES["train"]
    elif config.dataset in catalog.BUILTIN:
        size = catalog.SPLIT_COUNTS["train"]
    else:
        size = None
    full = None if size is None else max(1, size // (config.batch_size * config.critic_steps()))
    steps = (
        min(full, config.steps_per_epoch)
        if full and config.steps_per_epoch
        else (full or config.steps_per_epoch)
    )
    if steps is None:
        return None
    per_execution = min(config.steps_per_execution, steps)
    return steps - steps % per_execution


@dataclass(frozen=True)
class Speed:
    steps_per_sec: float
    run: str  # the run that measured it


def measured_speed(config: TrainConfig, runs: list[RunDir]) -> Speed | None:
    """Steps per second of the newest run on this machine with ``config``'s cost: the median of
    its history's log points (each the speed over its steps), so a checkpoint's pause or a busy
    minute does not set it; None when there is none."""
    here = (cpu_model(), os.cpu_count())
    key = cost_key(config)
    found = []
    for run in runs:
        try:
            meta = run.meta()
            machine = meta.get("machine") or {}
            if (machine.get("cpu"), machine.get("cpu_count")) != here or machine.get("gpus"):
                continue
            if cost_key(TrainConfig.from_dict(meta["config"])) != key:
                continue
            rates = sorted(point.images_per_sec for point in run.history(PointKind.STEP))
        except (GanlibError, OSError, KeyError, TypeError):
            continue  # unreadable: not a measure
        if rates:
            images_per_step = config.batch_size * config.critic_steps()
            found.append(
                (run.config_path.stat().st_mtime, rates[len(rates) // 2] / images_per_step, run.name)
            )
    if not found:
        return None
    _, speed, name = max(found)
    return Speed(speed, name)


@dataclass(frozen=True)
class Estimate:
    steps: int | None  # None: a folder of unknown size, uncapped
    seconds: float | None  # None: no run of this cost measured on this machine yet
    speed: Speed | None
    short_of: str | None  # what the default reaches later than this run ends (None: it reaches all)
    reached: str | None  # the last mark the default reaches within this run


def estimate(config: TrainConfig, runs: list[RunDir], is_default: bool = False) -> Estimate:
    """How many steps and seconds ``config`` will train here; with ``is_default`` (the default
    preset on its dataset) also what quality it reaches by its end and what it falls short of."""
    per_epoch = steps_per_epoch(config)
    steps = per_epoch * config.epochs if per_epoch else None
    speed = measured_speed(config, runs)
    seconds = steps / speed.steps_per_sec if speed and steps else None
    if config.minutes:
        budget = config.minutes * 60
        if speed is not None:
            within = int(budget * speed.steps_per_sec)
            steps = min(steps, within) if steps else within
        seconds = min(seconds, budget) if seconds else budget
    short_of = reached = None
    marks = QUALITY_MARKS.get(config.dataset, ()) if is_default and steps else ()
    for mark_steps, what in marks:
        if steps >= mark_steps:
            reached = f"{what} (about {mark_steps:,} steps)"
    if marks and steps < marks[-1][0]:  # the last mark is the default's usual quality
        mark_steps, what = marks[-1]
        short_of = f"{what} takes about {mark_steps:,} steps"
        if speed is not None:
            short_of += f", {_duration(mark_steps / speed.steps_per_sec)} here"
    return Estimate(steps, seconds, speed, short_of, reached)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def describe(config: TrainConfig, found: Estimate) -> str:
    """The estimate in sentences, as the Train form says it: the run, an epoch, and (for the
    default) what it reaches by its end and what it ends short of."""
    per_epoch = steps_per_epoch(config)
    if found.steps is None:
        text = "One pass over the folder per epoch (its size is read when training starts)"
    else:
        text = f"{config.epochs:,} epochs x {per_epoch:,} steps" if per_epoch else ""
        text = f"{text} = {found.steps:,} steps" if not config.minutes else f"{found.steps:,} steps"
    if found.speed is not None:
        text += f", about {_duration(found.seconds)} on this machine" if found.seconds else ""
        text += f" ({found.speed.steps_per_sec:.1f} steps/s, measured by run {found.speed.run}"
        text += (
            f"; an epoch about {_duration(per_epoch / found.speed.steps_per_sec)})." if per_epoch else ")."
        )
    elif config.minutes:
        text += f" within the time budget of {_duration(config.minutes * 60)}."
    else:
        text += "; this machine's speed for these settings is measured by their first run."
    if found.reached:
        text += f" By its end the default reaches {found.reached}."
    if found.short_of:
        text += f" Too short for the default's usual quality: {found.short_of}."
    return text.strip()
