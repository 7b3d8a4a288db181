"""What this server may do: the one place that reads the host's settings for the app.

A laptop's app trains, writes and tells everything. The same repository deployed as a shared
public link (``GANLIB_DEMO=1``, or ``demo = true`` in Streamlit's secrets) is read-only: nothing
on the host changes, TensorFlow is not loaded to draw samples, and a stranger's messages carry no
host paths or tracebacks. Such a host may still let strangers train within limits
(``GANLIB_DEMO_TRAIN_SECONDS`` and friends, ``workbench.visitors``).

The views ask the policy one question each (``read_only``, ``public``, ``shared_training``)
rather than the environment, so what a public link may do is decided here once.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ganlib import GanlibError
from ganlib.runs.rundir import default_runs_dir
from ganlib.zoo import user_models
from workbench.visitors import VisitorLimits

_SETTINGS_PREFIX = "GANLIB_"


@dataclass(frozen=True)
class ServerPolicy:
    """What the app on this host may do. Build it with ``current()`` or ``from_env``."""

    runs_dir: Path
    read_only: bool = False  # nothing on the host changes: no training, marking, evaluation caches
    public: bool = False  # messages for strangers: no host paths, no tracebacks
    tabs_per_address: int = 8  # live sessions one client address may hold (0: no cap)
    auto_resume: bool = True  # a restarted app picks up the run it was training
    shared_training: VisitorLimits | None = None  # strangers may train within these limits
    shared_training_problem: str = ""  # why the host's limits were refused (for its log)
    models_file: str = ""  # GANLIB_MODELS: a file of the user's architectures (never on a public link)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], demo_secret: bool = False) -> ServerPolicy:
        """The policy for these settings; ``demo_secret`` is Streamlit's ``demo`` secret."""
        public = environ.get("GANLIB_DEMO") == "1" or demo_secret
        runs_dir = Path(environ.get("GANLIB_RUNS_DIR") or default_runs_dir())
        limits, problem = None, ""
        if public:
            try:
                limits = VisitorLimits.from_env(environ)
                if limits:
                    limits.check(runs_dir)
            except GanlibError as exc:
                limits, problem = None, str(exc)
        try:
            tabs = int(environ.get("GANLIB_DEMO_MAX_TABS", "8"))
        except ValueError:
            tabs = 8
        return cls(
            runs_dir=runs_dir,
            read_only=public,
            public=public,
            tabs_per_address=tabs,
            auto_resume=environ.get("GANLIB_AUTO_RESUME", "1") == "1" and not public,
            shared_training=limits,
            shared_training_problem=problem,
            models_file="" if public else environ.get("GANLIB_MODELS", ""),
        )


def current(demo_secret: bool = False) -> ServerPolicy:
    """This process's policy, read once for each distinct set of ``GANLIB_*`` settings (a server's
    never change; a test's may between two app runs)."""
    settings = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_SETTINGS_PREFIX)))
    rules = _policy(settings, demo_secret)
    user_models.allow(not rules.public)  # a public link runs no code of anyone's own
    return rules


@functools.lru_cache(maxsize=8)
def _policy(settings: tuple[tuple[str, str], ...], demo_secret: bool) -> ServerPolicy:
    return ServerPolicy.from_env(dict(settings), demo_secret)
