"""The training worker process: ``python -m workbench.worker REQUEST_JSON``, started by ``JobManager``.

Why a process of its own: the app's server is a Python process whose threads (one per browser
session, plus Streamlit's own) compete for the GIL and the cores with whatever trains in it. In
one process a watched run trained 10-30x slower than an unwatched one (docs/live-train-page.md).
A worker has its own interpreter, so a page that redraws charts cannot starve it, and a
TensorFlow crash or an out-of-memory kill ends the worker, not the app.

The protocol is three pipes of plain text:

- argv[1], the request: ``{"runs_dir", "run", "config"}`` to start a new run (``config`` as
  ``TrainConfig.to_dict()``), ``{"runs_dir", "run", "until_epoch"}`` to resume one, or
  ``{"runs_dir", "run", "sweep"}`` to go on with a named sweep (``run``: its next); plus
  ``"paused": true`` to come up paused, and ``"max_seconds": N`` to stop (with a checkpoint) N
  seconds after the request was read, paused or not (a public demo's visitor runs).
- stdin, commands: one a line, ``pause``, ``resume``, ``stop`` or ``step N`` (while paused, train
  N steps, then pause again with the live grid redrawn). End of input means the app
  is gone: the worker exits at once, which leaves the run "interrupted" exactly as a ``kill -9``
  would (resumable from its last complete checkpoint), so a restarted app can pick it up.
- stdout, events: one JSON object a line, ``{"progress": {...}}`` (at most every
  ``PROGRESS_EVERY_SEC`` and at every state change), ``{"sweep": {...}}`` (a sweep's next run, or
  its evaluation, begins: ``sweep.Position``), then ``{"done": STATE}`` or
  ``{"failed": MESSAGE}`` last. Everything else the process prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from enum import StrEnum
from typing import Any, TextIO

from ganlib import GanlibError
from ganlib.config import TrainConfig
from ganlib.runs.rundir import RunDir

PROGRESS_EVERY_SEC = 0.25  # the page polls once a second; four updates a second keep it current


class Command(StrEnum):
    """What the app tells the worker, one line on its stdin (``step`` takes a count)."""

    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    STEP = "step"

    def line(self, steps: int | None = None) -> str:
        return f"{self} {steps}\n" if self is Command.STEP else f"{self}\n"

    @classmethod
    def parse(cls, line: str) -> tuple[Command, int] | None:
        """A command line as (command, steps), or None if it is not one."""
        word, _, count = line.strip().partition(" ")
        if word not in cls.__members__.values():
            return None
        command = cls(word)
        takes_count = command is cls.STEP
        if takes_count != bool(count) or (takes_count and not count.isdigit()):
            return None
        return command, int(count) if takes_count else 0


class Event(StrEnum):
    """What the worker tells the app, the key of a JSON line on its stdout."""

    PROGRESS = "progress"  # {"progress": Progress.to_dict()}
    DONE = "done"  # {"done": RunState}: the last line of a run that ended
    FAILED = "failed"  # {"failed": message}: the last line of a run that could not go on
    SWEEP = "sweep"  # {"sweep": sweep.Position.to_dict()}: a sweep moves to its next run or phase


def _read_commands(control, stdin: TextIO) -> None:
    actions = {
        Command.PAUSE: lambda steps: control.pause(),
        Command.RESUME: lambda steps: control.resume(),
        Command.STOP: lambda steps: control.stop(),
        Command.STEP: control.step,
    }
    for line in stdin:
        parsed = Command.parse(line)
        if parsed is not None:
            command, steps = parsed
            actions[command](steps)
    # The app closed our stdin by exiting (or crashing). Nobody is left to watch or stop this
    # run: leave it as a kill -9 would, resumable from its newest checkpoint.
    os._exit(3)


class _Events:
    """Writes events to the real stdout, one line each, throttling progress between states."""

    def __init__(self, out: TextIO):
        self.out = out
        self.lock = threading.Lock()
        self.last_sent = (0.0, None)

    def send(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.out.write(json.dumps(event) + "\n")
            self.out.flush()

    def progress(self, progress) -> None:
        now, (then, state) = time.monotonic(), self.last_sent
        if progress.state != state or now - then >= PROGRESS_EVERY_SEC:
            self.last_sent = (now, progress.state)
            self.send({Event.PROGRESS: progress.to_dict()})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Events get a private copy of stdout; anything else printed (TensorFlow, Keras) goes to
    # stderr, so a stray print can never corrupt the event stream.
    events = _Events(os.fdopen(os.dup(sys.stdout.fileno()), "w"))
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        request = json.loads(argv[0])
        # Here, not above: the app imports this module for Command and Event, and must not load
        # TensorFlow (training) or SciPy (sweeps) for it.
        from ganlib.sweep import Sweep
        from ganlib.training.callbacks import TrainingControl
        from ganlib.training.train import resume, train

        control = TrainingControl()
        if request.get("paused"):
            control.pause()
        threading.Thread(target=_read_commands, args=(control, sys.stdin), daemon=True).start()
        if request.get("max_seconds"):
            limit = threading.Timer(float(request["max_seconds"]), control.stop)
            limit.daemon = True
            limit.start()
        run = RunDir(request["runs_dir"], request["run"])
        if request.get("sweep") is not None:
            job = Sweep.open(run.runs_dir, request["sweep"])
            state = job.run(
                on_position=lambda position: events.send({Event.SWEEP: position.to_dict()}),
                control=control,
                report=events.progress,
            )
        elif request.get("config") is not None:
            config = TrainConfig.from_dict(request["config"])
            state = train(config, run, control=control, report=events.progress)
        else:
            state = resume(run, request.get("until_epoch"), control=control, report=events.progress)
        events.send({Event.DONE: state})
        return 0
    except GanlibError as exc:
        events.send({Event.FAILED: str(exc)})
        return 1
    except Exception as exc:  # the run's status.json has the traceback
        events.send({Event.FAILED: f"{type(exc).__name__}: {exc}"})
        return 1


if __name__ == "__main__":
    sys.exit(main())
