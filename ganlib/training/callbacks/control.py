"""Pause, resume, step and stop from another thread, honoured between training steps."""

from __future__ import annotations

import threading
from collections.abc import Callable

import keras

from ganlib.runs.rundir import RunState
from ganlib.training.callbacks.clock import StepClock


class TrainingControl:
    """Pause, resume, step and stop requests from any thread, honoured between training steps."""

    def __init__(self):
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._steps_allowed = 0  # while paused: steps to train before pausing again

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused trainer so it can stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> None:
        self._running.wait(timeout)

    def step(self, steps: int) -> None:
        """While paused, train ``steps`` more steps (whole calls into TensorFlow), then pause."""
        with self._lock:
            self._steps_allowed += max(0, int(steps))

    def take_steps(self, done: int) -> bool:
        """Count ``done`` steps against the allowance; True while some of it is left."""
        with self._lock:
            self._steps_allowed = max(0, self._steps_allowed - done)
            return self._steps_allowed > 0

    @property
    def stepping(self) -> bool:
        with self._lock:
            return self._steps_allowed > 0


class ControlCallback(keras.callbacks.Callback):
    """Blocks between steps while paused; stops fit() when asked."""

    def __init__(
        self,
        control: TrainingControl,
        clock: StepClock,
        on_state: Callable[[RunState], None],
        on_pause: Callable[[], None] = lambda: None,
    ):
        super().__init__()
        self.control = control
        self.clock = clock
        self.on_state = on_state
        self.on_pause = on_pause  # e.g. redraw the live grid, so a paused step shows its result
        self._last_step = clock.step

    def on_train_batch_end(self, batch, logs=None):
        done, self._last_step = self.clock.step - self._last_step, self.clock.step
        control = self.control
        if control.paused and not control.stop_requested and not control.take_steps(done):
            # Paused (or a Step's allowance is used up): wait for Resume, Step or Stop.
            self.on_pause()  # first, so the grid is there when the pause is reported
            self.on_state(RunState.PAUSED)
            while control.paused and not control.stepping and not control.stop_requested:
                control.wait_while_paused(timeout=0.1)
            if not control.paused:
                self.on_state(RunState.TRAINING)
        if control.stop_requested:
            self.model.stop_training = True
