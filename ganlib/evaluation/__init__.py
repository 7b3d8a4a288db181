"""Evaluation: the metrics of ``ganlib.measure`` applied to a run's checkpoints, cached in the run.

``measure/`` computes figures from arrays (features, points) and knows nothing of runs;
this package samples each checkpoint, measures it against the real-data floor, caches the
result in the run's ``eval/`` folder and records the best epoch:

- ``results``: what an evaluation finds (``EpochResult``, ``ModeResult``) and which is best;
- ``cache``: the ``eval/`` files and the engine base both engines share;
- ``image_engine``: ``Engine``, an image run's FID, KID, precision/recall, copy share, D accuracy;
- ``toy_engine``: ``ModeEngine``, a 2-D toy's modes covered and high-quality share;
- ``best``: ``evaluate_run`` (the steps every caller takes) and the one writer of best.json;
- ``sources``: two image sources compared (``python -m ganlib fid``).
"""

from ganlib.evaluation.best import RunEvaluation, engine_for, evaluate_run, mark_best, record_best
from ganlib.evaluation.cache import (
    ENGINE_VERSION,
    EPOCH_FILE,
    FLOOR_FILE,
    MODES_VERSION,
    REAL_GRID_FILE,
    OnProgress,
    cached_mode_results,
    cached_results,
)
from ganlib.evaluation.image_engine import (
    REAL_GRID_IMAGES,
    TRUNCATION_LEVELS,
    Engine,
    discriminator_accuracy,
    nearest_training_images,
    real_floor,
)
from ganlib.evaluation.results import (
    DEFAULT_SAMPLES,
    MAX_SAMPLES,
    MODES_METRIC,
    Coverage,
    EpochResult,
    ModeResult,
    SetMetrics,
    best_by_modes,
    best_epoch,
    compare,
    metric_label,
)
from ganlib.evaluation.sources import compare_sources, source_images
from ganlib.evaluation.toy_engine import ModeEngine

__all__ = [
    "DEFAULT_SAMPLES",
    "ENGINE_VERSION",
    "EPOCH_FILE",
    "FLOOR_FILE",
    "MAX_SAMPLES",
    "MODES_METRIC",
    "MODES_VERSION",
    "REAL_GRID_FILE",
    "REAL_GRID_IMAGES",
    "TRUNCATION_LEVELS",
    "Coverage",
    "Engine",
    "EpochResult",
    "ModeEngine",
    "ModeResult",
    "OnProgress",
    "RunEvaluation",
    "SetMetrics",
    "best_by_modes",
    "best_epoch",
    "cached_mode_results",
    "cached_results",
    "compare",
    "compare_sources",
    "discriminator_accuracy",
    "engine_for",
    "evaluate_run",
    "mark_best",
    "metric_label",
    "nearest_training_images",
    "real_floor",
    "record_best",
    "source_images",
]
