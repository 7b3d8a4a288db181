"""Sample grids and their inverse."""

import numpy as np

from ganlib import images


def test_tiles_recovers_every_image_of_a_grid():
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 256, (21, 28, 28, 1), dtype=np.uint8)
    canvas = images.grid(samples, columns=8)
    assert canvas.shape == (3 * 30 + 2, 8 * 30 + 2, 1)
    np.testing.assert_array_equal(images.tiles(canvas, 28, 28, columns=8, count=21), samples)
