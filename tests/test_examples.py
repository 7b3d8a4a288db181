"""The examples of ``examples/`` as a user runs them (``python -m examples.NAME``), each for a few
steps, then opened through the app (AppTest): Evaluate computes the FID per epoch, Gallery shows
the grids. Slow: subprocesses that import TensorFlow. (The API's fast tests: test_track.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import APP, ROOT, by_label
from test_track import noisy

from ganlib.runs.rundir import RunDir
from ganlib.track import Run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist_test() -> np.ndarray:
    from ganlib.data import datasets

    return datasets.load_dataset("mnist", "test").images


def run_example(name: str, runs_dir, *args: str) -> RunDir:
    done = subprocess.run(  # as the README runs it: a module of the repository, from its root
        [sys.executable, "-m", f"examples.{name}", "--runs-dir", str(runs_dir), "--samples", "1000", *args],
        cwd=ROOT,
        env={**os.environ, "GANLIB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return next(RunDir(runs_dir, p.name) for p in runs_dir.iterdir())


def evaluated_in_the_app(run: RunDir, monkeypatch) -> list[float]:
    """Evaluate (1,000 samples) and Gallery opened on ``run`` through AppTest; the FID per epoch."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GANLIB_RUNS_DIR", str(run.runs_dir))
    monkeypatch.setenv("GANLIB_AUTO_RESUME", "0")
    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["run"] = run.name
    at.run()
    at.switch_page("pages/evaluate.py").run()
    by_label(at.select_slider, "Samples per epoch").set_value(1000).run()
    next(b for b in at.button if b.label.startswith("Compute")).click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    results = [json.loads(p.read_text()) for p in sorted(run.eval_dir.glob("epoch-*.json"))]
    at.switch_page("pages/gallery.py").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert len(at.get("image")) >= 2  # the epoch's grid, and beside it the previous
    return [next(iter(r.values()))["fid"] for r in results]


def test_the_numpy_example_evaluates_per_epoch_in_the_app_its_fid_falling(tmp_path, monkeypatch, mnist_test):
    from ganlib import evaluation

    run = run_example("track_numpy", tmp_path, "--epochs", "3")
    assert run.epochs() == [1, 2, 3] and not run.generator_config_path.exists()
    fids = evaluated_in_the_app(run, monkeypatch)
    assert fids[0] > fids[1] > fids[2] and run.best().epoch == 3, fids  # more components, nearer the data
    assert evaluation.engine_for(run, 1000).cached(3).d_acc_real is None  # no D was given
    with pytest.raises(Exception, match="stored 1,000 samples: evaluate at 1,000 or fewer"):
        evaluation.evaluate_run(evaluation.engine_for(run, 2000))
    # The quick FID, when the writer asks for it: live points that follow the samples' quality.
    with Run("quick", runs_dir=tmp_path, quick_fid=200, samples=200) as quick:
        for epoch, clean in ((1, 0.3), (2, 1.0)):
            quick.log(epoch, d_loss=1.0)
            quick.checkpoint(epoch, samples=noisy(mnist_test, clean, seed=epoch))
    points = quick.run.quality()
    assert (
        [p.epoch for p in points] == [1, 2] and points[0].fid > points[1].fid > 0 and points[1].samples == 200
    )


def test_the_tf_tutorial_loop_attached_trains_evaluates_and_samples_in_the_gallery(tmp_path, monkeypatch):
    run = run_example("track_tf_tutorial", tmp_path, "--epochs", "2", "--steps", "2")
    checkpoint = run.checkpoint(2)
    assert checkpoint.has_generator and {"d_acc_real", "d_acc_fake"} <= set(checkpoint.state)
    assert [p.step for p in run.history()] == [1, 2, 3, 4] and run.history()[0].d_loss > 0
    assert len(evaluated_in_the_app(run, monkeypatch)) == 2
    from ganlib.training import model_io

    sampler = model_io.load_sampler(run, 2)  # NumPy: the tutorial's layers, as Keras draws them
    assert type(sampler).__name__ == "NumpyGenerator" and sampler.sample(
        np.zeros((2, 100), np.float32)
    ).shape == (2, 28, 28, 1)


def test_the_keras_io_fit_gan_attached_by_its_callback_trains_and_evaluates(tmp_path, monkeypatch):
    run = run_example("track_keras_fit", tmp_path, "--epochs", "2", "--steps", "4")
    assert run.epochs() == [1, 2] and run.config().steps_per_epoch == 4
    assert {"d_loss", "g_loss"} <= {k for k in run.history()[-1].to_dict()}
    assert len(evaluated_in_the_app(run, monkeypatch)) == 2
