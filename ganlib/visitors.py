"""Training for the visitors of a public demo link: off unless the host turns it on.

A host sets ``GANLIB_DEMO_TRAIN_SECONDS=N`` (N > 0) to let a visitor train the app's default
settings (the quick-start preset) for at most N seconds. The host is small and shared, so:

- one job at a time: visitors wait in a first-come, first-served queue that tells each their
  place; a visitor whose page stops asking (a closed tab) for ``ABANDON_AFTER_SEC`` leaves it;
- the time limit is enforced by the training process itself (``JobManager.start(max_seconds=)``),
  which stops the run with a checkpoint, so a closed tab or a paused run cannot hold the host;
- visitor runs live in a scratch runs folder of their own (``GANLIB_DEMO_SCRATCH_DIR``, default
  a folder in the system's temporary directory), never beside the shipped runs, capped in count
  (``GANLIB_DEMO_MAX_RUNS``, default 4) and disk (``GANLIB_DEMO_MAX_MB``, default 400): the
  oldest runs are removed first, before a new run starts and after each ends.

The queue lives in the app's process (one per host, like the job manager); the pages poll it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ganlib import GanlibError
from ganlib.config import QUICK_START, TrainConfig
from ganlib.jobs import JobManager
from ganlib.rundir import list_runs

ABANDON_AFTER_SEC = 30.0  # the Train page asks every 2 s while its tab is open
# The quick-start preset with a checkpoint every 200 steps (5-20 s on a small CPU) and no end:
# the time limit ends it.
VISITOR_CONFIG = QUICK_START.replace(steps_per_epoch=200, epochs=10_000)


@dataclass(frozen=True)
class VisitorLimits:
    seconds: float
    scratch_dir: Path
    max_runs: int = 4
    max_bytes: int = 400 * 1_000_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> VisitorLimits | None:
        """The host's limits, or None when visitor training is off (the default)."""
        raw = {
            "GANLIB_DEMO_TRAIN_SECONDS": environ.get("GANLIB_DEMO_TRAIN_SECONDS", "0"),
            "GANLIB_DEMO_MAX_RUNS": environ.get("GANLIB_DEMO_MAX_RUNS", "4"),
            "GANLIB_DEMO_MAX_MB": environ.get("GANLIB_DEMO_MAX_MB", "400"),
        }
        values, problems = {}, []
        for name, text in raw.items():
            try:
                values[name] = float(text)
            except ValueError:
                problems.append(f"{name} must be a number, not {text!r}")
                continue
            if not 0 <= values[name] <= 1_000_000:
                problems.append(f"{name} must be between 0 and 1000000")
        if problems:
            raise GanlibError("; ".join(problems))
        if values["GANLIB_DEMO_TRAIN_SECONDS"] <= 0:
            return None
        default_scratch = Path(tempfile.gettempdir()) / "ganlib-visitor-runs"
        return cls(
            seconds=values["GANLIB_DEMO_TRAIN_SECONDS"],
            scratch_dir=Path(environ.get("GANLIB_DEMO_SCRATCH_DIR") or default_scratch),
            max_runs=max(1, int(values["GANLIB_DEMO_MAX_RUNS"])),
            max_bytes=int(values["GANLIB_DEMO_MAX_MB"] * 1_000_000),
        )


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def prune(scratch_dir: Path, max_runs: int, max_bytes: int, keep: str | None = None) -> list[str]:
    """Remove the oldest runs in ``scratch_dir`` until at most ``max_runs`` remain and they take
    at most ``max_bytes``; ``keep`` (the run training now) is never removed. Returns the names."""
    runs = [run for run in list_runs(scratch_dir) if run.name != keep]  # newest first
    sizes = {run.name: folder_bytes(run.path) for run in runs}
    total = sum(sizes.values()) + (folder_bytes(scratch_dir / keep) if keep else 0)
    count = len(runs) + (1 if keep else 0)
    removed = []
    while runs and (count > max_runs or total > max_bytes):
        oldest = runs.pop()
        shutil.rmtree(oldest.path, ignore_errors=True)
        total -= sizes[oldest.name]
        count -= 1
        removed.append(oldest.name)
    return removed


@dataclass(frozen=True)
class Turn:
    """Where a visitor stands: ``place`` in the queue (1 = next; None when not waiting), their
    run once it has started, and whether the job training now is theirs."""

    place: int | None = None
    run: str | None = None
    training: bool = False


class VisitorTraining:
    """The host's queue of visitors who asked to train, in front of its one job manager."""

    def __init__(
        self,
        manager: JobManager,
        limits: VisitorLimits,
        config: TrainConfig = VISITOR_CONFIG,
        clock: Callable[[], float] = time.monotonic,
    ):
        if manager.runs_dir.resolve() != limits.scratch_dir.resolve():
            raise GanlibError("visitor runs must be trained in the scratch runs folder")
        self.manager = manager
        self.limits = limits
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: list[str] = []
        self._seen: dict[str, float] = {}
        self._runs: dict[str, str] = {}  # visitor -> their newest run
        self._owner: str | None = None  # whose job the manager is running
        self._count = 0

    def request(self, visitor: str) -> Turn:
        """Ask to train: join the queue (once), and start at once if nobody is ahead."""
        with self._lock:
            if visitor not in self._queue and not self._training(visitor):
                self._queue.append(visitor)
        return self.poll(visitor)

    def leave(self, visitor: str) -> None:
        with self._lock:
            if visitor in self._queue:
                self._queue.remove(visitor)

    def stop(self, visitor: str) -> None:
        """A visitor may stop their own run, nobody else's."""
        with self._lock:
            if self._training(visitor):
                self.manager.stop()

    def poll(self, visitor: str) -> Turn:
        """Called by the visitor's page every few seconds: marks them present, drops the queue's
        absent visitors, starts the next job when the host is free, and says where they stand."""
        with self._lock:
            now = self._clock()
            self._seen[visitor] = now
            self._queue = [v for v in self._queue if now - self._seen.get(v, now) <= ABANDON_AFTER_SEC]
            if self._owner is not None and not self.manager.snapshot().active:
                finished = self._runs[self._owner]  # the run just ended: the newest, kept
                prune(self.limits.scratch_dir, self.limits.max_runs, self.limits.max_bytes, keep=finished)
                self._owner = None
            if self._queue and not self.manager.snapshot().active:
                self._start_next()
            place = self._queue.index(visitor) + 1 if visitor in self._queue else None
            return Turn(place, self._runs.get(visitor), self._training(visitor))

    def _training(self, visitor: str) -> bool:
        return self._owner == visitor and self.manager.snapshot().active

    def _start_next(self) -> None:
        limits = self.limits
        limits.scratch_dir.mkdir(parents=True, exist_ok=True)
        # Room for the new run: one run fewer than the cap, and its share of the disk.
        prune(limits.scratch_dir, limits.max_runs - 1, limits.max_bytes - limits.max_bytes // limits.max_runs)
        visitor = self._queue.pop(0)
        self._count += 1
        name = f"visitor-{time.strftime('%Y%m%d-%H%M%S')}-{self._count}"
        self.manager.start(self.config, name, max_seconds=limits.seconds)
        self._owner = visitor
        self._runs[visitor] = name
