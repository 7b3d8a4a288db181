"""Feature extractors for FID and friends.

The standard FID uses ImageNet InceptionV3 features, which cannot be downloaded here and fit 28x28
digits poorly. Like TF-GAN's MNIST metrics we use a small domain classifier instead, trained by
``python -m ganlib train-evaluator`` and shipped in ``ganlib/measure/evaluators/``. Its penultimate layer
gives the features; its softmax gives class predictions (coverage, Inception Score). Results name
the extractor honestly: "FID (MNIST-classifier features)".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganlib import GanlibError, atomic, deferred
from ganlib.data import catalog, datasets

keras, layers = deferred("keras"), deferred("keras.layers")  # imported when an evaluator loads
SHIPPED_DIR = Path(__file__).parent / "evaluators"
FEATURE_LAYER = "features"
INCEPTION_PREFIX = "inception:"


class EvaluatorError(GanlibError):
    pass


@dataclass
class Evaluator:
    """Maps uint8 images to (features, class probabilities)."""

    name: str  # used in cache keys
    label: str  # shown to people: "MNIST-classifier features"
    model: keras.Model  # outputs [features, probabilities]
    image_shape: tuple[int, int, int]
    class_names: list[str]
    preprocess: object = None

    def __call__(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        if tuple(images.shape[1:]) != tuple(self.image_shape) and self.preprocess is None:
            raise EvaluatorError(
                f"the {self.label} evaluator takes {self.image_shape} images, got {tuple(images.shape[1:])}"
            )
        feats, probs = [], []
        for i in range(0, len(images), batch_size):
            batch = images[i : i + batch_size]
            x = self.preprocess(batch) if self.preprocess else datasets.to_unit_range(batch)
            f, p = self.model(x, training=False)
            feats.append(np.asarray(f, np.float64))
            probs.append(np.asarray(p, np.float64))
        return np.concatenate(feats), np.concatenate(probs)


def build_classifier(image_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """A small CNN (about 0.3 M parameters, 1.3 MB of weights) with a 128-d feature layer."""
    inputs = keras.Input(image_shape)
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    features = layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    logits = layers.Dense(num_classes)(layers.Dropout(0.3)(features))
    probabilities = layers.Softmax()(logits)
    return keras.Model(inputs, [features, probabilities], name="evaluator")


def _slug(dataset: str) -> str:
    if dataset in catalog.BUILTIN:
        return dataset
    return "folder-" + hashlib.sha256(dataset.encode()).hexdigest()[:12]


def weights_path(dataset: str) -> Path:
    """Built-ins ship with the package; folder evaluators live in the data directory."""
    if dataset in catalog.BUILTIN:
        return SHIPPED_DIR / f"{dataset}.weights.h5"
    return catalog.data_dir() / "evaluators" / f"{_slug(dataset)}.weights.h5"


def label_for(dataset: str) -> str:
    names = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
    return f"{names.get(dataset, 'folder')}-classifier features"


def train_evaluator(
    dataset: str,
    epochs: int = 6,
    batch_size: int = 128,
    seed: int = 0,
    image_size: int | None = None,
    log=print,
) -> dict:
    """Train the classifier for ``dataset`` reproducibly and save its weights; returns its card."""
    train = datasets.load_dataset(dataset, "train", image_size)
    test = datasets.load_dataset(dataset, "test", image_size)
    if train.labels is None or train.num_classes < 2:
        raise EvaluatorError(f"{dataset} has no class labels: put images in one sub-folder per class")
    keras.utils.set_random_seed(seed)
    model = build_classifier(train.image_shape, train.num_classes)
    trainable = keras.Model(model.input, model.outputs[1])
    steps = epochs * (len(train) // batch_size + 1)
    trainable.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    x_train = np.asarray(datasets.to_unit_range(train.images))
    x_test = np.asarray(datasets.to_unit_range(test.images))
    trainable.fit(x_train, train.labels, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=2)
    _, accuracy = trainable.evaluate(x_test, test.labels, batch_size=1000, verbose=0)
    path = weights_path(dataset)
    atomic.write_with(path, model.save_weights)
    card = {
        "dataset": dataset,
        "image_shape": list(train.image_shape),
        "class_names": train.class_names,
        "test_accuracy": round(float(accuracy), 5),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        "command": f"python -m ganlib train-evaluator --dataset {dataset} --epochs {epochs}",
    }
    atomic.write_json(path.with_name(path.name.replace(".weights.h5", ".json")), card)
    log(f"{dataset}: test accuracy {accuracy:.4f}; weights in {path}")
    return card


def identify(dataset: str) -> tuple[str, str]:
    """The evaluator's (cache name, label) without loading it (no TensorFlow): what cached
    results are looked up by."""
    if dataset.startswith(INCEPTION_PREFIX):
        path = Path(dataset[len(INCEPTION_PREFIX) :])
        try:
            digest = hashlib.sha256(path.read_bytes()[: 1 << 20]).hexdigest()[:8]
        except OSError as exc:
            raise EvaluatorError(
                f"InceptionV3 weights file {path} cannot be read (it is never downloaded)"
            ) from exc
        return f"inception-{digest}", "InceptionV3 features"
    return _slug(dataset), label_for(dataset)


def load_evaluator(dataset: str) -> Evaluator:
    """The evaluator for a dataset name, or ``inception:PATH`` for InceptionV3 with local weights."""
    if dataset.startswith(INCEPTION_PREFIX):
        return _inception(Path(dataset[len(INCEPTION_PREFIX) :]))
    path = weights_path(dataset)
    card_path = path.with_name(path.name.replace(".weights.h5", ".json"))
    if not path.is_file() or not card_path.is_file():
        raise EvaluatorError(
            f"FID needs an evaluator for {dataset}: run `python -m ganlib train-evaluator --dataset {dataset}` "
            "(it trains a classifier on the dataset's labels)"
        )
    card = atomic.read_json(card_path)
    model = build_classifier(tuple(card["image_shape"]), len(card["class_names"]))
    try:
        model.load_weights(path)
    except Exception as exc:
        raise EvaluatorError(f"evaluator weights {path} are unreadable: {exc}") from exc
    return Evaluator(*identify(dataset), model, tuple(card["image_shape"]), card["class_names"])


def _inception(path: Path) -> Evaluator:
    """InceptionV3 pool features, only from a weights file the user has: never downloaded."""
    if not path.is_file():
        raise EvaluatorError(f"InceptionV3 weights file {path} does not exist (it is never downloaded)")
    import tensorflow as tf

    base = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")
    try:
        base.load_weights(path)
    except Exception as exc:
        raise EvaluatorError(f"cannot load InceptionV3 weights from {path}: {exc}") from exc
    uniform = keras.layers.Lambda(lambda f: tf.ones((tf.shape(f)[0], 1)))(base.output)
    model = keras.Model(base.input, [base.output, uniform])

    def preprocess(images):
        x = tf.image.resize(tf.cast(images, tf.float32), (299, 299))
        x = tf.image.grayscale_to_rgb(x) if images.shape[-1] == 1 else x
        return x / 127.5 - 1.0

    return Evaluator(*identify(INCEPTION_PREFIX + str(path)), model, (299, 299, 3), ["-"], preprocess)


def card(dataset: str) -> dict | None:
    path = weights_path(dataset)
    try:
        return json.loads(path.with_name(path.name.replace(".weights.h5", ".json")).read_text())
    except (OSError, ValueError):
        return None
