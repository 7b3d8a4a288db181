"""A run's configuration: every setting written once (``settings``), the one configuration
object validated before anything is built (``run_config``), and the named starting points
(``presets``)."""

from ganlib.config.presets import (
    DATASET_DEFAULTS,
    DEFAULT_PRESET,
    PRESETS,
    QUICK_START,
    TOY,
    TOY_LESSON,
    TOY_SLOW_D,
    TUTORIAL_DCGAN,
    Lesson,
    default_preset,
    starting_point,
)
from ganlib.config.run_config import TrainConfig, penalty_meets_batch_norm, setting_type
from ganlib.config.settings import RUN_NAME_PATTERN, SETTINGS, ConfigError, Setting, check_run_name

__all__ = [
    "DATASET_DEFAULTS",
    "DEFAULT_PRESET",
    "PRESETS",
    "QUICK_START",
    "RUN_NAME_PATTERN",
    "SETTINGS",
    "TOY",
    "TOY_LESSON",
    "TOY_SLOW_D",
    "TUTORIAL_DCGAN",
    "ConfigError",
    "Lesson",
    "Setting",
    "TrainConfig",
    "check_run_name",
    "default_preset",
    "penalty_meets_batch_norm",
    "setting_type",
    "starting_point",
]
