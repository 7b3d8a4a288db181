"""The run directory: the one contract between trainer, CLI, app and tests.

    <runs-dir>/<name>/
        config.json          every setting (TrainConfig) plus its meta: dataset facts, library versions, machine
        history.jsonl        one JSON object per log point (appended; a torn last line is ignored)
        quality.jsonl        live quick FID, precision/recall and coverage at each checkpoint
        alerts.jsonl         alerts raised while training (D wins, mode collapse, divergence)
        picks.jsonl          a person's blind A/B picks between two checkpoints (ganlib.picks)
        real-or-fake.jsonl   a person's real-or-fake answers on single images (HYPE-infinity)
        status.json          training | paused | stopped | finished | failed, with progress or error
        best.json            the chosen best epoch and who chose it (evaluation or a person)
        preview.png          the fixed-seed grid of the current weights, refreshed every few
        preview.json         seconds while training (step, elapsed), for the live view
        lock.json            pid and host of the process writing this run, while it writes (and
                             the heartbeat of a writer that is not the app's trainer: ganlib.track)
        control.json         the app's request to such a writer: run, pause or stop
        generator.json       the generator's Keras model config (its layers and how they connect),
                             so it can be sampled without TensorFlow (ganlib/sampling/inference.py)
        epochs/0003/         one folder per saved epoch (its files: ganlib/runs/checkpoints.py)
        eval/                cached evaluation results, one JSON file per (epoch, settings)
        tensorboard/         TensorBoard event files (the setting tensorboard): a view of the above

Every file is replaced atomically (temp file + rename), so a run killed at any instant stays
readable and resumes from its last complete checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ganlib import GanlibError, atomic
from ganlib.config import TrainConfig, check_run_name
from ganlib.runs import checkpoints as checkpoints_lib
from ganlib.runs.checkpoints import Checkpoint
from ganlib.runs.records import (
    WRITTEN_STATES,
    Alert,
    Best,
    ChosenBy,
    HistoryPoint,
    PairPick,
    PointKind,
    QualityPoint,
    RealOrFake,
    Request,
    RunState,
    RunStatus,
    Writer,
)

__all__ = ["Alert", "Best", "ChosenBy", "RunDir", "RunError", "RunState", "RunStatus", "list_runs"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class RunError(GanlibError):
    pass


TRACK_WRITER = "ganlib.track"  # config.json's "writer" for a run another loop wrote
HEARTBEAT_TIMEOUT_SEC = 30.0  # a writer that beats (ganlib.track) is gone when silent this long


class RunWriteError(RunError):
    """The run's folder stopped taking writes (a full disk, a read-only or vanished folder)."""


def default_runs_dir() -> Path:
    return Path(os.environ.get("GANLIB_RUNS_DIR", "checkpoints"))


