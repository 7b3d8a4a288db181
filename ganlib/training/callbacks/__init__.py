"""Keras callbacks that turn ``fit()`` into our trainer, one module per job:

- ``clock``: the step, the epoch, the speed and the run's end (``StepClock``), the learning rates
  they give (``ScheduledLearningRates``), the dropout seeds per epoch (``EpochReseeder``);
- ``recorders``: the history and what follows it (alerts, TensorBoard), and the progress;
- ``checkpointing``: the checkpoint with its picture, the quick FID of it, the live picture;
- ``control``: pause, resume, step and stop from another thread, between steps.

The order they run in matters (each reads the clock; the quick FID reads the checkpoint just
saved) and is stated once, where they are put together: ``ganlib.training.train._fit``.
"""

from ganlib.training.callbacks.checkpointing import Checkpointer, PreviewWriter, QualityProbe
from ganlib.training.callbacks.clock import EpochReseeder, ScheduledLearningRates, StepClock
from ganlib.training.callbacks.control import ControlCallback, TrainingControl
from ganlib.training.callbacks.recorders import (
    AlertWatch,
    HistoryLogger,
    ProgressReporter,
    RecordListener,
    TensorBoardWriter,
    TrainingDiverged,
)

__all__ = [
    "AlertWatch",
    "Checkpointer",
    "ControlCallback",
    "EpochReseeder",
    "HistoryLogger",
    "PreviewWriter",
    "ProgressReporter",
    "QualityProbe",
    "RecordListener",
    "ScheduledLearningRates",
    "StepClock",
    "TensorBoardWriter",
    "TrainingControl",
    "TrainingDiverged",
]
