"""Image helpers: sample grids, PNG and GIF bytes, latent interpolation."""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image


def neighbour_sheet(samples: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """One row per sample: the sample, then its neighbours (``neighbours``: (N, K, H, W, C))."""
    rows = [image for sample, near in zip(samples, neighbours) for image in (sample, *near)]
    return grid(np.stack(rows), columns=neighbours.shape[1] + 1)


def grid(images: np.ndarray, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 images (N, H, W, C) into one image, ``columns`` wide (default: square)."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.zeros((rows * (height + pad) + pad, columns * (width + pad) + pad, channels), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = pad + r * (height + pad), pad + c * (width + pad)
        canvas[top : top + height, left : left + width] = image
    return canvas


def tiles(canvas: np.ndarray, height: int, width: int, columns: int, count: int, pad: int = 2) -> np.ndarray:
    """The images of a ``grid()`` canvas back, as (count, height, width, C): its inverse."""
    out = []
    for i in range(count):
        r, c = divmod(i, columns)
        top, left = pad + r * (height + pad), pad + c * (width + pad)
        out.append(canvas[top : top + height, left : left + width])
    return np.stack(out)


def from_png(data: bytes) -> np.ndarray:
    """A PNG's pixels as uint8 (H, W, C): ``png_bytes``'s inverse (grayscale keeps one channel)."""
    array = np.asarray(Image.open(io.BytesIO(data)))
    return array[..., None] if array.ndim == 2 else array


def to_pil(image: np.ndarray, scale: int = 1) -> Image.Image:
    array = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    picture = Image.fromarray(array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    return picture


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    buffer = io.BytesIO()
    to_pil(image, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: list[np.ndarray], seconds_per_frame: float = 0.4, scale: int = 1) -> bytes:
    """An animated, looping GIF of equally sized uint8 frames."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    pictures = [to_pil(f, scale) for f in frames]
    buffer = io.BytesIO()
    pictures[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=int(seconds_per_frame * 1000),
        loop=0,
    )
    return buffer.getvalue()


def read_png(data: bytes | str) -> np.ndarray:
    with Image.open(data if isinstance(data, str) else io.BytesIO(data)) as picture:
        return np.asarray(picture)


def lerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Points on the straight line from ``a`` to ``b``, both ends included."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return ((1 - t) * a[None] + t * b[None]).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
    """Spherical interpolation: stays at the Gaussian shell's radius, where G was trained."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (anti)parallel vectors: the arc degenerates to the line
        return lerp(a, b, steps)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)
