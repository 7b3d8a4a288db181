"""The picture of a 2-D toy run, as GAN Lab draws it: what D believes over the whole plane as a
heatmap (green: real, purple: fake), the real points and the generator's points on top, and
optionally an arrow on each generated point in the direction G's gradient moves it. NumPy and
PIL only; the numbers come from ``ganlib.training.pictures``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ganlib.sampling import images

SIZE = 320  # pixels per side
FAKE_COLOUR, REAL_COLOUR, ARROW_COLOUR = (126, 34, 206), (21, 128, 61), (70, 70, 70)
# D's belief 0 -> pale purple, 1 -> pale green: light, so the points stand out on it.
LOW, HIGH = np.array([221, 196, 250], float), np.array([178, 240, 196], float)
ARROW_PIXELS = 10  # the longest arrow; the others in proportion to their gradient
DOT = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if abs(dx) + abs(dy) < 2]
ARROWS = 128  # on the first this many generated points: more would hide the points


def grid_points(extent: float, cells: int) -> np.ndarray:
    """The centres of ``cells`` x ``cells`` squares tiling [-extent, extent]^2, row by row from the
    top (y = +extent) as an image is drawn; shape (cells * cells, 2)."""
    centres = (np.arange(cells) + 0.5) / cells * 2 * extent - extent
    xs, ys = np.meshgrid(centres, centres[::-1])
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def _to_pixels(points: np.ndarray, extent: float) -> np.ndarray:
    x = (points[:, 0] + extent) / (2 * extent) * SIZE
    y = (extent - points[:, 1]) / (2 * extent) * SIZE
    return np.stack([x, y], axis=1)


def render(
    belief: np.ndarray,
    real: np.ndarray,
    fake: np.ndarray,
    extent: float,
    moves: np.ndarray | None = None,
) -> np.ndarray:
    """An RGB uint8 picture. ``belief``: (cells, cells) in [0, 1], D's output over the plane as
    ``grid_points`` lays it out; ``real``/``fake``: (N, 2) points; ``moves``: (len(fake), 2), the
    direction each fake point is pushed (drawn as lines scaled to the longest)."""
    shade = LOW + np.clip(belief, 0.0, 1.0)[..., None] * (HIGH - LOW)
    picture = Image.fromarray(shade.astype(np.uint8)).resize((SIZE, SIZE), Image.BILINEAR)
    pixels = np.array(picture)
    for colour, points in ((REAL_COLOUR, real), (FAKE_COLOUR, fake)):  # the generated on top
        x, y = np.round(_to_pixels(points, extent)).astype(int).T
        for dx, dy in DOT:  # a 3 x 3 dot less its corners, painted with NumPy (fast)
            inside = (x + dx >= 0) & (x + dx < SIZE) & (y + dy >= 0) & (y + dy < SIZE)
            pixels[y[inside] + dy, x[inside] + dx] = colour
    picture = Image.fromarray(pixels)
    draw = ImageDraw.Draw(picture)
    if moves is not None and len(fake):
        lengths = np.linalg.norm(moves, axis=1)
        scale = ARROW_PIXELS / max(float(lengths.max()), 1e-12)
        for (x, y), (dx, dy) in zip(_to_pixels(fake[:ARROWS], extent), moves[:ARROWS] * scale):
            draw.line((x, y, x + dx, y - dy), fill=ARROW_COLOUR, width=1)
    return np.asarray(picture)


def png(belief, real, fake, extent, moves=None) -> bytes:
    return images.png_bytes(render(belief, real, fake, extent, moves))
