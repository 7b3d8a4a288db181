"""The evaluation cache in a run's ``eval/`` folder, and what both engines share.

``eval/epoch-0003.json`` maps a key (evaluator, sample count, engine version) to the result,
stamped with the checkpoint's fingerprint, so a re-saved checkpoint is re-evaluated and an
unchanged one never is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganlib import atomic
from ganlib.evaluation.results import EpochResult, ModeResult
from ganlib.runs import checkpoints
from ganlib.runs.rundir import RunDir

log = logging.getLogger(__name__)
ENGINE_VERSION = 2  # 2: per-class figures and the copy share (memorisation)
MODES_VERSION = 2  # a toy's results; 2: the balanced quality
FLOOR_FILE = "floor.json"  # in the run's eval/: the real-data floor per cache key
REAL_GRID_FILE = "real-test-grid.png"  # in eval/: real test images, for a host without the dataset
EPOCH_FILE = "epoch-{epoch:04d}.json"  # in eval/: one epoch's results per cache key
OnProgress = Callable[[float, str], None]  # (fraction done, what is being done)


def _quiet(fraction: float, message: str) -> None:
    pass


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
