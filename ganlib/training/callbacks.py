"""Keras callbacks that turn ``fit()`` into our trainer: history, checkpoints with grids,
progress, pause/stop from another thread, and per-epoch reseeding for exact resume. The order
they run in, which matters (each reads the clock; the quick FID reads the checkpoint just saved),
is stated once, where they are put together: ``ganlib.training.train._fit``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import keras
import numpy as np

from ganlib import GanlibError
from ganlib.runs.records import METRIC_NAMES, HistoryPoint, PointKind, Progress, QualityPoint
from ganlib.runs.rundir import RunDir, RunState
from ganlib.training import alerts, model_io, pictures
from ganlib.zoo import schedules

log = logging.getLogger(__name__)


class TrainingDiverged(GanlibError):
    pass


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


class HistoryLogger(keras.callbacks.Callback):
    """Appends a history line every ``log_every`` steps (the mean over those steps) and at
    every epoch end (the epoch mean). Raises ``TrainingDiverged`` on a NaN or infinite loss.
    """

    def __init__(
        self, run: RunDir, clock: StepClock, log_every: int, listeners: Sequence[RecordListener] = ()
    ):
        super().__init__()
        self.run = run
        self.clock = clock
        self.log_every = log_every
        self.listeners = listeners
        self._last = (0, dict.fromkeys(METRIC_NAMES, 0.0))
        self._last_time = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._last = (0, dict.fromkeys(METRIC_NAMES, 0.0))
        self._last_time = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution > 1 this runs every few steps: log when a multiple of
        # log_every has been passed, not only when one is hit exactly.
        previous_step = self.clock.step - (batch + 1 - self._last[0])
        if self.clock.step // self.log_every == previous_step // self.log_every:
            return
        # fit() reports running means since the epoch began; recover the mean over just the
        # steps since the last log line: (M_t * t - M_s * s) / (t - s).
        count = batch + 1
        means = {k: float(logs[k]) for k in METRIC_NAMES}
        last_count, last_means = self._last
        interval = {
            k: (means[k] * count - last_means[k] * last_count) / (count - last_count) for k in METRIC_NAMES
        }
        now = time.perf_counter()
        rate = (count - last_count) * self.clock.images_per_step / max(now - self._last_time, 1e-9)
        self._last, self._last_time = (count, means), now
        self._write(PointKind.STEP, interval, rate)

    def on_epoch_end(self, epoch, logs=None):
        if not self.clock.epoch_completed(epoch):
            return
        self._write(PointKind.EPOCH, {k: float(logs[k]) for k in METRIC_NAMES}, self.clock.images_per_sec)

    def _write(self, kind: PointKind, metrics: dict[str, float], rate: float) -> None:
        clock = self.clock
        point = HistoryPoint(
            kind=kind,
            step=clock.step,
            epoch=round(clock.step / clock.steps_per_epoch, 4),
            elapsed=round(clock.elapsed, 3),
            images_per_sec=round(rate, 1),
            **{k: round(v, 6) for k, v in metrics.items()},
        )
        self.run.append_history([point])
        if kind == PointKind.STEP:
            for listener in self.listeners:
                listener.add_history(point)
        bad = [k for k in ("d_loss", "g_loss") if not math.isfinite(metrics[k])]
        if bad:
            raise TrainingDiverged(
                f"{' and '.join(bad)} became {metrics[bad[0]]} at step {clock.step}; "
                "checkpoints saved before this point are intact. Try lower learning rates."
            )


class Checkpointer(keras.callbacks.Callback):
    """Saves weights, optimizer state and the picture (the fixed-seed grid, or a toy's plane)
    every ``every`` epochs and at the run's end (the clock's: the last epoch, or the last that fits
    in the time budget)."""

    def __init__(
        self,
        run: RunDir,
        clock: StepClock,
        every: int,
        picture: pictures.Picture,
        listeners: Sequence[RecordListener] = (),
    ):
        super().__init__()
        self.run = run
        self.clock = clock
        self.every = every
        self.picture = picture
        self.listeners = listeners

        self.saved: int | None = None  # the epoch of the checkpoint saved last

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if not self.clock.epoch_completed(epoch) or (done % self.every and not self.clock.at_end):
            return
        grid_png = self.picture(self.model)
        state = {"step": self.clock.step, "elapsed": round(self.clock.elapsed, 3)}
        self.run.save_checkpoint(done, state, model_io.writers(self.model, grid_png))
        self.saved = done
        for listener in self.listeners:
            listener.add_checkpoint(self.clock.step, grid_png)


class RecordListener(Protocol):
    """What follows the records as they are written: each history log point, quality point and
    checkpoint (the alerts, the TensorBoard events)."""

    def add_history(self, point: HistoryPoint) -> None: ...
    def add_quality(self, point: QualityPoint) -> None: ...
    def add_checkpoint(self, step: int, grid_png: bytes) -> None: ...


class AlertWatch:
    """Checks ``ganlib.training.alerts`` at each new log point and quality point, and records an alert in
    the run when it starts (again only after it has cleared)."""

    def __init__(self, run: RunDir):
        self.run = run
        self.history: collections.deque[HistoryPoint] = collections.deque(maxlen=500)
        self.quality: list[QualityPoint] = []
        self.raised: set[alerts.AlertKind] = set()

    def add_history(self, point: HistoryPoint) -> None:
        self.history.append(point)
        self._check()

    def add_quality(self, point: QualityPoint) -> None:
        self.quality.append(point)
        self._check()

    def add_checkpoint(self, step: int, grid_png: bytes) -> None:
        pass  # alerts come from losses and quality, not from the weights saved

    def _check(self) -> None:
        found = alerts.check(list(self.history), self.quality[-2:])
        for alert in found:
            if alert.kind not in self.raised:
                self.run.append_alert(alert)
        self.raised = {alert.kind for alert in found}


class TensorBoardWriter:
    """The run as TensorBoard event files too (its ``tensorboard/`` folder), for people who live
    in TensorBoard: at each log point the losses, D's outputs and accuracies and the speed; at
    each checkpoint the fixed-seed grid; at each quality point the quick FID with its floor,
    precision and recall. Written from the records the run keeps, so both say the same."""

    def __init__(self, folder):
        import tensorflow as tf

        self._tf = tf
        self._writer = tf.summary.create_file_writer(str(folder))
        # What TensorBoard's scalar and image summaries write, with TensorFlow alone: its
        # tf.summary.scalar and .image live in the tensorboard package, needed only to view.
        data = tf.compat.v1.SummaryMetadata
        self._scalar = data(
            plugin_data=data.PluginData(plugin_name="scalars"), data_class=1
        ).SerializeToString()
        self._image = data(
            plugin_data=data.PluginData(plugin_name="images"), data_class=3
        ).SerializeToString()

    def _scalars(self, step: int, values: dict[str, float]) -> None:
        with self._writer.as_default(step=step):
            for name, value in values.items():
                self._tf.summary.write(
                    name, self._tf.constant(value, self._tf.float32), metadata=self._scalar
                )

    def add_history(self, point: HistoryPoint) -> None:
        values = {f"train/{name}": point.metric(name) for name in METRIC_NAMES}
        self._scalars(point.step, {**values, "speed/images_per_sec": point.images_per_sec})

    def add_quality(self, point: QualityPoint) -> None:
        names = ["fid", "floor_fid", "precision", "recall", "classes_covered"]
        self._scalars(point.step, {f"quick_fid/{name}": getattr(point, name) for name in names})
        self._writer.flush()

    def add_checkpoint(self, step: int, grid_png: bytes) -> None:
        height, width = self._tf.image.decode_png(grid_png).shape[:2]
        image = self._tf.constant([str(width), str(height), grid_png])  # as tf.summary.image encodes
        with self._writer.as_default(step=step):
            self._tf.summary.write("fixed-seed grid", image, metadata=self._image)
        self._writer.flush()


class QualityProbe(keras.callbacks.Callback):
    """Quality while it trains: after each checkpoint, FID, precision/recall and class coverage
    of the sampling generator at ``samples`` samples against as many held-out real images (the
    same latents each time, so points compare), with the real-data floor at that count, appended
    to ``quality.jsonl``. At 1,000 samples it costs about a second a checkpoint (docs/benchmarks.md).
    A quick FID is biased upwards by its small count: it shows the trend, Evaluate's 10,000-sample
    FID is the number to compare."""

    def __init__(
        self,
        run: RunDir,
        clock: StepClock,
        checkpointer: Checkpointer,
        samples: int,
        listeners: Sequence[RecordListener] = (),
    ):
        super().__init__()
        self.run = run
        self.clock = clock
        self.checkpointer = checkpointer
        self.samples = samples
        self.listeners = listeners
        self._reference = None  # (evaluator, real features, floor), loaded at the first checkpoint
        self._off = False

    def _load_reference(self):
        # On a thread of its own: a tf.distribute scope holds per thread, and the evaluator's
        # variables, created inside a multi-worker scope, would be initialised by collectives
        # that every worker must join, while only the chief measures quality (the first
        # checkpoint crashed: "Collective instance ... expected type 0").
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="quality-reference") as pool:
            return pool.submit(self._build_reference).result()

    def _build_reference(self):
        from ganlib.measure import metrics as metrics_lib
        from ganlib.measure import reference

        config = self.run.config()
        evaluator = reference.cached_evaluator(config.dataset)
        real = reference.real_features(
            config.dataset, "test", self.samples, config.dataset, config.image_size
        )
        train = reference.real_features(
            config.dataset, "train", self.samples, config.dataset, config.image_size
        )
        return evaluator, real, metrics_lib.fid(real[0], train[0])  # the real-data floor at this count

    def on_epoch_end(self, epoch, logs=None):
        if self._off or self.checkpointer.saved != epoch + 1:
            return
        from ganlib.measure import metrics as metrics_lib
        from ganlib.sampling import latents

        started = time.perf_counter()
        try:
            self._reference = self._reference or self._load_reference()
        except GanlibError as exc:  # e.g. a folder dataset with no evaluator trained for it
            log.warning("no live quality for %s: %s", self.run.name, exc)
            self._off = True
            return
        evaluator, real, floor = self._reference
        gan = self.model
        z = np.random.default_rng([self.run.config().seed, 555]).standard_normal(
            (self.samples, gan.latent_dim)
        )
        fake = gan.sample(z.astype(np.float32), latents.uniform_labels(self.samples, gan.num_classes))
        # FID, precision/recall and coverage only: KID's 50 kernel subsets would double the cost.
        fake_features, fake_probabilities = evaluator(fake)
        precision, recall = metrics_lib.precision_recall(real[0], fake_features)
        point = QualityPoint(
            step=self.clock.step,
            epoch=epoch + 1,
            elapsed=round(self.clock.elapsed, 3),
            samples=self.samples,
            fid=round(metrics_lib.fid(real[0], fake_features), 4),
            floor_fid=round(floor, 4),
            precision=round(precision, 4),
            recall=round(recall, 4),
            classes_covered=metrics_lib.class_coverage(fake_probabilities)["classes_covered"],
            seconds=round(time.perf_counter() - started, 3),
        )
        self.run.append_quality(point)
        for listener in self.listeners:
            listener.add_quality(point)


class PreviewWriter(keras.callbacks.Callback):
    """Writes the picture of the current weights (the fixed-seed grid, or a toy's plane) every
    ``every_sec`` seconds of wall clock (and at the first step), so the live view shows progress
    within seconds of Start rather than at the first checkpoint, which can be minutes away. A
    64-image grid or a plane costs a few milliseconds of inference; it reads no training state,
    so runs stay reproducible."""

    def __init__(self, run: RunDir, clock: StepClock, picture: pictures.Picture, every_sec: float = 5.0):
        super().__init__()
        self.run = run
        self.clock = clock
        self.picture = picture
        self.every_sec = every_sec
        self.last = -math.inf

    def on_train_batch_end(self, batch, logs=None):
        if time.monotonic() - self.last >= self.every_sec:
            self.write()

    def write(self) -> None:
        """Draw the weights as they are now."""
        self.last = time.monotonic()
        self.run.save_preview(self.picture(self.model), self.clock.step, self.clock.elapsed)


class ProgressReporter(keras.callbacks.Callback):
    """Hands a ``Progress`` to ``report`` after every step (it reads no tensors: no host sync)."""

    def __init__(self, run: RunDir, clock: StepClock, report: Callable[[Progress], None]):
        super().__init__()
        self.run = run
        self.clock = clock
        self.report = report

    def progress(self, state: RunState = RunState.TRAINING) -> Progress:
        clock = self.clock
        remaining = max(0, clock.end_step - clock.step)
        rate = clock.images_per_sec
        return Progress(
            run=self.run.name,
            state=state,
            epoch=clock.step // clock.steps_per_epoch,
            epochs=clock.end_step // clock.steps_per_epoch,
            step=clock.step,
            steps_per_epoch=clock.steps_per_epoch,
            images_per_sec=rate,
            eta_sec=remaining * clock.images_per_step / rate if rate > 0 else None,
            elapsed_sec=clock.elapsed,
        )

    def on_train_batch_end(self, batch, logs=None):
        self.report(self.progress())


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
