"""A checkpoint folder, ``epochs/NNNN/``: its file names, writing it, finding it, checking it.

    generator.weights.h5        G's weights (Keras)
    discriminator.weights.h5    D's weights (Keras)
    ema_generator.weights.h5    the moving average of G's weights, when the run keeps one
    optimizer.weights.h5        both Adam states, for exact resume (the newest two keep it)
    grid.png                    the fixed-seed sample grid
    directions.json             latent directions of the sampled generator (``ganlib.directions``),
                                added on request after the checkpoint is written
    samples.npz                 uint8 samples (N, H, W, C), compressed: what a run written by
                                ``ganlib.track`` is evaluated on (drawn from its generator, or given)
    state.json                  epoch, global step, seconds trained; written last. A checkpoint
                                written by ``ganlib.track`` names its files in ``files``

A demo checkpoint (``slim``: what a shipped, read-only run needs) keeps only the generator that
is sampled (the EMA one when the run has it, else G), D (for its accuracy) and the grid: it can be
browsed and evaluated, not resumed.

A folder is written under a temporary name and renamed into place when complete, so a folder
with a ``state.json`` is a complete checkpoint. Weights only ever load into architectures the
library builds (``ganlib.training.model_io``): no pickle, no model deserialisation. This module knows
files, not models: it imports neither Keras nor the rest of the library.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganlib import GanlibError, atomic

GENERATOR_FILE = "generator.weights.h5"
DISCRIMINATOR_FILE = "discriminator.weights.h5"
EMA_FILE = "ema_generator.weights.h5"
OPTIMIZER_FILE = "optimizer.weights.h5"
GRID_FILE = "grid.png"
STATE_FILE = "state.json"
DIRECTIONS_FILE = "directions.json"
SAMPLES_FILE = "samples.npz"
KEEP_OPTIMIZER_STATE = 2  # Adam's moments are twice the model's size and only a resume needs them


class CheckpointError(GanlibError):
    pass


@dataclass(frozen=True)
class Checkpoint:
    epoch: int
    path: Path
    state: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.state["step"])

    @property
    def generator_path(self) -> Path:
        return self.path / GENERATOR_FILE

    @property
    def discriminator_path(self) -> Path:
        return self.path / DISCRIMINATOR_FILE

    @property
    def ema_path(self) -> Path:
        return self.path / EMA_FILE

    @property
    def optimizer_path(self) -> Path:
        return self.path / OPTIMIZER_FILE

    @property
    def grid_path(self) -> Path:
        return self.path / GRID_FILE

    @property
    def directions_path(self) -> Path:
        return self.path / DIRECTIONS_FILE

    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES_FILE

    @property
    def has_generator(self) -> bool:
        """Samples can be drawn (else only the stored ``samples`` can be shown and evaluated)."""
        return self.ema_path.is_file() or self.generator_path.is_file()

    @property
    def sampler_path(self) -> Path:
        """What samples come from: the EMA generator's weights when kept, else G's, else (a run
        written from samples alone) the stored samples."""
        found = (path for path in (self.ema_path, self.generator_path, self.samples_path) if path.is_file())
        return next(found, self.generator_path)

    def samples(self, count: int | None = None) -> np.ndarray:
        """The stored samples (the first ``count``), uint8 (N, H, W, C); read without pickle."""
        try:
            with np.load(self.samples_path, allow_pickle=False) as stored:
                return stored["samples"][:count]
        except (OSError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"checkpoint of epoch {self.epoch} has no readable {SAMPLES_FILE} ({exc})"
            ) from exc

    @property
    def fingerprint(self) -> str:
        """Which sampling weights these are, by content (a copied run keeps it, a re-saved
        checkpoint changes it): the one key of every cache of what a checkpoint draws."""
        stat = self.sampler_path.stat()
        return f"{self.step}:{_content_digest(str(self.sampler_path), stat.st_size, stat.st_mtime_ns)}"


@functools.lru_cache(maxsize=1024)
def _content_digest(path: str, size: int, mtime_ns: int) -> str:  # size and mtime: the cache key
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def find(epochs_dir: Path) -> list[Checkpoint]:
    """The usable checkpoints in ``epochs_dir``, oldest first: temp folders of a save still under
    way are not listed, nor damaged folders (``damaged`` says what is wrong with those)."""
    if not epochs_dir.is_dir():
        return []
    found = []
    for path in epochs_dir.iterdir():
        if path.name.isdigit():
            state, problem = _inspect(path)
            if problem is None:
                found.append(Checkpoint(int(path.name), path, state))
    return sorted(found, key=lambda c: c.epoch)


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"  # an .npz is a zip archive


def damaged(epochs_dir: Path) -> dict[int, str]:
    """The checkpoint folders that cannot be used, each with what is wrong: no or unreadable
    ``state.json``, a weights file missing, truncated or not HDF5, a grid missing or not a PNG.
    Reads headers and file structure, not weights: cheap enough for every page view."""
    found = {}
    for path in epochs_dir.iterdir() if epochs_dir.is_dir() else []:
        if path.name.isdigit() and (problem := _inspect(path)[1]):
            found[int(path.name)] = problem
    return dict(sorted(found.items()))


def _inspect(path: Path) -> tuple[dict[str, Any], str | None]:
    """A checkpoint folder's state and what is wrong with it (None: nothing)."""
    try:
        state = atomic.read_json(path / STATE_FILE)
    except FileNotFoundError:
        return {}, f"no {STATE_FILE}"
    except (OSError, ValueError):
        return {}, f"{STATE_FILE} is not JSON"
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        return {}, f"{STATE_FILE} has no step"
    listed = state.get("files")  # a checkpoint that names its files (ganlib.track)
    if isinstance(listed, list) and all(isinstance(n, str) and Path(n).name == n for n in listed):
        required = listed
    else:
        sampler = EMA_FILE if (path / EMA_FILE).is_file() else GENERATOR_FILE
        required = [sampler, DISCRIMINATOR_FILE, GRID_FILE]
    for name in required:
        if not (path / name).is_file():
            return state, f"no {name}"
        if name.endswith(".h5") and not _is_hdf5(path / name):
            return state, f"{name} is damaged (truncated or not a Keras weights file)"
        for suffix, signature, kind in ((".png", PNG_SIGNATURE, "a PNG"), (".npz", ZIP_SIGNATURE, "an npz")):
            if name.endswith(suffix) and not _starts_with(path / name, signature):
                return state, f"{name} is not {kind}"
    return state, None


