"""Training for the visitors of a public demo link: off unless the host turns it on.

A host sets ``GANLIB_DEMO_TRAIN_SECONDS=N`` (N > 0) to let a visitor train for at most N seconds
one of a fixed set of settings (``VISITOR_CHOICES``: the app's default on MNIST, and 2-D toys,
which need no dataset and show a lesson in seconds). The host is small and shared, so:

- one job at a time: visitors wait in a first-come, first-served queue that tells each their
  place; a visitor whose page stops asking (a closed tab) for ``ABANDON_AFTER_SEC`` leaves it;
- the time limit is enforced by the training process itself (``JobManager.start(max_seconds=)``),
  which stops the run with a checkpoint, so a closed tab or a paused run cannot hold the host;
- one place per client address (a person with many tabs holds one), and at most
  ``GANLIB_DEMO_MAX_QUEUE`` (default 20) waiting; a visitor's failed start is told to them, not
  lost, and never stops the queue;
- visitor runs live in a scratch runs folder of their own (``GANLIB_DEMO_SCRATCH_DIR``, default
  a folder of this user's in the system's temporary directory), never the runs folder nor inside
  or around it, owned by the server's user, capped in count (``GANLIB_DEMO_MAX_RUNS``, default 4)
  and disk (``GANLIB_DEMO_MAX_MB``, default 400): the oldest runs are removed first, before a new
  run starts and after each ends.

The queue lives in the app's process (one per host, like the job manager); the pages poll it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ganlib import GanlibError
from ganlib.config import QUICK_START, TOY_LESSON, TrainConfig
from ganlib.runs.rundir import list_runs
from workbench.jobs import JobManager

ABANDON_AFTER_SEC = 30.0  # the Train page asks every 2 s while its tab is open
FORGET_AFTER_SEC = 600.0  # a visitor not seen this long is forgotten (their run stays listed)
log = logging.getLogger(__name__)
# The quick-start preset with a checkpoint every 200 steps (5-20 s on a small CPU) and no end:
# the time limit ends it.
VISITOR_CONFIG = QUICK_START.replace(steps_per_epoch=200, epochs=10_000)
# What a visitor may train, by the label they pick it by: these settings and no others, so a
# forged request can only name one of them. The first is the default.
VISITOR_CHOICES: dict[str, TrainConfig] = {
    "MNIST digits: the app's default (a class-conditional DCGAN)": VISITOR_CONFIG,
    **{f"2-D toy: {lesson.label}": lesson.config.replace(epochs=10_000) for lesson in TOY_LESSON},
}


@dataclass(frozen=True)
class VisitorLimits:
    seconds: float
    scratch_dir: Path
    max_runs: int = 4
    max_bytes: int = 400 * 1_000_000
    max_queue: int = 20

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> VisitorLimits | None:
        """The host's limits, or None when visitor training is off (the default)."""
        raw = {
            "GANLIB_DEMO_TRAIN_SECONDS": environ.get("GANLIB_DEMO_TRAIN_SECONDS", "0"),
            "GANLIB_DEMO_MAX_RUNS": environ.get("GANLIB_DEMO_MAX_RUNS", "4"),
            "GANLIB_DEMO_MAX_MB": environ.get("GANLIB_DEMO_MAX_MB", "400"),
            "GANLIB_DEMO_MAX_QUEUE": environ.get("GANLIB_DEMO_MAX_QUEUE", "20"),
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
        # Per user: another user of a shared host cannot have made it first (checked anyway).
        default_scratch = (
            Path(tempfile.gettempdir()) / f"ganlib-visitor-runs-{getattr(os, 'getuid', lambda: 0)()}"
        )
        return cls(
            seconds=values["GANLIB_DEMO_TRAIN_SECONDS"],
            scratch_dir=Path(environ.get("GANLIB_DEMO_SCRATCH_DIR") or default_scratch),
            max_runs=max(1, int(values["GANLIB_DEMO_MAX_RUNS"])),
            max_bytes=int(values["GANLIB_DEMO_MAX_MB"] * 1_000_000),
            max_queue=max(1, int(values["GANLIB_DEMO_MAX_QUEUE"])),
        )

    def check(self, runs_dir: Path) -> None:
        """Refuse a scratch folder that is the runs folder, inside it or around it: pruning it
        would delete runs that are not visitors'."""
        scratch, runs = self.scratch_dir.resolve(), Path(runs_dir).resolve()
        if scratch == runs or runs in scratch.parents or scratch in runs.parents:
            raise GanlibError(
                f"GANLIB_DEMO_SCRATCH_DIR must be a folder apart from the runs folder, not {self.scratch_dir}"
            )


def own_folder(path: Path) -> None:
    """Make ``path`` (only this user may write in it) or accept it only if this user owns it and
    it is a real folder, not a link another user left to point elsewhere."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or not path.is_dir():
        raise GanlibError(f"the visitors' scratch folder {path} is a link or not a folder")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise GanlibError(f"the visitors' scratch folder {path} belongs to another user")


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
    refused: str | None = None  # why this visitor has no place (one a client; a full queue)
    error: str | None = None  # why their run could not start


class VisitorTraining:
    """The host's queue of visitors who asked to train, in front of its one job manager."""

    def __init__(
        self,
        manager: JobManager,
        limits: VisitorLimits,
        choices: Mapping[str, TrainConfig] = VISITOR_CHOICES,
        clock: Callable[[], float] = time.monotonic,
    ):
        if manager.runs_dir.resolve() != limits.scratch_dir.resolve():
            raise GanlibError("visitor runs must be trained in the scratch runs folder")
        self.manager = manager
        self.limits = limits
        self.choices = dict(choices)
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: list[str] = []
        self._seen: dict[str, float] = {}
        self._clients: dict[str, str] = {}  # visitor -> their client's address
        self._runs: dict[str, str] = {}  # visitor -> their newest run
        self._errors: dict[str, str] = {}  # visitor -> why their run could not start
        self._chosen: dict[str, str] = {}  # visitor -> the choice they asked to train
        self._owner: str | None = None  # whose job the manager is running
        self._count = 0

    def request(self, visitor: str, client: str | None = None, choice: str | None = None) -> Turn:
        """Ask to train ``choice`` (a key of ``choices``; default: the first): join the queue (once
        per client address), and start at once if nobody is ahead. ``client`` defaults to the
        visitor (one session, one place)."""
        client = client or visitor
        choice = next(iter(self.choices)) if choice is None else choice
        refused = None if choice in self.choices else "that is not one of the settings on offer"
        with self._lock:
            holders = [
                v for v in [*self._queue, self._owner] if v is not None and self._clients.get(v) == client
            ]
            if refused or visitor in self._queue or self._training(visitor):
                pass
            elif any(v in self._queue or self._training(v) for v in holders):
                refused = "your address already has a place: one run at a time from one address"
            elif len(self._queue) >= self.limits.max_queue:
                refused = f"the queue is full ({self.limits.max_queue} waiting): try again in a few minutes"
            else:
                self._clients[visitor] = client
                self._chosen[visitor] = choice
                self._errors.pop(visitor, None)
                self._queue.append(visitor)
        turn = self.poll(visitor)
        return Turn(turn.place, turn.run, turn.training, refused, turn.error) if refused else turn

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
            self._forget(now)
            if self._owner is not None and not self.manager.snapshot().active:
                finished = self._runs[self._owner]  # the run just ended: the newest, kept
                prune(self.limits.scratch_dir, self.limits.max_runs, self.limits.max_bytes, keep=finished)
                self._owner = None
            while self._queue and not self.manager.snapshot().active:
                if self._start_next():
                    break
            place = self._queue.index(visitor) + 1 if visitor in self._queue else None
            return Turn(
                place, self._runs.get(visitor), self._training(visitor), error=self._errors.get(visitor)
            )

    def _forget(self, now: float) -> None:
        """Drop what is kept of visitors long gone, so the maps stay as small as the audience."""
        gone = [v for v, seen in self._seen.items() if now - seen > FORGET_AFTER_SEC and v != self._owner]
        for visitor in gone:
            for kept in (self._seen, self._clients, self._runs, self._errors, self._chosen):
                kept.pop(visitor, None)

    def _training(self, visitor: str) -> bool:
        return self._owner == visitor and self.manager.snapshot().active

    def _start_next(self) -> bool:
        """Start the first visitor's run; False (and they are told why) when it cannot start."""
        limits = self.limits
        visitor = self._queue.pop(0)
        self._count += 1
        name = f"visitor-{time.strftime('%Y%m%d-%H%M%S')}-{self._count}"
        try:
            own_folder(limits.scratch_dir)
            # Room for the new run: one run fewer than the cap, and its share of the disk.
            prune(
                limits.scratch_dir,
                limits.max_runs - 1,
                limits.max_bytes - limits.max_bytes // limits.max_runs,
            )
            config = self.choices[self._chosen.get(visitor, next(iter(self.choices)))]
            self.manager.start(config, name, max_seconds=limits.seconds)
        except Exception as exc:  # whatever it is, the queue goes on; the host's log has it all
            log.warning("a visitor's run could not start", exc_info=exc)
            self._errors[visitor] = "your run could not start on this host; the details are in its log"
            return False
        self._owner = visitor
        self._runs[visitor] = name
        return True


class TabCap:
    """At most ``per_address`` live sessions (tabs) from one client address, each one a share of
    a small host's memory. An unknown address (None: this machine, or behind a reverse proxy that
    hides it) is never grouped: there the proxy must cap per address. 0 turns the cap off."""

    def __init__(self, per_address: int):
        self.per_address = per_address
        self._lock = threading.Lock()
        self._sessions: dict[str, set[str]] = {}  # address -> its sessions

    def admit(self, address: str | None, session: str, live: Callable[[str], bool]) -> bool:
        """Whether ``session`` from ``address`` may go on; ``live`` tells ended sessions apart."""
        if address is None or self.per_address <= 0:
            return True
        with self._lock:
            for known in list(self._sessions):  # forget ended sessions, and addresses with none
                self._sessions[known] = {s for s in self._sessions[known] if live(s)}
                if not self._sessions[known]:
                    del self._sessions[known]
            mine = self._sessions.setdefault(address, set())
            if session not in mine and len(mine) >= self.per_address:
                return False
            mine.add(session)
            return True


class AnswerTally:
    """All visitors' real-or-fake answers on the demo link, in memory only (the host stays
    read-only): each visitor counts for at most ``per_visitor`` answers and the oldest visitors
    are forgotten past ``visitors``, so no one skews it by more than their share and memory stays
    bounded. Thread-safe: every session of the server adds to one."""

    def __init__(self, per_visitor: int = 40, visitors: int = 5000):
        self.per_visitor, self.visitors = per_visitor, visitors
        self._counts: dict[str, tuple[int, int]] = {}  # visitor -> (fakes judged, fakes judged real)
        self._lock = threading.Lock()

    def add(self, visitor: str, fooled: bool) -> bool:
        """Count one answer on a sample (``fooled``: taken for real); False past the visitor's cap."""
        with self._lock:
            judged, real = self._counts.pop(visitor, (0, 0))
            counted = judged < self.per_visitor
            self._counts[visitor] = (judged + counted, real + (counted and fooled))  # newest last
            while len(self._counts) > self.visitors:
                self._counts.pop(next(iter(self._counts)))
            return counted

    def total(self) -> tuple[int, float | None]:
        """(samples judged, the share taken for real) over every visitor counted."""
        with self._lock:
            judged = sum(j for j, _ in self._counts.values())
            fooled = sum(r for _, r in self._counts.values())
        return judged, (fooled / judged if judged else None)
