"""Reading datasets: MNIST and Fashion-MNIST from their IDX files (found through ``catalog``),
folders of images, 2-D toys (``toys``), and the tf.data pipeline that feeds training. A built-in dataset that is not
on this machine is downloaded once (``install``; skipped when ``GANLIB_OFFLINE=1``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ganlib.data import install, toys
from ganlib.data.catalog import (
    BUILTIN,
    FETCH_HINT,
    IDX_NAMES,
    IMAGE_MAGIC,
    LABEL_MAGIC,
    SPLIT_COUNTS,
    SPLITS,
    DatasetError,
    find_idx,
    find_idx_dir,
    idx_content,
)

FOLDER_PREFIX = "folder:"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_FOLDER_IMAGES = 200_000
# Pixels of one image, checked from its header before it is decoded: a small file can claim a
# huge picture (a decompression bomb). 4096 x 4096 is far beyond a "small image" dataset.
MAX_IMAGE_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class ImageSet:
    """Images as uint8 (N, H, W, C) with optional integer labels."""

    name: str
    images: np.ndarray
    labels: np.ndarray | None
    class_names: list[str]
    source: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    # What the trainer reads of any dataset, images or a toy's points (toys.PointSet):
    @property
    def samples(self) -> np.ndarray:
        return self.images

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return self.image_shape

    @staticmethod
    def to_model_range(images):
        return to_unit_range(images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.images)


# ---------------------------------------------------------------------------------------------
# Reading


def read_idx(path: Path, kind: str, expected_count: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped), validating its magic number and item count."""
    raw = idx_content(path)
    header = 16 if kind == "images" else 8
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated ({len(raw)} bytes)")
    magic, count = (int.from_bytes(raw[i : i + 4], "big") for i in (0, 4))
    expected_magic = IMAGE_MAGIC if kind == "images" else LABEL_MAGIC
    if magic != expected_magic:
        raise DatasetError(f"{path} is not an IDX {kind} file (magic {magic}, expected {expected_magic})")
    if expected_count is not None and count != expected_count:
        raise DatasetError(f"{path} holds {count} items, expected {expected_count}")
    if kind == "images":
        rows, cols = (int.from_bytes(raw[i : i + 4], "big") for i in (8, 12))
        shape: tuple[int, ...] = (count, rows, cols, 1)
    else:
        shape = (count,)
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(shape)):
        raise DatasetError(f"{path} has {data.size} data bytes, expected {int(np.prod(shape))}")
    return data.reshape(shape)


