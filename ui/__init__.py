"""What the app's pages share: the process-wide job manager, settings, cached loaders, charts.

Only view code lives here; everything it computes comes from ``ganlib``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ganlib import GanlibError
from ganlib.data import toys
from ganlib.runs.rundir import RunDir, default_runs_dir, list_runs
from ganlib.sampling import images
from ganlib.training import model_io
from workbench.jobs import JobBusy, JobManager
from workbench.visitors import TabCap, VisitorLimits, VisitorTraining


def _stop_streamlit_clearing_keras() -> None:
    """Streamlit calls ``keras.backend.clear_session()`` after every script run once Keras is
    imported, to free the models a script built. Ours are built only inside cached loaders, so
    there is nothing to free, and the call costs a ``gc.collect()`` over TensorFlow's heap and a
    reset of its caches on every rerun: every second on the live Train page, on every widget
    change elsewhere (docs/live-train-page.md). Keep Streamlit's other clean-up (matplotlib figures)."""
    from streamlit.runtime.scriptrunner import script_runner

    def clean_problem_modules_but_keras() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            with contextlib.suppress(Exception):
                plt.close("all")

    script_runner._clean_problem_modules = clean_problem_modules_but_keras


_stop_streamlit_clearing_keras()
log = logging.getLogger("ganlib.app")


def _refuse_uploads() -> None:
    """The app has no file uploader, yet Streamlit's upload endpoint (``PUT
    /_stcore/upload_file/SESSION/FILE``) takes files for any live session, any number of file
    ids, each up to ``server.maxUploadSize``, and keeps them in memory until the session ends: a
    way to fill a small host's memory. Refuse every upload at the server's file manager (403);
    config.toml keeps the size a refused request may send at 1 MB."""
    from starlette.exceptions import HTTPException
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest and bare mode run without a server
        return

    def refuse(session_id: str, file) -> None:
        raise HTTPException(status_code=403, detail="this app takes no uploads")

    Runtime.instance().uploaded_file_mgr.add_file = refuse


_refuse_uploads()


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
    "compare": PageSpec("pages/compare.py", "Compare", ":material/compare:"),
    "pick": PageSpec("pages/pick.py", "Pick", ":material/thumbs_up_down:"),
}
_app_has_run = False  # set by the first run of app.py in this process


def navigation() -> st.Page:
    """The app's page config and navigation: what ``app.py`` runs on every script run."""
    global _app_has_run
    _app_has_run = True
    st.set_page_config(page_title="GAN Workbench", page_icon=":material/tune:", layout="wide")
    pages = [st.Page(p.path, title=p.title, icon=p.icon, default=key == "home") for key, p in PAGES.items()]
    return st.navigation(pages)


def run_page(page: st.Page) -> None:
    """Run the chosen page. A run folder can change under a page while it reads (a visitor run
    pruned, a checkpoint replaced): say so in a sentence, log the details, and carry on."""
    try:
        page.run()
    except GanlibError as exc:  # e.g. "no run at ...": the library's own sentence
        show_error(exc)
    except OSError as exc:
        log.warning("a page read a file that changed meanwhile", exc_info=exc)
        st.warning("A run changed while this page was reading it (removed or rewritten). Reload the page.")


def client() -> str | None:
    """The visitor's address as the server sees it; None when it cannot tell (from this machine,
    or behind a reverse proxy such as Streamlit Community Cloud's)."""
    return st.context.ip_address


@st.cache_resource
def _tab_cap() -> TabCap:
    return TabCap(int(os.environ.get("GANLIB_DEMO_MAX_TABS", "8")))


def admit_session() -> None:
    """In demo mode, stop this script run when its address already holds the most sessions."""
    if not demo_mode():
        return
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return
    cap = _tab_cap()
    if not cap.admit(client(), ctx.session_id, Runtime.instance().is_active_session):
        st.error(f"This demo takes at most {cap.per_address} open tabs from one address: close one.")
        st.stop()


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
def _visitor_training(limits: VisitorLimits) -> VisitorTraining:
    """The host's one queue of visitors, in front of the scratch folder's job manager."""
    return VisitorTraining(job_manager(str(limits.scratch_dir)), limits)


def visitor_training() -> VisitorTraining | None:
    """Training for visitors of the demo link, when the host allows it (GANLIB_DEMO_TRAIN_SECONDS;
    on Streamlit Community Cloud a root-level secret of that name is an environment variable)."""
    if not demo_mode():
        return None
    try:
        limits = VisitorLimits.from_env()
        if limits:
            limits.check(Path(runs_dir()))
    except GanlibError as exc:
        log.error("visitor training is off: %s", exc)
        st.error("Visitor training is off: this host's settings for it are wrong (see its log).")
        return None
    return _visitor_training(limits) if limits else None


def visitor_id() -> str:
    """This browser session, as the visitor queue knows it."""
    if "visitor" not in st.session_state:
        st.session_state["visitor"] = uuid.uuid4().hex
    return st.session_state["visitor"]


def run_folders() -> list[Path]:
    """Where runs are listed from: the runs folder, and the visitors' scratch folder when on."""
    visitors = visitor_training()
    return [Path(runs_dir()), *([visitors.limits.scratch_dir] if visitors else [])]


