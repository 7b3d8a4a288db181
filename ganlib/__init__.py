"""GAN Workbench library: data, models, losses, training, run storage, metrics and images.

The library never imports Streamlit; the app in ``app.py`` and ``pages/`` is a thin view over it.
Heavy modules (TensorFlow, Keras) are imported by the submodules that need them, so that
``python -m ganlib runs`` and the app's home page start quickly.
"""

import os

# TensorFlow's C++ logging (oneDNN notices, remapper messages) is noise for our users.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"


class GanlibError(Exception):
    """An error caused by user input or the environment, shown to the user as one clear line."""
