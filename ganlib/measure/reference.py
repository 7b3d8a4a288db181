"""The reference a generator is measured against: a fixed random subset of a dataset's real
images, and their classifier features, loaded once per process. Used by the evaluation engine and
by training's live quick FID alike.

The features of a large reference (10,000 images or more) are also kept on disk, in the data
folder's ``features/``: the whole training set, which the copy share and the nearest-neighbour
views compare against, takes 11-20 s to compute on a 2-core CPU and under a second to read, so a
new process (a CLI call, an app restart) does not pay it again.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import zipfile
from pathlib import Path

import numpy as np

from ganlib import atomic
from ganlib.data import catalog, datasets
from ganlib.measure import metrics
from ganlib.measure.features import INCEPTION_PREFIX, Evaluator, identify, load_evaluator, weights_path

log = logging.getLogger(__name__)
KEPT_FROM_SAMPLES = 10_000  # references at least this large keep their features on disk


@functools.lru_cache(maxsize=4)
def cached_evaluator(name: str) -> Evaluator:
    return load_evaluator(name)


@functools.lru_cache(maxsize=8)
def real_features(dataset: str, split: str, samples: int, evaluator_name: str, image_size: int | None = None):
    """Features and probabilities of ``samples`` real images (a fixed random subset)."""
    images = real_images(dataset, split, samples, image_size)
    kept = _kept_features_path(split, images, evaluator_name)
    if kept is not None and kept.is_file():
        try:
            with np.load(kept, allow_pickle=False) as stored:
                features, probabilities = stored["features"], stored["probabilities"]
            if len(features) == len(probabilities) == len(images):
                # Stored as the evaluator computes them (float32): the float64 copy is exact.
                return features.astype(np.float64), probabilities.astype(np.float64)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("ignoring the damaged features file %s (%s); they are computed again", kept, exc)
    features, probabilities = cached_evaluator(evaluator_name)(images)
    if kept is not None:
        try:
            atomic.write_with(
                kept,
                lambda path: np.savez(
                    path, features=features.astype(np.float32), probabilities=probabilities.astype(np.float32)
                ),
            )
        except OSError as exc:  # a read-only host or a full disk: they are only not kept
            log.info("the features of %s %s are not kept on disk: %s", dataset, split, exc)
    return features, probabilities


def _kept_features_path(split: str, images: np.ndarray, evaluator_name: str) -> Path | None:
    """Where a reference's features are kept between processes, named by the content of its
    images and of the evaluator's weights (other images or weights: another file); None for a
    small reference, quick to compute, and for InceptionV3, whose weights are the user's file."""
    if len(images) < KEPT_FROM_SAMPLES or evaluator_name.startswith(INCEPTION_PREFIX):
        return None
    try:
        weights = hashlib.sha256(weights_path(evaluator_name).read_bytes()).hexdigest()[:12]
    except OSError:
        return None  # no evaluator: loading it says so
    content = hashlib.sha256(np.ascontiguousarray(images)).hexdigest()[:12]
    return features_dir() / f"{identify(evaluator_name)[0]}-{split}-{len(images)}-{content}-{weights}.npz"


def features_dir() -> Path:
    """Where large references keep their features: the data folder's ``features/``."""
    return catalog.data_dir() / "features"


@functools.lru_cache(maxsize=8)
def real_radii(dataset: str, split: str, samples: int, evaluator_name: str, image_size: int | None = None):
    """The real features' k-NN radii (``metrics.kth_neighbour_radii``): precision's yardstick,
    the same for every checkpoint a run is evaluated at."""
    return metrics.kth_neighbour_radii(real_features(dataset, split, samples, evaluator_name, image_size)[0])


def real_images(dataset: str, split: str, samples: int, image_size: int | None = None) -> np.ndarray:
    return _real_subset(dataset, split, samples, image_size)[0]


def real_labels(dataset: str, split: str, samples: int, image_size: int | None = None) -> np.ndarray | None:
    """The labels of the images ``real_images`` returns (None for an unlabelled folder)."""
    return _real_subset(dataset, split, samples, image_size)[1]


def _real_subset(dataset: str, split: str, samples: int, image_size: int | None):
    """A fixed random subset of ``samples`` images of a split (all of it when it is smaller)."""
    data = datasets.load_dataset(dataset, split, image_size)
    if samples >= len(data):
        return data.images, data.labels
    index = np.sort(np.random.default_rng(2024).choice(len(data), samples, replace=False))
    return data.images[index], None if data.labels is None else data.labels[index]
