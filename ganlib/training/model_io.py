"""A GAN's models to and from a checkpoint folder (``ganlib.runs.checkpoints`` is the folder's format):
what a checkpoint of a GAN holds, loading one into a GAN, and building a run's GAN or sampler
from its checkpoint. Weights load only into architectures the library builds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ganlib.config import TrainConfig
from ganlib.runs.checkpoints import (
    DISCRIMINATOR_FILE,
    EMA_FILE,
    GENERATOR_FILE,
    GRID_FILE,
    OPTIMIZER_FILE,
    Checkpoint,
    CheckpointError,
)
from ganlib.sampling.inference import NumpyGenerator, Unsupported, to_uint8
from ganlib.zoo import user_models

if TYPE_CHECKING:
    from ganlib.runs.rundir import RunDir
    from ganlib.training.gan import GAN


def writers(gan: GAN, grid_png: bytes) -> dict[str, Callable[[Path], None]]:
    """What a checkpoint of ``gan`` holds, as ``{file name: writer(path)}`` for ``write``."""
    out = {
        GENERATOR_FILE: gan.generator.save_weights,
        DISCRIMINATOR_FILE: gan.discriminator.save_weights,
        OPTIMIZER_FILE: gan.optimizer_state().save_weights,
        GRID_FILE: lambda path: Path(path).write_bytes(grid_png),
    }
    if gan.ema_generator is not None:
        out[EMA_FILE] = gan.ema_generator.save_weights
    return out


def _load(model, path: Path, checkpoint: Checkpoint) -> None:
    if not path.is_file():
        raise CheckpointError(f"checkpoint of epoch {checkpoint.epoch} has no {path.name}")
    try:
        model.load_weights(path)
    except Exception as exc:  # h5py raises OSError, Keras ValueError; either way it is unusable
        raise CheckpointError(
            f"checkpoint of epoch {checkpoint.epoch} is unreadable ({path.name}: {type(exc).__name__}: "
            f"{str(exc)[:200]})"
        ) from exc


def load_into(gan: GAN, checkpoint: Checkpoint, with_optimizer: bool = True) -> None:
    """Load a checkpoint's weights (and optimizer state) into a GAN of the same settings."""
    _load(gan.generator, checkpoint.generator_path, checkpoint)
    _load(gan.discriminator, checkpoint.discriminator_path, checkpoint)
    if gan.ema_generator is not None:
        _load(gan.ema_generator, checkpoint.ema_path, checkpoint)
    if with_optimizer:
        _load(gan.optimizer_state(), checkpoint.optimizer_path, checkpoint)


def load_sampler(run: RunDir, epoch: int | None = None):
    """Something with ``sample(latents, labels=None)``, ``conditional`` and ``num_classes`` for
    drawing images from ``epoch``: the NumPy generator (no TensorFlow: ganlib/sampling/inference.py) when
    the run saved its generator's config and the layers are ones it knows, else the Keras GAN."""
    checkpoint = run.checkpoint(epoch)
    if not checkpoint.has_generator:
        raise CheckpointError(
            f"epoch {checkpoint.epoch} of {run.name} stored samples, not a generator: its samples are "
            "shown and evaluated, new ones cannot be drawn"
        )
    if run.generator_config_path.is_file():
        try:
            num_classes = int(run.meta().get("num_classes") or 0)
            return NumpyGenerator.from_files(run.generator_config_path, checkpoint.sampler_path, num_classes)
        except Unsupported:
            pass
    if run.trained_elsewhere:  # its layers are Keras's own (ganlib.track checked): Keras rebuilds it
        return KerasSampler.from_run(run, checkpoint)
    return load_models(run, checkpoint.epoch)[0]


class KerasSampler:
    """A generator written by another loop (``ganlib.track``), rebuilt by Keras from the run's
    ``generator.json`` (built-in layers only) with a checkpoint's weights, drawn as ``GAN.sample``."""

    conditional, num_classes = False, 0

    def __init__(self, generator):
        self.generator = generator
        self.latent_dim = int(generator.input_shape[-1])

    @classmethod
    def from_run(cls, run: RunDir, checkpoint: Checkpoint) -> KerasSampler:
        import keras  # here, not above: sampling with NumPy loads no TensorFlow

        generator = keras.Model.from_config(json.loads(run.generator_config_path.read_text()))
        _load(generator, checkpoint.generator_path, checkpoint)
        return cls(generator)

    def sample(
        self, latents: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 500
    ) -> np.ndarray:
        out = [
            np.asarray(self.generator(latents[i : i + batch_size], training=False))
            for i in range(0, len(latents), batch_size)
        ]
        return to_uint8(np.concatenate(out))


def load_models(run: RunDir, epoch: int | None = None, image_shape=None) -> tuple[GAN, Checkpoint]:
    """A run's GAN with the weights of ``epoch`` (default: newest), for sampling and evaluation."""
    from ganlib.training.gan import build_gan  # here, not above: sampling with NumPy loads no TensorFlow

    if run.trained_elsewhere:
        raise CheckpointError(
            f"{run.name} was written by another training loop (ganlib.track): its generator is sampled, "
            "not rebuilt as a GAN of this library (no resume, no SavedModel or Keras export)"
        )
    meta = run.meta()
    config = TrainConfig.from_dict(meta["config"])
    recorded = meta.get("models_from")  # a user's architecture: the file as the run trained with it
    if recorded:
        user_models.load(recorded["path"], recorded["sha256"])
    checkpoint = run.checkpoint(epoch)
    shape = tuple(image_shape or meta["image_shape"])
    gan = build_gan(config, shape, meta.get("num_classes", 0), seeded=False)  # weights come from disk
    if gan.ema_generator is not None and not checkpoint.ema_path.is_file():
        gan.ema_generator = None  # a checkpoint from before EMA was switched on
    if gan.ema_generator is not None and not checkpoint.generator_path.is_file():
        # A slim checkpoint: its EMA generator is the one sampled, so it loads as G.
        _load(gan.generator, checkpoint.ema_path, checkpoint)
        gan.ema_generator = None
        _load(gan.discriminator, checkpoint.discriminator_path, checkpoint)
        return gan, checkpoint
    load_into(gan, checkpoint, with_optimizer=False)
    return gan, checkpoint
