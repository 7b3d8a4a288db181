"""What this server holds for every tab: its policy, its job manager, the shared-training queue,
and this browser session's id. One of each per process, built on first use."""

from __future__ import annotations

import contextlib
import logging
import uuid

import streamlit as st

from ganlib import GanlibError
from workbench import policy as server_policy
from workbench.jobs import JobManager
from workbench.policy import ServerPolicy
from workbench.visitors import TabCap, VisitorLimits, VisitorTraining

log = logging.getLogger("ganlib.app")


def policy() -> ServerPolicy:
    """What this server may do (``workbench.policy``): the host's settings and Streamlit's
    ``demo`` secret, read once."""
    return server_policy.current(demo_secret=_demo_secret())


def _demo_secret() -> bool:
    try:
        return bool(st.secrets.get("demo", False))
    except Exception:  # no secrets file, or an unreadable one: not set
        return False


@st.cache_resource
def job_manager(path: str, read_only: bool = False, auto_resume: bool = False) -> JobManager:
    """One manager per process and runs directory, shared by every tab and session."""
    manager = JobManager(path, read_only=read_only)
    if auto_resume:
        with contextlib.suppress(GanlibError):  # e.g. another process holds the run's lock
            manager.recover()  # a restarted app picks up the run it was training
    return manager


@st.cache_resource
def _shared_training(limits: VisitorLimits) -> VisitorTraining:
    """The host's one queue, in front of the scratch folder's job manager."""
    return VisitorTraining(job_manager(str(limits.scratch_dir)), limits)


def shared_training() -> VisitorTraining | None:
    """Training for strangers on a public link, when the host allows it (see workbench.policy)."""
    rules = policy()
    if rules.shared_training_problem:
        log.error("training on the public link is off: %s", rules.shared_training_problem)
        st.error("Training here is off: this host's settings for it are wrong (see its log).")
    return _shared_training(rules.shared_training) if rules.shared_training else None


def manager() -> JobManager:
    """The job the app trains: shared-training runs go to their scratch folder, never the runs
    folder."""
    shared = shared_training()
    if shared:
        return shared.manager
    rules = policy()
    return job_manager(str(rules.runs_dir), read_only=rules.read_only, auto_resume=rules.auto_resume)


@st.cache_resource
def tab_cap(per_address: int) -> TabCap:
    """The count of live sessions by client address, for the cap at the door."""
    return TabCap(per_address)


def session_id() -> str:
    """This browser session, as the training queue and the picks know it."""
    if "session_id" not in st.session_state:
        st.session_state["session_id"] = uuid.uuid4().hex
    return st.session_state["session_id"]


def client() -> str | None:
    """The browser's address as the server sees it; None when it cannot tell (from this machine,
    or behind a reverse proxy such as Streamlit Community Cloud's)."""
    return st.context.ip_address
