"""Sample grids and their inverse."""

import numpy as np

from ganlib.sampling import images, latents


def test_tiles_recovers_every_image_of_a_grid():
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 256, (21, 28, 28, 1), dtype=np.uint8)
    canvas = images.grid(samples, columns=8)
    assert canvas.shape == (3 * 30 + 2, 8 * 30 + 2, 1)
    np.testing.assert_array_equal(images.tiles(canvas, 28, 28, columns=8, count=21), samples)


def test_truncated_latents_stay_inside_the_cut_and_repeat_by_seed():
    cut = latents.truncated_latents(16, seed=3, count=200, truncation=0.5)
    assert cut.shape == (200, 16) and np.abs(cut).max() <= 0.5 and cut.std() > 0.2
    np.testing.assert_array_equal(cut, latents.truncated_latents(16, seed=3, count=200, truncation=0.5))
    free = latents.truncated_latents(16, seed=3, count=200)
    assert np.abs(free).max() > 2  # no cut: the normal's tails are there
    # The Gallery's interpolation from "seed 3" starts at Draw samples' first sample of seed 3.
    np.testing.assert_array_equal(latents.truncated_latents(16, seed=3, count=1)[0], free[0])
