"""Shared fixtures: tiny but real configurations, and one small trained run reused by many tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ["GANLIB_OFFLINE"] = "1"  # never try the Keras online loader in tests
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ganlib.config import TrainConfig  # noqa: E402  (after the environment is set)
from ganlib.rundir import RunDir  # noqa: E402


def tiny_config(**changes) -> TrainConfig:
    """A few real training steps on MNIST with a narrow model: seconds, not minutes."""
    base = TrainConfig(
        dataset="mnist", model="dcgan", epochs=2, steps_per_epoch=3, batch_size=16, width=0.25, log_every=2
    )
    return base.replace(**changes)


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "runs"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> RunDir:
    """A tiny DCGAN run with three checkpoints, trained once per test session."""
    from ganlib.train import train

    run = RunDir(tmp_path_factory.mktemp("shared-runs"), "tiny")
    train(tiny_config(epochs=3), run)
    return run
