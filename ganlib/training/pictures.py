"""What the trainer draws of the current weights, at each checkpoint (its ``grid.png``) and live
(``preview.png``): the fixed-seed sample grid of an image run, the plane of a 2-D toy run."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from ganlib.data import toys
from ganlib.sampling import images, latents, plane
from ganlib.sampling.latents import GRID_COLUMNS
from ganlib.training.gan import GAN

Picture = Callable[[GAN], bytes]
PLANE_CELLS = 64  # D is evaluated on a 64 x 64 grid of the plane (4,096 points: a millisecond or two)
PLANE_POINTS = 512  # real and generated points drawn


def image_grid(grid_inputs: tuple[np.ndarray, np.ndarray | None]) -> Picture:
    """The fixed-seed sample grid: the same latents (and labels) at every step of the run."""

    def draw(gan: GAN) -> bytes:
        return images.png_bytes(images.grid(gan.sample(*grid_inputs), columns=GRID_COLUMNS))

    return draw


def toy_plane(data: toys.PointSet, latent_dim: int, seed: int) -> Picture:
    """D's belief over the plane, a fixed set of real points, G's points from fixed latents and
    the direction G's loss pushes each of them."""
    real = data.points[:PLANE_POINTS]
    fixed = tf.constant(latents.fixed_latents(latent_dim, seed, PLANE_POINTS))
    cells = tf.constant(plane.grid_points(data.toy.extent, PLANE_CELLS))
    numbers = {}  # one traced function per GAN (a run builds one; a test may build several)

    def draw(gan: GAN) -> bytes:
        if id(gan) not in numbers:
            numbers[id(gan)] = tf.function(lambda z, at: plane_numbers(gan, z, at))
        fake, scores, moves = (np.asarray(t, np.float32) for t in numbers[id(gan)](fixed, cells))
        belief = belief_in_unit_range(gan, scores).reshape(PLANE_CELLS, PLANE_CELLS)
        return plane.png(belief, real, fake, data.toy.extent, moves)

    return draw


def plane_numbers(gan: GAN, latents, cells):
    """G's points for ``latents``; D's scores (as the loss reads them) at ``cells``; and at each
    generated point the direction that lowers G's loss, where its next step moves it (up D's
    slope, as the heatmap shows)."""
    fake = tf.cast(gan.sampler(latents, training=False), tf.float32)
    # A packing D judges a pack: a cell's belief is that of a pack of the cell's point repeated.
    scores = gan.gan_loss.score(gan.judge(tf.repeat(cells, gan.pack, axis=0)))
    with tf.GradientTape() as tape:
        tape.watch(fake)
        loss = gan.gan_loss.g_loss(gan.judge(fake))
    return fake, tf.reshape(scores, [-1]), -tape.gradient(loss, fake)


def belief_in_unit_range(gan: GAN, scores: np.ndarray) -> np.ndarray:
    """D's scores in [0, 1]: BCE's are probabilities of "real"; the unbounded ones are scaled
    over the plane shown."""
    if gan.gan_loss.score_in_unit_range:
        return scores
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / max(high - low, 1e-12)
