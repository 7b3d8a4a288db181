"""``python -m benchmarks.trainer_speed``: our trainer against the tutorials' loop and a hand-written step,
side by side in one process, as images per second and ratios, plus FLOP/s utilisation.

Equal work: every contender trains on ``batch_size`` real images per step, shows D as many
fakes, and updates D once and G once. The tutorials' loop needs more passes for that (G runs
twice: ``predict`` for D's fakes, then again inside the stacked model); the pass counts are
printed with the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ganlib.config import SETTINGS, TrainConfig
from ganlib.data import datasets
from ganlib.training import gan as gan_lib
from ganlib.zoo import losses


@dataclass
class Result:
    name: str
    images_per_sec: float
    passes: str
    note: str = ""


def _timed(step: Callable[[], None], seconds: float, warmup_steps: int = 3) -> float:
    """Steps per second of ``step`` over about ``seconds``, after tracing/warm-up steps."""
    for _ in range(warmup_steps):
        step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    return count / (time.perf_counter() - start)


def _real_batches(batch_size: int):
    mnist = datasets.load_dataset("mnist")
    steps = datasets.steps_per_epoch(mnist, batch_size, None)
    return datasets.training_dataset(mnist, batch_size, steps, 0, 0, 1000).repeat()


# -- 1. and 2. ours: the real trainer, headless and on the app's job thread ----------------------


def _bench_config(config: TrainConfig) -> TrainConfig:
    # Long epochs so checkpoint saving (a few hundred ms, every epoch) is not what is measured.
    return config.replace(epochs=1000, steps_per_epoch=2000, log_every=50)


def _rate(samples: list[tuple[float, int]], batch_size: int, skip_steps: int = 10) -> float:
    """Images/s between the first sample past tracing and the last one."""
    measured = [s for s in samples if s[1] > skip_steps]
    (t0, s0), (t1, s1) = measured[0], measured[-1]
    return (s1 - s0) * batch_size / (t1 - t0)


def bench_ours(config: TrainConfig, seconds: float, runs_dir: Path) -> Result:
    from ganlib.runs.rundir import RunDir
    from ganlib.training.callbacks import TrainingControl
    from ganlib.training.train import train

    control, samples = TrainingControl(), []

    def report(progress):
        samples.append((time.perf_counter(), progress.step))
        if progress.step > 10 and samples[-1][0] - _first_past(samples, 10) > seconds:
            control.stop()

    train(_bench_config(config), RunDir(runs_dir, "headless"), control=control, report=report)
    return Result(
        "ours: train(), headless", _rate(samples, config.batch_size), "G 1 fwd + 1 bwd; D 2 fwd + 2 bwd"
    )


def bench_ours_threaded(config: TrainConfig, seconds: float, runs_dir: Path) -> Result:
    from ganlib.runs.rundir import RunDir
    from workbench.jobs import JobManager

    manager = JobManager(runs_dir)
    manager.start(_bench_config(config), "threaded")
    run = RunDir(runs_dir, "threaded")
    samples = []
    while not samples or samples[-1][1] <= 10 or samples[-1][0] - _first_past(samples, 10) < seconds:
        time.sleep(1.0)  # what the Train page's fragment does each second
        snapshot = manager.snapshot()
        run.history()
        run.checkpoints()
        if snapshot.progress:
            samples.append((time.perf_counter(), snapshot.progress.step))
    manager.stop()
    manager.wait(60)
    return Result(
        "ours: the app's job (worker process) + 1 s poll", _rate(samples, config.batch_size), "as ours"
    )


def _first_past(samples, step):
    return next((t for t, s in samples if s > step), samples[-1][0])


# -- 3. the tutorials' loop ------------------------------------------------------------------------


class TutorialStackedGAN(keras.Model):
    """The tutorials' ``Sequential([generator, discriminator])`` for the G update.

    Under Keras 3, the tutorials' ``discriminator.trainable = False`` is not a per-model compile
    snapshot as in Keras 2: it freezes D everywhere, so D stops learning in its own
    ``train_on_batch`` too. Exposing only G's variables as trainable here keeps D learning in
    its own step and frozen in this one, which is what the tutorials meant.
    """

    def __init__(self, generator, discriminator):
        super().__init__(name="stacked_gan")
        self.generator, self.discriminator = generator, discriminator

    def call(self, z, training=False):
        return self.discriminator(self.generator(z, training=training), training=training)

    @property
    def trainable_weights(self):
        return self.generator.trainable_weights

    @property
    def trainable_variables(self):
        return self.generator.trainable_variables


def bench_tutorial(config: TrainConfig, seconds: float) -> Result:
    keras.utils.set_random_seed(0)
    generator, d_logits = gan_lib.models.build_models(
        config.model, (28, 28, 1), config.latent_dim, 0, config.width
    )
    discriminator = keras.Sequential([d_logits, keras.layers.Activation("sigmoid")])
    discriminator.compile(
        keras.optimizers.Adam(config.lr_d, config.beta_1), "binary_crossentropy", metrics=["accuracy"]
    )
    stacked = TutorialStackedGAN(generator, discriminator)
    stacked.compile(keras.optimizers.Adam(config.lr_g, config.beta_1), "binary_crossentropy")
    batch = config.batch_size
    iterator = iter(_real_batches(batch))
    labels = np.concatenate([np.ones((batch, 1)), np.zeros((batch, 1))]).astype(np.float32)
    ones = np.ones((batch, 1), np.float32)
    before = [w.copy() for w in d_logits.get_weights()]

    def step():
        real = next(iterator)[0].numpy()
        noise = np.random.standard_normal((batch, config.latent_dim)).astype(np.float32)
        fake = generator.predict(noise, verbose=0, batch_size=batch)
        discriminator.train_on_batch(np.concatenate([real, fake]), labels)
        noise = np.random.standard_normal((batch, config.latent_dim)).astype(np.float32)
        stacked.train_on_batch(noise, ones)

    rate = _timed(step, seconds) * batch
    d_moved = any(not np.allclose(a, b) for a, b in zip(before, d_logits.get_weights()))
    return Result(
        "tutorials: predict + 2x train_on_batch",
        rate,
        "G 2 fwd + 1 bwd; D 3 fwd + 2 bwd",
        "D learned" if d_moved else "D DID NOT LEARN",
    )


# -- 4. a minimal hand-written step ---------------------------------------------------------------


def bench_minimal(config: TrainConfig, seconds: float) -> Result:
    keras.utils.set_random_seed(0)
    generator, discriminator = gan_lib.models.build_models(
        config.model, (28, 28, 1), config.latent_dim, 0, config.width
    )
    g_opt = keras.optimizers.Adam(config.lr_g, config.beta_1)
    d_opt = keras.optimizers.Adam(config.lr_d, config.beta_1)
    loss = losses.get("bce")
    iterator = iter(_real_batches(config.batch_size))

    @tf.function
    def train_step(real):
        z = tf.random.normal((tf.shape(real)[0], config.latent_dim))
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(z, training=True)
            real_out, fake_out = discriminator(real, training=True), discriminator(fake, training=True)
            d_loss, g_loss = loss.d_loss(real_out, fake_out), loss.g_loss(fake_out)
        d_opt.apply_gradients(
            zip(d_tape.gradient(d_loss, discriminator.trainable_variables), discriminator.trainable_variables)
        )
        g_opt.apply_gradients(
            zip(g_tape.gradient(g_loss, generator.trainable_variables), generator.trainable_variables)
        )

    rate = _timed(lambda: train_step(next(iterator)[0]), seconds) * config.batch_size
    return Result("minimal tf.function step", rate, "as ours")


# -- training for a wall-clock budget (time-to-quality and the model-zoo table) ------------------


def train_for(config: TrainConfig, seconds: float, run) -> None:
    """Train ``run`` from scratch for about ``seconds`` of wall clock with the trainer's own time
    budget: it ends at the last epoch end that fits, and always finishes the first epoch, so there
    is a checkpoint to evaluate even when a busy machine is slower than the budget.

    Use a small ``steps_per_epoch`` so checkpoints (and so evaluation points) come often."""
    from ganlib.training.train import train

    train(config.replace(epochs=100_000, minutes=max(seconds / 60, SETTINGS["minutes"].low)), run)


# -- FLOPs -------------------------------------------------------------------------------------------


def forward_flops(model: keras.Model) -> int:
    """Multiply-add FLOPs (2 per MAC) of one image through Dense and convolution layers."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            h, w, _ = layer.input.shape[1:]
            kh, kw, out_c, in_c = layer.kernel.shape
            total += 2 * h * w * in_c * kh * kw * out_c
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, out_c = layer.output.shape[1:]
            kh, kw, in_c, _ = layer.kernel.shape
            total += 2 * h * w * out_c * kh * kw * in_c
    return total


