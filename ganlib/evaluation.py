"""The evaluation engine: per-epoch FID, KID, precision/recall, coverage, Inception Score and
discriminator accuracy, with a real-data floor, cached in the run directory.

Cache: ``eval/epoch-0003.json`` maps a key (evaluator, sample count, engine version) to the
result, stamped with the checkpoint's fingerprint, so a re-saved checkpoint is re-evaluated and
an unchanged one never is.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ganlib import GanlibError, atomic
from ganlib.data import datasets, toys
from ganlib.measure import metrics, modes, reference
from ganlib.measure.features import Evaluator, identify
from ganlib.runs import checkpoints
from ganlib.runs.rundir import Best, ChosenBy, RunDir
from ganlib.sampling import images, latents
from ganlib.training import model_io
from ganlib.zoo import losses

if TYPE_CHECKING:
    from ganlib.config import TrainConfig
    from ganlib.training.gan import GAN

log = logging.getLogger(__name__)
ENGINE_VERSION = 2  # 2: per-class figures and the copy share (memorisation)
FLOOR_FILE = "floor.json"  # in the run's eval/: the real-data floor per cache key
REAL_GRID_FILE = "real-test-grid.png"  # in eval/: real test images, for a host without the dataset
EPOCH_FILE = "epoch-{epoch:04d}.json"  # in eval/: one epoch's results per cache key
REAL_GRID_IMAGES = 64
TRUNCATION_LEVELS = (0.5, 1.0, 1.5, 2.0, None)  # None: the untruncated normal
DEFAULT_SAMPLES = 10_000
MAX_SAMPLES = 50_000
OnProgress = Callable[[float, str], None]  # (fraction done, what is being done)


def _quiet(fraction: float, message: str) -> None:
    pass


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
    d_acc_real: float  # D's accuracy on held-out real images
    d_acc_fake: float  # and on fresh generated ones
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


def _cache_key(evaluator_name: str, samples: int) -> str:
    return f"{evaluator_name}|n={samples}|v={ENGINE_VERSION}"


def _result_of(entry: Any, checkpoint: checkpoints.Checkpoint, kind: type | None = None) -> Any:
    """A cache entry as a result (``kind``: EpochResult, or ModeResult for a toy), if it is one
    and of the weights on disk now."""
    try:
        result = (kind or EpochResult).from_dict(entry if isinstance(entry, dict) else {})
    except ValueError:  # none cached, or not a result: compute it again
        return None
    return result if result.fingerprint == checkpoint.fingerprint else None


def _read_cache(path: Path) -> dict:
    """A cache file's entries; a damaged file is recomputed (and rewritten), not a crash."""
    try:
        cache = atomic.read_json(path)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring the damaged evaluation cache %s (%s); it is computed again", path, exc)
        return {}
    if not isinstance(cache, dict):
        log.warning("ignoring the evaluation cache %s: not a JSON object; it is computed again", path)
        return {}
    return cache


def real_floor(dataset: str, samples: int, evaluator_name: str, image_size: int | None = None) -> SetMetrics:
    """The metrics of real train images against real test images at the same sample count:
    what a perfect generator would score, shown beside every result."""
    test = reference.real_features(dataset, "test", samples, evaluator_name, image_size)
    train = reference.real_features(dataset, "train", samples, evaluator_name, image_size)
    return compare(test, train)


class EpochEvaluator:
    """What both engines share: a result per checkpoint, cached in the run's ``eval/`` folder and
    computed only when the cache has none of the weights on disk. A subclass says what a result
    is: ``cached(epoch)`` and ``_evaluate_epoch(epoch)``."""

    run: RunDir
    key: str  # this engine's cache entry in an epoch's file
    read_only: bool

    def _cache_path(self, epoch: int) -> Path:
        return self.run.eval_dir / EPOCH_FILE.format(epoch=epoch)

    def cached(self, epoch: int) -> Any:
        raise NotImplementedError

    def _store(self, epoch: int, result: Any) -> Any:
        """Cache ``result`` beside the epoch's other entries (unless read-only); returns it."""
        if not self.read_only:
            path = self._cache_path(epoch)
            atomic.write_json(path, {**_read_cache(path), self.key: result.to_dict()})
        return result

    def _evaluate_epoch(self, epoch: int) -> Any:
        raise NotImplementedError

    def evaluate(self, epochs: list[int] | None = None, progress: OnProgress = _quiet) -> list:
        """Results for ``epochs`` (default: every checkpoint), computing only what is not cached."""
        epochs = epochs if epochs is not None else self.run.epochs()
        results = []
        for i, epoch in enumerate(epochs):
            result = self.cached(epoch)
            if result is None:
                progress(i / len(epochs), f"evaluating epoch {epoch} ({i + 1}/{len(epochs)})")
                result = self._evaluate_epoch(epoch)
            results.append(result)
        progress(1.0, f"evaluated {len(epochs)} epoch(s)")
        return results


