"""Which runs the app shows, and the run select box every page opens with."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ganlib.data import toys
from ganlib.runs.rundir import RunDir, list_runs
from ui import server


def run_folders() -> list[Path]:
    """Where runs are listed from: the runs folder, and the shared-training scratch folder when
    the host has one."""
    shared = server.shared_training()
    return [server.policy().runs_dir, *([shared.limits.scratch_dir] if shared else [])]


def all_runs() -> list[RunDir]:
    """Every run the app shows, newest first in each folder (the runs folder's first)."""
    return [run for folder in run_folders() for run in list_runs(folder)]


def runs_by_name() -> dict[str, RunDir]:
    """Every run the app shows by name (a name in both folders: the runs folder's)."""
    runs: dict[str, RunDir] = {}
    for run in all_runs():
        runs.setdefault(run.name, run)
    return runs


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


def run_names() -> list[str]:
    return list(runs_by_name())
