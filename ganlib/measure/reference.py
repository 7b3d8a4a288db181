"""The reference a generator is measured against: a fixed random subset of a dataset's real
images, and their classifier features, loaded once per process. Used by the evaluation engine and
by training's live quick FID alike."""

from __future__ import annotations

import functools

import numpy as np

from ganlib.data import datasets
from ganlib.measure import metrics
from ganlib.measure.features import Evaluator, load_evaluator


@functools.lru_cache(maxsize=4)
def cached_evaluator(name: str) -> Evaluator:
    return load_evaluator(name)


@functools.lru_cache(maxsize=8)
def real_features(dataset: str, split: str, samples: int, evaluator_name: str, image_size: int | None = None):
    """Features and probabilities of ``samples`` real images (a fixed random subset)."""
    images = real_images(dataset, split, samples, image_size)
    return cached_evaluator(evaluator_name)(images)


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
