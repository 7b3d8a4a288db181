"""Every model x loss combination trains, changes its weights and stays finite; the stabilisers work."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY_FLAGS as TINY
from conftest import ganlib_cli, tiny_config

from ganlib.config import QUICK_START, ConfigError, penalty_meets_batch_norm
from ganlib.runs import checkpoints
from ganlib.runs.records import METRIC_NAMES
from ganlib.runs.rundir import RunDir
from ganlib.sampling import latents
from ganlib.training import gan as gan_lib
from ganlib.training import model_io
from ganlib.training.train import train
from ganlib.zoo import losses, models

pytestmark = pytest.mark.slow  # minutes, not seconds: left out of the editing subset


def _changed(before, after):
    moved = [not np.allclose(a, b) for a, b in zip(before, after)]
    return sum(moved) / len(moved)


@pytest.mark.parametrize("loss", list(losses.LOSSES))
@pytest.mark.parametrize("model", list(models.ARCHITECTURES))
def test_every_combination_trains(runs_dir, model, loss):
    points = models.ARCHITECTURES[model].points  # a 2-D toy's model trains on a toy
    config = tiny_config(model=model, loss=loss, epochs=1, steps_per_epoch=2, log_every=1)
    if points:
        config = config.replace(dataset="toy:ring8")
    if penalty_meets_batch_norm(loss, model):
        with pytest.raises(ConfigError, match="BatchNorm"):
            train(config, RunDir(runs_dir, f"{model}-{loss}"))
        return
    initial = gan_lib.build_gan(config, (2,) if points else (28, 28, 1), num_classes=0 if points else 10)
    g0, d0 = initial.generator.get_weights(), initial.discriminator.get_weights()
    run = RunDir(runs_dir, f"{model}-{loss}")
    assert train(config, run) == "finished"
    trained, _ = model_io.load_models(run)
    assert _changed(g0, trained.generator.get_weights()) > 0.5
    assert _changed(d0, trained.discriminator.get_weights()) > 0.5
    for record in run.history():
        assert np.isfinite([record.metric(k) for k in METRIC_NAMES]).all(), record


@pytest.mark.parametrize("model", [a.name for a in models.ARCHITECTURES.values() if a.conditional])
def test_conditional_grid_has_one_row_per_class_and_labels_reach_both_networks(runs_dir, model):
    run = RunDir(runs_dir, "cond")
    train(tiny_config(model=model, epochs=1), run)
    gan, checkpoint = model_io.load_models(run)
    from ganlib.sampling import images

    grid = images.read_png(str(checkpoint.grid_path))
    assert grid.shape[0] == 10 * 30 + 2 and grid.shape[1] == 8 * 30 + 2  # 10 classes x 8 columns
    z = latents.fixed_latents(gan.latent_dim, 0, 4)
    as_three = gan.sample(z, np.full(4, 3, np.int32))
    as_seven = gan.sample(z, np.full(4, 7, np.int32))
    assert not np.array_equal(as_three, as_seven)  # the label reaches the generator...
    image = as_three.astype(np.float32) / 127.5 - 1
    scores = [gan.discriminator([image, np.full(4, label, np.int32)]) for label in (3, 7)]
    assert not np.allclose(*scores)  # ...and the discriminator
    from ganlib import evaluation

    result = evaluation.Engine(run, samples=300).evaluate()[0]  # labels reach D and G in evaluation too
    assert result.coverage.classes_covered >= 1 and 0 <= result.d_acc_real <= 1


def test_conditional_model_needs_labels(runs_dir, tmp_path):
    from PIL import Image

    tmp_path = tmp_path / "images"
    tmp_path.mkdir()
    for i in range(4):
        Image.new("L", (28, 28), i * 50).save(tmp_path / f"{i}.png")  # no class sub-folders
    with pytest.raises(ConfigError, match="needs class labels"):
        train(tiny_config(model="cdcgan", dataset=f"folder:{tmp_path}"), RunDir(runs_dir, "nolabels"))
    assert not (runs_dir / "nolabels").exists()


def test_wgan_gp_takes_several_critic_steps_per_generator_step(runs_dir):
    run = RunDir(runs_dir, "wgan")
    config = tiny_config(loss="wgan-gp", epochs=1, steps_per_epoch=2)
    gan = gan_lib.build_gan(config, (28, 28, 1))
    assert gan.d_steps == 5
    train(config, run)
    trained, checkpoint = model_io.load_models(run)
    from ganlib.training.gan import OptimizerState

    OptimizerState(trained.g_optimizer, trained.d_optimizer).load_weights(checkpoint.optimizer_path)
    assert int(trained.g_optimizer.iterations) == 2 and int(trained.d_optimizer.iterations) == 10


def test_stabilisers_train_and_ema_is_used_for_sampling(runs_dir):
    config = tiny_config(
        spectral_norm=True, instance_noise=0.1, label_flip=0.05, ema=0.9, label_smoothing=0.1
    )
    run = RunDir(runs_dir, "stable")
    train(config, run)
    gan, checkpoint = model_io.load_models(run)
    assert (checkpoint.path / checkpoints.EMA_FILE).is_file()
    assert gan.sampler is gan.ema_generator
    raw, ema = gan.generator.get_weights(), gan.ema_generator.get_weights()
    assert _changed(raw, ema) > 0.5  # the average lags the raw weights
    assert any("spectral" in layer.name for layer in gan.discriminator.layers)


def test_bool_flags_from_the_cli(runs_dir):
    ganlib_cli(
        "train",
        "--run",
        "flags",
        "--runs-dir",
        runs_dir,
        "--epochs",
        1,
        "--spectral-norm",
        "--ema",
        0.99,
        *TINY,
    )
    config = RunDir(runs_dir, "flags").config()
    assert config.spectral_norm is True and config.ema == 0.99


def test_colour_folder_at_32x32_trains_with_dcgan(runs_dir, tmp_path):
    from PIL import Image

    tmp_path = tmp_path / "images"  # beside, not above, the runs directory
    rng = np.random.default_rng(0)
    for cls in ("red", "blue"):
        for i in range(20):
            pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            pixels[..., 0 if cls == "red" else 2] = 255
            (tmp_path / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(tmp_path / cls / f"{i}.png")
    for model in ("dcgan", "cdcgan"):
        run = RunDir(runs_dir, f"colour-{model}")
        train(tiny_config(dataset=f"folder:{tmp_path}", model=model, batch_size=8, epochs=1), run)
        gan, checkpoint = model_io.load_models(run)
        assert gan.sample(latents.fixed_latents(gan.latent_dim, 0, 2)).shape == (2, 32, 32, 3)


def test_ema_follows_the_generator_with_a_warm_up():
    config = tiny_config(ema=0.999)
    gan = gan_lib.build_gan(config, (28, 28, 1))
    real = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype(np.float32)
    labels = np.zeros(16, np.int32)
    expected = gan.generator.get_weights()
    for step in range(1, 4):
        gan.train_step((real, labels))  # one eager step: D and G update, then the EMA
        decay = min(0.999, (1 + step) / (10 + step))  # step = G's update count after the update
        expected = [decay * e + (1 - decay) * w for e, w in zip(expected, gan.generator.get_weights())]
        for average, want in zip(gan.ema_generator.get_weights(), expected):
            np.testing.assert_allclose(average, want, rtol=1e-4, atol=1e-6)


def test_each_critic_step_takes_a_fresh_real_batch(monkeypatch):
    # WGAN-GP as published: every critic update draws new real images (keras.io's example reuses one).
    config = tiny_config(model="mlp", loss="wgan-gp", d_steps=3, batch_size=4)
    assert config.critic_steps() == 3
    gan = gan_lib.build_gan(config, (28, 28, 1))
    seen = []
    discriminate = gan._discriminate

    def recording(images, labels, salt):
        if salt % 10 == 1:  # the critic's pass over the real images
            seen.append(float(np.mean(images)))
        return discriminate(images, labels, salt)

    monkeypatch.setattr(gan, "_discriminate", recording)
    # Three interleaved batches of 4 (rows i, i + 3, ...: see GAN._critic_batches), each a
    # different constant image: -1, 0 and 1.
    reals = np.tile(np.array([-1.0, 0.0, 1.0], np.float32), 4)[:, None, None, None] * np.ones((1, 28, 28, 1))
    gan.train_step((reals.astype(np.float32), np.zeros(12, np.int32)))
    assert seen == pytest.approx([-1.0, 0.0, 1.0], abs=1e-6)


def test_the_r1_penalty_flattens_d_at_the_real_images_and_leaves_gs_update_alone():
    # The quick-start model with R1 on and off, from the same weights, on the same real batch.
    real = tf.constant(np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)), tf.float32)
    labels = tf.constant(np.arange(16) % 10, tf.int32)

    def trained(r1, steps):
        config = QUICK_START.replace(width=0.25, r1=r1)
        gan = gan_lib.build_gan(config, (28, 28, 1), num_classes=10)
        g_before = gan.generator.get_weights()
        for _ in range(steps):
            gan.train_step((real, labels))
        return gan, g_before

    def squared_gradient_norm(gan):
        with tf.GradientTape() as tape:
            tape.watch(real)
            total = tf.reduce_sum(gan.discriminator([real, labels], training=False))
        return float(tf.reduce_mean(tf.reduce_sum(tf.square(tape.gradient(total, real)), axis=[1, 2, 3])))

    (plain, g0), (penalised, g1) = trained(0.0, 1), trained(10.0, 1)
    for a, b in zip(g0, g1):
        np.testing.assert_array_equal(a, b)  # the same start
    # One step: G's update does not see the penalty (it is D's alone); D's does.
    for a, b in zip(plain.generator.get_weights(), penalised.generator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert _changed(plain.discriminator.trainable_weights, penalised.discriminator.trainable_weights) > 0.5
    # Trained on: D's gradient at the real images is far smaller with the penalty than without.
    (plain, _), (penalised, _) = trained(0.0, 30), trained(10.0, 30)
    assert squared_gradient_norm(penalised) < 0.5 * squared_gradient_norm(plain)
