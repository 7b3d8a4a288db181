"""Sampling a generator with NumPy alone: no TensorFlow, no Keras.

Why: importing TensorFlow costs a process about 540 MB of memory (measured, docs/demo.md), more
than the smallest free host gives a whole app (690 MB). A shared demo link only ever *samples*
generators, so the app's server does that with this module and never imports TensorFlow.

What it runs: the generator's own Keras functional-model config (``model.get_config()``, saved
with the run as ``generator.json``), layer by layer, with the weights read from the checkpoint's
Keras ``.weights.h5`` (h5py; weights only, nothing is executed from the file) or from a ``.npz``
of the same arrays. It knows the layers the library's generators are made of, in inference mode;
a model with any other layer raises ``Unsupported`` and the caller samples with Keras instead.
``tests/test_inference.py`` checks every architecture of the zoo against Keras's own output.

This file imports nothing but NumPy (and h5py to read a checkpoint), so a NumPy export ships it
unchanged as ``sampler.py`` (``ganlib.export``); run there, it samples the exported generator:

    python sampler.py --count 16 --seed 0 [--label 7] --out samples.npy
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

Array = np.ndarray


_NONLINEAR = {"ReLU", "LeakyReLU", "Activation"}


class Unsupported(ValueError):
    """A generator this module cannot run (a layer it does not know, an unreadable file)."""


def to_uint8(images: Array) -> Array:
    """Generator output in [-1, 1] back to uint8 pixels (the inverse of
    ``ganlib.data.datasets.to_unit_range``)."""
    pixels = np.nan_to_num(np.asarray(images), nan=-1.0)  # a diverged G draws black, not garbage
    return np.clip(np.round((pixels + 1.0) * 127.5), 0, 255).astype(np.uint8)


def uniform_labels(count: int, num_classes: int) -> Array | None:
    """Balanced class labels for a conditional model's samples (None when unconditional)."""
    return (np.arange(count) % num_classes).astype(np.int32) if num_classes else None


