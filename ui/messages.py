"""What a page says when something fails: the library's sentence, fit for whoever reads it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import streamlit as st

from ganlib import GanlibError
from ui import server
from workbench.jobs import JobBusy

log = logging.getLogger("ganlib.app")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\";,()\\/]+)+[\\/]?")


def public_text(text: str) -> str:
    """A message fit for a stranger: absolute paths cut to their last part."""
    return _PATH.sub(lambda m: re.split(r"[\\/]", m.group(0).rstrip("\\/"))[-1], text)


def show_error(exc: Exception) -> None:
    """One line on the page. For the public: the library's own message without the host's
    paths, anything else a plain sentence; the details go to the server's log."""
    if not server.policy().public:
        st.error(str(exc) if isinstance(exc, GanlibError) else f"{type(exc).__name__}: {exc}")
        return
    log.warning("an error shown to the public", exc_info=exc)
    if isinstance(exc, GanlibError):
        st.error(public_text(str(exc)))
    else:
        st.error("Something went wrong here; the details are in the server's log.")


def show_job_error(error: str) -> None:
    """Why a training job stopped. A crashed worker's message holds the end of its stderr
    (TensorFlow's log, traceback lines): for the public only the server's log gets it."""
    if server.policy().public:
        log.warning("training failed: %s", error)
        st.error("Training stopped with an error; the details are in the server's log.")
    else:
        st.error(f"Training failed: {error}")


def start_job(action: Callable[[], object]) -> None:
    """Run ``action`` (a job manager's start, resume or sweep), saying why it did not start;
    rerun the page when it did."""
    try:
        action()
    except JobBusy as exc:
        st.warning(str(exc))
        return
    except GanlibError as exc:
        show_error(exc)
        return
    st.rerun()
