import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganlib import data
from ganlib.data import DatasetError


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_builtin_datasets_load_in_full(name):
    train, test = data.load_dataset(name, "train"), data.load_dataset(name, "test")
    assert train.images.shape == (60_000, 28, 28, 1) and train.images.dtype == np.uint8
    assert test.images.shape == (10_000, 28, 28, 1)
    assert sorted(np.unique(train.labels)) == list(range(10))
    assert train.images.max() == 255 and train.images.min() == 0


def test_mnist_files_verify():
    path, message = data.verify("mnist")
    assert path is not None and message.startswith("ok"), message


def _write_idx(path: Path, magic: int, count: int, payload: bytes, gz: bool = False) -> None:
    raw = magic.to_bytes(4, "big") + count.to_bytes(4, "big")
    if magic == data.IMAGE_MAGIC:
        raw += (2).to_bytes(4, "big") * 2
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(raw + payload)


def test_idx_reader_checks_magic_count_and_size(tmp_path):
    good = tmp_path / "images.gz"
    _write_idx(good, data.IMAGE_MAGIC, 3, bytes(range(12)), gz=True)
    assert data.read_idx(good, "images").shape == (3, 2, 2, 1)
    with pytest.raises(DatasetError, match="not an IDX labels file"):
        data.read_idx(good, "labels")
    with pytest.raises(DatasetError, match="holds 3 items, expected 5"):
        data.read_idx(good, "images", expected_count=5)
    short = tmp_path / "short"
    _write_idx(short, data.IMAGE_MAGIC, 3, bytes(5))
    with pytest.raises(DatasetError, match="data bytes"):
        data.read_idx(short, "images")


def test_missing_dataset_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(data, "FASHION_DEBIAN_DIR", tmp_path / "no-debian")
    data._load_builtin.cache_clear()
    try:
        with pytest.raises(DatasetError, match="python -m ganlib data fetch"):
            data.load_dataset("fashion_mnist")
    finally:
        data._load_builtin.cache_clear()


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(DatasetError, match="folder:PATH"):
        data.load_dataset("cifar1000")


def _save(path: Path, size=(8, 8), mode="L", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def test_folder_with_class_subfolders_gives_labels(tmp_path):
    for cls in ("cats", "dogs"):
        for i in range(12):
            _save(tmp_path / cls / f"{i}.png", value=10 * i)
    train = data.load_dataset(f"folder:{tmp_path}", "train")
    test = data.load_dataset(f"folder:{tmp_path}", "test")
    assert train.class_names == ["cats", "dogs"]
    assert train.image_shape == (8, 8, 1)
    assert len(train) + len(test) == 24 and len(test) > 0
    assert set(np.unique(train.labels)) <= {0, 1}


def test_folder_rgb_resized(tmp_path):
    _save(tmp_path / "a.png", size=(10, 12), mode="RGB")
    _save(tmp_path / "b.jpg", size=(20, 20), mode="RGB")
    images = data.load_dataset(f"folder:{tmp_path}", image_size=16)
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
        data.load_dataset(f"folder:{tmp_path}")


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        data.load_dataset(f"folder:{tmp_path / 'nope'}")


def test_pipeline_is_deterministic_per_epoch_and_scaled():
    mnist = data.load_dataset("mnist")

    def first_batches(first_epoch):
        ds = data.training_dataset(mnist, 8, 2, seed=3, first_epoch=first_epoch, epochs=3)
        return [x.numpy() for x, _ in ds]

    full, resumed = first_batches(0), first_batches(1)
    assert len(full) == 6 and len(resumed) == 4
    np.testing.assert_array_equal(full[2], resumed[0])  # epoch 1 is the same whether resumed or not
    assert not np.array_equal(full[0], full[2])  # and differs from epoch 0
    assert full[0].min() >= -1.0 and full[0].max() <= 1.0 and full[0].dtype == np.float32
