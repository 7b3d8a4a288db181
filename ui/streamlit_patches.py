"""The app's two patches of Streamlit's private internals, kept here and nowhere else.

Each replaces one attribute that Streamlit does not document; ``tests/test_streamlit_patches.py``
checks that both attributes are still where these patches expect them, so an upgrade that moves
one fails a test instead of silently undoing the patch. ``apply()`` runs with the navigation, on
every script run (each patch is a plain assignment, so applying it again changes nothing).
"""

from __future__ import annotations

import contextlib
import sys

from starlette.exceptions import HTTPException
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import script_runner


def keep_keras_session() -> None:
    """Streamlit calls ``keras.backend.clear_session()`` after every script run once Keras is
    imported, to free the models a script built. Ours are built only inside cached loaders, so
    there is nothing to free, and the call costs a ``gc.collect()`` over TensorFlow's heap and a
    reset of its caches on every rerun: every second on the live Train page, on every widget
    change elsewhere (docs/live-train-page.md). Keep Streamlit's other clean-up (matplotlib figures)."""

    def clean_problem_modules_but_keras() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            with contextlib.suppress(Exception):
                plt.close("all")

    script_runner._clean_problem_modules = clean_problem_modules_but_keras


def refuse_uploads() -> None:
    """The app has no file uploader, yet Streamlit's upload endpoint (``PUT
    /_stcore/upload_file/SESSION/FILE``) takes files for any live session, any number of file
    ids, each up to ``server.maxUploadSize``, and keeps them in memory until the session ends: a
    way to fill a small host's memory. Refuse every upload at the server's file manager (403);
    config.toml keeps the size a refused request may send at 1 MB."""
    if not Runtime.exists():  # AppTest and bare mode run without a server
        return

    def refuse(session_id: str, file) -> None:
        raise HTTPException(status_code=403, detail="this app takes no uploads")

    Runtime.instance().uploaded_file_mgr.add_file = refuse


def apply() -> None:
    keep_keras_session()
    refuse_uploads()
