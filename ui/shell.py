"""The app around the pages: its navigation, the tab cap at the door, and one place where a
page's failure becomes a sentence."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ganlib import GanlibError
from ui import messages, server, streamlit_patches

log = logging.getLogger("ganlib.app")


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
    streamlit_patches.apply()
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


def admit_session() -> None:
    """On a public link, stop this script run when its address already holds the most sessions."""
    rules = server.policy()
    if not rules.public:
        return
    ctx = get_script_run_ctx()
    if ctx is None or not Runtime.exists():
        return
    cap = server.tab_cap(rules.tabs_per_address)
    if not cap.admit(server.client(), ctx.session_id, Runtime.instance().is_active_session):
        st.error(f"This app takes at most {cap.per_address} open tabs from one address: close one.")
        st.stop()


def run_page(page: st.Page) -> None:
    """Run the chosen page. A run folder can change under a page while it reads (a shared-training
    run pruned, a checkpoint replaced): say so in a sentence, log the details, and carry on."""
    try:
        page.run()
    except GanlibError as exc:  # e.g. "no run at ...": the library's own sentence
        messages.show_error(exc)
    except OSError as exc:
        log.warning("a page read a file that changed meanwhile", exc_info=exc)
        st.warning("A run changed while this page was reading it (removed or rewritten). Reload the page.")
