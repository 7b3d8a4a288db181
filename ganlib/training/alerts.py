"""Alerts: what a person watching a run would want to be told, read from its history and its live
quality points. Pure functions of those records, so the trainer records them in the run and the
Train page shows them, and a test provokes each with a crafted history.

- ``D_WINS``: D tells real from fake almost perfectly for a sustained stretch: G gets no useful
  gradient (the classic failure of a too-strong D).
- ``MODE_COLLAPSE``: between two live quality points, recall (diversity) falls by more than half,
  or the samples cover at least 3 classes fewer: G has narrowed to a few modes.
- ``DIVERGENCE``: a loss is not finite, or has exploded (over 10x its median so far, for several
  log points in a row).
"""

from __future__ import annotations

import math
import statistics

from ganlib.runs.records import Alert, AlertKind, HistoryPoint, PointKind, QualityPoint

D_WINS_ACCURACY = 0.97  # on real and on fake
D_WINS_POINTS = 8  # consecutive log points
COLLAPSE_RECALL_FRACTION = 0.5
COLLAPSE_CLASSES = 3
EXPLOSION_FACTOR = 10.0
EXPLOSION_POINTS = 3


def _steps(history: list[HistoryPoint]) -> list[HistoryPoint]:
    return [p for p in history if p.kind == PointKind.STEP]


def d_wins(history: list[HistoryPoint]) -> Alert | None:
    points = _steps(history)[-D_WINS_POINTS:]
    if len(points) < D_WINS_POINTS:
        return None
    if all(min(p.acc_real, p.acc_fake) >= D_WINS_ACCURACY for p in points):
        fake = statistics.mean(p.acc_fake for p in points)
        return Alert(
            AlertKind.D_WINS,
            points[-1].step,
            f"D has judged {fake:.0%} of fakes and at least {D_WINS_ACCURACY:.0%} of reals correctly for the "
            f"last {D_WINS_POINTS} log points (steps {points[0].step}-{points[-1].step}): G learns little; "
            "try a lower D learning rate, label smoothing or instance noise",
        )
    return None


def mode_collapse(quality: list[QualityPoint]) -> Alert | None:
    if len(quality) < 2:
        return None
    before, now = quality[-2], quality[-1]
    lost = before.classes_covered - now.classes_covered
    if before.recall > 0.05 and now.recall < COLLAPSE_RECALL_FRACTION * before.recall:
        seen = f"recall fell from {before.recall:.2f} to {now.recall:.2f}"
    elif lost >= COLLAPSE_CLASSES:
        seen = f"the samples cover {lost} classes fewer ({before.classes_covered} -> {now.classes_covered})"
    else:
        return None
    return Alert(AlertKind.MODE_COLLAPSE, now.step, f"{seen} between steps {before.step} and {now.step}")


def divergence(history: list[HistoryPoint]) -> Alert | None:
    points = _steps(history)
    for name in ("d_loss", "g_loss"):
        if points and not math.isfinite(points[-1].metric(name)):
            return Alert(AlertKind.DIVERGENCE, points[-1].step, f"{name} is {points[-1].metric(name)}")
        earlier = [abs(p.metric(name)) for p in points[:-EXPLOSION_POINTS]]
        recent = points[-EXPLOSION_POINTS:]
        if len(earlier) < 5 or len(recent) < EXPLOSION_POINTS:
            continue
        median = statistics.median(earlier)
        if median > 0 and all(abs(p.metric(name)) > EXPLOSION_FACTOR * median for p in recent):
            return Alert(
                AlertKind.DIVERGENCE,
                recent[-1].step,
                f"{name} has exploded: {recent[-1].metric(name):.3g}, over {EXPLOSION_FACTOR:g}x its median so far "
                f"({median:.3g}) for {EXPLOSION_POINTS} log points",
            )
    return None


def check(history: list[HistoryPoint], quality: list[QualityPoint]) -> list[Alert]:
    """Every alert the records raise now."""
    found = [d_wins(history), mode_collapse(quality), divergence(history)]
    return [alert for alert in found if alert is not None]
