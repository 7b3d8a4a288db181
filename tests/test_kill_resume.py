"""A CLI training killed with SIGKILL a dozen times, at every kind of moment, and resumed after
each kill, ends exactly where the same run trained without interruption ends."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import ROOT, ganlib_cli
from conftest import TINY_FLAGS as TINY

from ganlib.runs.rundir import RunDir

pytestmark = pytest.mark.slow  # minutes, not seconds: left out of the editing subset

EPOCHS = 100  # 3 steps each: more than a dozen kills' worth of progress
# What each kill waits for: a moment after start (TensorFlow still importing, or data loading),
# a moment in training, a checkpoint folder being written, a history line just appended.
# Each kill costs a process start (TensorFlow's import): twelve, three of each kind at least, keep
# CI under 20 minutes (twenty took 150 s of it).
MOMENTS = ["start-up"] * 3 + ["training"] * 3 + ["checkpoint"] * 3 + ["history"] * 3


def _train(run: RunDir) -> subprocess.Popen:
    resume = ["--resume"] if run.exists() else []
    args = ["train", "--run", run.name, "--runs-dir", run.runs_dir, "--epochs", EPOCHS, *resume, *TINY]
    return subprocess.Popen(
        [sys.executable, "-m", "ganlib", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "GANLIB_OFFLINE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _trigger(run: RunDir, moment: str, index: int):
    """A function that is true at the moment to kill."""
    started = time.monotonic()
    history_size = run.history_path.stat().st_size if run.history_path.exists() else 0
    if moment == "start-up":
        return lambda: time.monotonic() - started > 0.5 + 0.8 * index
    if moment == "training":
        delay = 0.1 * index
        seen = []

        def in_training():  # some time after this process wrote its first history line
            size = run.history_path.stat().st_size if run.history_path.exists() else 0
            if size > history_size and not seen:
                seen.append(time.monotonic())
            return bool(seen) and time.monotonic() - seen[0] > delay

        return in_training
    if moment == "checkpoint":
        return lambda: any(p.name.startswith(".") for p in _listing(run.epochs_dir))
    return lambda: (run.history_path.stat().st_size if run.history_path.exists() else 0) > history_size


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []


def _weights(run: RunDir) -> dict[str, np.ndarray]:
    checkpoint = run.checkpoint()
    out = {}
    for path in (checkpoint.generator_path, checkpoint.discriminator_path, checkpoint.optimizer_path):
        with h5py.File(path, "r") as store:
            store.visititems(
                lambda name, item, p=path: (
                    out.__setitem__(f"{p.name}/{name}", item[()]) if isinstance(item, h5py.Dataset) else None
                )
            )
    return out


def _losses(run: RunDir) -> list[tuple]:
    return [(r.step, r.d_loss, r.g_loss) for r in run.history() if r.kind == "step"]


def test_a_dozen_kills_at_every_kind_of_moment_lose_nothing_and_change_nothing(runs_dir):
    straight = RunDir(runs_dir, "straight")
    ganlib_cli("train", "--run", straight.name, "--runs-dir", runs_dir, "--epochs", EPOCHS, *TINY)

    run = RunDir(runs_dir, "killed")
    kills = []
    for index, moment in enumerate(MOMENTS):
        process = _train(run)
        due = _trigger(run, moment, index % 4)
        deadline = time.monotonic() + 120
        while not due() and process.poll() is None:
            assert time.monotonic() < deadline, f"kill {index} ({moment}) never came"
            time.sleep(0.001)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills.append(moment)
        process.wait()
        # After every kill the run directory reads: status, checkpoints, history, no repeats.
        if run.exists():
            assert run.status().state in ("interrupted", "created", "finished")
            steps = [r.step for r in run.history() if r.kind == "step"]
            assert steps == sorted(set(steps)), f"history repeats a step after kill {index} ({moment})"
            run.checkpoints()
    assert len(kills) == len(MOMENTS), kills
    ganlib_cli("train", "--run", run.name, "--runs-dir", runs_dir, "--epochs", EPOCHS, "--resume", *TINY)

    assert run.status().state == "finished" and run.epochs() == straight.epochs()
    assert _losses(run) == _losses(straight)  # no history point lost or repeated, and the same values
    assert not [p for p in run.epochs_dir.iterdir() if p.name.startswith(".")]  # no temp folders left
    ours, theirs = _weights(run), _weights(straight)
    assert ours.keys() == theirs.keys()
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)
