"""What the 2-D toy benchmarks report (Metz et al. 2017; Srivastava et al. 2017; Lin et al. 2018):
of a set of generated points, the **high-quality** share (within 3 standard deviations of the
distribution's centre line: a mode's mean for the Gaussian mixtures) and the **modes covered**
(modes with at least ``MIN_MODE_SAMPLES`` of 2,500 of those points, in proportion for other
sample counts), plus the KL divergence of the high-quality points' mode histogram from the
uniform one (0: every mode equally often).

One number ranks checkpoints (the best epoch): the **balanced quality**, the share of the points
that lie near a mode counting no mode beyond its fair share 1/K, i.e. the overlap of the points'
mode histogram with the data's. A perfect generator scores about 0.99 (the real points' own
share within 3 sd); one collapsed onto a single mode at most 1/K, however sharp; one spread over
every mode but imprecise, its high-quality share. Ranking by modes covered first would prefer a
checkpoint whose few points near five modes are its only good ones to one that draws two modes
well.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ganlib.data.toys import Toy

QUALITY_SDS = 3.0
# A mode counts as covered with at least 20 of 2,500 samples near it (PacGAN's rule; 2,500 is
# the papers' sample count): 100 are expected per mode of grid25, 312 of ring8.
MIN_MODE_SAMPLES = 20
DEFAULT_POINTS = 2500


@dataclass(frozen=True)
class ModeStats:
    modes_covered: int
    modes: int
    high_quality: float  # share of the points within 3 sd of a mode
    balanced_quality: float  # the same, counting no mode beyond 1/K of the points
    mode_kl: float  # KL(histogram of the high-quality points over the modes || uniform)
    histogram: list[int]  # high-quality points per mode

    def to_dict(self) -> dict:
        return asdict(self)


def nearest_modes(points: np.ndarray, toy: Toy) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the mode of its nearest anchor and the distance to it."""
    distances = np.full(len(points), np.inf)
    modes = np.zeros(len(points), np.int64)
    for start in range(0, len(toy.anchors), 256):  # bounded memory for the spiral's 1,600 anchors
        anchors = toy.anchors[start : start + 256]
        d = np.linalg.norm(points[:, None, :] - anchors[None, :, :], axis=2)
        nearest = d.argmin(axis=1)
        closer = d[np.arange(len(points)), nearest] < distances
        distances[closer] = d[np.arange(len(points)), nearest][closer]
        modes[closer] = toy.anchor_modes[start + nearest[closer]]
    return modes, distances


def covering_count(points: int) -> int:
    """High-quality points a mode needs to count as covered, of ``points`` generated: 20 of the
    papers' 2,500, and the same share of any other count."""
    return max(1, round(points * MIN_MODE_SAMPLES / DEFAULT_POINTS))


def mode_stats(points: np.ndarray, toy: Toy) -> ModeStats:
    """The benchmarks' figures for ``points`` (N, 2); a point that is not finite is of low quality."""
    points = np.asarray(points, np.float64)
    min_samples = covering_count(len(points))
    finite = np.isfinite(points).all(axis=1)
    modes, distances = nearest_modes(np.where(finite[:, None], points, 0.0), toy)
    good = finite & (distances <= QUALITY_SDS * toy.sd)
    histogram = np.bincount(modes[good], minlength=toy.modes)
    return ModeStats(
        modes_covered=int((histogram >= min_samples).sum()),
        modes=toy.modes,
        high_quality=float(good.mean()) if len(points) else 0.0,
        balanced_quality=float(np.minimum(histogram / max(len(points), 1), 1 / toy.modes).sum()),
        mode_kl=_kl_from_uniform(histogram),
        histogram=histogram.tolist(),
    )


def _kl_from_uniform(histogram: np.ndarray) -> float:
    """KL(p || uniform) = log K - H(p); with no point near any mode, the largest it can be (log K)."""
    total = histogram.sum()
    if total == 0:
        return float(np.log(len(histogram)))
    p = histogram[histogram > 0] / total
    return float(np.log(len(histogram)) + (p * np.log(p)).sum())
