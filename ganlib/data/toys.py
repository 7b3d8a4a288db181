"""2-D toy distributions, the standard benchmarks of mode collapse: a ring of 8 Gaussians and a
5x5 grid of 25 (Metz et al. 2017 "Unrolled GANs"; Srivastava et al. 2017 "VEEGAN"), and a
spiral. Generated on the fly from a fixed seed (no files), in the papers' units (ring radius 2,
sd 0.02; grid spacing 2, sd 0.05): the toy models' generator has a linear output, so points need
no rescaling.

Every toy knows its modes, as **anchors** (points on the distribution's centre line, each with
the mode it belongs to) and one standard deviation: a sample is of high quality when it lies
within 3 sd of an anchor, and it counts for that anchor's mode (``ganlib.measure.modes``). For
the Gaussian mixtures the anchors are the means; the spiral is one curve cut into 16 arcs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOY_PREFIX = "toy:"
SPLIT_SIZES = {"train": 100_000, "test": 10_000}
SPLIT_SEEDS = {"train": 0, "test": 1}  # each split its own fixed draw


@dataclass(frozen=True)
class Toy:
    name: str
    description: str
    anchors: np.ndarray  # (A, 2): points on the centre line of the distribution
    anchor_modes: np.ndarray  # (A,): the mode each anchor belongs to
    modes: int
    sd: float  # of the Gaussian noise around the centre line
    extent: float  # the plane shown is [-extent, extent]^2

    def sample(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` points (float32) and the mode each was drawn from: every mode equally likely."""
        chosen = rng.integers(0, len(self.anchors), count)
        points = self.anchors[chosen] + self.sd * rng.standard_normal((count, 2))
        return points.astype(np.float32), self.anchor_modes[chosen].astype(np.int32)


def _mixture(name: str, description: str, means: np.ndarray, sd: float, extent: float) -> Toy:
    return Toy(name, description, means, np.arange(len(means)), len(means), sd, extent)


def _ring8() -> Toy:
    angles = 2 * np.pi * np.arange(8) / 8
    means = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _mixture("ring8", "8 Gaussians on a circle of radius 2, sd 0.02", means, 0.02, 3.0)


def _grid25() -> Toy:
    ticks = np.arange(-4.0, 4.1, 2.0)
    means = np.array([(x, y) for x in ticks for y in ticks])
    return _mixture("grid25", "25 Gaussians on a 5x5 grid of spacing 2, sd 0.05", means, 0.05, 5.5)


def _spiral(arcs: int = 16, anchors: int = 1600) -> Toy:
    # An Archimedean spiral of two turns, r = theta / 4, anchors equally spaced in theta;
    # the 16 arcs are its modes (equal in angle, so the outer ones are longer).
    theta = np.linspace(0.5 * np.pi, 4.5 * np.pi, anchors)
    radius = 0.25 * theta
    points = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    modes = np.arange(anchors) * arcs // anchors
    return Toy("spiral", "a two-turn spiral cut into 16 arcs, sd 0.05", points, modes, arcs, 0.05, 4.0)


TOYS: dict[str, Toy] = {toy.name: toy for toy in (_ring8(), _grid25(), _spiral())}
TOY_DATASETS = [TOY_PREFIX + name for name in TOYS]


def is_toy(dataset: str) -> bool:
    return dataset.startswith(TOY_PREFIX)


def get(dataset: str) -> Toy:
    """The toy of ``toy:NAME`` (``KeyError`` when there is none)."""
    return TOYS[dataset.removeprefix(TOY_PREFIX)]


@dataclass(frozen=True)
class PointSet:
    """A toy's points, float32 (N, 2), with the mode each came from as its label."""

    name: str
    points: np.ndarray
    labels: np.ndarray
    toy: Toy
    source: str = "generated from a fixed seed"

    class_names: tuple = ()  # toy models are unconditional: the modes are not given to them

    @property
    def samples(self) -> np.ndarray:
        return self.points

    @property
    def sample_shape(self) -> tuple[int]:
        return (2,)

    @property
    def num_classes(self) -> int:
        return 0

    @staticmethod
    def to_model_range(points):
        """Points go to the models as they are (their generator's output is linear)."""
        import tensorflow as tf

        return tf.cast(points, tf.float32)

    def __len__(self) -> int:
        return len(self.points)


def load(dataset: str, split: str) -> PointSet:
    """The ``split`` (train or test) of ``toy:NAME``: the same points on every call."""
    toy = get(dataset)
    points, modes = toy.sample(SPLIT_SIZES[split], np.random.default_rng([SPLIT_SEEDS[split], 2]))
    points.setflags(write=False)
    return PointSet(dataset, points, modes, toy)