@st.cache_resource
def job_manager(path: str, read_only: bool = False) -> JobManager:
    """One manager per process and runs directory, shared by every tab and session."""
    manager = JobManager(path, read_only=read_only)
    if os.environ.get("GANLIB_AUTO_RESUME", "1") == "1" and not demo_mode():
        with contextlib.suppress(GanlibError):  # e.g. another process holds the run's lock
            manager.recover()  # a restarted app picks up the run it was training
    return manager


def manager() -> JobManager:
    """The job the app trains: visitors' runs go to their scratch folder, never the runs folder."""
    visitors = visitor_training()
    return visitors.manager if visitors else job_manager(str(runs_dir()), read_only=demo_mode())


def all_runs() -> list[RunDir]:
    """Every run the app shows, newest first in each folder (the runs folder's first)."""
    return [run for folder in run_folders() for run in list_runs(folder)]


def runs_by_name() -> dict[str, RunDir]:
    """Every run the app shows by name (a name in both folders: the runs folder's)."""
    runs: dict[str, RunDir] = {}
    for run in all_runs():
        runs.setdefault(run.name, run)
    return runs


def run_names() -> list[str]:
    return list(runs_by_name())


def pick_run(label: str = "Run", key: str = "run") -> RunDir | None:
    """A run select box that follows ``?run=NAME`` in the URL (validated against the list) and
    carries the chosen run from page to page."""
    runs = runs_by_name()
    names = list(runs)
    if not names:
        st.info("No runs yet. Start one on the Train page, or `python -m ganlib train` on the command line.")
        return None
    # The URL's run, else the run this session looked at last on any page, else the newest.
    wanted = st.query_params.get("run") or st.session_state.get("last_run")
    index = names.index(wanted) if wanted in names else 0
    name = st.selectbox(label, names, index=index, key=key)
    st.query_params["run"] = name
    st.session_state["last_run"] = name
    return runs[name]


def warn_if_damaged(run: RunDir) -> None:
    """One line naming the run's damaged checkpoints (left out of every view), if any."""
    damaged = run.damaged()
    if damaged:
        listed = "; ".join(f"epoch {epoch}: {problem}" for epoch, problem in damaged.items())
        st.warning(f"Damaged checkpoint(s), left out: {listed}.")


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\";,()\\/]+)+[\\/]?")


def public_text(text: str) -> str:
    """A message fit for a stranger: absolute paths cut to their last part."""
    return _PATH.sub(lambda m: re.split(r"[\\/]", m.group(0).rstrip("\\/"))[-1], text)


def show_error(exc: Exception) -> None:
    """One line on the page. On a public link: the library's own message without the host's
    paths, anything else a plain sentence; the details go to the server's log."""
    if not demo_mode():
        st.error(str(exc) if isinstance(exc, GanlibError) else f"{type(exc).__name__}: {exc}")
        return
    log.warning("an error shown to a visitor", exc_info=exc)
    if isinstance(exc, GanlibError):
        st.error(public_text(str(exc)))
    else:
        st.error("Something went wrong here; the details are in the server's log.")


def show_job_error(error: str) -> None:
    """Why a training job stopped. A crashed worker's message holds the end of its stderr
    (TensorFlow's log, traceback lines): on a public link only the server's log gets it."""
    if demo_mode():
        log.warning("training failed: %s", error)
        st.error("Training stopped with an error; the details are in the server's log.")
    else:
        st.error(f"Training failed: {error}")


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average for noisy curves (TensorBoard's smoothing): 0 = raw."""
    out, last = [], None
    for value in values:
        last = value if last is None else weight * last + (1 - weight) * value
        out.append(last)
    return out


@st.cache_resource(max_entries=8, show_spinner="Loading the generator...")
def _sampler(run_path: str, epoch: int, fingerprint: str):
    return model_io.load_sampler(RunDir.from_path(run_path), epoch)


def sampler(run: RunDir, epoch: int):
    """One checkpoint's generator for drawing samples (NumPy when it can: no TensorFlow in the
    server), loaded once per process and reused while its file is unchanged."""
    return _sampler(str(run.path), epoch, run.checkpoint(epoch).fingerprint)


@st.cache_data(max_entries=16, show_spinner=False)
def _training_gif(files: tuple[tuple[str, int], ...]) -> bytes:
    """Keyed by (path, mtime), so a re-saved grid makes a new animation."""
    return images.gif_bytes([images.read_png(path) for path, _ in files], seconds_per_frame=0.5, scale=2)


def training_gif(run: RunDir) -> bytes:
    """The fixed-seed grid of every checkpoint of ``run`` as a looping GIF."""
    grids = [c.grid_path for c in run.checkpoints()]
    return _training_gif(tuple((str(p), p.stat().st_mtime_ns) for p in grids))


PLANE_LEGEND = (
    "Background: what D believes over the plane (green: real, purple: fake); green dots: real "
    "points; purple dots: the generator's, from fixed latents; grey ticks: where G's loss pushes "
    "each of them (up D's slope)."
)


def is_toy(run: RunDir) -> bool:
    return toys.is_toy(run.config().dataset)


def picture_name(run: RunDir) -> str:
    """What a run's checkpoint picture (``grid.png``) shows."""
    return "the plane" if is_toy(run) else "fixed-seed grid"


def query_int(name: str, choices: list[int], default: int) -> int:
    """An integer from the URL, used only if it is one of ``choices``."""
    try:
        value = int(st.query_params.get(name, default))
    except ValueError:
        return default
    return value if value in choices else default


def start_job(action) -> None:
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
