"""An image run's evaluation: per-epoch FID, KID, precision/recall, coverage, Inception Score,
the copy share and discriminator accuracy, with a real-data floor, cached in the run."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ganlib import GanlibError, atomic
from ganlib.data import datasets
from ganlib.evaluation.cache import (
    FLOOR_FILE,
    REAL_GRID_FILE,
    EpochEvaluator,
    _cache_key,
    _read_cache,
    _result_of,
)
from ganlib.evaluation.results import (
    DEFAULT_SAMPLES,
    MAX_SAMPLES,
    EpochResult,
    SetMetrics,
    compare,
    metric_label,
)
from ganlib.measure import metrics, reference
from ganlib.measure.features import Evaluator, identify
from ganlib.runs.checkpoints import Checkpoint
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images, latents
from ganlib.training import model_io
from ganlib.zoo import losses

if TYPE_CHECKING:
    from ganlib.config import TrainConfig
    from ganlib.training.gan import GAN

REAL_GRID_IMAGES = 64
TRUNCATION_LEVELS = (0.5, 1.0, 1.5, 2.0, None)  # None: the untruncated normal


def real_floor(dataset: str, samples: int, evaluator_name: str, image_size: int | None = None) -> SetMetrics:
    """The metrics of real train images against real test images at the same sample count:
    what a perfect generator would score, shown beside every result."""
    test = reference.real_features(dataset, "test", samples, evaluator_name, image_size)
    train = reference.real_features(dataset, "train", samples, evaluator_name, image_size)
    return compare(test, train)


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

    @property
    def accuracy_label(self) -> str:
        """How D's accuracy is read: the loss's threshold, or for a run written by another loop
        (``ganlib.track``) its D's own (a logit above 0, a probability above 0.5)."""
        if self.config.loss in losses.LOSSES:
            return losses.get(self.config.loss).accuracy_label
        return (
            "measured as each checkpoint was saved, real above D's own threshold (0 for a logit, 0.5 "
            "after a sigmoid); none where the writer gave no discriminator"
        )

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
        checkpoint = self.run.checkpoint(epoch)
        dataset, size = self.config.dataset, self.config.image_size
        real_set = (dataset, "test", self.samples, self.evaluator_name, size)
        real = reference.real_features(*real_set)
        per_class = None
        if (
            checkpoint.samples_path.is_file()
        ):  # written by ganlib.track: its stored samples, D's accuracy then
            fake = self.evaluator(self._stored_samples(checkpoint))
            d_acc_real, d_acc_fake = checkpoint.state.get("d_acc_real"), checkpoint.state.get("d_acc_fake")
        else:
            gan, checkpoint = model_io.load_models(self.run, epoch)
            z = np.random.default_rng([self.config.seed, 777, epoch]).standard_normal(
                (self.samples, gan.latent_dim)
            )
            asked = latents.uniform_labels(self.samples, gan.num_classes)  # balanced classes
            fake = self.evaluator(gan.sample(z.astype(np.float32), asked))
            d_acc_real, d_acc_fake = self._discriminator_accuracy(gan)
            labels = reference.real_labels(dataset, "test", self.samples, size)
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

    def _stored_samples(self, checkpoint: Checkpoint) -> np.ndarray:
        stored = checkpoint.samples(self.samples)
        if len(stored) < self.samples:
            raise GanlibError(
                f"epoch {checkpoint.epoch} of {self.run.name} stored {len(stored):,} samples: evaluate at "
                f"{len(stored):,} or fewer (or store more: ganlib.track.Run(..., samples={self.samples}))"
            )
        return stored

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
            outputs.append(np.asarray(gan.judge(x, labels[i : i + 1000] if gan.conditional else None)))
        return np.concatenate(outputs).ravel()

    real_scores, fake_scores = scores(real, real_labels), scores(fake, fake_labels)
    threshold = float(losses.get(config.loss).threshold(real_scores, fake_scores))
    return float((real_scores > threshold).mean()), float((fake_scores <= threshold).mean())


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
