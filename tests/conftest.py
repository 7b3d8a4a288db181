"""Shared fixtures: tiny but real configurations, and one small trained run reused by many tests."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ["GANLIB_OFFLINE"] = "1"  # never try the Keras online loader in tests
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ganlib.config import TrainConfig  # noqa: E402  (after the environment is set)
from ganlib.runs.records import HistoryPoint, PointKind  # noqa: E402
from ganlib.runs.rundir import RunDir  # noqa: E402


def log_point(step: int, kind: PointKind = PointKind.STEP, **metrics: float) -> HistoryPoint:
    """A history point at ``step`` (epochs of 100 steps), a balanced D unless ``metrics`` say otherwise."""
    values = dict(d_loss=1.2, g_loss=0.8, d_real=0.5, d_fake=0.5, acc_real=0.6, acc_fake=0.6) | metrics
    return HistoryPoint(kind, step, step / 100, step / 10, 1000.0, **values)


def tiny_config(**changes) -> TrainConfig:
    """A few real training steps on MNIST with a narrow model: seconds, not minutes."""
    base = TrainConfig(
        dataset="mnist",
        model="dcgan",
        epochs=2,
        steps_per_epoch=3,
        batch_size=16,
        width=0.25,
        log_every=2,
        live_fid_samples=0,  # the live quality probe has tests of its own
    )
    return base.replace(**changes)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Iterator[RunDir]:
    """A tiny DCGAN run with three checkpoints, trained once per test session. Read-only: a
    test that writes to a run copies it first, or the tests after it see a different run
    depending on their order (checked at the end of the session)."""
    from ganlib.training.train import train

    run = RunDir(tmp_path_factory.mktemp("shared-runs"), "tiny")
    train(tiny_config(epochs=3), run)
    before = tree_digest(run.path)
    yield run
    assert tree_digest(run.path) == before, "a test changed the shared trained_run; copy it first"


# The CLI flags of a few real training steps with a narrow model (as tiny_config).
def tiny_sweep_plan():
    """A sweep of loss = bce, hinge at one seed over ``tiny_config()``: two runs, evaluated at 100
    samples per checkpoint."""
    from ganlib import sweep

    return sweep.Plan(tiny_config(), sweep.parse_grid(["loss=bce,hinge"]), [0], samples=100)


TINY_FLAGS = [
    "--steps-per-epoch", "3", "--batch-size", "16", "--width", "0.25", "--log-every", "1", "--live-fid-samples", "0",
]  # fmt: skip


def ganlib_cli(*args, check=True, **kwargs):
    """``python -m ganlib ARGS`` as a user runs it (offline); raises on a non-zero exit unless
    ``check=False``."""
    env = {**os.environ, "GANLIB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "ganlib", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        **kwargs,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """A folder served over HTTP on a loopback port: yields its URL and the paths asked for."""
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", requested
    finally:
        server.shutdown()


# -- the app, through streamlit.testing.v1.AppTest ---------------------------------------------------
APP = str(ROOT / "app.py")


@pytest.fixture
def app_runs(tmp_path, monkeypatch):
    """A copy of the shipped runs as the app's runs folder (no auto-resume)."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(ROOT / "checkpoints", runs)
    monkeypatch.setenv("GANLIB_RUNS_DIR", str(runs))
    monkeypatch.setenv("GANLIB_AUTO_RESUME", "0")
    return runs


def open_page(page: str, run: str = "demo-mnist"):
    """The app opened on ``page`` with ``?run=RUN``, checked to have raised nothing."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["run"] = run
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def by_label(widgets, label):
    """The widget of ``label`` among an AppTest page's widgets of one kind."""
    return next(w for w in widgets if w.label == label)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file below ``root`` and its sha256: equal digests, byte-for-byte equal trees."""
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
