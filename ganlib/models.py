"""Architectures. Each is one entry in ``ARCHITECTURES``: a function from the image shape to a
``(generator, discriminator)`` pair. The discriminator returns raw scores (no sigmoid); the loss
decides how to read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from ganlib import GanlibError


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    build: Callable[..., tuple[keras.Model, keras.Model]]
    conditional: bool = False


ARCHITECTURES: dict[str, Architecture] = {}


def architecture(name: str, description: str, conditional: bool = False):
    """Decorator registering ``build(image_shape, latent_dim, num_classes, width)``."""

    def register(build):
        ARCHITECTURES[name] = Architecture(name, description, build, conditional)
        return build

    return register


def build_models(
    name: str, image_shape: tuple[int, int, int], latent_dim: int, num_classes: int = 0, width: float = 1.0
) -> tuple[keras.Model, keras.Model]:
    if name not in ARCHITECTURES:
        raise GanlibError(f"unknown model {name!r} (choose from {', '.join(ARCHITECTURES)})")
    return ARCHITECTURES[name].build(tuple(image_shape), latent_dim, num_classes, width)


def _units(base: int, width: float) -> int:
    return max(4, int(round(base * width)))


@architecture(
    "dcgan",
    "The TensorFlow DCGAN tutorial: Dense -> 2 transposed convolutions (x4 upsampling) -> tanh; "
    "D: 2 strided convolutions with LeakyReLU and dropout.",
)
def dcgan(image_shape, latent_dim, num_classes=0, width=1.0):
    height, wide, channels = image_shape
    if height % 4 or wide % 4:
        raise GanlibError(f"dcgan needs an image size divisible by 4, got {height}x{wide}")
    start = (height // 4, wide // 4)
    c256, c128, c64 = (_units(c, width) for c in (256, 128, 64))

    generator = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(start[0] * start[1] * c256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Reshape((*start, c256)),
            layers.Conv2DTranspose(c128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(c64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(channels, 5, strides=2, padding="same", activation="tanh"),
        ],
        name="generator",
    )
    discriminator = keras.Sequential(
        [
            keras.Input(image_shape),
            layers.Conv2D(c64, 5, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.3),
            layers.Conv2D(c128, 5, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="discriminator",
    )
    return generator, discriminator


@architecture(
    "mlp",
    "The dense GAN of the classic tutorials: G 256-512-1024, D 1024-512-256, LeakyReLU 0.2, dropout.",
)
def mlp(image_shape, latent_dim, num_classes=0, width=1.0):
    pixels = int(np.prod(image_shape))
    generator = keras.Sequential(
        [keras.Input((latent_dim,))]
        + [
            block
            for units in (256, 512, 1024)
            for block in (layers.Dense(_units(units, width)), layers.LeakyReLU(0.2))
        ]
        + [layers.Dense(pixels, activation="tanh"), layers.Reshape(image_shape)],
        name="generator",
    )
    discriminator = keras.Sequential(
        [keras.Input(image_shape), layers.Flatten()]
        + [
            block
            for units in (1024, 512, 256)
            for block in (layers.Dense(_units(units, width)), layers.LeakyReLU(0.2), layers.Dropout(0.3))
        ]
        + [layers.Dense(1)],
        name="discriminator",
    )
    return generator, discriminator