def step_flops(config: TrainConfig) -> float:
    """FLOPs per real image of one training step: a backward pass costs two forwards; G runs on
    one batch, D on two (real and fake)."""
    generator, discriminator = gan_lib.models.build_models(
        config.model, (28, 28, 1), config.latent_dim, 0, config.width
    )
    return 3 * forward_flops(generator) + 3 * 2 * forward_flops(discriminator)


def matmul_flops_per_sec(seconds: float = 3.0, size: int = 2048) -> float:
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    run = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    steps = _timed(lambda: run().numpy(), seconds)
    return steps * 2 * size**3


# -- the report ----------------------------------------------------------------------------------------


def run(
    model: str = "dcgan",
    batch_size: int = 128,
    seconds: float = 20.0,
    width: float = 1.0,
    print_fn=print,
    steps_per_execution: int = 1,
) -> list[Result]:
    import tempfile

    config = TrainConfig(
        model=model, batch_size=batch_size, width=width, steps_per_execution=steps_per_execution
    )
    print_fn(
        f"bench: {model} width {width}, batch {batch_size}, ~{seconds:.0f} s each, {tf.config.threading.get_intra_op_parallelism_threads() or 'default'} threads"
    )
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            bench_ours(config, seconds, Path(tmp)),
            bench_ours_threaded(config, seconds, Path(tmp)),
            bench_tutorial(config, seconds),
            bench_minimal(config, seconds),
        ]
    baseline = results[2].images_per_sec
    ours = results[0].images_per_sec
    print_fn(f"{'contender':42s} {'images/s':>9s} {'vs tutorial':>11s} {'vs ours':>8s}  passes per step")
    for r in results:
        print_fn(
            f"{r.name:42s} {r.images_per_sec:9.0f} {r.images_per_sec / baseline:10.2f}x {r.images_per_sec / ours:7.2f}x  {r.passes}"
            + (f"  [{r.note}]" if r.note else "")
        )
    flops = step_flops(config)
    peak = matmul_flops_per_sec()
    achieved = flops * ours
    print_fn(
        f"model FLOPs per image-step {flops / 1e6:.1f} M; ours achieves {achieved / 1e9:.1f} GFLOP/s; "
        f"dense matmul {peak / 1e9:.1f} GFLOP/s; utilisation {100 * achieved / peak:.0f}%"
    )
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", choices=["dcgan", "mlp"], default="dcgan")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time per contender")
    parser.add_argument(
        "--steps-per-execution", type=int, default=1, help="for our trainer (Keras compile option)"
    )
    args = parser.parse_args()
    run(args.model, args.batch_size, args.seconds, args.width, steps_per_execution=args.steps_per_execution)


if __name__ == "__main__":
    main()
