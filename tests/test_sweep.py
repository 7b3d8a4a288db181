"""Sweeps: a grid of settings over seeds trained one run after another, evaluated, tabled as mean
and std over seeds, and resumed after a kill without retraining what was done; from the CLI, on
several devices too (the app's sweeps: test_sweep_app.py)."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time

import pytest
from conftest import ROOT, TINY_FLAGS, ganlib_cli, open_page, tiny_config, tiny_sweep_plan, tree_digest

from ganlib import GanlibError, evaluation, sweep
from ganlib.config import ConfigError
from ganlib.runs.rundir import RunState


def test_a_grid_is_every_combination_at_every_seed_and_each_run_is_named_by_its_settings():
    grid = sweep.parse_grid(["loss=bce,hinge", "lr-g=2e-4,4e-4,4e-4", "spectral_norm=true"])
    assert grid == {"loss": ["bce", "hinge"], "lr_g": [2e-4, 4e-4], "spectral_norm": [True]}
    plan = sweep.Plan(tiny_config(), grid, seeds=[0, 1])
    runs = plan.runs()
    assert len(runs) == 2 * 2 * 2 and len({name for name, _ in runs}) == 8
    name, config = runs[-1]
    assert name == "loss-hinge.lr_g-0.0004.spectral_norm-True.seed-1"
    assert (config.loss, config.lr_g, config.spectral_norm, config.seed) == ("hinge", 4e-4, True, 1)
    assert [c.seed for _, c in runs[:4]] == [0] * 4  # every point once before any point twice
    drawn = sweep.Plan(tiny_config(), grid, [0], draws=3, draw_seed=7).points()
    assert len(drawn) == 3 and drawn == sweep.Plan(tiny_config(), grid, [0], draws=3, draw_seed=7).points()


def test_every_problem_of_a_sweep_is_reported_before_anything_trains(tmp_path):
    with pytest.raises(ConfigError) as caught:
        sweep.parse_grid(["seed=1,2", "lr_g=fast", "colour=red", "width="])
    text = str(caught.value)
    assert all(
        word in text
        for word in ["'seed'", "lr_g: every value must be a float", "'colour'", "width: no values"]
    )
    plan = sweep.Plan(tiny_config(), {"batch_size": [16, -1]}, [0], samples=50)
    with pytest.raises(ConfigError) as caught:
        sweep.Sweep.create(tmp_path / "bad", plan)
    assert "samples per evaluation" in str(caught.value) and "batch_size--1.seed-0: batch_size" in str(
        caught.value
    )
    assert not (tmp_path / "bad").exists()
    bad = ganlib_cli("sweep", "--folder", tmp_path / "x", "--set", "loss=nope", check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "loss" in bad.stderr


@pytest.mark.slow  # trains and evaluates four runs: end to end, 26 s
def test_a_sweep_trains_evaluates_and_tables_best_fid_over_seeds(tmp_path, monkeypatch):
    plan = sweep.Plan(tiny_config(epochs=1), sweep.parse_grid(["loss=bce,hinge"]), [0, 1], samples=100)
    job = sweep.Sweep.create(tmp_path / "sw", plan)
    job.run(log=lambda message: None)
    assert set(job.states().values()) == {RunState.FINISHED}
    rows = {row.settings["loss"]: row for row in job.table()}
    for loss in ("bce", "hinge"):
        bests = []
        for seed in (0, 1):
            run = job.run_dir(f"loss-{loss}.seed-{seed}")
            assert (run.config().loss, run.config().seed) == (loss, seed)
            results = evaluation.cached_results(run)
            assert len(results) == 1 and results[run.best().epoch].samples == 100
            bests.append(results[run.best().epoch].fid)
        assert rows[loss].seeds == 2
        assert rows[loss].fid_mean == pytest.approx(statistics.fmean(bests))
        assert rows[loss].fid_std == pytest.approx(statistics.stdev(bests))
    # Run again: everything is done, so nothing is trained or written.
    before = tree_digest(job.folder)
    sweep.Sweep.open(job.folder).run(log=lambda message: None)
    assert tree_digest(job.folder) == before
    # The app opened on the sweep's folder shows the table on the Compare page.
    monkeypatch.setenv("GANLIB_RUNS_DIR", str(job.folder))
    monkeypatch.setenv("GANLIB_AUTO_RESUME", "0")
    at = open_page("pages/compare.py", run="loss-bce.seed-0")
    shown = at.dataframe[0].value
    assert list(shown["loss"]) == ["bce", "hinge"] and list(shown["seeds"]) == [2, 2]
    assert list(shown["best FID"]) == [  # as read: mean ± std
        f"{rows[loss].fid_mean:.3f} ± {rows[loss].fid_std:.3f}" for loss in ("bce", "hinge")
    ]


@pytest.mark.slow
def test_a_killed_sweep_resumes_where_it_stopped_and_keeps_what_was_done(tmp_path):
    folder = tmp_path / "sw"
    flags = [*TINY_FLAGS, "--steps-per-epoch", "24", "--epochs", "2", "--samples", "100"]
    command = [
        sys.executable,
        "-m",
        "ganlib",
        "sweep",
        "--folder",
        folder,
        "--set",
        "loss=bce,hinge",
        "--seeds",
        "1",
    ]
    env = {**os.environ, "GANLIB_OFFLINE": "1"}
    process = subprocess.Popen([*map(str, command), *flags], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    second = folder / "loss-hinge.seed-0" / "epochs"
    deadline = time.monotonic() + 600
    while not (second.is_dir() and any(p.name == "0001" for p in second.iterdir())):
        assert process.poll() is None and time.monotonic() < deadline, "the sweep ended before the kill"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    job = sweep.Sweep.open(folder)
    first, killed = job.run_dir("loss-bce.seed-0"), job.run_dir("loss-hinge.seed-0")
    assert job.states()[first.name] == RunState.FINISHED and job.states()[killed.name] != RunState.FINISHED
    done_before, kept = tree_digest(first.path), killed.checkpoint(1).fingerprint
    resumed = ganlib_cli("sweep", "--folder", folder, "--resume")
    assert f"{killed.name}: resuming" in resumed.stdout and f"{first.name}: training" not in resumed.stdout
    assert tree_digest(first.path) == done_before  # the finished run is not trained again
    assert killed.checkpoint(1).fingerprint == kept  # resumed from its checkpoint, not restarted
    assert set(job.states().values()) == {RunState.FINISHED}
    rows = [json.loads(line) for line in resumed.stdout.splitlines() if line.startswith("{")]
    assert [(row["loss"], row["seeds"]) for row in rows] == [("bce", 1), ("hinge", 1)]


def test_a_named_sweep_lives_among_a_runs_folders_runs_and_is_found_by_them(runs_dir):
    job = sweep.Sweep.create(runs_dir, tiny_sweep_plan(), "losses")
    assert job.plan_path == runs_dir / "sweeps" / "losses.json" and job.plan_path.is_file()
    assert [name for name, _ in job.runs()] == ["losses.loss-bce.seed-0", "losses.loss-hinge.seed-0"]
    assert job.pending() == [name for name, _ in job.runs()]  # nothing trained yet
    assert [s.name for s in sweep.named_sweeps(runs_dir)] == ["losses"]
    assert sweep.sweep_of(runs_dir, "losses.loss-hinge.seed-0").name == "losses"
    assert sweep.sweep_of(runs_dir, "loss-hinge.seed-0") is None
    reopened = sweep.Sweep.open(runs_dir, "losses")
    assert reopened.runs() == job.runs() and reopened.plan.samples == 100
    with pytest.raises(GanlibError, match="holds a sweep already"):
        sweep.Sweep.create(runs_dir, tiny_sweep_plan(), "losses")
    (runs_dir / "other.loss-bce.seed-0").mkdir()  # a run of a name the next sweep would take
    with pytest.raises(ConfigError) as caught:
        sweep.Sweep.create(runs_dir, tiny_sweep_plan(), "other")
    assert "other.loss-bce.seed-0: a run of that name exists already" in str(caught.value)
    with pytest.raises(ConfigError, match="invalid run name"):
        sweep.Sweep.create(runs_dir, tiny_sweep_plan(), "../up")
    (runs_dir / "sweeps" / "torn.json").write_text('{"base": ')  # half-written: not listed, not raised
    assert [s.name for s in sweep.named_sweeps(runs_dir)] == ["losses"]


@pytest.mark.slow  # two processes, one per device, each training one tiny run
def test_a_sweep_on_two_devices_trains_each_run_once_in_one_process_per_device(tmp_path):
    done = ganlib_cli(
        "sweep", "--folder", tmp_path / "sw", "--set", "loss=bce,hinge", "--seeds", "1", "--samples", "100",
        "--epochs", "1", "--devices", "0,1", *TINY_FLAGS,
    )  # fmt: skip
    job = sweep.Sweep.open(tmp_path / "sw")
    assert set(job.states().values()) == {RunState.FINISHED}
    for i, name in enumerate(["loss-bce.seed-0", "loss-hinge.seed-0"], 1):
        assert done.stdout.count(f"{name}: training") == 1 and f"[{i}/2] {name}: best FID" in done.stdout
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(row["loss"], row["seeds"]) for row in rows] == [("bce", 1), ("hinge", 1)]
    bad = ganlib_cli(
        "sweep", "--folder", tmp_path / "x", "--set", "loss=bce", "--devices", "0,0", check=False
    )
    assert bad.returncode == 2 and "distinct GPU numbers" in bad.stderr and not (tmp_path / "x").exists()