class Engine(EpochEvaluator):
    """Evaluates one run's checkpoints against its dataset's held-out test split."""

    def __init__(
        self,
        run: RunDir,
        samples: int = DEFAULT_SAMPLES,
        evaluator: str | None = None,
        read_only: bool = False,
    ):
        """``read_only``: never write to the run (a public demo); results are computed in memory."""
        if not 100 <= samples <= MAX_SAMPLES:
            raise GanlibError(f"samples must be between 100 and {MAX_SAMPLES}")
        self.run = run
        self.meta = run.meta()
        self.config = run.config()
        self.samples = samples
        self.evaluator_name = evaluator or self.config.dataset
        # The classifier loads (with TensorFlow) only when something must be computed: reading
        # cached results needs its name and label alone.
        cache_name, self.evaluator_label = identify(self.evaluator_name)
        self.key = _cache_key(cache_name, samples)
        self.read_only = read_only
        self._copy_threshold: float | None = None

    @functools.cached_property
    def evaluator(self) -> Evaluator:
        return reference.cached_evaluator(self.evaluator_name)

    @property
    def metric_label(self) -> str:
        return metric_label(self.evaluator_label)

    def cached(self, epoch: int) -> EpochResult | None:
        """The cached result of ``epoch`` if it is of these weights; None if it must be computed."""
        entry = _read_cache(self._cache_path(epoch)).get(self.key)
        return _result_of(entry, self.run.checkpoint(epoch))

    def floor(self) -> SetMetrics:
        """The real-data floor at this sample count, cached in the run."""
        path = self.run.eval_dir / FLOOR_FILE
        cache = _read_cache(path)
        try:
            return SetMetrics.from_dict(cache.get(self.key) or {})
        except ValueError:
            floor = real_floor(self.config.dataset, self.samples, self.evaluator_name, self.config.image_size)
            if not self.read_only:
                atomic.write_json(path, {**cache, self.key: floor.to_dict()})
            return floor

    def real_grid(self) -> bytes:
        """A grid of real test images (PNG) to show beside generated ones: from the run's cache
        when the run has one (a shipped demo run, on a host without the dataset), else drawn
        from the dataset and cached."""
        path = self.run.eval_dir / REAL_GRID_FILE
        if path.is_file():
            return path.read_bytes()
        real = reference.real_images(self.config.dataset, "test", REAL_GRID_IMAGES, self.config.image_size)
        png = images.png_bytes(images.grid(real))
        if not self.read_only:
            atomic.write_bytes(path, png)
        return png

    def _evaluate_epoch(self, epoch: int) -> EpochResult:
        started = time.perf_counter()
        gan, checkpoint = model_io.load_models(self.run, epoch)
        seed = self.config.seed
        z = np.random.default_rng([seed, 777, epoch]).standard_normal((self.samples, gan.latent_dim))
        asked = latents.uniform_labels(self.samples, gan.num_classes)  # balanced classes
        fake = self.evaluator(gan.sample(z.astype(np.float32), asked))
        dataset, size = self.config.dataset, self.config.image_size
        real_set = (dataset, "test", self.samples, self.evaluator_name, size)
        real = reference.real_features(*real_set)
        d_acc_real, d_acc_fake = self._discriminator_accuracy(gan)
        labels = reference.real_labels(dataset, "test", self.samples, size)
        per_class = None
        if gan.conditional and labels is not None:
            per_class = metrics.per_class(real[0], labels, fake[0], fake[1], asked)
        result = EpochResult(
            **vars(compare(real, fake, reference.real_radii(*real_set))),
            per_class=per_class,
            copy_share=self._copy_share(fake[0], real[0]),
            epoch=epoch,
            step=checkpoint.step,
            samples=self.samples,
            evaluator=self.evaluator_label,
            d_acc_real=d_acc_real,
            d_acc_fake=d_acc_fake,
            seconds=round(time.perf_counter() - started, 2),
            fingerprint=checkpoint.fingerprint,
        )
        return self._store(epoch, result)

    def truncation_sweep(
        self, epoch: int, levels: tuple[float | None, ...] = TRUNCATION_LEVELS, samples: int = 2000
    ) -> list[dict[str, Any]]:
        """FID, precision and recall of ``epoch`` with latents from the normal truncated at each
        level (None: not truncated), at ``samples`` samples, the same latents' seed at every
        level: the diversity (recall) a person gives up for fidelity (precision). In memory only."""
        config = self.config
        sampler = model_io.load_sampler(self.run, epoch)
        real = reference.real_features(
            config.dataset, "test", samples, self.evaluator_name, config.image_size
        )
        rows = []
        for level in levels:
            z = latents.truncated_latents(config.latent_dim, config.seed, samples, level)
            fake = self.evaluator(sampler.sample(z, latents.uniform_labels(samples, sampler.num_classes)))
            result = compare(real, fake)
            rows.append(
                {
                    "truncation": level,
                    "fid": result.fid,
                    "precision": result.precision,
                    "recall": result.recall,
                }
            )
        return rows

    def _copy_share(self, fake_features: np.ndarray, held_out: np.ndarray) -> float | None:
        """Memorisation against the whole training split (None when it is not at hand)."""
        try:
            train = reference.real_features(
                self.config.dataset, "train", 10**9, self.evaluator_name, self.config.image_size
            )[0]
        except GanlibError:
            return None
        if self._copy_threshold is None:  # the held-out images' yardstick: once per engine
            self._copy_threshold = metrics.copy_threshold(train, held_out)
        return metrics.copy_share(fake_features, train, self._copy_threshold)

    def _discriminator_accuracy(self, gan: GAN) -> tuple[float, float]:
        """D's accuracy on held-out real test images and on fresh generated ones, as the
        tutorials report it, with the loss's own decision threshold (a critic's is the midpoint)."""
        return discriminator_accuracy(gan, self.config, min(self.samples, 2000))


