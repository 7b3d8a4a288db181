"""The background training job: one per process, shared by every browser tab of the app.

The job's thread runs ``train()`` and never touches the UI; pages poll ``snapshot()``, which
returns plain data under a lock. Starting while a job runs raises ``JobBusy``: two tabs pressing
Start at once start one job.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ganlib import GanlibError
from ganlib.callbacks import Progress, TrainingControl
from ganlib.config import TrainConfig
from ganlib.rundir import RunDir, list_runs


class JobBusy(GanlibError):
    pass


@dataclass
class JobSnapshot:
    run: str | None = None
    state: str = "idle"  # idle | starting | training | paused | stopping | stopped | finished | failed
    progress: dict = field(default_factory=dict)
    error: str | None = None
    started: float | None = None

    @property
    def active(self) -> bool:
        return self.state in ("starting", "training", "paused", "stopping")


class JobManager:
    def __init__(self, runs_dir: Path | str):
        self.runs_dir = Path(runs_dir)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._control = TrainingControl()
        self._snapshot = JobSnapshot()

    # -- commands (any thread) ---------------------------------------------------------------
    def start(
        self, config: TrainConfig | None, run_name: str, resume: bool = False, paused: bool = False
    ) -> None:
        """Train ``run_name`` on a background thread. ``config`` may be None when resuming."""
        run = RunDir(self.runs_dir, run_name)
        if config is not None:
            config.validate()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise JobBusy(f"run {self._snapshot.run!r} is already training; stop it first")
            if run.is_locked():
                raise JobBusy(f"run {run_name!r} is being trained by another process")
            self._control = TrainingControl()
            if paused:
                self._control.pause()
            self._snapshot = JobSnapshot(run=run_name, state="starting", started=time.time())
            self._thread = threading.Thread(
                target=self._work,
                args=(config, run, resume, self._control),
                name=f"train-{run_name}",
                daemon=True,
            )
            self._thread.start()

    def pause(self) -> None:
        self._control.pause()
        self._set(state="paused")

    def resume(self) -> None:
        self._control.resume()
        self._set(state="training")

    def stop(self) -> None:
        self._control.stop()
        if self.snapshot().active:
            self._set(state="stopping")

    def wait(self, timeout: float | None = None) -> JobSnapshot:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.snapshot()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            s = self._snapshot
            return JobSnapshot(s.run, s.state, dict(s.progress), s.error, s.started)

    # -- recovery ----------------------------------------------------------------------------
    def interrupted_runs(self) -> list[RunDir]:
        """Runs left "training" or "paused" by a process that is gone (a restarted app)."""
        return [run for run in list_runs(self.runs_dir) if run.status().get("state") == "interrupted"]

    def recover(self) -> str | None:
        """Resume the newest interrupted run (paused if it was paused); returns its name."""
        if self.snapshot().active:
            return None
        for run in self.interrupted_runs():
            if run.checkpoints():
                self.start(None, run.name, resume=True, paused=run.status().get("was") == "paused")
                return run.name
        return None

    # -- the job's thread --------------------------------------------------------------------
    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._snapshot, key, value)

    def _report(self, progress: Progress) -> None:
        # The trainer reports "training" after every step; keep a pending "stopping" visible.
        state = progress.state
        if self._control.stop_requested and state in ("training", "paused"):
            state = "stopping"
        self._set(progress=progress.to_dict(), state=state)

    def _work(self, config, run: RunDir, resume: bool, control: TrainingControl) -> None:
        from ganlib.train import train

        try:
            if resume and config is None:
                config = run.config()
            state = train(config, run, resume=resume, control=control, report=self._report)
            self._set(state=state)
        except GanlibError as exc:
            self._set(state="failed", error=str(exc))
        except Exception as exc:  # shown on the page; the run's status.json has the traceback
            self._set(state="failed", error=f"{type(exc).__name__}: {exc}")
