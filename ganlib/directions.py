"""Directions in a generator's latent space that change one thing about its images: the Gallery's
Steer sliders. NumPy only (the NumPy generator of ``ganlib.sampling.inference``), so a shared demo link
steers without TensorFlow; only an unconditional model's class-score directions need the run's
evaluator, which the caller passes in.

Two kinds, both unit vectors in the latent space (a slider at t moves the latent t standard
deviations of the prior along one):
- **principal** (GANSpace, Härkönen et al. 2020, without labels): the orthonormal latent directions
  that move the generator's first hidden layer the most, in order. For N latents ``Z`` and that
  layer's outputs ``F``, the least-squares map ``F ~ Z B`` is the layer's linear response to the
  latent; the left singular vectors of ``B`` are the directions and ``s_k^2 / total variance of F``
  the share of the layer's variance each explains.
- **attribute** (TL-GAN; InterfaceGAN, Shen et al. 2020): for a property measured on the images
  (``ATTRIBUTES``: ink, slant, size, brightness; class scores for unconditional models), the
  normal of the linear regression of the property on the latent. Its R^2 on held-out samples says
  how well the latent predicts the property; its entanglement, how much the other properties move
  along it (measured by moving samples, not read off the fit), so a person sees which are clean.

Saved per checkpoint as ``directions.json`` (``checkpoints.DIRECTIONS_FILE``), with the
fingerprint of the weights they were found for: a re-saved checkpoint's directions are stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ganlib import GanlibError, atomic
from ganlib.measure.features import EvaluatorError, load_evaluator
from ganlib.runs.checkpoints import Checkpoint
from ganlib.sampling.inference import NumpyGenerator
from ganlib.sampling.latents import truncated_latents, uniform_labels
from ganlib.training import model_io

if TYPE_CHECKING:
    from ganlib.runs.rundir import RunDir

Array = np.ndarray
Measure = Callable[[Array], dict[str, Array]]  # uint8 images -> {attribute: one value per image}
FORMAT = 1
PRINCIPAL, ATTRIBUTE = "principal", "attribute"
SLIDER_RANGE = 3.0  # latent standard deviations either way
LIT = 0.5  # a pixel brighter than half of full scale is ink (MNIST, Fashion-MNIST: light on black)


# -- what is measured on an image ---------------------------------------------------------------


def _gray(images: Array) -> Array:
    """uint8 (N, H, W, C) -> float (N, H, W) in [0, 1]."""
    return np.asarray(images, np.float64).mean(axis=-1) / 255.0


def measure(images: Array) -> dict[str, Array]:
    """The NumPy attributes of uint8 images, one value each:
    - ink: the mean pixel value (the stroke's mass: thicker or longer strokes, more garment);
    - slant: the shear of the ink's second moments, -mu11/mu02 with y down, so a stroke whose
      top leans right is positive (the measure MNIST's deskewing undoes);
    - size: the share of the image the lit pixels' bounding box covers;
    - brightness: the mean value of the lit pixels (how light the ink is, not how much)."""
    gray = _gray(images)
    n, height, width = gray.shape
    ys, xs = np.mgrid[0:height, 0:width]
    mass = gray.sum(axis=(1, 2)) + 1e-9
    cy = (gray * ys).sum(axis=(1, 2)) / mass
    cx = (gray * xs).sum(axis=(1, 2)) / mass
    dy, dx = ys[None] - cy[:, None, None], xs[None] - cx[:, None, None]
    mu11 = (gray * dx * dy).sum(axis=(1, 2)) / mass
    mu02 = (gray * dy * dy).sum(axis=(1, 2)) / mass
    lit = gray > LIT
    rows, cols = lit.any(axis=2), lit.any(axis=1)
    extent = lambda hits, size: np.where(  # noqa: E731  (first to last hit, 0 when none)
        hits.any(axis=1), size - np.argmax(hits[:, ::-1], axis=1) - np.argmax(hits, axis=1), 0
    )
    lit_count = lit.sum(axis=(1, 2))
    return {
        "ink": gray.mean(axis=(1, 2)),
        "slant": -mu11 / (mu02 + 1e-9),
        "size": extent(rows, height) * extent(cols, width) / (height * width),
        "brightness": np.where(lit_count > 0, (gray * lit).sum(axis=(1, 2)) / np.maximum(lit_count, 1), 0),
    }


ATTRIBUTES = ("ink", "slant", "size", "brightness")


def class_scores(classify: Callable[[Array], Array], class_names: Sequence[str]) -> Measure:
    """A measure of each class's log-odds by a classifier (images -> probabilities): the
    attributes of an unconditional model, whose class is not an input."""

    def scores(images: Array) -> dict[str, Array]:
        probabilities = np.clip(np.asarray(classify(images), np.float64), 1e-6, 1 - 1e-6)
        log_odds = np.log(probabilities) - np.log1p(-probabilities)
        return {f"class {name}": log_odds[:, i] for i, name in enumerate(class_names)}

    return scores


# -- the directions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Direction:
    name: str  # "PC1", "ink", "class 7"
    kind: str  # PRINCIPAL or ATTRIBUTE
    vector: tuple[float, ...]  # a unit vector in the latent space
    explained: float  # principal: the share of the hidden layer's variance; attribute: held-out R^2
    # The mean change of each attribute, in its standard deviations, per latent sd along this.
    effects: dict[str, float] = field(default_factory=dict)

    @property
    def entanglement(self) -> float | None:
        """For an attribute direction: the largest move of another attribute per move of its
        own (0 = clean, 1 = another moves as much). None for principal ones."""
        own = abs(self.effects.get(self.name, 0.0))
        others = [abs(v) for k, v in self.effects.items() if k != self.name]
        if self.kind != ATTRIBUTE or not others:
            return None
        return max(others) / own if own > 0 else math.inf

    def describe(self) -> str:
        """One line for a slider's help."""
        moves = sorted(self.effects.items(), key=lambda kv: -abs(kv[1]))[:3]
        moved = ", ".join(f"{k} {v:+.2f}" for k, v in moves)
        if self.kind == PRINCIPAL:
            return f"Explains {self.explained:.1%} of the first layer's variance. Per sd: {moved} sd."
        return (
            f"R² {self.explained:.2f} (how well the latent predicts {self.name}); entanglement "
            f"{self.entanglement:.2f} (other attributes' largest move per move of its own; inf: it moves "
            f"only the others). Per sd: {moved} sd."
        )


@dataclass(frozen=True)
class Directions:
    fingerprint: str  # of the weights they were found for (``Checkpoint.fingerprint``)
    latent_dim: int
    samples: int
    layer: str  # the hidden layer the principal directions are of
    directions: tuple[Direction, ...]

    def __getitem__(self, name: str) -> Direction:
        return next(d for d in self.directions if d.name == name)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.directions]

    def matrix(self, kind: str | None = None) -> Array:
        """The unit vectors as rows (float32)."""
        return np.array([d.vector for d in self.directions if kind in (None, d.kind)], np.float32)

    def steer(self, base: Array, amounts: dict[str, float]) -> Array:
        """``base`` moved ``amounts[name]`` latent sds along each named direction."""
        moved = np.array(base, np.float32)
        for name, amount in amounts.items():
            moved += np.float32(amount) * np.asarray(self[name].vector, np.float32)
        return moved

    def strip(self, base: Array, name: str, steps: int = 7, reach: float = SLIDER_RANGE) -> Array:
        """Latents from ``base`` - reach to ``base`` + reach along one direction: (steps, dim)."""
        offsets = np.linspace(-reach, reach, steps, dtype=np.float32)
        return np.asarray(base, np.float32)[None] + offsets[:, None] * self.matrix()[self.names.index(name)]

    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Directions:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown directions format {data.get('format')!r}")
        found = tuple(Direction(**{**d, "vector": tuple(d["vector"])}) for d in data["directions"])
        if any(len(d.vector) != data["latent_dim"] for d in found):
            raise ValueError("a direction's length is not the latent size")
        return cls(data["fingerprint"], data["latent_dim"], data["samples"], data["layer"], found)


def principal(features: Array, latents: Array, count: int) -> tuple[Array, Array]:
    """GANSpace in the latent: the ``count`` orthonormal latent directions (rows) along which the
    features respond most, and the share of the features' variance each explains."""
    centred = features - features.mean(axis=0)
    response, *_ = np.linalg.lstsq(latents - latents.mean(axis=0), centred, rcond=None)  # (dim, F)
    left, singular, _ = np.linalg.svd(response, full_matrices=False)
    shares = singular**2 / max(float(centred.var(axis=0).sum()), 1e-12)
    vectors = left.T[:count]
    # A sign fixed by the data, not by LAPACK: the largest component is positive.
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
    return vectors * signs[:, None], shares[:count]


def regress(latents: Array, values: Array, labels: Array | None) -> tuple[Array, float]:
    """The unit normal of ``values ~ latents`` (within class, for a conditional model) and its
    R^2 on the last fifth, held out of the fit."""
    values = np.asarray(values, np.float64)
    if labels is not None:  # the class is an input, not the latent's doing: take out its mean
        for label in np.unique(labels):
            values[labels == label] -= values[labels == label].mean()
    fit = len(values) * 4 // 5
    design = np.hstack([latents, np.ones((len(latents), 1))])
    weights, *_ = np.linalg.lstsq(design[:fit], values[:fit], rcond=None)
    residual = values[fit:] - design[fit:] @ weights
    spread = float(((values[fit:] - values[fit:].mean()) ** 2).sum())
    r2 = 1 - float((residual**2).sum()) / spread if spread > 0 else 0.0
    normal = weights[:-1]
    norm = float(np.linalg.norm(normal))
    return (normal / norm if norm > 0 else normal), max(r2, 0.0)


def compute(
    generator,
    fingerprint: str,
    samples: int = 4000,
    seed: int = 0,
    principal_count: int = 5,
    extra: Measure | None = None,
    bases: int = 256,
) -> Directions:
    """Find the directions of ``generator`` (a ``NumpyGenerator``) from ``samples`` draws."""
    if samples < 100:
        raise GanlibError("directions need at least 100 samples")
    latent_dim = int(generator.latent_dim)
    latents = truncated_latents(latent_dim, seed, samples)
    labels = uniform_labels(samples, generator.num_classes) if generator.conditional else None

    def attributes(z: Array, y: Array | None) -> dict[str, Array]:
        images = generator.sample(z, y)
        return {**measure(images), **(extra(images) if extra else {})}

    layer = generator.first_hidden_layer
    features = np.concatenate(
        [
            generator(latents[i : i + 500], None if labels is None else labels[i : i + 500], layer)
            for i in range(0, samples, 500)
        ]
    ).reshape(samples, -1)
    vectors, shares = principal(features, latents, min(principal_count, latent_dim))
    found = [(f"PC{i + 1}", PRINCIPAL, v, float(s)) for i, (v, s) in enumerate(zip(vectors, shares))]
    measured = attributes(latents, labels)
    spread = {name: float(values.std()) or 1.0 for name, values in measured.items()}
    for name, values in measured.items():
        normal, r2 = regress(latents, values, labels)
        found.append((name, ATTRIBUTE, normal, r2))

    # Effects, measured: move ``bases`` samples one sd either way along each direction.
    base, base_labels = latents[:bases], None if labels is None else labels[:bases]
    out = []
    for name, kind, vector, explained in found:
        step = np.asarray(vector, np.float32)[None]
        after, before = attributes(base + step, base_labels), attributes(base - step, base_labels)
        effects = {k: float((after[k] - before[k]).mean() / 2 / spread[k]) for k in measured}
        out.append(Direction(name, kind, tuple(round(float(x), 6) for x in vector), explained, effects))
    return Directions(fingerprint, latent_dim, samples, layer, tuple(out))


# -- in a checkpoint -----------------------------------------------------------------------------


def find_and_save(run: RunDir, epoch: int | None = None, samples: int = 4000, seed: int = 0) -> Directions:
    """Compute a checkpoint's directions and save them in it: the one way the CLI, the Gallery
    and the demo builder do it. An unconditional model also gets a direction per class of the
    run's evaluator (TensorFlow is imported for it), when one is installed."""
    checkpoint = run.checkpoint(epoch)
    generator = model_io.load_sampler(run, checkpoint.epoch)
    if not isinstance(generator, NumpyGenerator):
        raise GanlibError(
            f"{run.name} has no generator config the NumPy sampler can run (generator.json): "
            "directions are found and steered with NumPy"
        )
    extra = None
    if not generator.conditional:
        try:
            evaluator = load_evaluator(run.config().dataset)
            extra = class_scores(lambda images: evaluator(images)[1], evaluator.class_names)
        except EvaluatorError:
            pass  # no classifier for this dataset (a folder of images): the NumPy attributes only
    found = compute(generator, checkpoint.fingerprint, samples, seed, extra=extra)
    save(checkpoint, found)
    return found


def save(checkpoint: Checkpoint, directions: Directions) -> None:
    atomic.write_json(checkpoint.directions_path, directions.to_dict())


def load(checkpoint: Checkpoint) -> Directions | None:
    """The checkpoint's directions; None when it has none, or they are damaged, or were found
    for other weights (the checkpoint was saved again since)."""
    try:
        found = Directions.from_dict(atomic.read_json(checkpoint.directions_path))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if found.fingerprint == checkpoint.fingerprint else None
