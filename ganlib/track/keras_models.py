"""The Keras side of ``ganlib.track``, imported only when a writer hands over a Keras model:
drawing a generator's samples, keeping its architecture where Keras can rebuild it, and D's
accuracy on real and generated images.

A generator is taken as the tutorials build it: one input, a latent vector drawn from the
standard normal, and images out of a tanh in [-1, 1] (of a sigmoid, [0, 1], read from its last
layer). A discriminator takes images in the same range; its output is a logit (real above 0) or,
after a sigmoid, a probability (real above 0.5), read from its last layer too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ganlib.sampling import latents
from ganlib.sampling.inference import to_uint8

BATCH = 500


class KerasInputError(ValueError):
    """A model ganlib.track cannot draw or ask (``Run`` says so as a ``TrackError``)."""


def _ends_in_sigmoid(model: keras.Model) -> bool:
    """Whether the model's last layer with an activation applies a sigmoid."""
    for layer in reversed(model.layers):
        activation = getattr(layer, "activation", None)
        if activation is not None and getattr(activation, "__name__", "") != "linear":
            return activation.__name__ == "sigmoid"
    return False


def _to_pixels(outputs: np.ndarray, unit_range: bool) -> np.ndarray:
    return to_uint8(outputs * 2.0 - 1.0 if unit_range else outputs)


def _to_model_range(pixels: np.ndarray, unit_range: bool) -> np.ndarray:
    x = pixels.astype(np.float32) / 255.0
    return x if unit_range else x * 2.0 - 1.0


def _run(model: keras.Model, inputs: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [np.asarray(model(inputs[i : i + BATCH], training=False)) for i in range(0, len(inputs), BATCH)]
    )


@dataclass(frozen=True)
class Drawn:
    """What a checkpoint keeps of a Keras generator: its samples, its grid (the same latents at
    every epoch), and its architecture as a functional model's config when Keras can rebuild it
    from built-in layers alone (None otherwise: Gallery then shows the stored samples)."""

    samples: np.ndarray
    grid: np.ndarray
    latent_dim: int
    unit_range: bool  # drawn in [0, 1] (a sigmoid), not [-1, 1]
    architecture: dict[str, Any] | None
    model: keras.Model

    @classmethod
    def of(cls, generator: Any, count: int, seed: int, epoch: int, grid_images: int = 64) -> Drawn:
        if not isinstance(generator, keras.Model):
            raise KerasInputError(
                f"generator must be a Keras model, got {type(generator).__name__}: from another framework, pass samples="
            )
        shape = generator.input_shape
        if not (isinstance(shape, tuple) and len(shape) == 2 and isinstance(shape[1], int)):
            raise KerasInputError(
                f"generator takes {shape}; ganlib.track draws one latent vector per image, (None, latent_dim): "
                "for any other generator, pass samples="
            )
        latent_dim = shape[1]
        unit_range = _ends_in_sigmoid(generator)
        z = np.random.default_rng([seed, 777, epoch]).standard_normal((count, latent_dim)).astype(np.float32)
        samples = _to_pixels(_run(generator, z), unit_range)
        grid = _to_pixels(_run(generator, latents.fixed_latents(latent_dim, seed, grid_images)), unit_range)
        functional = _functional(generator, unit_range)
        architecture = functional.get_config() if functional is not None else None
        return cls(samples, grid, latent_dim, unit_range, architecture, functional or generator)

    def save_weights(self, path: Path) -> None:
        self.model.save_weights(path)


def _functional(generator: keras.Model, unit_range: bool) -> keras.Model | None:
    """The generator as a functional model of the same layers (a Sequential's config is not one
    the NumPy sampler reads), drawing in [-1, 1] as every sampler reads (a sigmoid's [0, 1] is
    rescaled: a layer without weights), if Keras can rebuild it from its config alone."""
    try:
        outputs = generator.outputs[0]
        if unit_range:
            outputs = keras.layers.Rescaling(2.0, -1.0, name="to_tanh_range")(outputs)
        functional = keras.Model(generator.inputs, outputs)
        json.dumps(functional.get_config())
        keras.Model.from_config(functional.get_config())  # built-in layers only, as safe mode loads them
    except Exception:  # a subclassed model, a custom layer: its samples are what we keep
        return None
    return functional


def discriminator_accuracy(
    discriminator: Any, real: np.ndarray, fake: np.ndarray, unit_range: bool = False, real_label: int = 1
) -> tuple[float, float]:
    """The share of ``real`` images D calls real and of ``fake`` ones it calls fake (uint8 both;
    D takes them in [-1, 1], or with ``unit_range`` in [0, 1], as the generator draws them). D's
    output above its threshold means ``real_label`` (1: real; 0: keras-io's D, which says fake)."""
    if not isinstance(discriminator, keras.Model):
        raise KerasInputError(f"discriminator must be a Keras model, got {type(discriminator).__name__}")
    threshold = 0.5 if _ends_in_sigmoid(discriminator) else 0.0
    try:
        scores = [_run(discriminator, _to_model_range(x, unit_range)).ravel() for x in (real, fake)]
    except Exception as exc:  # a shape D does not take
        raise KerasInputError(
            f"the discriminator cannot take the dataset's images: {str(exc).splitlines()[0][:200]}"
        ) from None
    says_real = [(score > threshold) == bool(real_label) for score in scores]
    return round(float(says_real[0].mean()), 4), round(float((~says_real[1]).mean()), 4)
