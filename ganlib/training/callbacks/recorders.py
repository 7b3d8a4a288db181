"""What a run writes as it trains: the history (and what follows it: the alerts, TensorBoard)
and the progress the app and the CLI show."""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import keras

from ganlib import GanlibError
from ganlib.runs.records import METRIC_NAMES, HistoryPoint, PointKind, Progress, QualityPoint
from ganlib.runs.rundir import RunDir, RunState
from ganlib.training import alerts
from ganlib.training.callbacks.clock import StepClock


class TrainingDiverged(GanlibError):
    pass


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
