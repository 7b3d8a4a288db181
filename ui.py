"""What the app's pages share: the process-wide job manager, settings, cached loaders, charts.

Only view code lives here; everything it computes comes from ``ganlib``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import streamlit as st

from ganlib import GanlibError, checkpoints
from ganlib.jobs import JobManager
from ganlib.rundir import RunDir, default_runs_dir, list_runs


def _stop_streamlit_clearing_keras() -> None:
    """Streamlit calls ``keras.backend.clear_session()`` after every script run once Keras is
    imported, to free the models a script built. Ours are built only inside cached loaders, so
    there is nothing to free, and the call costs a ``gc.collect()`` over TensorFlow's heap and a
    reset of its caches on every rerun: every second on the live Train page, on every widget
    change elsewhere (issue 12). Keep Streamlit's other clean-up (matplotlib figures)."""
    from streamlit.runtime.scriptrunner import script_runner

    def clean_problem_modules_but_keras() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            with contextlib.suppress(Exception):
                plt.close("all")

    script_runner._clean_problem_modules = clean_problem_modules_but_keras


_stop_streamlit_clearing_keras()


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str


PAGES = {
    "home": PageSpec("pages/home.py", "Home", ":material/home:"),
    "train": PageSpec("pages/train.py", "Train", ":material/model_training:"),
    "gallery": PageSpec("pages/gallery.py", "Gallery", ":material/photo_library:"),
    "evaluate": PageSpec("pages/evaluate.py", "Evaluate", ":material/query_stats:"),
}
_app_has_run = False  # set by the first run of app.py in this process


def navigation() -> st.Page:
    """The app's page config and navigation: what ``app.py`` runs on every script run."""
    global _app_has_run
    _app_has_run = True
    st.set_page_config(page_title="GAN Workbench", page_icon=":material/tune:", layout="wide")
    pages = [st.Page(p.path, title=p.title, icon=p.icon, default=key == "home") for key, p in PAGES.items()]
    return st.navigation(pages)


def route_through_app() -> None:
    """Call first in every page. A shared link often opens on a server that has served nothing yet
    (free hosts put idle apps to sleep). Until ``app.py`` has called ``st.navigation`` once,
    Streamlit treats ``pages/`` as a legacy pages folder: ``/gallery`` runs this page without
    ``app.py`` (no page config, the folder's file names as navigation, "app" offered as a page).
    In that case install the app's navigation and run again, through ``app.py``, keeping the
    URL's page and query parameters."""
    if not _app_has_run:
        navigation()
        st.rerun()


def demo_mode() -> bool:
    """Read-only demo for a shared public link: GANLIB_DEMO=1 or ``demo = true`` in secrets."""
    if os.environ.get("GANLIB_DEMO") == "1":
        return True
    try:
        return bool(st.secrets.get("demo", False))
    except Exception:  # no secrets file, or an unreadable one: not a demo
        return False


def runs_dir():
    return default_runs_dir()


@st.cache_resource
def job_manager(path: str) -> JobManager:
    """One manager per process and runs directory, shared by every tab and session."""
    manager = JobManager(path)
    if os.environ.get("GANLIB_AUTO_RESUME", "1") == "1" and not demo_mode():
        with contextlib.suppress(GanlibError):  # e.g. another process holds the run's lock
            manager.recover()  # a restarted app picks up the run it was training
    return manager


def manager() -> JobManager:
    return job_manager(str(runs_dir()))


def run_names() -> list[str]:
    return [run.name for run in list_runs(runs_dir())]


def pick_run(label: str = "Run", key: str = "run") -> RunDir | None:
    """A run select box that follows ``?run=NAME`` in the URL (validated against the list) and
    carries the chosen run from page to page."""
    names = run_names()
    if not names:
        st.info("No runs yet. Start one on the Train page, or `python -m ganlib train` on the command line.")
        return None
    # The URL's run, else the run this session looked at last on any page, else the newest.
    wanted = st.query_params.get("run") or st.session_state.get("last_run")
    index = names.index(wanted) if wanted in names else 0
    name = st.selectbox(label, names, index=index, key=key)
    st.query_params["run"] = name
    st.session_state["last_run"] = name
    return RunDir(runs_dir(), name)


def show_error(exc: Exception) -> None:
    st.error(str(exc) if isinstance(exc, GanlibError) else f"{type(exc).__name__}: {exc}")


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average for noisy curves (TensorBoard's smoothing): 0 = raw."""
    out, last = [], None
    for value in values:
        last = value if last is None else weight * last + (1 - weight) * value
        out.append(last)
    return out


@st.cache_resource(max_entries=8, show_spinner="Loading the generator...")
def _gan(run_path: str, epoch: int, fingerprint: str):
    gan, _ = checkpoints.load_models(RunDir.from_path(run_path), epoch)
    return gan


def gan(run: RunDir, epoch: int):
    """One checkpoint's GAN, loaded once per process and reused while its file is unchanged."""
    checkpoint = run.checkpoint(epoch)
    stat = checkpoint.generator_path.stat()
    return _gan(str(run.path), epoch, f"{stat.st_size}:{stat.st_mtime_ns}")


def query_int(name: str, choices: list[int], default: int) -> int:
    """An integer from the URL, used only if it is one of ``choices``."""
    try:
        value = int(st.query_params.get(name, default))
    except ValueError:
        return default
    return value if value in choices else default
