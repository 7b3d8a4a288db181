"""At an epoch's end: the checkpoint with its picture, then the quick FID of it; between
epochs, the live picture."""

from __future__ import annotations

import concurrent.futures
import logging
import math
import time
from collections.abc import Sequence

import keras
import numpy as np

from ganlib import GanlibError
from ganlib.measure.quick import QuickMeasure
from ganlib.runs.records import QualityPoint
from ganlib.runs.rundir import RunDir
from ganlib.sampling import latents
from ganlib.training import model_io, pictures
from ganlib.training.callbacks.clock import StepClock
from ganlib.training.callbacks.recorders import RecordListener

log = logging.getLogger(__name__)


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

    def save_if_due(self, epoch: int) -> bool:
        """At the end of (0-based) ``epoch``: save the checkpoint if one is due; whether it was."""
        done = epoch + 1
        if not self.clock.epoch_completed(epoch) or (done % self.every and not self.clock.at_end):
            return False
        grid_png = self.picture(self.model)
        state = {"step": self.clock.step, "elapsed": round(self.clock.elapsed, 3)}
        self.run.save_checkpoint(done, state, model_io.writers(self.model, grid_png))
        for listener in self.listeners:
            listener.add_checkpoint(self.clock.step, grid_png)
        return True


class QualityProbe(keras.callbacks.Callback):
    """Quality while it trains: ``measure`` after each checkpoint, FID, precision/recall and class coverage
    of the sampling generator at ``samples`` samples against as many held-out real images (the
    same latents each time, so points compare), with the real-data floor at that count, appended
    to ``quality.jsonl``. At 1,000 samples it costs about a second a checkpoint (docs/benchmarks.md).
    A quick FID is biased upwards by its small count: it shows the trend, Evaluate's 10,000-sample
    FID is the number to compare."""

    def __init__(
        self,
        run: RunDir,
        clock: StepClock,
        samples: int,
        listeners: Sequence[RecordListener] = (),
    ):
        super().__init__()
        self.run = run
        self.clock = clock
        self.samples = samples
        self.listeners = listeners
        self._quick: QuickMeasure | None = None  # loaded at the first checkpoint
        self._off = False

    def _load_reference(self) -> QuickMeasure:
        # On a thread of its own: a tf.distribute scope holds per thread, and the evaluator's
        # variables, created inside a multi-worker scope, would be initialised by collectives
        # that every worker must join, while only the chief measures quality (the first
        # checkpoint crashed: "Collective instance ... expected type 0").
        config = self.run.config()
        quick = QuickMeasure(config.dataset, self.samples, config.image_size)
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="quality-reference") as pool:
            pool.submit(quick.load).result()
        return quick

    def measure(self, epoch: int) -> None:
        """The quick figures of the checkpoint just saved at the end of (0-based) ``epoch``."""
        if self._off:
            return
        started = time.perf_counter()
        try:
            self._quick = self._quick or self._load_reference()
        except GanlibError as exc:  # e.g. a folder dataset with no evaluator trained for it
            log.warning("no live quality for %s: %s", self.run.name, exc)
            self._off = True
            return
        gan = self.model
        z = np.random.default_rng([self.run.config().seed, 555]).standard_normal(
            (self.samples, gan.latent_dim)
        )
        fake = gan.sample(z.astype(np.float32), latents.uniform_labels(self.samples, gan.num_classes))
        figures = self._quick.measure(fake)
        point = QualityPoint(
            step=self.clock.step,
            epoch=epoch + 1,
            elapsed=round(self.clock.elapsed, 3),
            samples=self.samples,
            **vars(figures),
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
