"""The one owner of the step, the epoch, the speed and the run's end; the learning rates
and the dropout seeds that follow from them."""

from __future__ import annotations

import time

import keras

from ganlib.zoo import schedules


class StepClock(keras.callbacks.Callback):
    """Global step, epoch, throughput and the run's end, shared by the callbacks that need them.

    The end (``end_step``) is ``epochs`` epochs, or with a time budget the last epoch end that
    fits in it, re-estimated after every call into TensorFlow from the speed measured since
    training (re)started. It runs first among the callbacks, so at an epoch's end the others see
    whether this epoch is the run's last (``at_end``); it ends ``fit()`` there when time is up.
    """

    def __init__(
        self,
        steps_per_epoch: int,
        images_per_step: int,
        first_epoch: int,
        elapsed_before: float,
        epochs: int,
        budget_sec: float = 0.0,
    ):
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.images_per_step = images_per_step  # real images a step consumes
        self.epoch = first_epoch
        self.step = first_epoch * steps_per_epoch
        self.elapsed_before = elapsed_before
        self.budget_sec = budget_sec  # 0: no time budget
        self.end_step = epochs * steps_per_epoch
        self._cap = self.end_step
        self._start = time.perf_counter()
        self._session = (self._start, self.step)  # since this fit() began: the speed for the end
        self._window = (self._start, self.step)
        self.images_per_sec = 0.0

    def epoch_completed(self, epoch: int) -> bool:
        """False when fit() ends an epoch early because training was stopped."""
        return self.step == (epoch + 1) * self.steps_per_epoch

    @property
    def at_end(self) -> bool:
        """True once the run's last step is trained."""
        return self.step >= self.end_step

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._start

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._session = self._window = (self._start, self.step)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step = self.epoch * self.steps_per_epoch + batch + 1
        now = time.perf_counter()
        since, step_then = self._window
        if now - since >= 1.0:  # a one-second window: responsive, yet not noisy
            self.images_per_sec = (self.step - step_then) * self.images_per_step / (now - since)
            self._window = (now, self.step)
        if self.budget_sec:
            self.end_step = self._end_within_budget(now)

    def _end_within_budget(self, now: float) -> int:
        started, first_step = self._session
        steps_per_sec = (self.step - first_step) / max(now - started, 1e-9)
        reachable = self.step + max(0.0, self.budget_sec - self.elapsed) * steps_per_sec
        per_epoch = self.steps_per_epoch
        this_epoch_end = -(-self.step // per_epoch) * per_epoch  # an epoch once begun is finished
        return min(self._cap, max(this_epoch_end, int(reachable // per_epoch) * per_epoch))

    def on_epoch_end(self, epoch, logs=None):
        if self.at_end:
            self.model.stop_training = True  # the time budget's end (the epochs end fit() anyway)


class ScheduledLearningRates(keras.callbacks.Callback):
    """Sets both optimizers' learning rates before each call into TensorFlow: the base rate
    times ``schedules.factor`` at the run's step and end (with the start's boost). Without a time
    budget the end is fixed, so a resumed run follows the same rates."""

    def __init__(self, clock: StepClock, schedule: str, lr_g: float, lr_d: float, boost: float = 1.0):
        super().__init__()
        self.clock = clock
        self.schedule = schedule
        self.boost = boost
        self.base_rates = (lr_g, lr_d)

    def on_train_batch_begin(self, batch, logs=None):
        factor = schedules.factor(self.schedule, self.clock.step, self.clock.end_step, self.boost)
        for optimizer, rate in zip((self.model.g_optimizer, self.model.d_optimizer), self.base_rates):
            optimizer.learning_rate = rate * factor


class EpochReseeder(keras.callbacks.Callback):
    """Sets every dropout seed to a function of (seed, epoch) as each epoch begins, so a run
    resumed at an epoch boundary draws the same dropout masks as an uninterrupted one.
    """

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        models = (self.model.generator, self.model.discriminator)
        for i, layer in enumerate(layer for m in models for layer in m.layers):
            generator = getattr(layer, "seed_generator", None)
            if generator is not None:
                state = generator.state
                state.assign(keras.ops.cast([self.seed + i, epoch], state.dtype))