def _load_idx_split(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    count = SPLIT_COUNTS[split]
    images = read_idx(find_idx(directory, IDX_NAMES[split, "images"]), "images", count)
    labels = read_idx(find_idx(directory, IDX_NAMES[split, "labels"]), "labels", count)
    return images, labels.astype(np.int32)


@functools.lru_cache(maxsize=8)
def _load_builtin(name: str, split: str) -> ImageSet:
    description, class_names = BUILTIN[name]
    directory = find_idx_dir(name)
    if directory is None:  # the ordinary path of an online user who never ran `data fetch`
        try:
            install.download(name)
        except DatasetError as exc:
            raise DatasetError(f"dataset {name!r} is not installed ({exc}); {FETCH_HINT}") from exc
        directory = find_idx_dir(name)
    images, labels = _load_idx_split(directory, split)
    source = str(directory)
    images.setflags(write=False)
    labels.setflags(write=False)
    return ImageSet(name, images, labels, class_names, source)


def load_dataset(spec: str, split: str = "train", image_size: int | None = None) -> ImageSet | toys.PointSet:
    """Load ``mnist``, ``fashion_mnist``, ``folder:PATH`` or a 2-D toy, ``toy:NAME`` (one split:
    ``train`` or ``test``; a folder also ``all``: every image, its 10% hold-out included)."""
    if spec.startswith(FOLDER_PREFIX) and split == "all":
        return load_folder(Path(spec[len(FOLDER_PREFIX) :]), image_size, split)
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    if spec.startswith(FOLDER_PREFIX):
        return load_folder(Path(spec[len(FOLDER_PREFIX) :]), image_size, split)
    if toys.is_toy(spec) and spec in toys.TOY_DATASETS:
        return toys.load(spec, split)
    if spec not in BUILTIN:
        choices = ", ".join([*BUILTIN, "folder:PATH", *toys.TOY_DATASETS])
        raise DatasetError(f"unknown dataset {spec!r} (choose from {choices})")
    data = _load_builtin(spec, split)
    if image_size is not None and image_size != data.image_shape[0]:
        data = ImageSet(
            data.name, _resize(data.images, image_size), data.labels, data.class_names, data.source
        )
    return data


# ---------------------------------------------------------------------------------------------
# Image folders


def load_folder(root: Path, image_size: int | None = None, split: str = "train") -> ImageSet:
    """A folder of PNG/JPEG images; one sub-folder per class gives labels.

    Every image is converted to grayscale when all are grayscale, else to RGB. Without
    ``image_size`` all images must share one size. The ``test`` split is a fixed 10% hold-out.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"image folder {root} does not exist")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DatasetError(f"image folder {root} holds no PNG or JPEG images")
    if len(files) > MAX_FOLDER_IMAGES:
        raise DatasetError(f"image folder {root} holds {len(files)} images; the limit is {MAX_FOLDER_IMAGES}")
    class_names = sorted({p.parent.name for p in files if p.parent != root})
    labelled = bool(class_names) and all(p.parent != root for p in files)
    pictures = []
    for path in files:
        try:
            with Image.open(path) as im:  # reads the header only
                if im.width * im.height > MAX_IMAGE_PIXELS:
                    raise DatasetError(
                        f"image {path} is {im.width}x{im.height} pixels; the limit is {MAX_IMAGE_PIXELS:,} pixels"
                    )
                im.load()
                pictures.append(im.copy())
        except (
            OSError,
            UnidentifiedImageError,
            Image.DecompressionBombError,
            SyntaxError,
            ValueError,
        ) as exc:
            raise DatasetError(f"cannot read image {path}: {exc}") from exc
    mode = "L" if all(im.mode in ("L", "1", "LA", "I;16") for im in pictures) else "RGB"
    sizes = {im.size for im in pictures}
    if image_size is None and len(sizes) > 1:
        raise DatasetError(
            f"images in {root} have mixed sizes ({', '.join(f'{w}x{h}' for w, h in sorted(sizes)[:4])}); "
            "choose an image size to resize them"
        )
    target = (image_size, image_size) if image_size else sizes.pop()
    arrays = [np.asarray(im.convert(mode).resize(target, Image.BILINEAR), dtype=np.uint8) for im in pictures]
    images = np.stack(arrays)
    if images.ndim == 3:
        images = images[..., None]
    labels = np.array([class_names.index(p.parent.name) for p in files], np.int32) if labelled else None
    keep = _holdout_mask(len(files), split)
    return ImageSet(
        f"{FOLDER_PREFIX}{root}",
        images[keep],
        None if labels is None else labels[keep],
        class_names if labelled else [],
        str(root),
    )


def _holdout_mask(count: int, split: str) -> np.ndarray:
    if split == "all":  # a folder given as a source of samples, not as training data
        return np.ones(count, bool)
    if count < 10:  # too few to hold any out: both splits are the whole folder
        return np.ones(count, bool)
    is_test = np.random.default_rng(0).random(count) < 0.1
    return is_test if split == "test" else ~is_test


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import tensorflow as tf

    resized = tf.image.resize(images, (size, size), antialias=True)
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# The training pipeline


def to_unit_range(images):
    """uint8 pixels to float32 in [-1, 1], the range of the generator's tanh (the inverse:
    ``ganlib.sampling.inference.to_uint8``)."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 127.5 - 1.0


def training_dataset(
    data: ImageSet | toys.PointSet,
    batch_size: int,
    steps_per_epoch: int,
    seed: int,
    first_epoch: int,
    epochs: int,
):
    """Batches of ``(images in [-1, 1] or a toy's points, labels)`` for epochs ``first_epoch .. epochs-1``.

    Each epoch's order is a pure function of ``(seed, epoch)``, so a resumed run sees exactly the
    batches an uninterrupted one would. Batches are gathered from the in-memory array (one
    ``tf.gather`` per batch rather than one op per image), then prefetched.
    """
    import tensorflow as tf

    samples = tf.constant(data.samples)
    labels = tf.constant(data.labels if data.labels is not None else np.zeros(len(data), np.int32))
    used = steps_per_epoch * batch_size
    count = len(data)

    def epoch_indices(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([tf.cast(seed, tf.int64), epoch])
        )
        # An epoch longer than the data wraps around (tiny folders with a large step count).
        order = tf.tile(order, [used // count + 1])[:used]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [steps_per_epoch, batch_size]))

    def gather(indices):
        return data.to_model_range(tf.gather(samples, indices)), tf.gather(labels, indices)

    # Under a multi-worker strategy each worker keeps its share of every global batch (the data
    # is in memory, not in files a worker could read a subset of).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (
        tf.data.Dataset.range(first_epoch, epochs)
        .flat_map(epoch_indices)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )


def steps_per_epoch(data: ImageSet | toys.PointSet, batch_size: int, cap: int | None) -> int:
    full = max(1, len(data) // batch_size)
    return min(full, cap) if cap else full
