"""Sampling without TensorFlow: the NumPy generator computes what Keras computes, for every
architecture of the zoo, and the app's server samples the shipped demo runs without importing
TensorFlow at all."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, tiny_config

from ganlib import GanlibError, directions
from ganlib.runs.rundir import RunDir
from ganlib.sampling import latents
from ganlib.sampling.inference import NumpyGenerator, Unsupported, _snake_case
from ganlib.training import model_io
from ganlib.training.gan import build_gan
from ganlib.zoo import models


def _randomised(gan):
    """Move every weight, BatchNorm's moving statistics included, off its initial value, so
    that inference mode (moving mean and variance, not the batch's) is what is compared."""
    rng = np.random.default_rng(0)
    for variable in gan.sampler.weights:
        shape = tuple(variable.shape)
        # Kernels scaled by their fan-in keep activations near 1, as in a trained network: with
        # a fixed 0.3 the mlp's 1024-wide layers reach hundreds, where float32's own rounding
        # differs between NumPy and oneDNN by more than the tolerance below on some CPUs.
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        value = rng.normal(0, min(0.3, 1.5 / np.sqrt(fan_in)), shape)
        if "variance" in variable.path:
            value = rng.uniform(0.5, 2.0, shape)
        variable.assign(value.astype(np.float32))


@pytest.mark.parametrize("model", list(models.ARCHITECTURES))
@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3)])
def test_the_numpy_generator_computes_what_keras_computes(model, image_shape, tmp_path):
    num_classes = 10 if models.ARCHITECTURES[model].conditional else 0
    gan = build_gan(tiny_config(model=model, ema=0.0), image_shape, num_classes, seeded=False)
    _randomised(gan)
    weights = tmp_path / "g.weights.h5"
    gan.sampler.save_weights(weights)
    numpy_generator = NumpyGenerator(json.loads(json.dumps(gan.sampler.get_config())), weights, num_classes)
    z, labels = latents.grid_inputs(gan.latent_dim, seed=3, num_classes=num_classes)
    inputs = [z, labels] if num_classes else z
    expected = np.asarray(gan.sampler(inputs, training=False))
    np.testing.assert_allclose(numpy_generator(z, labels), expected, atol=2e-5, rtol=1e-4)
    assert numpy_generator.conditional == bool(num_classes)


def test_weights_are_found_under_the_names_keras_gives_them():
    from keras.src.utils import naming

    for layer in ["Conv2DTranspose", "BatchNormalization", "ReLU", "LeakyReLU", "InputLayer", "Dense"]:
        assert _snake_case(layer) == naming.to_snake_case(layer)


def test_a_trained_run_is_sampled_without_keras_and_draws_the_same_images(trained_run):
    sampler = model_io.load_sampler(trained_run, 3)
    assert isinstance(sampler, NumpyGenerator)  # the run saved its generator's config
    gan, _ = model_io.load_models(trained_run, 3)
    z = latents.truncated_latents(gan.latent_dim, seed=1, count=16, truncation=0.7)
    difference = np.abs(sampler.sample(z).astype(int) - gan.sample(z).astype(int))
    assert difference.max() <= 1  # float32 rounding may move a pixel by one level


def test_a_generator_with_a_layer_it_does_not_know_is_sampled_with_keras(runs_dir):
    from ganlib.training.train import train

    run = RunDir(runs_dir, "unknown-layer")
    train(tiny_config(epochs=1), run)
    config = json.loads(run.generator_config_path.read_text())
    config["layers"][-1]["class_name"] = "Conv3DTranspose"
    run.generator_config_path.write_text(json.dumps(config))
    with pytest.raises(Unsupported, match="Conv3DTranspose"):
        NumpyGenerator(config, run.checkpoint().sampler_path)
    sampler = model_io.load_sampler(run)
    assert not isinstance(sampler, NumpyGenerator)
    assert sampler.sample(latents.fixed_latents(sampler.latent_dim, 0, 2)).shape == (2, 28, 28, 1)
    with pytest.raises(GanlibError, match="directions are found and steered with NumPy"):
        directions.find_and_save(run)  # the Steer sliders need the NumPy sampler: said in a sentence


@pytest.mark.slow
def test_the_demo_servers_pages_never_import_tensorflow(tmp_path):
    # TensorFlow's import alone is ~540 MB; a free host gives the whole app 690 MB. Walk every
    # page of both shipped runs in demo mode, draw samples, and look at what was imported.
    script = f"""
import os, shutil, sys
os.environ.update(GANLIB_DEMO="1", GANLIB_OFFLINE="1", GANLIB_RUNS_DIR={str(tmp_path / "runs")!r})
shutil.copytree({str(ROOT / "checkpoints")!r}, {str(tmp_path / "runs")!r})
from streamlit.testing.v1 import AppTest
for run in ("demo-mnist", "demo-fashion-mnist"):
    for page in ("pages/home.py", "pages/gallery.py", "pages/evaluate.py", "pages/train.py", "pages/compare.py"):
        at = AppTest.from_file({str(ROOT / "app.py")!r}, default_timeout=120)
        at.query_params["run"] = run
        at.run()
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        if page == "pages/gallery.py":
            assert len(at.get("image")) >= 6
            next(s for s in at.slider if s.label.startswith("slant")).set_value(2.0).run()  # Steer
            assert any(i.proto.imgs[0].caption.endswith("slant +2.0") for i in at.get("image"))
        for label in [b.label for b in at.button if not b.disabled]:  # a visitor clicks everything
            button = next((b for b in at.button if b.label == label), None)
            if button is not None and not button.disabled:
                button.click().run()
                assert not at.exception, [e.value for e in at.exception]
print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