def discriminator_accuracy(gan: GAN, config: TrainConfig, count: int) -> tuple[float, float]:
    """D's accuracy on ``count`` held-out real samples (images or a toy's points) and on as many
    fresh generated ones, as the tutorials report it, with the loss's own decision threshold (a
    critic's is the midpoint)."""
    test = datasets.load_dataset(config.dataset, "test", config.image_size)
    real, real_labels = test.samples[:count], test.labels[:count] if test.labels is not None else None
    z = np.random.default_rng([config.seed, 999]).standard_normal((count, gan.latent_dim))
    fake_labels = latents.uniform_labels(count, gan.num_classes)
    fake = gan.sample(z.astype(np.float32), fake_labels)

    def scores(samples, labels):
        outputs = []
        for i in range(0, len(samples), 1000):
            x = np.asarray(test.to_model_range(samples[i : i + 1000]))
            inputs = [x, labels[i : i + 1000]] if gan.conditional else x
            outputs.append(np.asarray(gan.discriminator(inputs, training=False)))
        return np.concatenate(outputs).ravel()

    real_scores, fake_scores = scores(real, real_labels), scores(fake, fake_labels)
    threshold = float(losses.get(config.loss).threshold(real_scores, fake_scores))
    return float((real_scores > threshold).mean()), float((fake_scores <= threshold).mean())


def cached_results(run: RunDir) -> dict[int, EpochResult]:
    """Each checkpoint's cached evaluation of the largest sample count (any evaluator), if it is
    of the weights on disk: the numbers shown beside the grids. Computes nothing."""
    found = {}
    for checkpoint in run.checkpoints():
        cache = _read_cache(run.eval_dir / EPOCH_FILE.format(epoch=checkpoint.epoch))
        current = (entry for key, entry in cache.items() if key.endswith(f"|v={ENGINE_VERSION}"))
        results = [r for r in (_result_of(entry, checkpoint) for entry in current) if r is not None]
        if results:
            found[checkpoint.epoch] = max(results, key=lambda r: r.samples)
    return found


def best_epoch(results: list[EpochResult]) -> EpochResult | None:
    """Lowest FID, ties broken by KID."""
    finite = [r for r in results if np.isfinite(r.fid)]
    return min(finite, key=lambda r: (round(r.fid, 6), r.kid)) if finite else None


