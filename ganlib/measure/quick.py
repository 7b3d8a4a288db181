"""The quick quality of a checkpoint while it trains: FID, precision/recall and class coverage of
a few generated images against as many held-out real ones, with the real-data floor at that
count. The trainer's ``QualityProbe`` and ``ganlib.track`` both measure with it, so a live chart
means the same whoever wrote the run. A quick FID is biased upwards by its small count: it shows
the trend; Evaluate's 10,000-sample FID is the number to compare."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ganlib.measure import metrics, reference


@dataclass(frozen=True)
class QuickFigures:
    fid: float
    floor_fid: float
    precision: float
    recall: float
    classes_covered: int


class QuickMeasure:
    """Measures uint8 images of ``dataset`` at ``samples`` samples; the evaluator and the real
    features load at the first ``measure`` (TensorFlow, for the classifier), then stay."""

    def __init__(self, dataset: str, samples: int, image_size: int | None = None):
        self.dataset, self.samples, self.image_size = dataset, samples, image_size

    @functools.cached_property
    def _reference(self):
        evaluator = reference.cached_evaluator(self.dataset)
        real = reference.real_features(self.dataset, "test", self.samples, self.dataset, self.image_size)
        train = reference.real_features(self.dataset, "train", self.samples, self.dataset, self.image_size)
        return evaluator, real[0], metrics.fid(real[0], train[0])  # the real-data floor at this count

    def load(self) -> None:
        """Load the evaluator and the real features now (they raise ``GanlibError`` when missing)."""
        self._reference  # noqa: B018 (a cached property: evaluated for its effect)

    def measure(self, fake: np.ndarray) -> QuickFigures:
        # FID, precision/recall and coverage only: KID's 50 kernel subsets would double the cost.
        evaluator, real, floor = self._reference
        fake_features, fake_probabilities = evaluator(fake[: self.samples])
        precision, recall = metrics.precision_recall(real, fake_features)
        return QuickFigures(
            fid=round(metrics.fid(real, fake_features), 4),
            floor_fid=round(floor, 4),
            precision=round(precision, 4),
            recall=round(recall, 4),
            classes_covered=metrics.class_coverage(fake_probabilities)["classes_covered"],
        )
