"""ganlib.track: any training loop writes a run the app watches, evaluates and browses.

Fast: the API on samples from NumPy (no TensorFlow in the writer), bad input from a foreign
writer, the heartbeat, Pause and Stop. Slow: the three examples train, show live and evaluate
through the app (AppTest), and Evaluate's FID follows the quality of stored samples.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from conftest import APP, ROOT, tree_digest

from ganlib import comparison
from ganlib.config import TrainConfig
from ganlib.data import datasets
from ganlib.runs.records import Request, RunState
from ganlib.runs.rundir import RunDir
from ganlib.track import Run, TrackError


@pytest.fixture(scope="module")
def mnist_test() -> np.ndarray:
    return datasets.load_dataset("mnist", "test").images


def noisy(real: np.ndarray, clean: float, count: int = 200, seed: int = 0) -> np.ndarray:
    """MNIST images mixed with noise: ``clean`` 1 is the data, 0 pure noise (quality by hand)."""
    rng = np.random.default_rng(seed)
    picked = real[rng.integers(0, len(real), count)].astype(np.float64)
    mixed = clean * picked + (1 - clean) * rng.integers(0, 256, picked.shape)
    return mixed.round().clip(0, 255).astype(np.uint8)


def run_python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GANLIB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env, cwd=ROOT, **kwargs)


def test_a_numpy_writer_loads_no_tensorflow_and_writes_a_run_the_library_reads(tmp_path):
    writer = run_python(
        """
        import sys
        import numpy as np
        import ganlib.track
        from ganlib.data import datasets
        real = datasets.load_dataset("mnist", "test").images[:300]
        with ganlib.track.Run("np", config={"epochs": 2, "steps_per_epoch": 3, "lr": 0.1}, runs_dir=sys.argv[1]) as run:
            for step in range(1, 7):
                run.log(step, d_loss=1.0 / step, g_loss=0.5, fid_guess=step)
                run.should_stop()
                if step % 3 == 0:
                    run.checkpoint(step // 3, samples=real)
        loaded = sorted(m for m in ("tensorflow", "keras", "torch") if m in sys.modules)
        print("loaded:", loaded)
        ganlib.track.KerasCallback  # named: now Keras comes in
        print("keras after KerasCallback:", "keras" in sys.modules)
        """,
        str(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = writer.communicate(timeout=120)
    assert writer.returncode == 0 and "loaded: []" in out and "keras after KerasCallback: True" in out, out
    run = RunDir(tmp_path, "np")
    assert run.status().state == RunState.FINISHED and run.trained_elsewhere and not run.is_locked()
    assert [c.epoch for c in run.checkpoints()] == [1, 2] and run.checkpoints()[-1].step == 6
    assert run.checkpoint(2).samples().shape == (300, 28, 28, 1) and not run.checkpoint(2).has_generator
    history = run.history()
    assert [p.step for p in history] == [1, 2, 3, 4, 5, 6] and history[3].epoch == pytest.approx(4 / 3)
    assert (
        history[1].d_loss == 0.5 and math.isnan(history[1].acc_real) and history[5].metric("fid_guess") == 6
    )
    assert run.config().extra == {"epochs": 2, "steps_per_epoch": 3, "lr": 0.1} and run.config().epochs == 2


@pytest.fixture
def open_run(tmp_path, mnist_test):
    """A run with two checkpoints and six log points, still open."""
    run = Run("foreign", config={"epochs": 5}, runs_dir=tmp_path)
    for step in range(1, 7):
        run.log(step, d_loss=1.0, g_loss=1.0)
        if step % 3 == 0:
            run.checkpoint(step // 3, samples=noisy(mnist_test, 0.5, seed=step))
    yield run
    run.close()


BAD_CALLS = [
    (
        "samples of floats",
        lambda r, x: r.checkpoint(3, samples=x.astype(np.float32) / 127.5 - 1),
        "must be uint8 pixels",
    ),
    ("no channel", lambda r, x: r.checkpoint(3, samples=x[..., 0]), "add the channel, samples[..., None]"),
    (
        "another size",
        lambda r, x: r.checkpoint(3, samples=np.zeros((200, 32, 32, 3), np.uint8)),
        "must be N x 28 x 28 x 1",
    ),
    ("too few", lambda r, x: r.checkpoint(3, samples=x[:10]), "at least 100 samples"),
    ("nothing to save", lambda r, x: r.checkpoint(3), "needs generator= (a Keras model) or samples="),
    ("an epoch again", lambda r, x: r.checkpoint(2, samples=x), "after 2 (the last saved)"),
    ("NaN loss", lambda r, x: r.log(7, d_loss=float("nan")), "d_loss is nan at step 7: training diverged"),
    ("a string", lambda r, x: r.log(7, d_loss="low"), "d_loss must be a number"),
    ("a step back", lambda r, x: r.log(5, d_loss=1.0), "step 5 is not after step 6"),
    ("no metric", lambda r, x: r.log(7), "needs a metric"),
    ("not a generator", lambda r, x: r.checkpoint(3, generator=object()), "generator must be a Keras model"),
]


@pytest.mark.parametrize("call, message", [(c, m) for _, c, m in BAD_CALLS], ids=[i for i, _, _ in BAD_CALLS])
def test_bad_input_from_a_writer_is_one_line_naming_the_fix_and_loses_nothing(
    open_run, mnist_test, call, message
):
    before = tree_digest(open_run.run.path / "epochs"), open_run.run.history()
    with pytest.raises(
        TrackError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ) as caught:
        call(open_run, noisy(mnist_test, 0.5))
    assert "\n" not in str(caught.value)
    assert (tree_digest(open_run.run.path / "epochs"), open_run.run.history()) == before
    open_run.log(7, d_loss=1.0)  # the run goes on
    open_run.checkpoint(3, samples=noisy(mnist_test, 0.9))
    assert open_run.run.epochs() == [1, 2, 3]


def test_a_second_writer_on_the_same_run_is_refused(open_run, tmp_path):
    with pytest.raises(TrackError, match="already exists .* pass resume=True"):
        Run("foreign", runs_dir=tmp_path)
    with pytest.raises(
        TrackError, match=f"being written by process {os.getpid()} .* stop that process or use another name"
    ):
        Run("foreign", runs_dir=tmp_path, resume=True)
    assert open_run.run.epochs() == [1, 2]


def test_a_loop_that_raises_leaves_a_failed_run_that_says_why_and_resumes(tmp_path, mnist_test):
    with pytest.raises(ZeroDivisionError), Run("crashes", runs_dir=tmp_path) as run:
        run.log(1, g_loss=1.0)
        run.checkpoint(1, samples=noisy(mnist_test, 0.5))
        run.log(2, g_loss=1.0)
        _ = 1 / 0
    status = RunDir(tmp_path, "crashes").status()
    assert status.state == RunState.FAILED and status.error == "ZeroDivisionError: division by zero"
    with Run("crashes", runs_dir=tmp_path, resume=True) as again:  # from the newest checkpoint
        assert (again.last_step, again.last_epoch) == (1, 1)
        again.log(2, g_loss=0.5)
        again.checkpoint(2, samples=noisy(mnist_test, 0.7))
    run = RunDir(tmp_path, "crashes")
    assert [p.g_loss for p in run.history()] == [1.0, 0.5] and run.epochs() == [1, 2]


def test_a_torn_last_line_is_skipped_and_a_resume_leaves_a_clean_history(tmp_path, mnist_test):
    with Run("torn", runs_dir=tmp_path) as run:
        run.log(1, d_loss=1.0)
        run.checkpoint(1, samples=noisy(mnist_test, 0.5))
    with open(RunDir(tmp_path, "torn").history_path, "a") as f:
        f.write('{"kind": "step", "step": 2, "d_lo')  # a writer killed mid-line
    assert [p.step for p in RunDir(tmp_path, "torn").history()] == [1]
    with Run("torn", runs_dir=tmp_path, resume=True) as run:
        run.log(2, d_loss=0.5)
    lines = RunDir(tmp_path, "torn").history_path.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]


def test_a_run_of_ours_is_not_written_by_a_foreign_loop(trained_run, tmp_path):
    with pytest.raises(
        TrackError, match="trained by ganlib's trainer: continue it with `python -m ganlib resume"
    ):
        Run(trained_run.name, runs_dir=trained_run.runs_dir, resume=True)
    with pytest.raises(TrackError, match="2-D toy"):
        Run("toy", dataset="toy:ring8", runs_dir=tmp_path)
    with pytest.raises(TrackError, match="unknown dataset 'cifar-1000'"):
        Run("nowhere", dataset="cifar-1000", runs_dir=tmp_path)


def test_a_writer_that_stops_beating_reads_as_interrupted_and_one_on_another_machine_as_alive(tmp_path):
    run = RunDir(tmp_path, "elsewhere")
    run.path.mkdir()
    run.create(TrainConfig(), {"writer": "ganlib.track"})
    run.set_status(RunState.TRAINING, epoch=1, step=10)
    lock = {"pid": 1, "host": "gpu-node-7", "beat": time.time(), "listens": True}
    (run.path / "lock.json").write_text(json.dumps(lock))
    assert run.status().state == RunState.TRAINING and run.writer().listens
    (run.path / "lock.json").write_text(json.dumps({**lock, "beat": time.time() - 120}))
    assert run.status().state == RunState.INTERRUPTED and run.writer() is None
    (run.path / "lock.json").write_text(json.dumps({**lock, "host": socket.gethostname(), "pid": 2**22 + 7}))
    assert run.status().state == RunState.INTERRUPTED  # this machine: the process is gone


def test_a_killed_writer_reads_as_interrupted_and_the_app_does_not_offer_to_resume_it(tmp_path):
    writer = run_python(
        """
        import sys, time, ganlib.track
        run = ganlib.track.Run("killed", runs_dir=sys.argv[1])
        run.log(1, d_loss=1.0)
        print("open", flush=True)
        time.sleep(600)
        """,
        str(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "open"
    run = RunDir(tmp_path, "killed")
    assert run.status().state == RunState.TRAINING and run.writer().pid == writer.pid
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert run.status().state == RunState.INTERRUPTED
    from workbench.jobs import JobManager

    assert JobManager(tmp_path).interrupted_runs() == []  # only its own code goes on


def test_pause_holds_the_loop_in_should_stop_and_stop_ends_it(tmp_path):
    run = Run("listens", runs_dir=tmp_path)
    run.log(1, d_loss=1.0)
    assert run.should_stop() is False and run.run.writer().listens
    run.run.request(Request.PAUSE)
    seen = []
    resumer = threading.Timer(
        1.0, lambda: (seen.append(run.run.status().state), run.run.request(Request.RUN))
    )
    resumer.start()
    started = time.monotonic()
    assert run.should_stop() is False  # returned after Resume
    assert seen == [RunState.PAUSED] and time.monotonic() - started >= 0.9
    run.run.request(Request.STOP)
    assert run.should_stop() is True
    run.close()
    assert run.run.status().state == RunState.STOPPED
    with pytest.raises(TrackError, match="is closed"):
        run.log(2, d_loss=1.0)


def test_every_page_opens_a_run_written_from_samples_alone(app_runs, mnist_test):
    from streamlit.testing.v1 import AppTest

    with Run("samples-only", runs_dir=app_runs, config={"epochs": 2, "lr": 0.001}) as run:
        for epoch in (1, 2):
            run.log(epoch, d_loss=1.0 / epoch, my_number=epoch)
            run.checkpoint(epoch, samples=noisy(mnist_test, epoch / 2))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["run"] = "samples-only"
    at.query_params["runs"] = "samples-only,demo-mnist"  # Compare, beside a run of ours
    at.run()
    for page in (
        "pages/train.py",
        "pages/gallery.py",
        "pages/evaluate.py",
        "pages/compare.py",
        "pages/pick.py",
    ):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
    (row,) = comparison.runs_table([RunDir(app_runs, "samples-only")])
    assert row["lr"] == 0.001 and "lr_g" not in row and "r1" not in row  # its settings, not our defaults
    at.switch_page("pages/gallery.py").run()
    assert any(s.value == "Stored samples" for s in at.subheader)
    assert {b.label for b in at.get("download_button")} >= {"Grid PNG", "Samples (.npz)"}


def test_a_loop_that_does_not_listen_is_shown_live_without_pause_and_stop(tmp_path, mnist_test, monkeypatch):
    from streamlit.testing.v1 import AppTest

    run = Run("deaf", runs_dir=tmp_path, config={"epochs": 4, "steps_per_epoch": 2})
    for step in (1, 2):
        run.log(step, d_loss=1.0, g_loss=2.0)
    run.checkpoint(1, samples=noisy(mnist_test, 0.5))
    monkeypatch.setenv("GANLIB_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("GANLIB_AUTO_RESUME", "0")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == "Training elsewhere" for s in at.subheader)
    assert "deaf · training · epoch 1/4 · step 2" in at.get("progress")[0].proto.text
    assert not {"Pause", "Stop"} & {b.label for b in at.button}
    assert any("does not ask for Pause and Stop" in c.value for c in at.caption)
    run.close()
    at.switch_page("pages/train.py").run()
    assert not any(s.value == "Training elsewhere" for s in at.subheader)