class RunDir:
    """One run's folder. Construct with a validated name under a runs directory."""

    def __init__(self, runs_dir: Path | str, name: str):
        self.name = check_run_name(name)
        self.runs_dir = Path(runs_dir)
        self.path = self.runs_dir / name
        # A valid name can still be a symlink planted in the runs folder: nothing is read or
        # written through one, so a run can never reach outside its runs directory.
        if self.path.is_symlink():
            raise RunError(f"run {name!r} is a symbolic link; runs must be real folders in {self.runs_dir}")

    @classmethod
    def from_path(cls, path: Path | str) -> RunDir:
        """``DIR/NAME`` (as the CLI takes it), or a bare ``NAME`` in the default runs directory."""
        path = Path(path)
        if path.parent == Path("."):
            return cls(default_runs_dir(), path.name)
        return cls(path.parent, path.name)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- files -------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def history_path(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def epochs_dir(self) -> Path:
        return self.path / "epochs"

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    def exists(self) -> bool:
        return self.config_path.is_file()

    # -- config ------------------------------------------------------------------------------
    def create(self, config: TrainConfig, meta: dict[str, Any]) -> None:
        if self.exists():
            raise RunError(
                f"run {self.name!r} already exists in {self.runs_dir}; resume it or pick another name"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self.config_path, {"config": config.to_dict(), **meta})
        self.set_status(RunState.CREATED)

    def update_config(self, config: TrainConfig) -> None:
        atomic.write_json(self.config_path, {**self.meta(), "config": config.to_dict()})

    def meta(self) -> dict[str, Any]:
        try:
            return atomic.read_json(self.config_path)
        except FileNotFoundError:
            raise RunError(f"no run at {self.path}") from None
        except (OSError, ValueError) as exc:
            raise RunError(f"{self.config_path} is unreadable: {exc}") from exc

    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.meta()["config"])

    @property
    def trained_elsewhere(self) -> bool:
        """Written by another training loop through ``ganlib.track``: watched, evaluated and
        browsed here, never resumed or retrained by this library's trainer."""
        return self.meta().get("writer") == TRACK_WRITER

    # -- history, live quality and alerts: JSON lines, one record a line, each with its step --
    # Appends are not atomic, but a torn last line is skipped when read; a resume rewrites the
    # files atomically, so a kill -9 never leaves them unreadable.
    @property
    def quality_path(self) -> Path:
        return self.path / "quality.jsonl"

    @property
    def alerts_path(self) -> Path:
        return self.path / "alerts.jsonl"

    def append_history(self, points: list[HistoryPoint]) -> None:
        _append_lines(self.history_path, [point.to_dict() for point in points])

    def history(self, kind: PointKind | None = None) -> list[HistoryPoint]:
        """Every log point (of one ``kind``: the steps' or the epochs'); a line that is not one
        (torn by a kill, edited, corrupted) is skipped with a warning, wherever it is in the file."""
        return [
            point
            for point in _readable(_read_lines(self.history_path, self.name), HistoryPoint.from_dict)
            if kind is None or point.kind == kind
        ]

    def append_quality(self, point: QualityPoint) -> None:
        _append_lines(self.quality_path, [point.to_dict()])

    def quality(self) -> list[QualityPoint]:
        """The live quality points (quick FID and friends at each checkpoint), oldest first (a
        line that is not one is skipped)."""
        return _readable(_read_lines(self.quality_path, self.name), QualityPoint.from_dict)

    def append_alert(self, alert: Alert) -> None:
        _append_lines(self.alerts_path, [alert.to_dict()])

    def alerts(self) -> list[Alert]:
        """The alerts raised while it trained, oldest first (a line that is not one is skipped)."""
        return _readable(_read_lines(self.alerts_path, self.name), Alert.from_dict)

    # -- a person's blind judgements (ganlib.picks): append-only, every session's adding up ----
    @property
    def picks_path(self) -> Path:
        return self.path / "picks.jsonl"

    @property
    def real_or_fake_path(self) -> Path:
        return self.path / "real-or-fake.jsonl"

    def append_pick(self, pick: PairPick) -> None:
        self.checkpoint(pick.left), self.checkpoint(pick.right)  # refuses epochs it does not have
        _append_lines(self.picks_path, [pick.to_dict()])

    def picks(self) -> list[PairPick]:
        """Every A/B pick, oldest first (a line that is not one is skipped)."""
        return _readable(_read_lines(self.picks_path, self.name, "time", (int, float)), PairPick.from_dict)

    def append_real_or_fake(self, answer: RealOrFake) -> None:
        self.checkpoint(answer.epoch)
        _append_lines(self.real_or_fake_path, [answer.to_dict()])

    def real_or_fake(self) -> list[RealOrFake]:
        """Every real-or-fake answer, oldest first (a line that is not one is skipped)."""
        return _readable(
            _read_lines(self.real_or_fake_path, self.name, "time", (int, float)), RealOrFake.from_dict
        )

    def truncate_history(self, last_step: int) -> None:
        """Keep the records up to ``last_step`` (the checkpoint a resume starts from)."""
        for path in (self.history_path, self.quality_path, self.alerts_path):
            if path.exists() or path == self.history_path:
                kept = [r for r in _read_lines(path, self.name) if r.get("step", 0) <= last_step]
                atomic.write_bytes(path, "".join(json.dumps(r) + "\n" for r in kept).encode())

    # -- status and lock ---------------------------------------------------------------------
    def status(self) -> RunStatus:
        """``status.json`` as a ``RunStatus``; a run whose file is unreadable reads as created
        (or missing), one left training or paused by a process that is gone as interrupted."""
        try:
            status = RunStatus.from_dict(atomic.read_json(self.path / "status.json"))
        except (OSError, ValueError, TypeError, KeyError):  # unreadable, not JSON, not a known state
            status = RunStatus(RunState.CREATED if self.exists() else RunState.MISSING)
        if status.state.active and not self.is_locked():
            status = dataclasses.replace(status, state=RunState.INTERRUPTED, was=status.state)
        return status

    def set_status(
        self,
        state: RunState,
        *,
        epoch: int | None = None,
        step: int | None = None,
        error: str | None = None,
        detail: str | None = None,
    ) -> None:
        assert state in WRITTEN_STATES, state
        status = RunStatus(state, time.time(), epoch, step, error, detail)
        atomic.write_json(self.path / "status.json", status.to_dict())

    def lock(self, *, beat: bool = False, listens: bool = False, owner: str | None = None) -> None:
        """Claim the run for this process; refuse when another live process writes it. ``beat``:
        the writer calls this again every few seconds (``ganlib.track``'s heartbeat), so a writer
        on another machine reads as alive, and one that stopped beating as gone; ``listens``: its
        loop asks for Pause and Stop (``requested``); ``owner``: which writer of this process (two
        ``ganlib.track.Run`` objects of one loop are two writers)."""
        me = Writer(os.getpid(), socket.gethostname(), time.time() if beat else None, listens, owner)
        writer = self.writer()
        if writer is not None and not writer.same(me):
            raise RunError(f"run {self.name!r} is being written by process {writer.pid} on {writer.host}")
        atomic.write_json(self.path / "lock.json", me.to_dict())

    def unlock(self, owner: str | None = None) -> None:
        writer = self.writer()
        if writer is not None and writer.same(Writer(os.getpid(), socket.gethostname(), owner=owner)):
            with contextlib.suppress(OSError):  # a read-only folder: the stale lock reads "interrupted"
                (self.path / "lock.json").unlink(missing_ok=True)

    def is_locked(self) -> bool:
        return self.writer() is not None

    def writer(self) -> Writer | None:
        """The live process writing this run, or None: a stale lock (its process gone on this
        machine, or its heartbeat older than ``HEARTBEAT_TIMEOUT_SEC``) is no writer."""
        try:
            writer = Writer.from_dict(atomic.read_json(self.path / "lock.json"))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if writer.beat is not None and time.time() - writer.beat > HEARTBEAT_TIMEOUT_SEC:
            return None
        if writer.host != socket.gethostname():  # only a heartbeat tells of another machine's process
            return writer if writer.beat is not None else None
        try:
            os.kill(writer.pid, 0)
        except OSError:
            return None  # the process is gone: a stale lock from a killed run
        return writer

    # -- requests to a writer that listens (ganlib.track's should_stop): pause, resume, stop ----
    def request(self, request: Request) -> None:
        atomic.write_json(self.path / "control.json", {"request": request.value, "time": time.time()})

    def requested(self) -> Request:
        try:
            return Request(atomic.read_json(self.path / "control.json")["request"])
        except (OSError, ValueError, KeyError, TypeError):
            return Request.RUN

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoints(self) -> list[Checkpoint]:
        """Usable checkpoints, oldest first. Half-written (temp) and damaged folders are not listed."""
        return checkpoints_lib.find(self.epochs_dir)

    def damaged(self) -> dict[int, str]:
        """Epochs whose checkpoint folder is damaged, with what is wrong with each."""
        return checkpoints_lib.damaged(self.epochs_dir)

    def epochs(self) -> list[int]:
        return [c.epoch for c in self.checkpoints()]

    def checkpoint(self, epoch: int | None = None) -> Checkpoint:
        """The checkpoint of ``epoch`` (default: the newest)."""
        checkpoints = self.checkpoints()
        if not checkpoints:
            raise RunError(f"run {self.name!r} has no saved checkpoint yet")
        if epoch is None:
            return checkpoints[-1]
        for c in checkpoints:
            if c.epoch == epoch:
                return c
        if (problem := self.damaged().get(epoch)) is not None:
            raise RunError(f"run {self.name!r}: the checkpoint of epoch {epoch} is damaged ({problem})")
        raise RunError(f"run {self.name!r} has no checkpoint for epoch {epoch} (saved: {self._epoch_list()})")

    def _epoch_list(self) -> str:
        return ", ".join(map(str, self.epochs())) or "none"

    def save_checkpoint(
        self, epoch: int, state: dict[str, Any], writers: dict[str, Callable[[Path], None]]
    ) -> None:
        """Write a checkpoint folder: every ``writers[name](path)`` into a temp folder, then rename."""
        checkpoints_lib.write(self.epochs_dir, epoch, state, writers)

    # -- live preview ------------------------------------------------------------------------
    def save_preview(self, grid_png: bytes, step: int, elapsed: float) -> None:
        """The grid of the weights at ``step``; the image first, so its info is never ahead of it."""
        atomic.write_bytes(self.path / "preview.png", grid_png)
        atomic.write_json(self.path / "preview.json", {"step": step, "elapsed": round(elapsed, 3)})

    # -- the generator's architecture, for sampling without TensorFlow ------------------------
    @property
    def generator_config_path(self) -> Path:
        return self.path / "generator.json"

    def save_generator_config(self, model_config: dict[str, Any]) -> None:
        atomic.write_json(self.generator_config_path, model_config)

    def remove_preview(self) -> None:
        """Drop the live grid (a finished run's checkpoints say the same)."""
        for name in ("preview.png", "preview.json"):
            (self.path / name).unlink(missing_ok=True)

    def preview(self) -> tuple[bytes, dict[str, Any]] | None:
        """(PNG bytes, {"step", "elapsed"}) of the newest live grid, or None before the first."""
        try:
            return (self.path / "preview.png").read_bytes(), atomic.read_json(self.path / "preview.json")
        except (OSError, ValueError):
            return None

    # -- best epoch --------------------------------------------------------------------------
    def best(self) -> Best | None:
        """The best epoch chosen so far; None before one is chosen, or when best.json is unreadable."""
        try:
            return Best.from_dict(atomic.read_json(self.path / "best.json"))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def set_best(self, best: Best) -> None:
        self.checkpoint(best.epoch)  # refuses an epoch that has no checkpoint
        atomic.write_json(self.path / "best.json", best.to_dict())

    # -- summary -----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """One row of the runs table."""
        meta = self.meta()
        config = meta["config"]
        best = self.best()
        checkpoints = self.checkpoints()
        return {
            "name": self.name,
            "dataset": config["dataset"],
            "model": config["model"],
            "loss": config["loss"],
            "epochs": f"{checkpoints[-1].epoch if checkpoints else 0}/{config['epochs']}",
            "status": self.status().state,
            "best_epoch": best and best.epoch,
            "best_fid": best and best.fid,
            "best_fid_samples": best and best.samples,
            "damaged": ", ".join(f"{epoch} ({problem})" for epoch, problem in self.damaged().items()),
        }


