"""Architectures screened as quality levers (issue 40), kept out of the zoo until one wins: each is
MNIST's default pair (``cdcgan-lean``) with one thing changed, trained through ``models_from``:

    python -m benchmarks.run_lengths --lengths 7488 --checkpoints 4 --samples 10000 \
        --schedules auto+models_from=benchmarks/lever_models.py+model=lean-cbn

- ``lean-cbn``: class-conditional BatchNorm in G (each class its own gain and shift after every
  normalisation, as in BigGAN and the projection-D paper), besides the label joining the latent.
- ``lean-wide-d`` / ``lean-wide-g``: the balance of the widths, one side twice as wide.
- ``lean-res``: G with a residual 3x3 block at each resolution (7x7 and 14x14).
"""

from __future__ import annotations

import keras
from keras import layers

import ganlib
from ganlib.zoo.models import _batch_norm, _units, projection_discriminator


def _conditional_norm(x, label, num_classes: int):
    """BatchNorm without its own gain and shift, then a gain (1 + e) and a shift (e') per class,
    both starting at zero: at initialisation exactly the plain BatchNorm."""
    channels = x.shape[-1]
    x = layers.BatchNormalization(center=False, scale=False)(x)
    gain = layers.Embedding(num_classes, channels, embeddings_initializer="zeros")(label)
    shift = layers.Embedding(num_classes, channels, embeddings_initializer="zeros")(label)
    gain = layers.Reshape((1, 1, channels))(layers.Rescaling(1.0, offset=1.0)(gain))
    shift = layers.Reshape((1, 1, channels))(shift)
    return layers.Add()([layers.Multiply()([x, gain]), shift])


def _residual(x, norm):
    """x + conv(relu(norm(conv(relu(norm(x)))))): a 3x3 block keeping the shape."""
    channels = x.shape[-1]
    y = layers.Conv2D(channels, 3, padding="same", use_bias=False)(layers.ReLU()(norm(x)))
    y = layers.Conv2D(channels, 3, padding="same", use_bias=False)(layers.ReLU()(norm(y)))
    return layers.Add()([x, y])


def _generator(image_shape, latent_dim, num_classes, width, conditional_norm=False, residual=False):
    height, wide, channels = image_shape
    latent, label = keras.Input((latent_dim,), name="latent"), keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, 50)(label)
    norm = (
        (lambda t: _conditional_norm(t, label, num_classes))
        if conditional_norm
        else (lambda t: _batch_norm()(t))
    )
    c128, c64 = _units(128, width), _units(64, width)
    x = layers.Dense(height // 4 * wide // 4 * c128, use_bias=False)(layers.Concatenate()([latent, embedded]))
    if conditional_norm:  # per channel of the map, as every later normalisation
        x = norm(layers.Reshape((height // 4, wide // 4, c128))(x))
    else:  # per unit of the dense layer, as cdcgan-lean
        x = layers.Reshape((height // 4, wide // 4, c128))(norm(x))
    x = layers.ReLU()(x)
    if residual:
        x = _residual(x, norm)
    x = layers.Conv2DTranspose(c64, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(norm(x))
    if residual:
        x = _residual(x, norm)
    image = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model([latent, label], image, name="generator")


def _lever(name: str, description: str, g_width=1.0, d_width=1.0, **generator_options):
    @ganlib.architecture(name, description, conditional=True, d_batch_norm=True)
    def build(image_shape, latent_dim, num_classes, width=1.0, spectral_norm=False):
        generator = _generator(image_shape, latent_dim, num_classes, width * g_width, **generator_options)
        return generator, projection_discriminator(image_shape, num_classes, width * d_width, spectral_norm)

    return build


_lever("lean-base", "cdcgan-lean rebuilt here: the screen's control.")
_lever("lean-cbn", "cdcgan-lean with class-conditional BatchNorm in G.", conditional_norm=True)
_lever("lean-wide-d", "cdcgan-lean with D twice as wide as G.", d_width=2.0)
_lever("lean-wide-g", "cdcgan-lean with G twice as wide as D.", g_width=2.0)
_lever("lean-res", "cdcgan-lean with a residual 3x3 block at each of G's resolutions.", residual=True)
