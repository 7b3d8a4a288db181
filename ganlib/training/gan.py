"""The GAN as a ``keras.Model``: ``train_step`` updates D and G once per batch, so ``fit()``
brings callbacks, ``steps_per_execution`` and ``tf.distribute`` with it.
"""

from __future__ import annotations

import enum

import keras
import numpy as np
import tensorflow as tf

from ganlib.config import TrainConfig
from ganlib.runs.records import METRIC_NAMES
from ganlib.sampling.inference import to_uint8, uniform_labels
from ganlib.training import distribute
from ganlib.zoo import augment, losses, models, replica


class Stream(enum.IntEnum):
    """The random streams of one training step. Every draw is a pure function of (seed, step,
    stream), so a resumed run draws what an uninterrupted one would; the numbers are part of
    the run format's promise (a resume is bit-identical), so they never change."""

    LATENT = 0  # the generator's input
    REAL_VIEW = 1  # D's view of the real batch: augmentation, instance noise, R1
    FAKE_VIEW = 2  # D's view of the fakes in D's update
    LABEL_FLIP = 3  # which of D's real/fake pairs swap targets
    PENALTY_MIX = 4  # WGAN-GP's interpolation weights between real and fake
    G_VIEW = 5  # D's view of the fakes in G's update
    CRITIC = 10  # critic update i (of d_steps) draws each stream above at (i + 1) * CRITIC + stream


