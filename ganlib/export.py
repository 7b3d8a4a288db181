"""A checkpoint's generator, exported for use without this library or the dataset.

Four formats, each drawing what the checkpoint draws from the same latents (and labels):

- ``savedmodel``: a TensorFlow SavedModel (Keras's ``ExportArchive``) whose ``serve`` signature
  (also ``serving_default``) takes ``latent`` (float32, N x latent size) and, for a conditional
  model, ``label`` (int32, N) and returns ``images`` (uint8, N x H x W x C) and ``pixels`` (the
  generator's float output in [-1, 1]). TensorFlow Serving and ``tf.saved_model.load`` read it.
- ``tflite``: the same signature converted by TensorFlow's TFLite converter (one file), for
  phones and the LiteRT interpreter.
- ``onnx``: the same signature as an ONNX model (tf2onnx, an optional install), for ONNX Runtime
  and every framework that reads ONNX.
- ``numpy``: a folder that needs only NumPy: the generator's Keras config (``generator.json``),
  its weights (``weights.npz``), ``export.json`` (the latent size, classes and where it came
  from) and ``sampler.py``, the library's own NumPy sampler (``ganlib/sampling/inference.py``,
  which imports nothing from ganlib): ``python sampler.py --count 16 --out samples.npy``.

The weights exported are the ones samples are drawn from: the EMA generator's when the run kept
one. ``python -m ganlib export`` writes a format to a path; the Gallery offers each as a download
(``archive``). The numpy format needs no TensorFlow, so the demo server offers it too.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from enum import StrEnum
from pathlib import Path

from ganlib import GanlibError
from ganlib.runs.rundir import RunDir
from ganlib.sampling import inference
from ganlib.training import model_io


class Format(StrEnum):
    SAVEDMODEL = "savedmodel"
    TFLITE = "tflite"
    ONNX = "onnx"
    NUMPY = "numpy"


# What each format is called in a download: a folder travels as a .zip.
DOWNLOAD_NAMES = {
    Format.SAVEDMODEL: "savedmodel.zip",
    Format.TFLITE: "generator.tflite",
    Format.ONNX: "generator.onnx",
    Format.NUMPY: "numpy.zip",
}
NEEDS_TENSORFLOW = {Format.SAVEDMODEL, Format.TFLITE, Format.ONNX}


def _about(run: RunDir, epoch: int | None, conditional: bool) -> dict:
    """export.json: what the export takes and where it came from."""
    checkpoint = run.checkpoint(epoch)
    meta = run.meta()
    return {
        "source": f"{run.name}, epoch {checkpoint.epoch} (step {checkpoint.step})",
        "fingerprint": checkpoint.fingerprint,
        "latent_dim": int(meta["config"]["latent_dim"]),
        "num_classes": int(meta.get("num_classes") or 0) if conditional else 0,  # 0: no label input
        "image_shape": list(meta["image_shape"]),
    }


def _write_numpy(run: RunDir, epoch: int | None, folder: Path) -> None:
    checkpoint = run.checkpoint(epoch)
    if not checkpoint.has_generator:
        raise GanlibError(
            f"epoch {checkpoint.epoch} of {run.name} stored samples, not a generator: nothing to export"
        )
    if not run.generator_config_path.is_file():
        raise GanlibError(f"{run.name} saved no generator config (generator.json): export it as savedmodel")
    config = json.loads(run.generator_config_path.read_text())
    weights = inference.read_weights(config, checkpoint.sampler_path)
    # Load it the way sampler.py will: a layer the NumPy sampler does not know fails here, not there.
    generator = inference.NumpyGenerator(config, weights, int(run.meta().get("num_classes") or 0))
    about = _about(run, checkpoint.epoch, generator.conditional)
    folder.mkdir(parents=True)
    (folder / "generator.json").write_text(json.dumps(config))
    inference.save_npz(weights, folder / "weights.npz")
    (folder / "export.json").write_text(json.dumps(about, indent=1))
    shutil.copyfile(inference.__file__, folder / "sampler.py")


def _serving(run: RunDir, epoch: int | None):
    """The sampled generator, its serving function (latent [and label] -> ``images`` uint8 and
    ``pixels`` in [-1, 1]), the function's input signature, and export.json."""
    import tensorflow as tf

    gan, _ = model_io.load_models(run, epoch)
    generator = gan.sampler
    latent = tf.TensorSpec([None, gan.latent_dim], tf.float32, name="latent")
    label = tf.TensorSpec([None], tf.int32, name="label")

    def outputs(pixels):
        pixels = tf.cast(pixels, tf.float32)
        # As inference.to_uint8: NaN (a diverged G) draws black, [-1, 1] maps onto 0..255.
        safe = tf.where(tf.math.is_nan(pixels), -tf.ones_like(pixels), pixels)
        images = tf.cast(tf.clip_by_value(tf.round((safe + 1.0) * 127.5), 0.0, 255.0), tf.uint8)
        return {"images": images, "pixels": pixels}

    if gan.conditional:
        serve = lambda latent, label: outputs(generator([latent, label], training=False))  # noqa: E731
        return generator, serve, [latent, label], _about(run, epoch, True)
    return (
        generator,
        lambda latent: outputs(generator(latent, training=False)),
        [latent],
        _about(run, epoch, False),
    )