def nearest_training_images(
    run: RunDir, epoch: int, count: int = 8, k: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Memorisation, by eye: ``count`` fresh samples of ``epoch``, each with its ``k`` nearest
    training images in the evaluator's feature space. Returns (samples, neighbours of shape
    (count, k, H, W, C), their feature distances (count, k))."""
    config = run.config()
    sampler = model_io.load_sampler(run, epoch)
    z = latents.truncated_latents(config.latent_dim, seed, count)
    samples = sampler.sample(z, latents.uniform_labels(count, sampler.num_classes))
    train = reference.real_images(config.dataset, "train", 10**9, config.image_size)
    train_features = reference.real_features(
        config.dataset, "train", 10**9, config.dataset, config.image_size
    )[0]
    distances, index = metrics.nearest(
        reference.cached_evaluator(config.dataset)(samples)[0], train_features, k
    )
    return samples, train[index], distances


@dataclass
class RunEvaluation:
    floor: SetMetrics | modes.ModeStats  # real data against real data at the same sample count
    results: list[EpochResult] | list[ModeResult]
    best: Best | None  # best.json after this evaluation


def evaluate_run(
    engine: Engine | ModeEngine, epochs: list[int] | None = None, progress: OnProgress = _quiet
) -> RunEvaluation:
    """The evaluate steps every caller takes (the CLI, the Evaluate page, the demo builder), in
    order: the real-data floor at this sample count, each epoch's metrics (both cached), then the
    best epoch recorded, unless a person has chosen one."""
    floor = engine.floor()
    results = engine.evaluate(epochs, progress=progress)
    return RunEvaluation(floor, results, record_best(engine.run, results))


def metric_label(evaluator_label: str) -> str:
    """What a FID is measured in, as best.json, Home and the charts say it."""
    return f"FID ({evaluator_label})"


def mark_best(
    run: RunDir, epoch: int, chosen_by: ChosenBy, result: EpochResult | ModeResult | None = None
) -> None:
    """The one writer of ``best.json``: the epoch, who chose it and, when it is evaluated, its
    figures with the metric and sample count they are in."""
    figures = {}
    if isinstance(result, ModeResult):
        figures = dict(metric=MODES_METRIC, samples=result.samples)
    elif result is not None:
        figures = dict(
            fid=result.fid, kid=result.kid, metric=metric_label(result.evaluator), samples=result.samples
        )
    run.set_best(Best(epoch, chosen_by, **figures))


def record_best(run: RunDir, results: list[EpochResult] | list[ModeResult]) -> Best | None:
    """Store the best epoch by FID (a toy's: by its modes), unless people chose one (by hand or
    by their blind picks), or the best was chosen among results of more samples: FID is biased by the sample
    count, so only results of one count compare, and a smaller pass never replaces a larger one's
    choice."""
    toy = any(isinstance(r, ModeResult) for r in results)
    best = best_by_modes(results) if toy else best_epoch(results)
    current = run.best()
    if best is None or (current and current.chosen_by.by_people):
        return current
    if current and (current.samples or 0) > best.samples:
        return current
    mark_best(run, best.epoch, ChosenBy.MODES if toy else ChosenBy.FID, best)
    return run.best()


# ---------------------------------------------------------------------------------------------
# 2-D toys: modes covered and high-quality share (ganlib.measure.modes)

MODES_VERSION = 2  # 2: the balanced quality
MODES_METRIC = "modes covered"


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


class ModeEngine(EpochEvaluator):
    """Evaluates a 2-D toy run's checkpoints by its modes, cached in ``eval/`` like ``Engine``'s
    results (stamped with the weights' fingerprint). The same calls as ``Engine``: ``cached``,
    ``floor`` (the real test points' figures), ``evaluate``."""

    metric_label = MODES_METRIC

    def __init__(self, run: RunDir, samples: int = modes.DEFAULT_POINTS, read_only: bool = False):
        if not 100 <= samples <= MAX_SAMPLES:
            raise GanlibError(f"samples must be between 100 and {MAX_SAMPLES}")
        self.run, self.config, self.samples, self.read_only = run, run.config(), samples, read_only
        self.toy = toys.get(self.config.dataset)
        self.key = f"modes|n={samples}|v={MODES_VERSION}"  # cached_mode_results reads these

    def cached(self, epoch: int) -> ModeResult | None:
        entry = _read_cache(self._cache_path(epoch)).get(self.key)
        return _result_of(entry, self.run.checkpoint(epoch), ModeResult)

    def floor(self) -> modes.ModeStats:
        """What the real test points score at this sample count: a perfect generator's figures."""
        return modes.mode_stats(toys.load(self.config.dataset, "test").points[: self.samples], self.toy)

    def _points(self, gan: GAN, epoch: int, count: int) -> np.ndarray:
        z = np.random.default_rng([self.config.seed, 777, epoch]).standard_normal((count, gan.latent_dim))
        return gan.sample(z.astype(np.float32))

    def _evaluate_epoch(self, epoch: int) -> ModeResult:
        started = time.perf_counter()
        gan, checkpoint = model_io.load_models(self.run, epoch)
        stats = modes.mode_stats(self._points(gan, epoch, self.samples), self.toy)
        d_acc_real, d_acc_fake = discriminator_accuracy(gan, self.config, min(self.samples, 2000))
        result = ModeResult(
            **vars(stats),
            epoch=epoch,
            step=checkpoint.step,
            samples=self.samples,
            d_acc_real=d_acc_real,
            d_acc_fake=d_acc_fake,
            seconds=round(time.perf_counter() - started, 2),
            fingerprint=checkpoint.fingerprint,
        )
        return self._store(epoch, result)


def cached_mode_results(run: RunDir) -> dict[int, ModeResult]:
    """A toy run's ``cached_results``: each checkpoint's cached modes evaluation of the largest
    sample count, if it is of the weights on disk. Computes nothing."""
    found = {}
    for checkpoint in run.checkpoints():
        cache = _read_cache(run.eval_dir / EPOCH_FILE.format(epoch=checkpoint.epoch))
        current = (
            e for key, e in cache.items() if key.startswith("modes|") and key.endswith(f"|v={MODES_VERSION}")
        )
        results = [r for r in (_result_of(e, checkpoint, ModeResult) for e in current) if r is not None]
        if results:
            found[checkpoint.epoch] = max(results, key=lambda r: r.samples)
    return found


def best_by_modes(results: list[ModeResult]) -> ModeResult | None:
    """The highest balanced quality (ganlib.measure.modes), then the most modes covered."""
    return max(results, key=lambda r: (round(r.balanced_quality, 6), r.modes_covered), default=None)


def engine_for(
    run: RunDir, samples: int | None = None, read_only: bool = False, evaluator: str | None = None
):
    """The engine that evaluates ``run``: by its modes for a 2-D toy, else by FID and friends."""
    if toys.is_toy(run.config().dataset):
        return ModeEngine(run, samples or modes.DEFAULT_POINTS, read_only)
    return Engine(run, samples or DEFAULT_SAMPLES, evaluator, read_only)


# ---------------------------------------------------------------------------------------------
# Comparing two image sources (python -m ganlib fid)


def source_images(spec: str, samples: int) -> tuple[np.ndarray, str]:
    """Images from ``DATASET:SPLIT``, ``folder:PATH`` or ``run:DIR/NAME[@EPOCH]``, with the
    dataset name whose evaluator fits them."""
    if spec.startswith("run:"):
        path, _, epoch = spec[4:].partition("@")
        run = RunDir.from_path(path)
        gan, _ = model_io.load_models(run, int(epoch) if epoch else None)
        latents = np.random.default_rng(777).standard_normal((samples, gan.latent_dim)).astype(np.float32)
        return gan.sample(latents), run.config().dataset
    if spec.startswith(datasets.FOLDER_PREFIX):
        return reference.real_images(spec, "all", samples), spec  # a folder of samples: every image counts
    dataset, _, split = spec.partition(":")
    return reference.real_images(dataset, split or "test", samples), dataset


def compare_sources(real_spec: str, fake_spec: str, samples: int, evaluator: str | None = None) -> dict:
    real, real_dataset = source_images(real_spec, samples)
    fake, _ = source_images(fake_spec, samples)
    extractor = reference.cached_evaluator(evaluator or real_dataset)
    result = compare(extractor(real), extractor(fake))
    return {
        "real": real_spec,
        "fake": fake_spec,
        "samples": min(len(real), len(fake)),
        "samples_asked": samples,
        "evaluator": extractor.label,
        **result.to_dict(),
    }