class GAN(keras.Model):
    """Generator and discriminator trained together by ``fit()``.

    With one D update per step and no WGAN-GP penalty, one forward pass of G and of D on each
    half serves both updates (the TF DCGAN tutorial's simultaneous step); the R1 penalty, when on,
    is taken from the same pass over the real half. Critic losses
    (WGAN-GP) alternate: ``d_steps`` critic updates, each on a fresh real batch (the batch given
    is ``d_steps`` batches stacked, as in Gulrajani et al. 2017, where keras.io's example reuses
    one), then one G update.

    Under ``tf.distribute`` each replica runs ``train_step`` on its slice of the global batch
    and the result is what one device would compute on the whole batch: random draws are sliced
    from one global draw, each loss is divided by the replica count before the optimizer sums
    the gradients, BatchNorm is synchronized, and the EMA is updated in cross-replica context.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        loss: losses.GanLoss,
        latent_dim: int,
        *,
        num_classes: int = 0,
        conditional: bool = False,
        seed: int = 0,
        label_smoothing: float = 0.0,
        label_flip: float = 0.0,
        instance_noise: float = 0.0,
        instance_noise_steps: int = 1,
        d_steps: int | None = None,
        ema: float = 0.0,
        r1: float = 0.0,
        augment_policy: str = "none",
        pack: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.gan_loss = loss
        self.latent_dim = latent_dim
        self.conditional = conditional
        self.num_classes = num_classes if conditional else 0  # labels G needs; 0 = unconditional
        self.seed = seed
        self.label_smoothing = label_smoothing
        self.label_flip = label_flip
        self.instance_noise = instance_noise
        self.instance_noise_steps = max(1, instance_noise_steps)
        self.d_steps = d_steps or loss.d_steps
        self.augment_policy = augment_policy
        self.r1 = r1
        self.pack = pack
        self.ema = ema
        self.ema_generator = None
        if ema > 0:
            # Sampling from an exponential moving average of G's weights smooths out the
            # step-to-step oscillation of GAN training (Yazici et al. 2019).
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.trackers = [keras.metrics.Mean(name=name) for name in METRIC_NAMES]
        self.built = True  # G and D are built models; this lets weights be saved before fit()

    @property
    def metrics(self):
        return self.trackers  # reset by fit() at each epoch start

    @property
    def sampler(self) -> keras.Model:
        """The generator used for grids, sampling and evaluation (the EMA copy when enabled)."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def points(self) -> bool:
        """Whether G draws 2-D points (a toy) rather than images."""
        return len(self.generator.output.shape) == 2

    def sample(self, latents: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """uint8 images (or a toy's float32 points) from the sampling generator; conditional models
        get balanced labels by default."""
        if self.conditional and labels is None:
            labels = uniform_labels(len(latents), self.num_classes)
        return generate(self.sampler, latents, labels if self.conditional else None, raw=self.points)

    def compile(
        self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer, **kwargs
    ):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Build optimizer slots now, so a checkpoint's optimizer state can be loaded before fit().
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    def optimizer_state(self) -> OptimizerState:
        """Both optimizers as one Keras object, so their state saves to one weights file. Under
        mixed_float16 that is the wrapped Adam's state (the loss scale adapts again on resume),
        so a checkpoint resumes under any precision."""
        return OptimizerState(
            *(getattr(o, "inner_optimizer", o) for o in (self.g_optimizer, self.d_optimizer))
        )

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # fit() first builds the model on a batch averaged over replicas, which fails under
        # MultiWorkerMirroredStrategy (keras-team/keras#20585, open). G, D, the optimizers and
        # the metrics are all built at construction, so there is nothing to build.
        return

    # -- pieces of a step ----------------------------------------------------------------------
    def _seed(self, salt: int):
        # Randomness is a pure function of (seed, step, salt): a resumed run draws what an
        # uninterrupted one would. Each part is folded in by a hash (no packing into one
        # integer, which collided once salts passed their field's width), so any number of
        # critic steps gets streams of its own.
        seed = tf.constant([self.seed, 0], tf.int64)
        for part in (tf.cast(self.g_optimizer.iterations, tf.int64), int(salt)):
            seed = tf.random.experimental.stateless_fold_in(seed, tf.cast(part, tf.int64))
        return seed

    def _draw(self, distribution, shape, salt: int):
        """A random tensor of this replica's ``shape``, the same numbers N replicas or one device."""
        return replica.replica_rows(distribution, shape, self._seed(salt))

    def latent_batch(self, batch_size, salt: int = Stream.LATENT):
        return self._draw(tf.random.stateless_normal, [batch_size, self.latent_dim], salt)

    def _generate(self, latent, labels, training):
        return self.generator([latent, labels] if self.conditional else latent, training=training)

    def _discriminate(self, images, labels, salt: int):
        # DiffAugment: the same random policy on every image D sees, real or fake, in D's update
        # and in G's (differentiable, so G learns through it).
        draw = lambda shape, s: self._draw(tf.random.stateless_uniform, shape, s)  # noqa: E731
        images = augment.augment(self.augment_policy, images, draw, salt)
        if self.instance_noise > 0:
            # Instance noise (Sonderby et al. 2016), annealed to zero: overlapping supports early on.
            progress = tf.cast(self.g_optimizer.iterations, tf.float32) / self.instance_noise_steps
            std = self.instance_noise * tf.maximum(0.0, 1.0 - progress)
            noise = std * self._draw(tf.random.stateless_normal, tf.shape(images), salt)
            images = images + tf.cast(noise, images.dtype)
        return self.judge(images, labels, training=True)

    def judge(self, samples, labels=None, training: bool = False):
        """D's scores: one per sample, or with ``pack`` > 1 one per pack of consecutive samples
        set side by side on the last axis (PacGAN: D sees several samples of one source at once)."""
        if self.pack > 1:
            samples = pack_samples(samples, self.pack)
        return self.discriminator([samples, labels] if self.conditional else samples, training=training)

    def _judge_real(self, real, labels, salt: int):
        """D's scores of the real batch and, with R1 on, the penalty on D's gradient there:
        mean over images of the squared norm of d(score)/d(image) (Mescheder et al. 2018). The
        scores come from the same pass as D's loss, so the penalty costs one more backward pass."""
        if not self.r1:
            return self._discriminate(real, labels, salt), 0.0
        with tf.GradientTape() as tape:
            tape.watch(real)
            real_out = self._discriminate(real, labels, salt)
            total = tf.reduce_sum(tf.cast(real_out, tf.float32))  # inside the tape: it is differentiated
        grads = tf.cast(tape.gradient(total, real), tf.float32)
        penalty = tf.reduce_mean(tf.reduce_sum(tf.square(grads), axis=list(range(1, real.shape.rank))))
        return real_out, 0.5 * self.r1 * penalty

    def _d_loss(self, real_out, fake_out, salt: int):
        if self.label_flip > 0:
            # Label flipping: for a random share of the pairs, D is told the fake is real and
            # vice versa. Swapping the outputs does it for any loss, with no extra passes.
            flip = self._draw(tf.random.stateless_uniform, tf.shape(real_out), salt) < self.label_flip
            real_out, fake_out = tf.where(flip, fake_out, real_out), tf.where(flip, real_out, fake_out)
        return self.gan_loss.d_loss(real_out, fake_out, self.label_smoothing)

    def _gradient_penalty(self, real, fake, labels, salt: int):
        per_sample = [tf.shape(real)[0]] + [1] * (real.shape.rank - 1)  # images (B,1,1,1), points (B,1)
        alpha = self._draw(tf.random.stateless_uniform, per_sample, salt)
        real = tf.cast(real, fake.dtype)
        mixed = real + tf.cast(alpha, fake.dtype) * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            out = self.judge(mixed, labels, training=True)
        grads = tape.gradient(out, mixed)
        norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, real.shape.rank))) + 1e-12)
        return tf.reduce_mean((norm - 1.0) ** 2)

    @staticmethod
    def _gradient_loss(optimizer, loss):
        """The loss to differentiate, recorded on the tape: divided by the number of replicas,
        because the optimizer sums gradients over replicas (Keras does the same in its own
        ``train_step``), then multiplied by the loss scale under mixed_float16 (a
        ``LossScaleOptimizer`` divides it out of the gradients again)."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return optimizer.scale_loss(loss / replicas)

    @staticmethod
    def _apply(optimizer, gradient_loss, tape, variables):
        optimizer.apply_gradients(zip(tape.gradient(gradient_loss, variables), variables))

    # -- the step ------------------------------------------------------------------------------
    def train_step(self, data):
        real, labels = data
        if self.d_steps == 1 and not self.gan_loss.gradient_penalty:
            values = self._joint_step(real, labels)
        else:
            values = self._alternating_step(real, labels)
        if self.ema_generator is not None:
            self._update_ema()
        return self._update_metrics(*values)

    def ema_decay(self):
        """The EMA's decay at this step: ``min(ema, (1 + step) / (10 + step))``, the warm-up of
        ``tf.train.ExponentialMovingAverage``. Early on the average forgets fast, so the sample
        grid follows training from the first seconds instead of blurring random initial weights.
        """
        step = tf.cast(self.g_optimizer.iterations, tf.float32)
        return tf.minimum(tf.constant(self.ema, tf.float32), (1.0 + step) / (10.0 + step))

    def _update_ema(self):
        # average <- decay * average + (1 - decay) * weight, once per step. The update runs in
        # cross-replica context, applied to each replica's copy by the strategy, like an
        # optimizer's own update (a plain assign from every replica is not defined for a
        # mirrored variable).
        pairs = [
            (average.value, weight.value)
            for average, weight in zip(self.ema_generator.weights, self.generator.weights)
        ]

        def update(strategy, decay):
            def move(average, weight, decay):
                decay = tf.cast(decay, average.dtype)
                return average.assign(decay * average + (1.0 - decay) * tf.cast(weight, average.dtype))

            for average, weight in pairs:
                strategy.extended.update(average, move, args=(weight, decay), group=False)

        tf.distribute.get_replica_context().merge_call(update, args=(self.ema_decay(),))

    def _joint_step(self, real, labels):
        latent = self.latent_batch(tf.shape(real)[0])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self._generate(latent, labels, training=True)
            real_out, r1_penalty = self._judge_real(real, labels, Stream.REAL_VIEW)
            fake_out = self._discriminate(fake, labels, Stream.FAKE_VIEW)
            d_loss = self._d_loss(real_out, fake_out, Stream.LABEL_FLIP)
            g_loss = self.gan_loss.g_loss(fake_out)
            d_gradient_loss = self._gradient_loss(self.d_optimizer, d_loss + r1_penalty)
            g_gradient_loss = self._gradient_loss(self.g_optimizer, g_loss)
        self._apply(self.d_optimizer, d_gradient_loss, d_tape, self.discriminator.trainable_variables)
        self._apply(self.g_optimizer, g_gradient_loss, g_tape, self.generator.trainable_variables)
        return d_loss, g_loss, real_out, fake_out

    def _critic_batches(self, batch):
        """The stacked batch as ``d_steps`` batches, batch i holding rows i, i + d_steps, ...
        Strided, not contiguous: a replica's contiguous slice of the global batch then splits
        into its share of each critic batch, so N replicas train on what one device would."""
        batch = tf.reshape(batch, tf.concat([[-1, self.d_steps], tf.shape(batch)[1:]], 0))
        return [batch[:, i] for i in range(self.d_steps)]

    def _alternating_step(self, reals, all_labels):
        # One real batch per critic update; the generator's update uses the last one's labels.
        reals, all_labels = self._critic_batches(reals), self._critic_batches(all_labels)
        batch = tf.shape(reals[0])[0]
        for i in range(self.d_steps):  # unrolled in the graph; d_steps is small
            real, labels = reals[i], all_labels[i]
            critic = Stream.CRITIC * (i + 1)
            fake = self._generate(self.latent_batch(batch, critic + Stream.LATENT), labels, training=True)
            with tf.GradientTape() as d_tape:
                real_out, r1_penalty = self._judge_real(real, labels, critic + Stream.REAL_VIEW)
                fake_out = self._discriminate(fake, labels, critic + Stream.FAKE_VIEW)
                d_loss = self._d_loss(real_out, fake_out, critic + Stream.LABEL_FLIP)
                if self.gan_loss.gradient_penalty:
                    penalty = self._gradient_penalty(real, fake, labels, critic + Stream.PENALTY_MIX)
                    d_loss += self.gan_loss.gradient_penalty * penalty
                d_gradient_loss = self._gradient_loss(self.d_optimizer, d_loss + r1_penalty)
            self._apply(self.d_optimizer, d_gradient_loss, d_tape, self.discriminator.trainable_variables)
        with tf.GradientTape() as g_tape:
            fake = self._generate(self.latent_batch(batch), labels, training=True)
            fake_out = self._discriminate(fake, labels, Stream.G_VIEW)
            g_loss = self.gan_loss.g_loss(fake_out)
            g_gradient_loss = self._gradient_loss(self.g_optimizer, g_loss)
        self._apply(self.g_optimizer, g_gradient_loss, g_tape, self.generator.trainable_variables)
        return d_loss, g_loss, real_out, fake_out

    def _update_metrics(self, d_loss, g_loss, real_out, fake_out):
        loss = self.gan_loss
        threshold = loss.threshold(real_out, fake_out)
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(loss.score(real_out)),
            "d_fake": tf.reduce_mean(loss.score(fake_out)),
            "acc_real": tf.reduce_mean(tf.cast(real_out > threshold, tf.float32)),
            "acc_fake": tf.reduce_mean(tf.cast(fake_out <= threshold, tf.float32)),
        }
        for tracker in self.trackers:
            tracker.update_state(values[tracker.name])
        results = {tracker.name: tracker.result() for tracker in self.trackers}
        strategy = tf.distribute.get_strategy()
        if (
            isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode()
        ):
            # Across workers fit() averages the logs along axis 0, which a scalar lacks
            # (keras-team/keras#20585): give it one.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results


class OptimizerState(keras.Model):
    """Just the two optimizers, so their state saves to its own ``.weights.h5`` file."""

    def __init__(self, g_optimizer, d_optimizer):
        super().__init__()
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.built = True


def build_gan(
    config: TrainConfig,
    image_shape: tuple[int, int, int],
    num_classes: int = 0,
    total_steps: int = 1,
    seeded: bool = True,
) -> GAN:
    """A compiled GAN for ``config``. ``seeded``: initialise reproducibly from ``config.seed``,
    which reseeds the process's global RNGs (Keras initialisers draw from them); pass False when
    every weight is loaded afterwards anyway.
    """
    if seeded:
        keras.utils.set_random_seed(config.seed)
    generator, discriminator = models.build_models(
        config.model, image_shape, config.latent_dim, num_classes, config.width, config.spectral_norm
    )
    if config.pack > 1:  # D takes a pack: the samples' last axis, pack times as deep
        packed = (*image_shape[:-1], image_shape[-1] * config.pack)
        discriminator = models.build_models(
            config.model, packed, config.latent_dim, num_classes, config.width, config.spectral_norm
        )[1]
    generator, discriminator = (
        distribute.float32_outputs(generator),
        distribute.float32_outputs(discriminator),
    )
    gan = GAN(
        generator,
        discriminator,
        losses.get(config.loss),
        config.latent_dim,
        num_classes=num_classes,
        conditional=models.ARCHITECTURES[config.model].conditional,
        seed=config.seed,
        label_smoothing=config.label_smoothing,
        label_flip=config.label_flip,
        instance_noise=config.instance_noise,
        instance_noise_steps=total_steps // 2,  # anneal to zero over the first half of the run
        d_steps=config.d_steps,
        ema=config.ema,
        r1=config.r1,
        augment_policy=config.augment,
        pack=config.pack,
    )
    gan.compile(
        g_optimizer=_optimizer(config.lr_g, config.beta_1),
        d_optimizer=_optimizer(config.lr_d, config.beta_1),
        steps_per_execution=config.steps_per_execution,
    )
    return gan


def pack_samples(samples, pack: int):
    """(B, ..., C) samples as (B // pack, ..., pack * C): each group of ``pack`` consecutive
    samples side by side on the last axis (a remainder short of a pack is left out)."""
    samples = tf.convert_to_tensor(samples)
    shape = tf.shape(samples)
    whole = shape[0] // pack * pack
    grouped = tf.reshape(samples[:whole], tf.concat([[-1, pack], shape[1:]], 0))
    rank = samples.shape.rank
    grouped = tf.transpose(grouped, [0, *range(2, rank + 1), 1])  # the pack next to the channels
    return tf.reshape(grouped, tf.concat([[-1], shape[1:-1], [pack * shape[-1]]], 0))


def _optimizer(learning_rate: float, beta_1: float) -> keras.optimizers.Optimizer:
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    if keras.config.dtype_policy().name == "mixed_float16":
        # float16 gradients underflow: scale the loss up, and skip steps whose gradients overflow.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


# ---------------------------------------------------------------------------------------------
# Sampling


def generate(
    generator: keras.Model,
    latents: np.ndarray,
    labels: np.ndarray | None = None,
    batch_size: int = 500,
    raw: bool = False,
) -> np.ndarray:
    """Images as uint8 (N, H, W, C) for the given latent vectors (and labels, if conditional);
    ``raw``: G's float32 outputs as they are (a toy's points)."""
    outputs = []
    for i in range(0, len(latents), batch_size):
        inputs = latents[i : i + batch_size]
        if labels is not None:
            inputs = [inputs, labels[i : i + batch_size]]
        outputs.append(np.asarray(generator(inputs, training=False)))
    if not outputs:
        return np.zeros((0,), np.float32 if raw else np.uint8)
    joined = np.concatenate(outputs)
    return joined.astype(np.float32) if raw else to_uint8(joined)
