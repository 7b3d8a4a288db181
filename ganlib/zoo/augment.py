"""Differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020).

D sees every image, real or generated, through the same random translation and cutout, in its
own update and in G's, and the ops are differentiable so G's gradient flows through them. D can
then no longer memorise the training images themselves (its accuracy on held-out real images
falls while it still catches every fake: the overfitting ADA and DiffAugment answer), yet G
is not taught to draw augmented images, because the augmentation is applied to both sides.

Each policy takes images (B, H, W, C) in [-1, 1] and ``draw(shape, salt)``, which returns
uniform numbers in [0, 1) of that shape, the same for N replicas or one device.
"""

from __future__ import annotations

from collections.abc import Callable

from ganlib import deferred

# TensorFlow on first use: the Train form lists POLICIES, and a demo server imports no TensorFlow.
tf = deferred("tensorflow")

TRANSLATION_RATIO = 0.125  # shift by up to 1/8 of the side (3 pixels of 28), as in the paper
CUTOUT_RATIO = 0.5  # a square of half the side, as in the paper
BACKGROUND = -1.0  # what shifts in from the border and fills the cut-out: black in [-1, 1]

Draw = Callable[[list, int], "tf.Tensor"]


def translation(images: tf.Tensor, draw: Draw, salt: int) -> tf.Tensor:
    """Shift each image by whole pixels, up to TRANSLATION_RATIO of its side each way."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    shifts = []
    for axis, size in enumerate((height, width)):
        limit = tf.cast(tf.cast(size, tf.float32) * TRANSLATION_RATIO + 0.5, tf.int32)
        u = draw([batch, 1], salt + axis)
        shifts.append(tf.cast(tf.floor(u * tf.cast(2 * limit + 1, u.dtype)), tf.int32) - limit)
    # Pad one pixel of background, then read each output pixel from its shifted source; sources
    # beyond the image read the padding.
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], constant_values=BACKGROUND)
    rows = tf.clip_by_value(tf.range(height)[None, :] - shifts[0] + 1, 0, height + 1)  # (B, H)
    cols = tf.clip_by_value(tf.range(width)[None, :] - shifts[1] + 1, 0, width + 1)  # (B, W)
    out = tf.gather(padded, rows, axis=1, batch_dims=1)  # (B, H, W + 2, C)
    return tf.gather(out, cols, axis=2, batch_dims=1)  # (B, H, W, C)


def cutout(images: tf.Tensor, draw: Draw, salt: int) -> tf.Tensor:
    """Fill a square of CUTOUT_RATIO of the side, at a random centre, with background."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    inside = []
    for axis, size in enumerate((height, width)):
        half = tf.cast(tf.cast(size, tf.float32) * CUTOUT_RATIO / 2, tf.float32)
        centre = draw([batch, 1], salt + axis) * tf.cast(size, tf.float32)
        position = tf.cast(tf.range(size), tf.float32)[None, :] + 0.5
        inside.append(tf.abs(position - tf.cast(centre, tf.float32)) < half)  # (B, size)
    mask = tf.logical_and(inside[0][:, :, None], inside[1][:, None, :])[..., None]  # (B, H, W, 1)
    return tf.where(mask, tf.cast(BACKGROUND, images.dtype), images)


POLICIES: dict[str, tuple[Callable, ...]] = {
    "none": (),
    "translation": (translation,),
    "cutout": (cutout,),
    "translation,cutout": (translation, cutout),
}


def augment(policy: str, images: tf.Tensor, draw: Draw, salt: int) -> tf.Tensor:
    """``images`` through every op of ``policy``, each with random numbers of its own."""
    for i, op in enumerate(POLICIES[policy]):
        images = op(images, draw, 1000 * (salt + 1) + 10 * i)
    return images
