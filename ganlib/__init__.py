"""GAN Workbench library: data, models, losses, training, run storage, metrics and images.

The library never imports Streamlit; the app in ``app.py`` and ``pages/`` is a thin view over it.
Heavy modules (TensorFlow, Keras) are imported by the submodules that need them, so that
``python -m ganlib runs`` and the app's home page start quickly.
"""

import importlib
import os

# TensorFlow's C++ logging (oneDNN notices, remapper messages) is noise for our users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"


class GanlibError(Exception):
    """An error caused by user input or the environment, shown to the user as one clear line."""


class deferred:  # noqa: N801  (used like a module)
    """A module imported on first attribute use. ``models``, ``losses`` and ``features`` refer to
    Keras through this, so that importing them (the app's pages list architectures and losses,
    read cached results) costs no TensorFlow: about 540 MB a process spares (docs/demo.md)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self._name), attribute)


# The decorator that registers a generator/discriminator pair: the built-ins' and yours
# (ganlib/zoo/user_models.py). Last: ganlib.zoo.models needs GanlibError and deferred above.
from ganlib.zoo.models import architecture  # noqa: E402

__all__ = ["GanlibError", "architecture", "deferred"]