def _snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: how ``.weights.h5`` names a layer by its class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _activation(name: str) -> Callable[[Array], Array]:
    functions = {
        "linear": lambda x: x,
        "tanh": np.tanh,
        "relu": lambda x: np.maximum(x, 0),
        "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    }
    if name not in functions:
        raise Unsupported(f"activation {name!r}")
    return functions[name]


def _conv2d_transpose(x: Array, kernel: Array, strides: tuple[int, int], padding: str) -> Array:
    """A transposed convolution (the gradient of a strided convolution): every input pixel adds
    ``kernel`` scaled by its value at ``stride`` spacing; 'same' crops the result to input x stride
    the way TensorFlow does (the lesser half of the overhang before, the rest after)."""
    n, h, w, _ = x.shape
    kh, kw, out_channels, _ = kernel.shape  # Keras: (height, width, out, in)
    sh, sw = strides
    full = np.zeros((n, (h - 1) * sh + kh, (w - 1) * sw + kw, out_channels), np.float32)
    for i in range(kh):
        for j in range(kw):
            full[:, i : i + (h - 1) * sh + 1 : sh, j : j + (w - 1) * sw + 1 : sw] += x @ kernel[i, j].T
    if padding == "valid":
        return full
    top, left = max(kh - sh, 0) // 2, max(kw - sw, 0) // 2
    return full[:, top : top + h * sh, left : left + w * sw]


def _layer(class_name: str, config: dict[str, Any], weights: list[Array]) -> Callable[..., Array]:
    """The inference-mode function of one Keras layer."""
    if class_name == "Dense":
        activation = _activation(config["activation"])
        bias = weights[1] if config["use_bias"] else 0
        return lambda x: activation(x @ weights[0] + bias)
    if class_name == "BatchNormalization":
        if config.get("axis", -1) not in (-1, [-1], [3], 3, [1], 1) or config.get("renorm"):
            raise Unsupported("BatchNormalization on an axis other than the last")
        it = iter(weights)
        gamma = next(it) if config.get("scale", True) else 1
        beta = next(it) if config.get("center", True) else 0
        mean, variance = next(it), next(it)
        factor = gamma / np.sqrt(variance + config["epsilon"])
        return lambda x: (x - mean) * factor + beta
    if class_name == "ReLU":
        if config.get("max_value") is not None or config.get("threshold", 0):
            raise Unsupported("ReLU with a cap or a threshold")
        slope = config.get("negative_slope", 0.0)
        return lambda x: np.where(x > 0, x, slope * x)
    if class_name == "LeakyReLU":
        slope = config.get("negative_slope", config.get("alpha", 0.3))
        return lambda x: np.where(x > 0, x, slope * x)
    if class_name == "Activation":
        return _activation(config["activation"])
    if class_name == "Rescaling":  # e.g. a sigmoid's [0, 1] onto [-1, 1] (ganlib.track adds it)
        scale, offset = config["scale"], config["offset"]
        if not all(isinstance(v, (int, float)) for v in (scale, offset)):
            raise Unsupported("Rescaling by a tensor")
        return lambda x: x * scale + offset
    if class_name == "Reshape":
        shape = tuple(config["target_shape"])
        return lambda x: x.reshape((len(x), *shape))
    if class_name == "Flatten":
        return lambda x: x.reshape(len(x), -1)
    if class_name == "Concatenate":
        axis = config.get("axis", -1)
        return lambda *xs: np.concatenate(xs, axis=axis)
    if class_name == "Embedding":
        return lambda labels: weights[0][np.asarray(labels, np.int64)]
    if class_name == "Conv2DTranspose":
        if config.get("data_format", "channels_last") != "channels_last" or tuple(
            config.get("dilation_rate", (1, 1))
        ) != (1, 1):
            raise Unsupported("Conv2DTranspose other than channels-last, undilated")
        activation = _activation(config["activation"])
        bias = weights[1] if config["use_bias"] else 0
        strides, padding = tuple(config["strides"]), config["padding"]
        return lambda x: activation(_conv2d_transpose(x, weights[0], strides, padding) + bias)
    raise Unsupported(f"layer {class_name}")


def _tensor_source(arg: dict[str, Any]) -> str:
    return arg["config"]["keras_history"][0]


def read_weights(model_config: dict[str, Any], path: Path) -> dict[str, list[Array]]:
    """``{layer name: its arrays in Keras's order}`` from a Keras ``.weights.h5`` (which names a
    layer by its class, in model order: dense, dense_1, ...) or from an ``.npz`` of
    ``"layer name/index"`` keys (what ``save_npz`` writes)."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as store:
            out: dict[str, list[Array]] = {}
            for key in sorted(store.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
                out.setdefault(key.rsplit("/", 1)[0], []).append(np.asarray(store[key], np.float32))
            return out
    import h5py  # only to read a checkpoint: an exported sampler reads .npz

    out, counts = {}, {}
    with h5py.File(path, "r") as store:
        for layer in model_config["layers"]:
            key = _snake_case(layer["class_name"])
            counts[key] = counts.get(key, -1) + 1
            stored = store.get(f"layers/{key}{'_' + str(counts[key]) if counts[key] else ''}/vars")
            if stored:
                out[layer["name"]] = [np.asarray(stored[str(i)], np.float32) for i in range(len(stored))]
    return out


def save_npz(weights: Mapping[str, list[Array]], path: Path) -> None:
    """Weights as ``read_weights`` reads them back from an ``.npz``."""
    np.savez(
        path, **{f"{name}/{i}": array for name, arrays in weights.items() for i, array in enumerate(arrays)}
    )


class NumpyGenerator:
    """A generator's forward pass in NumPy, sampled as ``GAN.sample`` samples a Keras one."""

    def __init__(
        self, model_config: dict[str, Any], weights: Path | Mapping[str, list[Array]], num_classes: int = 0
    ):
        """``weights``: a Keras ``.weights.h5`` or ``.npz`` file, or ``{layer name: arrays}``."""
        layers = {layer["name"]: layer for layer in model_config["layers"]}
        # A conditional generator's inputs are a latent vector and an integer label.
        inputs, output = model_config["input_layers"], model_config["output_layers"]
        inputs = [inputs] if isinstance(inputs[0], str) else inputs  # one input: not a list of them
        self.inputs = [(name, "int" in layers[name]["config"]["dtype"]) for name, _, _ in inputs]
        self.output = output[0] if isinstance(output[0], str) else output[0][0]
        latent_input = next(name for name, is_label in self.inputs if not is_label)
        self.latent_dim = int(layers[latent_input]["config"]["batch_shape"][-1])
        self.num_classes = num_classes
        self.conditional = any(is_label for _, is_label in self.inputs)
        if self.conditional and num_classes < 2:
            raise Unsupported("a conditional generator needs its number of classes")
        if not isinstance(weights, Mapping):
            weights = read_weights(model_config, Path(weights))
        self.steps: list[tuple[str, list[str], Callable[..., Array]]] = []
        self.kinds = {layer["name"]: layer["class_name"] for layer in model_config["layers"]}
        for layer in model_config["layers"]:
            if layer["class_name"] == "InputLayer":
                continue
            if len(layer["inbound_nodes"]) != 1:
                raise Unsupported(f"layer {layer['name']} is used more than once")
            args = layer["inbound_nodes"][0]["args"]
            sources = [_tensor_source(a) for a in (args[0] if isinstance(args[0], list) else args)]
            function = _layer(layer["class_name"], layer["config"], weights.get(layer["name"], []))
            self.steps.append((layer["name"], sources, function))

    @classmethod
    def from_files(cls, config_path: Path, weights_path: Path, num_classes: int = 0) -> NumpyGenerator:
        try:
            return cls(json.loads(Path(config_path).read_text()), weights_path, num_classes)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            if isinstance(exc, Unsupported):
                raise
            raise Unsupported(f"cannot read the generator ({type(exc).__name__}: {exc})") from exc

    def __call__(self, latents: Array, labels: Array | None = None, layer: str | None = None) -> Array:
        """tanh images in [-1, 1], float32, (N, H, W, C); with ``layer``, that layer's output."""
        values = {name: np.asarray(labels if is_label else latents) for name, is_label in self.inputs}
        for name, sources, function in self.steps:
            values[name] = function(*(values[s] for s in sources)).astype(np.float32, copy=False)
            if name == layer:
                return values[name]
        return values[self.output]

    @property
    def first_hidden_layer(self) -> str:
        """The first nonlinearity's layer (after the first Dense and its BatchNorm): the early
        feature space in which GANSpace looks for principal directions."""
        return next((name for name, kind in self.kinds.items() if kind in _NONLINEAR), self.output)

    def sample(self, latents: Array, labels: Array | None = None, batch_size: int = 500) -> Array:
        """uint8 images; conditional models get balanced labels by default (as ``GAN.sample``)."""
        if self.conditional and labels is None:
            labels = uniform_labels(len(latents), self.num_classes)
        out = [
            self(latents[i : i + batch_size], None if labels is None else labels[i : i + batch_size])
            for i in range(0, len(latents), batch_size)
        ]
        return to_uint8(np.concatenate(out)) if out else np.zeros((0,), np.uint8)


def main(argv: list[str] | None = None) -> None:
    """Sample the exported generator next to this file (export.json, generator.json,
    weights.npz) into a ``.npy`` of uint8 images, (N, height, width, channels)."""
    here = Path(__file__).resolve().parent
    about = json.loads((here / "export.json").read_text())
    parser = argparse.ArgumentParser(description=f"Sample {about['source']}: uint8 images to a .npy file.")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--label", type=int, help="the class to draw (conditional models; default: all, in turn)"
    )
    parser.add_argument("--out", default="samples.npy")
    args = parser.parse_args(argv)
    generator = NumpyGenerator.from_files(here / "generator.json", here / "weights.npz", about["num_classes"])
    latents = np.random.default_rng(args.seed).standard_normal((args.count, generator.latent_dim))
    labels = None if args.label is None else np.full(args.count, args.label, np.int32)
    images = generator.sample(latents.astype(np.float32), labels)
    np.save(args.out, images)
    print(f"{args.out}: {images.shape[0]} images of {images.shape[1:]} (uint8)")


if __name__ == "__main__":
    main()
