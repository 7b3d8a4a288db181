"""The GAN as a ``keras.Model``: ``train_step`` updates D and G once per batch, so ``fit()``
brings callbacks, ``steps_per_execution`` and ``tf.distribute`` with it.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ganlib import GanlibError, losses, models
from ganlib.config import TrainConfig
from ganlib.data import to_uint8
from ganlib.rundir import Checkpoint, RunDir

METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "acc_real", "acc_fake")


class CheckpointError(GanlibError):
    pass


class GAN(keras.Model):
    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        loss: losses.GanLoss,
        latent_dim: int,
        seed: int = 0,
        label_smoothing: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.gan_loss = loss
        self.latent_dim = latent_dim
        self.seed = seed
        self.label_smoothing = label_smoothing
        self.trackers = [keras.metrics.Mean(name=name) for name in METRIC_NAMES]
        self.built = True  # G and D are built models; this lets weights be saved before fit()

    @property
    def metrics(self):
        return self.trackers  # reset by fit() at each epoch start

    def compile(
        self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer, **kwargs
    ):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Build optimizer slots now, so a checkpoint's optimizer state can be loaded before fit().
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, latent, training=False):
        return self.generator(latent, training=training)

    def latent_batch(self, batch_size):
        # Noise is a pure function of (seed, step, replica): a resumed run draws what an
        # uninterrupted one would, and replicas under tf.distribute draw different noise.
        replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
        step = tf.cast(self.g_optimizer.iterations, tf.int64)
        seed = tf.stack([tf.constant(self.seed, tf.int64), step * 1024 + replica])
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=seed)

    def train_step(self, data):
        real_images, _labels = data
        latent = self.latent_batch(tf.shape(real_images)[0])
        loss = self.gan_loss
        # One forward pass of G and of D on each half serves both updates (the TF DCGAN
        # tutorial's simultaneous step): no frozen-D copy of the model, no second G pass.
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(latent, training=True)
            real_out = self.discriminator(real_images, training=True)
            fake_out = self.discriminator(fake_images, training=True)
            d_loss = loss.d_loss(real_out, fake_out, self.label_smoothing)
            g_loss = loss.g_loss(fake_out)
            # Optimizers sum gradients over replicas; scale so the update is the global mean.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled_d_loss, scaled_g_loss = d_loss / replicas, g_loss / replicas
        d_grads = d_tape.gradient(scaled_d_loss, self.discriminator.trainable_variables)
        g_grads = g_tape.gradient(scaled_g_loss, self.generator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        return self._update_metrics(d_loss, g_loss, real_out, fake_out)

    def _update_metrics(self, d_loss, g_loss, real_out, fake_out):
        loss = self.gan_loss
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(loss.score(real_out)),
            "d_fake": tf.reduce_mean(loss.score(fake_out)),
            "acc_real": tf.reduce_mean(tf.cast(real_out > loss.threshold, tf.float32)),
            "acc_fake": tf.reduce_mean(tf.cast(fake_out <= loss.threshold, tf.float32)),
        }
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}


class OptimizerState(keras.Model):
    """Just the two optimizers, so their state saves to its own ``.weights.h5`` file."""

    def __init__(self, g_optimizer, d_optimizer):
        super().__init__()
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.built = True


def build_gan(config: TrainConfig, image_shape: tuple[int, int, int], num_classes: int = 0) -> GAN:
    """A compiled GAN for ``config``, with freshly initialised weights."""
    keras.utils.set_random_seed(config.seed)
    generator, discriminator = models.build_models(
        config.model, image_shape, config.latent_dim, num_classes, config.width
    )
    gan = GAN(
        generator,
        discriminator,
        losses.get(config.loss),
        config.latent_dim,
        seed=config.seed,
        label_smoothing=config.label_smoothing,
    )
    gan.compile(
        g_optimizer=keras.optimizers.Adam(config.lr_g, beta_1=config.beta_1),
        d_optimizer=keras.optimizers.Adam(config.lr_d, beta_1=config.beta_1),
        steps_per_execution=config.steps_per_execution,
    )
    return gan


# ---------------------------------------------------------------------------------------------
# Checkpoint files


def checkpoint_writers(gan: GAN, grid_png: bytes) -> dict:
    """What a checkpoint folder holds, as ``{file name: writer(path)}`` for ``RunDir``."""
    return {
        "generator.weights.h5": gan.generator.save_weights,
        "discriminator.weights.h5": gan.discriminator.save_weights,
        "optimizer.weights.h5": OptimizerState(gan.g_optimizer, gan.d_optimizer).save_weights,
        "grid.png": lambda path: Path(path).write_bytes(grid_png),
    }


def _load(model: keras.Model, path: Path, checkpoint: Checkpoint) -> None:
    if not path.is_file():
        raise CheckpointError(f"checkpoint of epoch {checkpoint.epoch} has no {path.name}")
    try:
        model.load_weights(path)
    except Exception as exc:  # h5py raises OSError, Keras ValueError; either way it is unusable
        raise CheckpointError(
            f"checkpoint of epoch {checkpoint.epoch} is unreadable ({path.name}: {type(exc).__name__}: "
            f"{str(exc)[:200]})"
        ) from exc


def load_checkpoint(gan: GAN, checkpoint: Checkpoint, with_optimizer: bool = True) -> None:
    _load(gan.generator, checkpoint.generator_path, checkpoint)
    _load(gan.discriminator, checkpoint.discriminator_path, checkpoint)
    if with_optimizer:
        _load(OptimizerState(gan.g_optimizer, gan.d_optimizer), checkpoint.optimizer_path, checkpoint)


def load_models(run: RunDir, epoch: int | None = None, image_shape=None) -> tuple[GAN, Checkpoint]:
    """A run's GAN with the weights of ``epoch`` (default: newest), for sampling and evaluation."""
    meta = run.meta()
    config = TrainConfig.from_dict(meta["config"])
    checkpoint = run.checkpoint(epoch)
    gan = build_gan(config, tuple(image_shape or meta["image_shape"]), meta.get("num_classes", 0))
    load_checkpoint(gan, checkpoint, with_optimizer=False)
    return gan, checkpoint


# ---------------------------------------------------------------------------------------------
# Sampling


def fixed_latents(latent_dim: int, seed: int, count: int = 64) -> np.ndarray:
    """The run's fixed grid latents: the same vectors at every epoch, so grids compare."""
    return np.random.default_rng([seed, 12345]).standard_normal((count, latent_dim)).astype(np.float32)


def generate(generator: keras.Model, latents: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Images as uint8 (N, H, W, C) for the given latent vectors."""
    outputs = [
        np.asarray(generator(latents[i : i + batch_size], training=False))
        for i in range(0, len(latents), batch_size)
    ]
    return to_uint8(np.concatenate(outputs)) if outputs else np.zeros((0,), np.uint8)
