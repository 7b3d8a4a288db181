"""The trainer under tf.distribute: two replicas compute what one device would, a run resumes
under another strategy and precision, two workers write one run and survive being killed.

Logical devices must be split before TensorFlow starts, so the replica tests run a script in a
subprocess; the multi-worker test runs the CLI twice, as two hosts would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import ROOT, TINY_FLAGS, ganlib_cli

from ganlib import atomic
from ganlib.config import QUICK_START
from ganlib.runs.rundir import RunDir, RunState
from ganlib.training import distribute, model_io

pytestmark = pytest.mark.slow  # minutes, not seconds: left out of the editing subset

# Two replicas against one device, from the same initial weights on the same global batches.
# In float64 the only differences are the order of additions: they must agree to 1e-12. In
# float32 rounding differences (summing two halves instead of one batch; BatchNorm's variance
# as E[x^2] - E[x]^2 across replicas) are amplified where Adam divides a near-zero gradient by
# its near-zero root mean square: a stated tolerance of 1e-3 in any weight after 4 steps, 1e-4
# in the logged losses (observed: 1.6e-4 and 4e-5 for cdcgan-lean, 5e-7 and 2e-6 for mlp).
EQUIVALENCE = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from ganlib.training import model_io
    from ganlib.config import ConfigError, TrainConfig
    from ganlib.runs.rundir import RunDir
    from ganlib.training.train import train

    runs = sys.argv[1]
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert two.num_replicas_in_sync == 2

    def weights(run):
        gan, _ = model_io.load_models(run)
        return {name: getattr(gan, name).get_weights() for name in ("generator", "discriminator", "ema_generator")
                if getattr(gan, name) is not None}

    def difference(a, b):
        return {name: max(float(np.max(np.abs(x - y))) for x, y in zip(a[name], b[name])) for name in a}

    def losses(run):  # by step: one device logs once per 4-step call, two replicas every step
        return {row.step: np.array([row.d_loss, row.g_loss]) for row in run.history()}

    def loss_difference(a, b):
        common = sorted(set(a) & set(b))
        assert common and common[-1] == 4, (sorted(a), sorted(b))
        return max(float(np.max(np.abs(a[step] - b[step]))) for step in common)

    report = {"equivalence": []}

    # A draw per replica: two different halves that together are one device's draw.
    from ganlib.zoo.replica import replica_rows
    seed = tf.constant([7, 1], tf.int64)
    halves = two.experimental_local_results(
        two.run(tf.function(lambda: replica_rows(tf.random.stateless_normal, [3, 5], seed))))
    whole = tf.random.stateless_normal([6, 5], seed=seed).numpy()
    from ganlib.zoo.replica import Dropout
    with two.scope():
        dropout = Dropout(0.5, seed=1)
        dropout.build((4, 8))
    masks = two.experimental_local_results(two.run(tf.function(lambda: dropout(tf.ones((4, 8)), training=True))))
    report["draws"] = {"halves_differ": not np.allclose(halves[0], halves[1]),
                       "equal_one_device": bool(np.array_equal(np.concatenate(halves), whole)),
                       "dropout_masks_differ": not np.array_equal(masks[0], masks[1])}
    for floatx in ("float64", "float32"):
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(floatx)  # the policy caches floatx when first read
        # The joint step with the EMA (BatchNorm synchronised, dropout-free D), the alternating
        # critic step without it (dropout in D, the gradient penalty): every path of train_step.
        for model, loss, ema in (("cdcgan-lean", "bce", 0.999), ("mlp", "wgan-gp", 0.0)):
            config = TrainConfig(model=model, loss=loss, ema=ema, width=0.25, batch_size=16, epochs=1,
                                 steps_per_epoch=4, log_every=1, live_fid_samples=0, steps_per_execution=4)
            name = f"{floatx}-{model}-{loss}-{ema}"
            one_run, two_run = RunDir(runs, name + "-one"), RunDir(runs, name + "-two")
            train(config, one_run)
            train(config, two_run, strategy=two)
            a, b = weights(one_run), weights(two_run)
            assert set(a) == set(b) == {"generator", "discriminator"} | ({"ema_generator"} if ema else set()), (set(a), set(b), name)
            report["equivalence"].append({
                "case": name, "weights": difference(a, b),
                "losses": loss_difference(losses(one_run), losses(two_run)),
            })
    keras.config.set_floatx("float32")
    keras.config.set_dtype_policy("float32")

    # A run started on two replicas in mixed bfloat16 resumes on one device in float32, and
    # one in mixed float16 (loss scaling) resumes on two replicas; the quick FID, EMA and
    # alerts on, as by default (the quick FID at 200 samples: on, at a fifth of the cost).
    for precision, first, then in (("mixed_bfloat16", two, None), ("mixed_float16", None, two)):
        config = TrainConfig(model="cdcgan-lean", width=0.25, batch_size=16, epochs=2, steps_per_epoch=3,
                             log_every=1, ema=0.999, live_fid_samples=200)
        run = RunDir(runs, precision)
        train(config, run, strategy=first, precision=precision)
        assert keras.config.dtype_policy().name == "float32"  # restored after training
        started = run.meta()["machine"]  # recorded in the run: how it was computed
        assert (started["precision"], started["replicas"]) == (precision, 2 if first else 1), started
        train(config.replace(epochs=3), run, resume=True, strategy=then)
        rows = run.history()
        steps = [row.step for row in rows]
        assert steps == sorted(steps) and set(steps) == set(range(1, 10)), steps  # each step once (+ epoch ends)
        assert all(np.isfinite(row.metric(key)) for row in rows for key in ("d_loss", "g_loss"))
        gan, checkpoint = model_io.load_models(run)
        assert checkpoint.epoch == 3
        assert gan.sample(np.zeros((2, 100), np.float32)).dtype == np.uint8
        report[precision] = {"steps": steps[-1], "last_d_loss": rows[-1].d_loss,
                             "quality_epochs": [q.epoch for q in run.quality() if np.isfinite(q.fid)]}

    # Under a mixed policy the variables stay float32, the images and scores come out float32.
    from ganlib.training import distribute, gan as gan_lib
    with distribute.precision("mixed_bfloat16"):
        gan = gan_lib.build_gan(TrainConfig(model="dcgan", width=0.25), (28, 28, 1))
        inner = gan.generator.layers[-2]
        report["mixed"] = {
            "compute": inner.compute_dtype, "variables": sorted({v.dtype for v in gan.generator.weights}),
            "image": gan.generator.output.dtype, "score": gan.discriminator.output.dtype,
        }

    # Loss scaling under mixed_float16: one step from the same weights moves D as much as in
    # float32 (unscaled float16 losses would reach Adam 2^15 times too small: 0.13 as much).
    real = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    moved = {}
    for precision in ("float32", "mixed_float16"):
        with distribute.precision(precision):
            gan = gan_lib.build_gan(TrainConfig(model="dcgan", width=0.25, batch_size=16), (28, 28, 1))
        before = gan.discriminator.get_weights()
        gan.train_step((real, np.zeros(16, np.int32)))
        after = gan.discriminator.get_weights()
        moved[precision] = float(np.mean([np.mean(np.abs(a - b)) for a, b in zip(after, before)]))
    report["loss_scaling"] = {"optimizer": type(gan.d_optimizer).__name__,
                              "update_ratio": moved["mixed_float16"] / moved["float32"]}

    # A batch that does not split over the replicas is refused with a clear message.
    try:
        train(TrainConfig(batch_size=15, epochs=1, steps_per_epoch=1), RunDir(runs, "odd"), strategy=two)
    except ConfigError as exc:
        report["odd_batch"] = str(exc)
    print("REPORT " + json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def replica_report(tmp_path_factory) -> dict:
    runs = tmp_path_factory.mktemp("replicas")
    done = subprocess.run(
        [sys.executable, "-c", EQUIVALENCE, str(runs)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GANLIB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-5000:]
    report = json.loads(lines[0].removeprefix("REPORT "))
    print(json.dumps(report, indent=1))  # the observed tolerances, for the record (pytest -s)
    return report


@pytest.mark.parametrize("case", ["cdcgan-lean-bce-0.999", "mlp-wgan-gp-0.0"])
def test_two_replicas_train_what_one_device_would(replica_report, case):
    by_case = {row["case"]: row for row in replica_report["equivalence"]}
    exact, rounded = by_case["float64-" + case], by_case["float32-" + case]
    assert max(exact["weights"].values()) < 1e-12, exact
    assert exact["losses"] < 1e-12, exact
    assert max(rounded["weights"].values()) < 1e-3, rounded
    assert rounded["losses"] < 1e-4, rounded
    assert ("ema_generator" in exact["weights"]) == case.endswith("0.999")


def test_each_replica_draws_its_own_rows_of_one_devices_draw_and_its_own_dropout_mask(replica_report):
    assert replica_report["draws"] == {
        "halves_differ": True,
        "equal_one_device": True,
        "dropout_masks_differ": True,
    }


def test_a_run_resumes_under_another_strategy_and_precision(replica_report):
    for precision in ("mixed_bfloat16", "mixed_float16"):
        assert replica_report[precision]["steps"] == 9
        assert replica_report[precision]["quality_epochs"] == [1, 2, 3]  # the quick FID, as by default


def test_mixed_precision_keeps_variables_images_and_scores_float32(replica_report):
    mixed = replica_report["mixed"]
    assert mixed["compute"] == "bfloat16"
    assert mixed["variables"] == ["float32"]
    assert mixed["image"] == mixed["score"] == "float32"


def test_mixed_float16_scales_the_loss_and_unscales_the_gradients(replica_report):
    scaling = replica_report["loss_scaling"]
    assert scaling["optimizer"] == "LossScaleOptimizer"
    assert 0.5 < scaling["update_ratio"] < 2, scaling


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(replica_report):
    assert "batch size 15 does not split over 2 replicas" in replica_report["odd_batch"]


# -- two workers -------------------------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


MLP_FLAGS = [*TINY_FLAGS, "--model", "mlp", "--ema", "0.99"]
# The resume test changes the run's end (2, then 400, then a few more epochs) and a decay or a
# boost aims at a share of it, so only constant rates make it equal to one uninterrupted run of the
# last length.
CONSTANT_RATES = [*MLP_FLAGS, "--lr-schedule", "constant", "--lr-boost", "1"]


def _start_workers(runs_dir, scratch, *flags, worker_runs_dir=None, base=MLP_FLAGS) -> list[subprocess.Popen]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        if index == 1 and worker_runs_dir:  # a second host that does not share the run folder
            runs_dir = worker_runs_dir
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = {**os.environ, "GANLIB_OFFLINE": "1", "TF_CONFIG": tf_config, "TMPDIR": str(scratch)}
        command = [sys.executable, "-m", "ganlib", "train", "--run", "mw", "--runs-dir", str(runs_dir)]
        command += ["--strategy", "multiworker", *base, *flags]
        workers.append(
            subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    return workers


def _scratch_runs(scratch) -> list[str]:
    return [path.name for path in scratch.iterdir() if path.name.startswith("ganlib-")]


def _finish(workers, timeout=240) -> list[str]:
    outputs = [worker.communicate(timeout=timeout)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    return outputs


def test_a_resuming_worker_copies_the_run_without_the_files_the_chief_is_writing(
    trained_run, tmp_path, monkeypatch
):
    """A worker that is not the chief copies the run to resume from while the chief writes it
    (the resumed settings, the status): a file mid-write is listed, then renamed away before it
    is copied. That killed the worker once in CI (shutil.Error: No such file); it is skipped."""
    import tensorflow as tf  # here: the module's other tests start TensorFlow in subprocesses

    run = RunDir(tmp_path / "runs", "tiny")
    shutil.copytree(trained_run.path, run.path)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec({"worker": ["localhost:1", "localhost:2"]}), task_type="worker", task_id=1
    )
    worker = SimpleNamespace(cluster_resolver=resolver)
    assert not distribute.is_chief(worker)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    real_scandir = os.scandir

    @contextlib.contextmanager
    def listed_then_renamed(path):  # copytree lists the run, then the chief's rename lands
        with real_scandir(path) as entries:
            listed = list(entries)
        being_written.unlink(missing_ok=True)
        yield iter(listed)

    with atomic.atomic_path(run.path / "config.json") as being_written:  # the chief, halfway
        being_written.write_text("{")
        monkeypatch.setattr(os, "scandir", listed_then_renamed)
        with distribute.run_for_this_worker(run, worker, resume=True) as copy:
            assert copy.path != run.path and copy.config() == trained_run.config()
            assert copy.epochs() == [run.epochs()[-1]]  # the newest checkpoint, to resume from
            assert not list(copy.path.glob(atomic.TEMPORARY))
        monkeypatch.undo()
        assert not copy.path.exists()  # the scratch copy is removed at the end
        being_written.write_text(trained_run.config_path.read_text())  # the chief's write ends


def test_two_workers_write_one_run_and_resume_after_both_are_killed(tmp_path):
    runs_dir, scratch = tmp_path / "runs", tmp_path / "scratch"
    scratch.mkdir()
    outputs = _finish(_start_workers(runs_dir, scratch, "--epochs", "2", base=CONSTANT_RATES))
    assert "training on 2 replicas" in outputs[0] and "the chief wrote the run" in outputs[1]
    run = RunDir(runs_dir, "mw")
    assert sorted(p.name for p in runs_dir.iterdir()) == ["mw"]  # the worker wrote nothing here
    assert run.status().state == RunState.FINISHED and run.epochs() == [1, 2]
    assert _scratch_runs(scratch) == []  # the worker's scratch copy is gone

    # Both killed mid-training (SIGKILL: no clean-up of any kind), then both resumed.
    workers = _start_workers(runs_dir, scratch, "--resume", "--epochs", "400", base=CONSTANT_RATES)
    deadline = time.monotonic() + 180
    while run.epochs()[-1] < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    for worker in workers:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    killed_at = run.epochs()[-1]
    assert 4 <= killed_at < 400
    _finish(
        _start_workers(runs_dir, scratch, "--resume", "--epochs", str(killed_at + 2), base=CONSTANT_RATES)
    )
    assert run.status().state == RunState.FINISHED
    assert run.epochs()[-1] == killed_at + 2
    assert _scratch_runs(scratch) == []  # the copy a kill left behind was removed at the restart

    # The same run as one device trains it uninterrupted: the same log points (none twice) and
    # the same weights, to float tolerance.
    # (One step per call, as the replicas run: the default preset's 4 would log every 3rd step.)
    ganlib_cli(
        "train", "--run", "one", "--runs-dir", runs_dir, *CONSTANT_RATES,
        "--epochs", killed_at + 2, "--steps-per-execution", "1",
    )  # fmt: skip
    uninterrupted = RunDir(runs_dir, "one").history()
    assert [row.step for row in run.history()] == [row.step for row in uninterrupted]
    one, _ = model_io.load_models(RunDir(runs_dir, "one"))
    two, _ = model_io.load_models(run)
    for name in ("generator", "discriminator", "ema_generator"):
        pairs = zip(getattr(one, name).get_weights(), getattr(two, name).get_weights())
        assert max(float(np.max(np.abs(a - b))) for a, b in pairs) < 1e-4, name

    # It opens like any other run: evaluate, and the app's Gallery.
    done = ganlib_cli("evaluate", "--run", run.path, "--epochs", killed_at + 2, "--samples", 200)
    result = json.loads(done.stdout.strip().splitlines()[0])
    assert result["epoch"] == killed_at + 2 and np.isfinite(result["fid"]), done.stdout
    from streamlit.testing.v1 import AppTest

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANLIB_RUNS_DIR", str(runs_dir))
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        app.query_params["run"] = "mw"
        app.run()
        app.switch_page("pages/gallery.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error and app.get("image")


def test_two_workers_train_with_every_default_on_the_live_quality_included(tmp_path):
    # Only the size is small; the model, EMA, quick FID (1,000 samples) and alerts are the
    # defaults. The quick FID is the chief's alone: it once crashed the first checkpoint.
    runs_dir, scratch = tmp_path / "runs", tmp_path / "scratch"
    scratch.mkdir()
    small = ["--steps-per-epoch", "3", "--batch-size", "16", "--width", "0.25", "--epochs", "2"]
    _finish(_start_workers(runs_dir, scratch, base=small))
    run = RunDir(runs_dir, "mw")
    assert run.status().state == RunState.FINISHED and run.epochs() == [1, 2]
    config = run.config()
    assert (config.model, config.ema, config.live_fid_samples) == (  # the defaults, every one
        QUICK_START.model,
        QUICK_START.ema,
        QUICK_START.live_fid_samples,
    )
    quality = run.quality()
    assert [q.epoch for q in quality] == [1, 2] and all(np.isfinite(q.fid) for q in quality)


def test_a_worker_that_cannot_see_the_run_stops_both_workers_with_a_message(tmp_path):
    runs_dir, scratch = tmp_path / "runs", tmp_path / "scratch"
    scratch.mkdir()
    ganlib_cli("train", "--run", "mw", "--runs-dir", runs_dir, *TINY_FLAGS, "--model", "mlp", "--epochs", 1)
    # Resuming records the status and the epochs asked for (config.json); nothing else may change.
    kept = [
        p
        for p in (runs_dir / "mw").rglob("*")
        if p.is_file() and p.name not in ("status.json", "config.json")
    ]
    before = {path: path.read_bytes() for path in kept}
    workers = _start_workers(
        runs_dir, scratch, "--resume", "--epochs", "3", worker_runs_dir=tmp_path / "elsewhere"
    )
    outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [2, 2], outputs
    assert "every worker must see the run folder at the same path" in outputs[1]
    assert "a worker of the cluster stopped or cannot be reached" in outputs[0]
    assert "start every worker again with --resume" in outputs[0]
    assert not any("Traceback" in output for output in outputs)
    run = RunDir(runs_dir, "mw")
    assert run.status().state == RunState.FAILED and run.epochs() == [1]
    changed = [path.name for path, data in before.items() if path.read_bytes() != data]
    assert changed == [], changed  # nothing saved changed


def test_multiworker_without_a_cluster_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    done = ganlib_cli("train", "--run", "x", "--runs-dir", tmp_path, "--strategy", "multiworker", check=False)
    assert done.returncode == 2 and "needs TF_CONFIG" in done.stderr and "Traceback" not in done.stderr
    monkeypatch.setenv(
        "TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}'
    )
    done = ganlib_cli("train", "--run", "x", "--runs-dir", tmp_path, "--strategy", "multiworker", check=False)
    assert done.returncode == 2 and "TF_CONFIG is not a cluster and task" in done.stderr
    assert not (tmp_path / "x").exists()
