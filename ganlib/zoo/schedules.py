"""Learning-rate schedules over a run: the factor on both base rates at a share of the run done.

A GAN's generator keeps moving while its learning rate does not fall: samples drift from one
checkpoint to the next instead of settling (issue 22: the default's FID was best mid-run and
worse at the end). Decaying both rates to zero at the run's end, which ``minutes`` or ``epochs``
fixes, lets the last checkpoint be the settled one. Pure Python: the Train form lists them.

A boost does the opposite at the start: both rates begin ``boost`` times higher and fall back to
the schedule's over the first tenth of the run. The default's first minutes were held back by its
rate, not by the EMA or R1 (docs/benchmarks.md, "Eighth round"), while a high rate kept to the
end cost the end; a boost buys the start alone.
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


BOOST_SHARE = 0.1  # the share of the run over which a boost falls back to the schedule


def factor(schedule: str, done: float, boost: float = 1.0) -> float:
    """The factor on the base learning rates once ``done`` (clipped to 0..1) of the run is trained:
    the schedule's, times a ``boost`` that falls linearly to 1 at ``BOOST_SHARE`` of the run."""
    done = min(1.0, max(0.0, done))
    return SCHEDULES[schedule](done) * (1.0 + (boost - 1.0) * max(0.0, 1.0 - done / BOOST_SHARE))
