"""The benchmark runs end to end (tiny), and its baseline really trains both networks.

No wall-clock assertion: speeds are for `python -m benchmarks.trainer_speed` to print, not for tests to judge.
"""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import ROOT

from benchmarks import form_default_run, time_to_quality, trainer_speed
from ganlib.measure import reference


@pytest.mark.slow
def test_bench_runs_every_contender_and_the_baseline_trains_d():
    lines = []
    results = trainer_speed.run(model="mlp", batch_size=32, seconds=0.5, width=0.125, print_fn=lines.append)
    assert [r.name.split(":")[0] for r in results] == [
        "ours",
        "ours",
        "tutorials",
        "minimal tf.function step",
    ]
    assert all(r.images_per_sec > 0 for r in results)
    assert results[2].note == "D learned"  # the Keras 3 trainable trap is avoided
    assert any("utilisation" in line for line in lines)


def test_forward_flops_counts_dense_and_convolutions():
    dense = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    assert trainer_speed.forward_flops(dense) == 2 * 10 * 5
    conv = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, strides=2, padding="same")])
    assert trainer_speed.forward_flops(conv) == 2 * 4 * 4 * 4 * 3 * 3 * 3
    up = keras.Sequential(
        [keras.Input((4, 4, 2)), keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same")]
    )
    assert trainer_speed.forward_flops(up) == 2 * 4 * 4 * 2 * 5 * 5 * 3


@pytest.mark.slow
def test_time_to_quality_trains_evaluates_and_summarises(tmp_path):
    # The shortest budget (6 s) and a checkpoint every 50 steps: a few points to evaluate.
    command = [sys.executable, "-m", "benchmarks.time_to_quality", "--minutes", "0.1"]
    command += ["--width", "0.125", "--batch-size", "16", "--steps", "50", "--samples", "100"]
    done = subprocess.run(
        command + ["--runs-dir", str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    points, summary, overall = lines[:-2], lines[-2]["summary"], lines[-1]["over_seeds"]
    assert points and [p["step"] for p in points] == sorted(p["step"] for p in points)
    assert summary["floor_fid"] > 0 and summary["best_fid"] == min(p["fid"] for p in points)
    assert summary["last_over_best"] == round(points[-1]["fid"] / summary["best_fid"], 3)
    # The first checkpoint whose samples pass the probe, whichever it is on this machine.
    passed = [p for p in points if p["recognisable"]]
    assert summary["sec_to_recognisable"] == (passed[0]["elapsed_sec"] if passed else "not within 0.1 min")
    assert summary["step_to_recognisable"] == (passed[0]["step"] if passed else None)
    # One seed: the summary over seeds is that seed's, not judged (the targets are for 10 minutes).
    assert overall["seeds"] == [0] and overall["best_fid_mean"] == summary["best_fid"]
    assert "targets" not in overall


def test_the_summary_over_seeds_judges_the_mean_and_the_worst_seed():
    def seed(n, best, last_over_best, probe):
        return {
            "seed": n, "best_fid": best, "best_fid_at_step": 100 * n, "last_over_best": last_over_best,
            "step_to_recognisable": probe, "steps": 1000,
        }  # fmt: skip

    targets = time_to_quality.Targets(best_fid=0.5, probe_steps=500)
    overall = time_to_quality.over_seeds([seed(0, 0.4, 1.0, 400), seed(1, 0.5, 1.1, 500)], targets)
    assert overall["best_fid_mean"] == 0.45 and overall["best_fid_std"] == 0.05
    assert all(target["met"] for target in overall["targets"].values())
    # One seed over the probe's steps, one decaying past 1.25x its best, a mean over the target.
    overall = time_to_quality.over_seeds([seed(0, 0.5, 1.3, 400), seed(1, 0.6, 1.0, None)], targets)
    assert not any(target["met"] for target in overall["targets"].values())
    assert overall["step_to_recognisable_worst"] is None and overall["last_over_best_worst"] == 1.3


def test_the_form_run_summary_compares_the_last_checkpoint_with_the_best():
    summary = form_default_run.last_over_best([(100, 9.0), (200, 2.0), (300, 2.5)])
    assert summary == {"best": 2.0, "best_at_step": 200, "last": 2.5, "last_over_best": 1.25}


def test_recognisability_tells_digits_from_noise():
    classify = reference.cached_evaluator("mnist")
    digits = reference.real_images("mnist", "test", 1000)
    noise = np.random.default_rng(0).integers(0, 256, digits.shape, dtype=np.uint8)
    assert time_to_quality.recognisability(classify(digits)[1])["recognisable"]
    assert not time_to_quality.recognisability(classify(noise)[1])["recognisable"]