def _starts_with(path: Path, signature: bytes) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(signature)) == signature
    except OSError:
        return False


def _is_hdf5(path: Path) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    return _opens_as_hdf5(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _opens_as_hdf5(path: str, size: int, mtime_ns: int) -> bool:  # size and mtime: the cache key
    """An HDF5 file whose structure opens: a cut-off file fails here (its stored end of file lies
    beyond the real one), as does anything else written over it."""
    import h5py  # here, not above: 10 MB the app's run listings do not need (measured)

    try:
        with open(path, "rb") as f:
            if f.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
                return False
        with h5py.File(path, "r") as store:
            return "layers" in store or "vars" in store
    except (OSError, ValueError):
        return False


def remove_unfinished(epochs_dir: Path) -> list[str]:
    """Delete the temporary folders of checkpoints whose writing was cut off (a kill during a
    save); call only while holding the run's lock. Returns their names."""
    removed = []
    for path in epochs_dir.glob(".*.tmp-*") if epochs_dir.is_dir() else []:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def write(
    epochs_dir: Path, epoch: int, state: dict[str, Any], writers: dict[str, Callable[[Path], None]]
) -> None:
    """Write every ``writers[name](path)`` into a temporary folder, then rename it into place
    as ``epochs_dir/NNNN``, and drop the optimizer state of all but the newest checkpoints."""
    epochs_dir.mkdir(parents=True, exist_ok=True)
    final = epochs_dir / f"{epoch:04d}"
    tmp = epochs_dir / f".{epoch:04d}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, write_file in writers.items():
            write_file(tmp / name)
        atomic.write_json(tmp / STATE_FILE, {"epoch": epoch, **state})
        for f in tmp.iterdir():
            atomic.fsync(f)
        if final.exists():  # re-saving an epoch (a resume after a corrupt checkpoint)
            shutil.rmtree(final)
        os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in find(epochs_dir)[:-KEEP_OPTIMIZER_STATE]:
        old.optimizer_path.unlink(missing_ok=True)


def slim(checkpoint: Checkpoint) -> None:
    """Reduce a checkpoint to what browsing and evaluating need (a shipped demo run): the sampled
    generator, D, the grid and the state. The EMA generator, when there is one, replaces G."""
    checkpoint.optimizer_path.unlink(missing_ok=True)
    if checkpoint.ema_path.is_file():
        checkpoint.generator_path.unlink(missing_ok=True)
