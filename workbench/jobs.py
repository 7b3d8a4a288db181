"""The background training job: one per process, shared by every browser tab of the app.

The job's thread owns a training worker process (``workbench.worker``) and relays its events;
pages poll ``snapshot()``, which returns plain data under a lock. Training in a process of its
own keeps it at full speed however busy the app's threads are, and keeps a TensorFlow crash or
an out-of-memory kill from taking the app down. Starting while a job runs raises ``JobBusy``:
two tabs pressing Start at once start one job.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ganlib import GanlibError
from ganlib.config import TrainConfig
from ganlib.runs.records import Progress
from ganlib.runs.rundir import RunDir, RunState, list_runs
from workbench.worker import Command, Event

if TYPE_CHECKING:  # ganlib.sweep is imported where a sweep is used: it brings SciPy, 0.4 s
    from ganlib.sweep import Position


class JobBusy(GanlibError):
    pass


class JobState(StrEnum):
    """The app's job: a run's states, plus the moments around the worker's own."""

    IDLE = "idle"  # no job yet in this process
    STARTING = "starting"  # the worker is importing TensorFlow and loading data
    TRAINING = RunState.TRAINING.value
    PAUSED = RunState.PAUSED.value
    STOPPING = "stopping"  # asked to stop; the worker finishes its step and writes a checkpoint
    EVALUATING = "evaluating"  # a sweep evaluates the run it has just trained
    STOPPED = RunState.STOPPED.value
    FINISHED = RunState.FINISHED.value
    FAILED = RunState.FAILED.value

    @property
    def active(self) -> bool:
        return self in (
            JobState.STARTING,
            JobState.TRAINING,
            JobState.PAUSED,
            JobState.STOPPING,
            JobState.EVALUATING,
        )


@dataclass
class JobSnapshot:
    run: str | None = None
    state: JobState = JobState.IDLE
    progress: Progress | None = None  # the newest the worker sent
    error: str | None = None
    started: float | None = None
    pid: int | None = None  # the worker process
    dataset: str | None = None  # what the run trains on, known before its folder exists
    sweep: str | None = None  # the named sweep this job goes through, one run after another
    position: Position | None = None  # where that sweep is

    @property
    def active(self) -> bool:
        return self.state.active


