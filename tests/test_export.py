"""Exporting a checkpoint's generator: each format draws what the checkpoint draws from the same
latents, and loads in a fresh Python that cannot import ganlib."""

import io
import json
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from conftest import ROOT, ganlib_cli, tree_digest

from ganlib import export
from ganlib.runs.rundir import RunDir
from ganlib.sampling import latents
from ganlib.training import model_io

DEMO = RunDir(ROOT / "checkpoints", "demo-mnist")  # conditional, EMA, the shipped figures

# Run in a fresh interpreter where ``import ganlib`` fails: what the export needs is in it.
WITHOUT_GANLIB = "import sys; sys.modules['ganlib'] = None\n"
LOADERS = {
    "numpy": """
        sys.path.insert(0, folder)
        import sampler
        about = json.load(open(folder + "/export.json"))
        g = sampler.NumpyGenerator.from_files(folder + "/generator.json", folder + "/weights.npz", about["num_classes"])
        pixels = g(z, labels)
    """,
    "savedmodel": """
        import tensorflow as tf
        model = tf.saved_model.load(folder)  # kept: its variables live as long as it does
        pixels = (model.serve(z, labels) if labels is not None else model.serve(z))["pixels"].numpy()
    """,
    "tflite": """
        import tensorflow as tf
        runner = tf.lite.Interpreter(model_path=folder).get_signature_runner("serving_default")
        pixels = runner(latent=z, **({} if labels is None else {"label": labels}))["pixels"]
    """,
    "onnx": """
        import onnxruntime
        session = onnxruntime.InferenceSession(folder)
        pixels = session.run(["pixels"], {"latent": z, **({} if labels is None else {"label": labels})})[0]
    """,
}


def _pixels_in_a_fresh_process(fmt, path, z, labels, tmp_path):
    np.save(tmp_path / "z.npy", z)
    if labels is not None:
        np.save(tmp_path / "labels.npy", labels)
    script = (
        WITHOUT_GANLIB
        + textwrap.dedent(f"""
        import json, os
        import numpy as np
        folder = {str(path)!r}
        z = np.load("z.npy")
        labels = np.load("labels.npy") if os.path.exists("labels.npy") else None
    """)
        + textwrap.dedent(LOADERS[fmt])
        + "np.save('pixels.npy', pixels)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(tmp_path / "pixels.npy")


def _checkpoint_pixels(run, z, labels):
    gan, _ = model_io.load_models(run)
    return np.asarray(gan.sampler([z, labels] if gan.conditional else z, training=False))


def _inputs(run):
    sampler = model_io.load_sampler(run)
    z = latents.truncated_latents(sampler.latent_dim, seed=5, count=12)
    return z, latents.uniform_labels(12, sampler.num_classes) if sampler.conditional else None


def test_the_numpy_export_draws_the_checkpoints_images_with_numpy_alone(trained_run, tmp_path):
    for run in (DEMO, trained_run):  # conditional with EMA; unconditional without
        before = tree_digest(run.path)
        out = export.export(run, None, "numpy", tmp_path / run.name / "numpy")
        assert sorted(p.name for p in out.iterdir()) == [
            "export.json",
            "generator.json",
            "sampler.py",
            "weights.npz",
        ]
        z, labels = _inputs(run)
        pixels = _pixels_in_a_fresh_process("numpy", out, z, labels, tmp_path / run.name)
        assert np.abs(pixels - _checkpoint_pixels(run, z, labels)).max() <= 1e-4
        assert tree_digest(run.path) == before  # exporting reads the run, never writes it
    # Its own command line, as the export's user runs it: uint8 images of the asked class.
    done = subprocess.run(
        [sys.executable, "sampler.py", "--count", "5", "--label", "3", "--out", "five.npy"],
        cwd=tmp_path / DEMO.name / "numpy", capture_output=True, text=True, check=True,
    )  # fmt: skip
    images = np.load(tmp_path / DEMO.name / "numpy" / "five.npy")
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8 and "5 images" in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("fmt, tolerance", [("savedmodel", 1e-4), ("tflite", 1e-2), ("onnx", 1e-4)])
def test_savedmodel_tflite_and_onnx_exports_draw_the_checkpoints_images_without_ganlib(
    fmt, tolerance, trained_run, tmp_path
):
    for run in (DEMO, trained_run):
        out = export.export(run, None, fmt, tmp_path / run.name / fmt)
        z, labels = _inputs(run)
        pixels = _pixels_in_a_fresh_process(fmt, out, z, labels, tmp_path / run.name)
        assert np.abs(pixels - _checkpoint_pixels(run, z, labels)).max() <= tolerance
    if fmt == "savedmodel":  # its uint8 images are the app's, up to rounding
        import tensorflow as tf

        model = tf.saved_model.load(str(tmp_path / DEMO.name / fmt))
        z, labels = _inputs(DEMO)
        served = model.signatures["serving_default"](latent=z, label=labels)["images"]
        drawn = model_io.load_models(DEMO)[0].sample(z, labels)
        assert served.dtype == tf.uint8 and np.abs(served.numpy().astype(int) - drawn.astype(int)).max() <= 1


def test_a_download_is_the_export_zipped_and_the_cli_refuses_bad_requests(tmp_path):
    with zipfile.ZipFile(io.BytesIO(export.archive(DEMO, 16, "numpy"))) as zipped:
        assert {"numpy/sampler.py", "numpy/weights.npz", "numpy/export.json"} <= set(zipped.namelist())
        assert "epoch 16" in json.loads(zipped.read("numpy/export.json"))["source"]
    (tmp_path / "taken").mkdir()
    bad = ganlib_cli(
        "export", "--run", DEMO.path, "--format", "numpy", "--out", tmp_path / "taken", check=False
    )
    assert bad.returncode == 2 and "exists" in bad.stderr and "Traceback" not in bad.stderr
    bad = ganlib_cli(
        "export",
        "--run",
        DEMO.path,
        "--epoch",
        "7",
        "--format",
        "numpy",
        "--out",
        tmp_path / "x",
        check=False,
    )
    assert bad.returncode == 2 and "epoch 7" in bad.stderr and not (tmp_path / "x").exists()
    bad = ganlib_cli("export", "--run", DEMO.path, "--format", "pickle", "--out", tmp_path / "y", check=False)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