def _append_lines(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records))
        f.flush()


def _read_lines(
    path: Path, run_name: str, order_key: str = "step", order_type: type | tuple[type, ...] = int
) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines file that carry ``order_key`` (a step, or a time)."""
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    records, bad = [], []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get(order_key), order_type):
            records.append(record)
        elif line.strip():
            bad.append(number)
    if bad:
        log.warning("%s: skipped %d unreadable line(s) of %s: %s", run_name, len(bad), path.name, bad[:10])
    return records


def _readable(records: list[dict[str, Any]], parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """The records that are whole ``parse``-able lines of their type (one missing a field, from a
    hand edit or another version, is skipped like a torn line)."""
    found = []
    for record in records:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            found.append(parse(record))
    return found


def list_runs(runs_dir: Path | str | None = None) -> list[RunDir]:
    """Runs in a runs directory, newest first; folders that are not runs are skipped."""
    root = Path(runs_dir) if runs_dir is not None else default_runs_dir()
    if not root.is_dir():
        return []
    made: list[tuple[float, RunDir]] = []
    for path in root.iterdir():
        try:
            run = RunDir(root, path.name)
            if run.exists():
                made.append((run.config_path.stat().st_mtime, run))
        except (GanlibError, FileNotFoundError):  # not a run, or one removed while listing
            continue
    return [run for _, run in sorted(made, key=lambda pair: pair[0], reverse=True)]
