"""Architectures. Each is one entry in ``ARCHITECTURES``: a function from the image shape to a
``(generator, discriminator)`` pair. The discriminator returns raw scores (no sigmoid); the loss
decides how to read them. Conditional models take ``[latent, label]`` and ``[image, label]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ganlib import GanlibError, deferred

keras, layers = deferred("keras"), deferred("keras.layers")  # imported when a model is built
replica = deferred("ganlib.zoo.replica")


@dataclass(frozen=True)
class Architecture:
    name: str
    description: str
    build: Callable[..., tuple[keras.Model, keras.Model]]
    conditional: bool = False
    # BatchNorm mixes a batch's images in D, which voids a per-sample gradient penalty (WGAN-GP).
    d_batch_norm: bool = False
    points: bool = False  # draws 2-D points (the toy datasets), not images


def for_points(name: str) -> bool:
    """Whether architecture ``name`` draws 2-D points (False for an unknown name)."""
    return name in ARCHITECTURES and ARCHITECTURES[name].points


ARCHITECTURES: dict[str, Architecture] = {}


def architecture(
    name: str, description: str, conditional: bool = False, d_batch_norm: bool = False, points: bool = False
):
    """Decorator registering ``build(image_shape, latent_dim, num_classes, width, spectral_norm)``
    (``image_shape`` is a sample's shape: (2,) for points)."""

    def register(build):
        ARCHITECTURES[name] = Architecture(name, description, build, conditional, d_batch_norm, points)
        return build

    return register


def build_models(
    name: str,
    image_shape: tuple[int, int, int],
    latent_dim: int,
    num_classes: int = 0,
    width: float = 1.0,
    spectral_norm: bool = False,
) -> tuple[keras.Model, keras.Model]:
    if name not in ARCHITECTURES:
        raise GanlibError(f"unknown model {name!r} (choose from {', '.join(ARCHITECTURES)})")
    if ARCHITECTURES[name].conditional and num_classes < 2:
        raise GanlibError(f"{name} is conditional: it needs a dataset with class labels")
    return ARCHITECTURES[name].build(tuple(image_shape), latent_dim, num_classes, width, spectral_norm)


def _units(base: int, width: float) -> int:
    return max(4, int(round(base * width)))


def _batch_norm() -> layers.Layer:
    """BatchNorm whose batch statistics span the global batch under tf.distribute, so N replicas
    normalise as one device would (synchronized: an all-reduce per layer, so off on one device)."""
    import tensorflow as tf

    return layers.BatchNormalization(synchronized=tf.distribute.get_strategy().num_replicas_in_sync > 1)


def _sn(layer: layers.Layer, spectral_norm: bool) -> layers.Layer:
    """Spectral normalisation (Miyato et al. 2018) bounds D's Lipschitz constant per layer."""
    return layers.SpectralNormalization(layer) if spectral_norm else layer


# -- DCGAN ---------------------------------------------------------------------------------------


def _dcgan_generator_body(x, image_shape, width):
    """Dense -> (H/4, W/4) feature map -> two transposed convolutions (x4) -> tanh image."""
    height, wide, channels = image_shape
    if height % 4 or wide % 4:
        raise GanlibError(f"dcgan needs an image size divisible by 4, got {height}x{wide}")
    c256, c128, c64 = (_units(c, width) for c in (256, 128, 64))
    x = layers.Dense(height // 4 * wide // 4 * c256, use_bias=False)(x)
    x = layers.LeakyReLU(0.2)(_batch_norm()(x))
    x = layers.Reshape((height // 4, wide // 4, c256))(x)
    for filters, stride in ((c128, 1), (c64, 2)):
        x = layers.Conv2DTranspose(filters, 5, strides=stride, padding="same", use_bias=False)(x)
        x = layers.LeakyReLU(0.2)(_batch_norm()(x))
    return layers.Conv2DTranspose(channels, 5, strides=2, padding="same", activation="tanh")(x)


def _dcgan_discriminator_body(x, width, spectral_norm):
    """Two strided convolutions with LeakyReLU and dropout -> one raw score."""
    for filters in (_units(64, width), _units(128, width)):
        x = _sn(layers.Conv2D(filters, 5, strides=2, padding="same"), spectral_norm)(x)
        x = replica.Dropout(0.3)(layers.LeakyReLU(0.2)(x))
    return _sn(layers.Dense(1), spectral_norm)(layers.Flatten()(x))


@architecture(
    "dcgan",
    "The TensorFlow DCGAN tutorial: Dense -> 2 transposed convolutions (x4 upsampling) -> tanh; "
    "D: 2 strided convolutions with LeakyReLU and dropout.",
)
def dcgan(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
    latent = keras.Input((latent_dim,), name="latent")
    generator = keras.Model(latent, _dcgan_generator_body(latent, image_shape, width), name="generator")
    image = keras.Input(image_shape, name="image")
    discriminator = keras.Model(
        image, _dcgan_discriminator_body(image, width, spectral_norm), name="discriminator"
    )
    return generator, discriminator


@architecture(
    "cdcgan",
    "Conditional DCGAN: a label embedding joins the latent vector in G and enters D as an extra "
    "image channel, so you choose which class to draw.",
    conditional=True,
)
def cdcgan(image_shape, latent_dim, num_classes, width=1.0, spectral_norm=False):
    height, wide, _ = image_shape
    latent, label = keras.Input((latent_dim,), name="latent"), keras.Input((), dtype="int32", name="label")
    embedded = layers.Flatten()(layers.Embedding(num_classes, 50)(label))
    g_out = _dcgan_generator_body(layers.Concatenate()([latent, embedded]), image_shape, width)
    generator = keras.Model([latent, label], g_out, name="generator")

    image, d_label = keras.Input(image_shape, name="image"), keras.Input((), dtype="int32", name="label")
    label_map = layers.Flatten()(layers.Embedding(num_classes, 50)(d_label))
    label_map = layers.Reshape((height, wide, 1))(layers.Dense(height * wide)(label_map))
    d_out = _dcgan_discriminator_body(layers.Concatenate()([image, label_map]), width, spectral_norm)
    discriminator = keras.Model([image, d_label], d_out, name="discriminator")
    return generator, discriminator


def _lean_generator_body(x, image_shape, width):
    """Dense -> (H/4, W/4) map -> two stride-2 4x4 transposed convolutions, BatchNorm and ReLU."""
    height, wide, channels = image_shape
    if height % 4 or wide % 4:
        raise GanlibError(f"the lean models need an image size divisible by 4, got {height}x{wide}")
    c128, c64 = _units(128, width), _units(64, width)
    x = layers.Dense(height // 4 * wide // 4 * c128, use_bias=False)(x)
    x = layers.ReLU()(_batch_norm()(x))
    x = layers.Reshape((height // 4, wide // 4, c128))(x)
    x = layers.Conv2DTranspose(c64, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(_batch_norm()(x))
    return layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(x)


def _lean_discriminator_features(x, width, spectral_norm):
    """Two stride-2 4x4 convolutions, BatchNorm on the second, LeakyReLU -> flat features."""
    x = layers.LeakyReLU(0.2)(
        _sn(layers.Conv2D(_units(64, width), 4, strides=2, padding="same"), spectral_norm)(x)
    )
    x = _sn(layers.Conv2D(_units(128, width), 4, strides=2, padding="same", use_bias=False), spectral_norm)(x)
    return layers.Flatten()(layers.LeakyReLU(0.2)(_batch_norm()(x)))


@architecture(
    "dcgan-lean",
    "The DCGAN paper's recipe at MNIST size: G Dense -> 2 stride-2 transposed 4x4 convolutions "
    "with BatchNorm and ReLU; D 2 stride-2 4x4 convolutions with BatchNorm, no dropout.",
    d_batch_norm=True,
)
def dcgan_lean(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
    latent = keras.Input((latent_dim,), name="latent")
    generator = keras.Model(latent, _lean_generator_body(latent, image_shape, width), name="generator")
    image = keras.Input(image_shape, name="image")
    features = _lean_discriminator_features(image, width, spectral_norm)
    discriminator = keras.Model(image, _sn(layers.Dense(1), spectral_norm)(features), name="discriminator")
    return generator, discriminator


@architecture(
    "cdcgan-lean",
    "Conditional dcgan-lean: a label embedding joins the latent vector in G; D is a projection "
    "discriminator (its score adds the inner product of a label embedding with its features).",
    conditional=True,
    d_batch_norm=True,
)
def cdcgan_lean(image_shape, latent_dim, num_classes, width=1.0, spectral_norm=False):
    latent, label = keras.Input((latent_dim,), name="latent"), keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, 50)(label)
    g_out = _lean_generator_body(layers.Concatenate()([latent, embedded]), image_shape, width)
    generator = keras.Model([latent, label], g_out, name="generator")
    return generator, projection_discriminator(image_shape, num_classes, width, spectral_norm)


def projection_discriminator(image_shape, num_classes, width=1.0, spectral_norm=False) -> keras.Model:
    """``cdcgan-lean``'s D: the lean features, scored with a projection of the label."""
    image, label = keras.Input(image_shape, name="image"), keras.Input((), dtype="int32", name="label")
    features = _lean_discriminator_features(image, width, spectral_norm)
    # Projection (Miyato & Koyama 2018): the label says which direction of D's features counts
    # as real, so D judges "a real 7" instead of reading the label as one more pixel channel.
    projection = layers.Dot(axes=1)([layers.Embedding(num_classes, features.shape[-1])(label), features])
    score = layers.Add()([_sn(layers.Dense(1), spectral_norm)(features), projection])
    return keras.Model([image, label], score, name="discriminator")


# -- MLP -----------------------------------------------------------------------------------------


@architecture(
    "mlp",
    "The dense GAN of the classic tutorials: G 256-512-1024, D 1024-512-256, LeakyReLU 0.2, dropout.",
)
def mlp(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
    latent = keras.Input((latent_dim,), name="latent")
    x = latent
    for units in (256, 512, 1024):
        x = layers.LeakyReLU(0.2)(layers.Dense(_units(units, width))(x))
    x = layers.Dense(int(np.prod(image_shape)), activation="tanh")(x)
    generator = keras.Model(latent, layers.Reshape(image_shape)(x), name="generator")

    image = keras.Input(image_shape, name="image")
    x = layers.Flatten()(image)
    for units in (1024, 512, 256):
        x = replica.Dropout(0.3)(
            layers.LeakyReLU(0.2)(_sn(layers.Dense(_units(units, width)), spectral_norm)(x))
        )
    discriminator = keras.Model(image, _sn(layers.Dense(1), spectral_norm)(x), name="discriminator")
    return generator, discriminator


# -- 2-D toys ------------------------------------------------------------------------------------


@architecture(
    "toy-mlp",
    "For the 2-D toys (as in Metz et al. 2017): G and D with 3 hidden layers of 128 units "
    "(ReLU in G, LeakyReLU 0.2 in D); G's output is a linear 2-D point.",
    points=True,
)
def toy_mlp(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
    units = _units(128, width)
    latent = keras.Input((latent_dim,), name="latent")
    x = latent
    for _ in range(3):
        x = layers.Dense(units, activation="relu")(x)
    generator = keras.Model(latent, layers.Dense(image_shape[-1])(x), name="generator")

    point = keras.Input(image_shape, name="point")
    x = point
    for _ in range(3):
        x = layers.LeakyReLU(0.2)(_sn(layers.Dense(units), spectral_norm)(x))
    discriminator = keras.Model(point, _sn(layers.Dense(1), spectral_norm)(x), name="discriminator")
    return generator, discriminator
