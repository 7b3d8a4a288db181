"""Learning-rate schedules over a run: the factor on both base rates at a share of the run done.

A GAN's generator keeps moving while its learning rate does not fall: samples drift from one
checkpoint to the next instead of settling (issue 22: the default's FID was best mid-run and
worse at the end). Decaying both rates to zero at the run's end, which ``minutes`` or ``epochs``
fixes, lets the last checkpoint be the settled one. Pure Python: the Train form lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# share of the run done (0..1) -> factor on the base learning rates
SCHEDULES: dict[str, Callable[[float], float]] = {
    "constant": lambda done: 1.0,
    "linear": lambda done: 1.0 - done,
    "cosine": lambda done: 0.5 * (1.0 + math.cos(math.pi * done)),
}


def factor(schedule: str, done: float) -> float:
    """The factor on the base learning rates once ``done`` (clipped to 0..1) of the run is trained."""
    return SCHEDULES[schedule](min(1.0, max(0.0, done)))