class JobManager:
    def __init__(self, runs_dir: Path | str, read_only: bool = False):
        """``read_only``: a public demo's manager, which starts nothing and sends no command,
        whatever a page asks (a second layer under the pages' disabled buttons)."""
        self.runs_dir = Path(runs_dir)
        self.read_only = read_only
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._worker: subprocess.Popen | None = None
        self._snapshot = JobSnapshot()

    # -- commands (any thread) ---------------------------------------------------------------
    def start(
        self, config: TrainConfig, run_name: str, paused: bool = False, max_seconds: float | None = None
    ) -> None:
        """Train a new run ``run_name`` with ``config`` in a worker process; with ``max_seconds``
        the worker stops it (with a checkpoint) that long after training began."""
        config.validate()
        if max_seconds is not None and not max_seconds > 0:
            raise GanlibError("the time limit must be a positive number of seconds")
        request = {"config": config.to_dict(), "max_seconds": max_seconds}
        self._launch(run_name, config.dataset, request, paused)

    def resume_run(self, run_name: str, until_epoch: int | None = None, paused: bool = False) -> None:
        """Continue ``run_name`` from its newest checkpoint until ``until_epoch``."""
        if until_epoch is not None and not 1 <= until_epoch <= 100_000:
            raise GanlibError("the epoch to train until must be between 1 and 100000")
        self._launch(run_name, None, {"until_epoch": until_epoch}, paused)

    def start_sweep(self, sweep_name: str, paused: bool = False) -> None:
        """Train and evaluate the named sweep's runs not finished yet, one after another, in one
        worker (``ganlib.sweep``); a sweep stopped or interrupted goes on where it was."""
        from ganlib.sweep import Sweep

        job = Sweep.open(self.runs_dir, sweep_name)
        pending = job.pending()
        if not pending:
            raise GanlibError(f"sweep {sweep_name!r} has trained every run it plans")
        self._launch(pending[0], job.plan.base.dataset, {"sweep": sweep_name}, paused)

    def _launch(self, run_name: str, dataset: str | None, request: dict, paused: bool) -> None:
        if self.read_only:
            raise GanlibError("this is a read-only demo: nothing is trained here")
        run = RunDir(self.runs_dir, run_name)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise JobBusy(f"run {self._snapshot.run!r} is already training; stop it first")
            if run.is_locked():
                raise JobBusy(f"run {run_name!r} is being trained by another process")
            dataset = dataset or run.config().dataset
            request = {"runs_dir": str(self.runs_dir.resolve()), "run": run_name, "paused": paused, **request}
            self._worker = subprocess.Popen(
                [sys.executable, "-m", "workbench.worker", json.dumps(request)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                env=_worker_env(),
            )
            self._snapshot = JobSnapshot(
                run=run_name,
                state=JobState.PAUSED if paused else JobState.STARTING,
                started=time.time(),
                pid=self._worker.pid,
                dataset=dataset,
                sweep=request.get("sweep"),
            )
            self._thread = threading.Thread(
                target=self._relay, args=(self._worker,), name=f"train-{run_name}", daemon=True
            )
            self._thread.start()

    def pause(self) -> None:
        if self._command(Command.PAUSE):
            self._set(state=JobState.PAUSED)

    def resume(self) -> None:
        if self._command(Command.RESUME):
            self._set(state=JobState.TRAINING)

    def step(self, steps: int) -> None:
        """While paused, train ``steps`` steps and pause again (the live grid is redrawn)."""
        if not 1 <= steps <= 100_000:
            raise GanlibError("steps must be between 1 and 100000")
        if self.snapshot().state == JobState.PAUSED:
            self._command(Command.STEP, steps)

    def stop(self) -> None:
        if self._command(Command.STOP):
            self._set(state=JobState.STOPPING)

    def wait(self, timeout: float | None = None) -> JobSnapshot:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.snapshot()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            s = self._snapshot
            return dataclasses.replace(s)

    # -- recovery ----------------------------------------------------------------------------
    def interrupted_runs(self) -> list[RunDir]:
        """Runs left "training" or "paused" by a process that is gone (a restarted app); not those
        another loop wrote (``ganlib.track``): only their own code can go on with them."""
        return [
            run
            for run in list_runs(self.runs_dir)
            if run.status().state == RunState.INTERRUPTED and not run.trained_elsewhere
        ]

    def recover(self) -> str | None:
        """Resume the newest interrupted run (paused if it was paused), or the sweep it belongs
        to; returns the run's name."""
        if self.snapshot().active:
            return None
        for run in self.interrupted_runs():
            from ganlib.sweep import sweep_of  # here: only a restart after a kill pays for it

            paused = run.status().was == RunState.PAUSED
            sweep = sweep_of(self.runs_dir, run.name)
            if sweep is not None:
                self.start_sweep(sweep.name, paused=paused)
                return run.name
            if run.checkpoints():
                self.resume_run(run.name, paused=paused)
                return run.name
        return None

    # -- the job's thread --------------------------------------------------------------------
    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._snapshot, key, value)

    def _command(self, command: Command, steps: int | None = None) -> bool:
        """Send a command to the worker; False when there is no live job to take it."""
        with self._lock:
            worker = self._worker
            if self.read_only or worker is None or worker.poll() is not None or not self._snapshot.active:
                return False
            try:
                worker.stdin.write(command.line(steps))
                worker.stdin.flush()
            except (OSError, ValueError):  # the worker has just exited
                return False
            return True

    def _relay(self, worker: subprocess.Popen) -> None:
        """Turn the worker's events into snapshots until it exits."""
        stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        threading.Thread(target=_drain, args=(worker.stderr, stderr_tail), daemon=True).start()
        final: dict = {}
        for line in worker.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if Event.PROGRESS in event:
                with self._lock:  # read and write in one step: a Stop pressed meanwhile is not lost
                    snapshot = self._snapshot
                    snapshot.progress = Progress.from_dict(event[Event.PROGRESS])
                    state = JobState(snapshot.progress.state)
                    # The worker reports "training" between steps; keep a pending "stopping"
                    # visible, and a sweep going on after one of its runs has ended.
                    if snapshot.state != JobState.STOPPING and (state.active or not snapshot.sweep):
                        snapshot.state = state
            elif Event.SWEEP in event:
                from ganlib.sweep import Phase, Position

                position = Position.from_dict(event[Event.SWEEP])
                with self._lock:
                    snapshot = self._snapshot
                    snapshot.position, snapshot.run = position, position.run
                    if position.phase == Phase.TRAINING:
                        snapshot.progress = None  # the next run's progress is still to come
                    if snapshot.state != JobState.STOPPING:
                        evaluating = position.phase == Phase.EVALUATING
                        snapshot.state = JobState.EVALUATING if evaluating else JobState.STARTING
            else:
                final = event
        code = worker.wait()
        if Event.DONE in final:
            self._set(state=JobState(final[Event.DONE]))
        elif Event.FAILED in final:
            self._set(state=JobState.FAILED, error=final[Event.FAILED])
        else:  # killed (out of memory, a signal) or crashed before it could say why
            detail = " | ".join(line.strip() for line in stderr_tail if line.strip())[-500:]
            self._set(
                state=JobState.FAILED,
                error=f"the training process ended unexpectedly (exit code {code}); the run resumes "
                f"from its last checkpoint{': ' + detail if detail else ''}",
            )


def _worker_env() -> dict[str, str]:
    """The app's environment, with this copy of ganlib importable by the worker wherever the
    app was started from (``streamlit run /elsewhere/app.py`` without an install)."""
    package_root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "PYTHONPATH": path,
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
    }


def _drain(stream, tail: collections.deque) -> None:
    """Copy the worker's stderr to ours (the server's console), keeping the last lines."""
    for line in stream:
        tail.append(line)
        sys.stderr.write(line)
