"""Learning-rate schedules over a run: the factor on both base rates at a step of the run.

A GAN's generator keeps moving while its learning rate does not fall: samples drift from one
checkpoint to the next instead of settling (issue 22: the default's FID was best mid-run and
worse at the end). Decaying both rates to zero at the run's end, which ``minutes`` or ``epochs``
fixes, lets the last checkpoint be the settled one.

A decay from the first step halves the mean rate, though, and a short run is still learning fast
when it ends: it needs its full rate more than a settled end (issue 40: a 1,500-step MNIST run
ended at FID 19.0 decayed against 5.4 constant). ``hold-linear`` keeps the full rate for the first
``HOLD_STEPS`` steps and decays linearly from there to the run's end: a run that short is
constant, a long one decays over most of its length.

So the default is ``auto``: constant rates for a run shorter than ``DECAY_FROM_STEPS`` steps,
the linear decay to the end for a longer one (issue 40, docs/benchmarks.md, "Eleventh round":
constant ends lower at 1,000 to 4,680 steps on two seeds, and at 9,360 and 13,104 on one; the
decay at 16,848 on three, issue 22's). A short run runs at a multiple of the base rates, the
higher the shorter (``SHORT_RUN_RATES``): the rate that is too high for a long run's end is what a
short one lacks ("Twelfth round": 1.5x, MNIST 2-3x lower FID at 1,000 and 1,500 steps, the same
mean at 4,680 over 3 seeds; at 16,848 steps the same rates end 1.25x higher; "Fourteenth round":
2.5x below 2,000 steps, 1.5x lower again at 1,000 steps on 3 seeds, level at 1,500, while 2x was
no better than 1x at 4,680). With a time budget the run's end is an estimate, refined as it
trains, so the choice follows the estimate.
``auto-constant`` is ``auto`` without the decay, for a dataset still improving at ten minutes
(Fashion-MNIST: decayed, 2.96 against 2.42 at 16,848 steps; at 1.5x below 5,000 steps, 1.35x
lower FID at 1,872 and 3,744 steps, "Thirteenth round").

A boost does the opposite at the start: both rates begin ``boost`` times higher and fall back to
the schedule's over the first tenth of the run. The default's first minutes were held back by its
rate, not by the EMA or R1 (docs/benchmarks.md, "Eighth round"), while a high rate kept to the
end cost the end; a boost buys the start alone. Pure Python: the Train form lists them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

HOLD_STEPS = 3000  # hold-linear: steps at the full rate before the decay starts
DECAY_FROM_STEPS = 15_000  # auto: runs at least this long decay linearly, shorter ones stay constant
# auto: a run shorter than a row's steps runs at the row's multiple of the base rates (the first
# row that applies); from the last row's steps on, at the base rates.
SHORT_RUN_RATES: tuple[tuple[int, float], ...] = ((2_000, 2.5), (5_000, 1.5))


def short_run_rate(end: int) -> float:
    """The multiple of the base rates that ``auto`` and ``auto-constant`` give a run of ``end`` steps."""
    return next((rate for steps, rate in SHORT_RUN_RATES if end < steps), 1.0)


def _auto(step: int, end: int) -> float:
    if end < DECAY_FROM_STEPS:
        return short_run_rate(end)
    return 1.0 - step / end


# (step, the run's end step) -> factor on the base learning rates
SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "constant": lambda step, end: 1.0,
    "linear": lambda step, end: 1.0 - step / end,
    "cosine": lambda step, end: 0.5 * (1.0 + math.cos(math.pi * step / end)),
    "hold-linear": lambda step, end: min(1.0, (end - step) / max(1, end - HOLD_STEPS)),
    "auto": _auto,
    "auto-constant": lambda step, end: short_run_rate(end),  # auto without the decay
}


BOOST_SHARE = 0.1  # the share of the run over which a boost falls back to the schedule


def factor(schedule: str, step: int, end_step: int, boost: float = 1.0) -> float:
    """The factor on the base learning rates at ``step`` (clipped to 0..``end_step``) of a run
    that ends at ``end_step``: the schedule's, times a ``boost`` that falls linearly to 1 at
    ``BOOST_SHARE`` of the run."""
    end_step = max(1, end_step)
    step = min(end_step, max(0, step))
    done = step / end_step
    return SCHEDULES[schedule](step, end_step) * (1.0 + (boost - 1.0) * max(0.0, 1.0 - done / BOOST_SHARE))
