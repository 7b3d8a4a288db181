"""What an evaluation finds: the figures of one set of samples against real ones, of one
checkpoint (an image run's or a 2-D toy's), and which result is the best."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ganlib.measure import metrics, modes

DEFAULT_SAMPLES = 10_000
MAX_SAMPLES = 50_000
MODES_METRIC = "modes covered"


@dataclass(frozen=True)
class Coverage:
    """How the classifier spreads the samples over the classes."""

    histogram: list[int]
    entropy: float  # of the class shares, normalised to [0, 1]
    classes_covered: int
    classes: int


@dataclass(frozen=True)
class SetMetrics:
    """One set of images against real ones: what ``compare`` returns (and the real-data floor)."""

    fid: float
    kid: float
    kid_std: float
    precision: float
    recall: float
    inception_score: float
    inception_score_std: float
    coverage: Coverage

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """From a cached dict; raises ``ValueError`` when it is not one (the cache is then redone)."""
        try:
            names = {f.name for f in dataclasses.fields(cls)}
            return cls(
                **{**{k: v for k, v in data.items() if k in names}, "coverage": Coverage(**data["coverage"])}
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a {cls.__name__}: {exc}") from exc


@dataclass(frozen=True)
class EpochResult(SetMetrics):
    """The evaluation of one checkpoint, as cached in ``eval/`` and printed by the CLI."""

    epoch: int
    step: int
    samples: int
    evaluator: str  # the features' label, e.g. "MNIST-classifier features"
    d_acc_real: float | None  # D's accuracy on held-out real images (None: a run written without D)
    d_acc_fake: float | None  # and on fresh generated ones
    seconds: float = 0.0
    fingerprint: str = ""  # the weights evaluated (content), so a re-saved checkpoint is redone
    # Conditional models: per class asked for, {"label", "samples", "fid", "label_accuracy"}.
    per_class: list[dict] | None = None
    copy_share: float | None = None  # memorisation (metrics.copy_share); None without a train split


def compare(
    real: tuple[np.ndarray, np.ndarray],
    fake: tuple[np.ndarray, np.ndarray],
    real_radii: np.ndarray | None = None,
) -> SetMetrics:
    """Every set metric of ``fake`` against ``real``, each given as (features, probabilities);
    ``real_radii``: the real set's k-NN radii when the caller keeps them (``reference.real_radii``)."""
    real_f, _ = real
    fake_f, fake_p = fake
    kid_mean, kid_std = metrics.kid(real_f, fake_f)
    precision, recall = metrics.precision_recall(real_f, fake_f, real_radii=real_radii)
    is_mean, is_std = metrics.inception_score(fake_p)
    return SetMetrics(
        fid=metrics.fid(real_f, fake_f),
        kid=kid_mean,
        kid_std=kid_std,
        precision=precision,
        recall=recall,
        inception_score=is_mean,
        inception_score_std=is_std,
        coverage=Coverage(**metrics.class_coverage(fake_p)),
    )


def best_epoch(results: list[EpochResult]) -> EpochResult | None:
    """Lowest FID, ties broken by KID."""
    finite = [r for r in results if np.isfinite(r.fid)]
    return min(finite, key=lambda r: (round(r.fid, 6), r.kid)) if finite else None


def metric_label(evaluator_label: str) -> str:
    """What a FID is measured in, as best.json, Home and the charts say it."""
    return f"FID ({evaluator_label})"


@dataclass(frozen=True)
class ModeResult(modes.ModeStats):
    """The evaluation of one checkpoint of a 2-D toy run, as cached in ``eval/`` and printed."""

    epoch: int
    step: int
    samples: int
    d_acc_real: float
    d_acc_fake: float
    seconds: float = 0.0
    fingerprint: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> ModeResult:
        """From a cached dict; raises ``ValueError`` when it is not one (it is then computed again)."""
        try:
            return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a ModeResult: {exc}") from exc


def best_by_modes(results: list[ModeResult]) -> ModeResult | None:
    """The highest balanced quality (ganlib.measure.modes), then the most modes covered."""
    return max(results, key=lambda r: (round(r.balanced_quality, 6), r.modes_covered), default=None)
