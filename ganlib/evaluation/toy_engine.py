"""A 2-D toy run's evaluation: modes covered and the high-quality share (ganlib.measure.modes),
cached in the run like an image run's figures."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from ganlib import GanlibError
from ganlib.data import toys
from ganlib.evaluation.cache import MODES_VERSION, EpochEvaluator, _read_cache, _result_of
from ganlib.evaluation.image_engine import discriminator_accuracy
from ganlib.evaluation.results import MAX_SAMPLES, MODES_METRIC, ModeResult
from ganlib.measure import modes
from ganlib.runs.rundir import RunDir
from ganlib.training import model_io

if TYPE_CHECKING:
    from ganlib.training.gan import GAN


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
