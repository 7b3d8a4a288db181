"""The headless CLI, run as a user runs it: a subprocess writing a real run directory."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, ganlib_cli
from conftest import TINY_FLAGS as TINY

from ganlib.runs.rundir import RunDir
from ganlib.sampling import images

# One step per call into TensorFlow (the default preset runs 4): a log point at every step, so a
# lost or repeated history line shows.
EVERY_STEP = ["--steps-per-execution", "1"]


@pytest.mark.slow
@pytest.mark.parametrize("model, dataset", [("dcgan", "mnist"), ("mlp", "fashion_mnist")])
def test_train_resume_and_sample(runs_dir, tmp_path, model, dataset):
    common = [
        "--run",
        "smoke",
        "--dataset",
        dataset,
        "--model",
        model,
        "--runs-dir",
        runs_dir,
        *TINY,
        *EVERY_STEP,
    ]
    ganlib_cli("train", *common, "--epochs", 2)
    run = RunDir(runs_dir, "smoke")
    assert run.epochs() == [1, 2]
    assert all(c.grid_path.is_file() for c in run.checkpoints())
    ganlib_cli("train", *common, "--epochs", 3, "--resume")
    assert run.epochs() == [1, 2, 3]
    steps = [r.step for r in run.history() if r.kind == "step"]
    assert steps == list(range(1, 10))  # exactly one more epoch, no duplicated or lost lines

    out = tmp_path / "grid.png"
    done = ganlib_cli("sample", "--run", run.path, "--n", 16, "--out", out)
    assert "epoch 3" in done.stdout
    grid = images.read_png(str(out))
    assert grid.shape[:2] == (4 * 30 + 2, 4 * 30 + 2) and grid.std() > 0

    table = ganlib_cli("runs", "--runs-dir", runs_dir).stdout
    assert "smoke" in table and dataset in table and "3/3" in table and "finished" in table


@pytest.mark.slow
def test_preset_sets_the_defaults_and_flags_override_it(runs_dir):
    from ganlib.config import QUICK_START

    ganlib_cli(
        "train", "--run", "quick", "--preset", "quick-start", "--epochs", 1, "--runs-dir", runs_dir, *TINY,
        "--no-spectral-norm", "--no-tensorboard",  # a preset's True turned off
    )  # fmt: skip
    run = RunDir(runs_dir, "quick")
    config = run.config()
    assert (config.model, config.ema, config.lr_g) == (QUICK_START.model, QUICK_START.ema, QUICK_START.lr_g)
    assert (config.width, config.batch_size, config.epochs) == (0.25, 16, 1)  # given flags win
    assert QUICK_START.spectral_norm and not config.spectral_norm and not config.tensorboard
    assert run.epochs() == [1] and not run.tensorboard_dir.exists()


@pytest.mark.slow
def test_without_a_preset_the_cli_trains_what_the_train_form_starts_from(runs_dir):
    from ganlib.config import DEFAULT_PRESET, PRESETS

    ganlib_cli("train", "--run", "plain", "--epochs", 1, "--runs-dir", runs_dir, *TINY)
    config = RunDir(runs_dir, "plain").config()
    form = PRESETS[DEFAULT_PRESET]
    assert (config.model, config.lr_g, config.ema, config.augment) == (
        form.model,
        form.lr_g,
        form.ema,
        form.augment,
    )
    assert f"(default: {form.model})" in ganlib_cli("train", "--help").stdout.replace("\n", " ")


def test_each_dataset_gets_the_default_presets_own_settings_unless_a_flag_or_preset_says_otherwise():
    from ganlib import cli
    from ganlib.config import DATASET_DEFAULTS, PRESETS

    def configured(*flags):
        return cli.args.configured(cli.build_parser().parse_args(["train", "--run", "x", *flags]))

    assert configured().ema == configured("--dataset", "mnist").ema == PRESETS["quick-start"].ema == 0.99
    assert configured("--dataset", "fashion_mnist").ema == DATASET_DEFAULTS["fashion_mnist"]["ema"] == 0.999
    # MNIST's rates start twice as high and decay at the end of a long run, Fashion-MNIST's are
    # never decayed (docs/benchmarks.md, "Seventh", "Eighth" and "Thirteenth round")
    mnist, fashion = configured(), configured("--dataset", "fashion_mnist")
    assert (mnist.lr_schedule, mnist.lr_boost) == ("auto", 2.0)
    assert (fashion.lr_schedule, fashion.lr_boost) == ("auto-constant", 1.0)
    assert configured("--dataset", "fashion_mnist", "--ema", "0.95").ema == 0.95  # a flag wins
    tutorial = configured("--preset", "tutorial", "--dataset", "fashion_mnist")
    assert (tutorial.ema, tutorial.dataset) == (PRESETS["tutorial"].ema, "fashion_mnist")  # as written
    assert configured("--dataset", "toy:ring8").model == "toy-mlp"  # a toy's own preset


@pytest.mark.slow
def test_refuses_to_overwrite_and_reports_user_errors_in_one_line(runs_dir):
    ganlib_cli("train", "--run", "once", "--epochs", 1, "--runs-dir", runs_dir, *TINY)
    for args, message in [
        (["train", "--run", "once", "--epochs", 1, "--runs-dir", runs_dir], "already exists"),
        (["train", "--run", "../escape", "--runs-dir", runs_dir], "invalid run name"),
        (["train", "--run", "x", "--batch-size", "0", "--runs-dir", runs_dir], "batch_size"),
        (["train", "--run", "x", "--epochs", "many"], "invalid int value"),
        (["sample", "--run", f"{runs_dir}/missing", "--out", "x.png"], "no run"),
        (
            ["sample", "--run", f"{runs_dir}/once", "--epoch", 9, "--out", "x.png"],
            "no checkpoint for epoch 9",
        ),
        (["frobnicate"], "invalid choice"),
        (["train", "--run", "x", "--precision", "float8", "--runs-dir", runs_dir], "invalid choice"),
        (["train", "--run", "x", "--strategy", "tpu", "--runs-dir", runs_dir], "invalid choice"),
    ]:
        done = ganlib_cli(*args, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (runs_dir / "x").exists()


@pytest.mark.slow
def test_resume_after_kill_9(runs_dir):
    """A run killed mid-training resumes from its last complete checkpoint, history intact."""
    env = {**os.environ, "GANLIB_OFFLINE": "1"}
    args = ["train", "--run", "killed", "--runs-dir", runs_dir, "--epochs", 200, *TINY, *EVERY_STEP]
    process = subprocess.Popen(
        [sys.executable, "-m", "ganlib", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run = RunDir(runs_dir, "killed")
    deadline = time.monotonic() + 240
    while len(run.epochs()) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert len(run.epochs()) >= 3, "training did not reach three checkpoints"
    assert run.status().state == "interrupted"  # the lock's process is gone
    last = run.checkpoint()
    ganlib_cli(
        "train",
        "--run",
        "killed",
        "--runs-dir",
        runs_dir,
        "--epochs",
        last.epoch + 1,
        "--resume",
        *TINY,
        *EVERY_STEP,
    )
    steps = [r.step for r in run.history() if r.kind == "step"]
    assert steps == list(range(1, (last.epoch + 1) * 3 + 1))
    assert run.epochs()[-1] == last.epoch + 1
    assert not list(run.epochs_dir.glob(".*"))  # no temp folder left behind
    assert json.loads((run.path / "status.json").read_text())["state"] == "finished"


def test_data_command_lists_datasets():
    lines = [json.loads(line) for line in ganlib_cli("data").stdout.splitlines() if line.startswith("{")]
    assert {d["dataset"] for d in lines} == {"mnist", "fashion_mnist"}
    assert all(d["status"].startswith("ok") for d in lines)
    assert np.all([d["path"] for d in lines])


@pytest.mark.slow
def test_runs_and_evaluate_report_a_damaged_epoch_and_go_on(trained_run, runs_dir):
    import shutil

    run = RunDir(runs_dir, "damaged")
    shutil.copytree(trained_run.path, run.path)
    run.checkpoint(2).grid_path.write_bytes(b"not a png")
    table = ganlib_cli("runs", "--runs-dir", runs_dir).stdout
    assert "damaged" in table.splitlines()[0] and "2 (grid.png is not a PNG)" in table
    lines = [
        json.loads(line)
        for line in ganlib_cli("evaluate", "--run", run.path, "--samples", 100).stdout.splitlines()
    ]
    assert lines[0] == {"epoch": 2, "damaged": "grid.png is not a PNG"}
    assert [line["epoch"] for line in lines[1:-1]] == [1, 3]  # every other epoch is evaluated


def test_the_strategy_and_precision_default_to_one_device_in_float32():
    from ganlib.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["train", "--run", "x", "--strategy", "mirrored"]).strategy == "mirrored"
    assert parse(["train", "--run", "x"]).strategy == "default"
    assert parse(["train", "--run", "x"]).precision == "float32"