def _serving_archive(run: RunDir, epoch: int | None):
    """A Keras ``ExportArchive`` of the sampled generator with the ``serve`` endpoint, and its
    export.json."""
    import keras

    generator, serve, signature, about = _serving(run, epoch)
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serve", serve, input_signature=signature)
    return archive, about


def _write_savedmodel(run: RunDir, epoch: int | None, folder: Path) -> None:
    archive, about = _serving_archive(run, epoch)
    archive.write_out(str(folder), verbose=False)
    (folder / "export.json").write_text(json.dumps(about, indent=1))


def _write_tflite(run: RunDir, epoch: int | None, path: Path) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as scratch:
        saved = Path(scratch) / "savedmodel"
        _serving_archive(run, epoch)[0].write_out(str(saved), verbose=False)
        path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert())


def _write_onnx(run: RunDir, epoch: int | None, path: Path) -> None:
    import tensorflow as tf

    try:
        import tf2onnx
    except ImportError:
        raise GanlibError("the onnx format needs tf2onnx: pip install tf2onnx") from None
    _, serve, signature, _ = _serving(run, epoch)
    function = tf.function(serve, input_signature=signature)
    tf2onnx.convert.from_function(function, input_signature=signature, output_path=str(path))


_WRITERS = {
    Format.SAVEDMODEL: _write_savedmodel,
    Format.TFLITE: _write_tflite,
    Format.ONNX: _write_onnx,
    Format.NUMPY: _write_numpy,
}


def export(run: RunDir, epoch: int | None, fmt: Format | str, out: Path) -> Path:
    """Write ``run``'s generator at ``epoch`` (default: newest) as ``fmt`` to ``out`` (a folder,
    or a file for tflite), all at once: it appears complete or not at all. Refuses to overwrite."""
    fmt, out = Format(fmt), Path(out)
    if out.exists():
        raise GanlibError(f"{out} exists: choose a new path (an export never overwrites)")
    run.checkpoint(epoch)  # a missing checkpoint or run is named before any work
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as scratch:
        partial = Path(scratch) / out.name
        _WRITERS[fmt](run, epoch, partial)
        partial.rename(out)  # same file system: atomic
    return out


def archive(run: RunDir, epoch: int | None, fmt: Format | str) -> bytes:
    """The export as one download: the tflite file, or a folder as a .zip."""
    fmt = Format(fmt)
    with tempfile.TemporaryDirectory() as scratch:
        out = export(run, epoch, fmt, Path(scratch) / fmt.value)
        if out.is_file():
            return out.read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    zipped.write(path, Path(fmt.value) / path.relative_to(out))
        return buffer.getvalue()
