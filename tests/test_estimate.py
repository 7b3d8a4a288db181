"""How long a run will take, said before Start (issue 44): steps from the epochs and the dataset,
seconds from this machine's earlier run of the same cost, and when the default would end short."""

import json
import shutil

from conftest import APP, tiny_config
from streamlit.testing.v1 import AppTest

from ganlib.config import DEFAULT_PRESET, starting_point
from ganlib.runs import estimate
from ganlib.runs.rundir import RunDir


def test_steps_follow_the_epochs_the_dataset_and_the_cap_in_whole_executions():
    default = starting_point(DEFAULT_PRESET, "mnist")
    assert estimate.steps_per_epoch(default) == 936  # 60,000 // 64, a multiple of 4 steps per call
    assert estimate.steps_per_epoch(starting_point("toy")) == 375  # 100,000 // 256 = 390 -> 15 calls of 25
    assert estimate.steps_per_epoch(default.replace(steps_per_epoch=50)) == 48
    assert estimate.steps_per_epoch(default.replace(dataset="folder:/nowhere")) is None
    found = estimate.estimate(default, [])
    assert found.steps == 4680 and found.seconds is None and found.speed is None
    assert "measured by their first run" in estimate.describe(default, found)


def test_the_speed_is_this_machines_from_a_run_of_the_same_cost(runs_dir, trained_run):
    shutil.copytree(trained_run.path, runs_dir / "tiny")
    runs = [RunDir(runs_dir, "tiny")]
    config = tiny_config(epochs=40)
    found = estimate.estimate(config, runs)
    assert found.speed is not None and found.speed.run == "tiny" and found.speed.steps_per_sec > 0
    assert found.steps == 40 * 3 and found.seconds == found.steps / found.speed.steps_per_sec
    assert "measured by run tiny" in estimate.describe(config, found)
    assert estimate.estimate(config.replace(width=0.5), runs).speed is None  # another cost
    # A time budget caps the steps at what fits in it at that speed.
    budget = estimate.estimate(config.replace(epochs=10**5, minutes=0.5), runs)
    assert budget.seconds == 30 and budget.steps == int(30 * found.speed.steps_per_sec)
    # A run another machine trained measures nothing here.
    meta = json.loads((runs_dir / "tiny" / "config.json").read_text())
    meta["machine"]["cpu"] = "another CPU"
    (runs_dir / "tiny" / "config.json").write_text(json.dumps(meta))
    assert estimate.estimate(config, runs).speed is None


def test_a_run_too_short_for_the_defaults_usual_quality_is_told_so():
    default = starting_point(DEFAULT_PRESET, "mnist")
    short = estimate.estimate(default.replace(epochs=15, steps_per_epoch=100), [], is_default=True)
    assert short.steps == 1500 and "12,800 steps" in short.short_of and "recognisable" in short.reached
    long = estimate.estimate(default.replace(epochs=20), [], is_default=True)
    assert long.short_of is None and "usual best" in long.reached
    assert estimate.estimate(default.replace(epochs=1), [], is_default=False).short_of is None


def test_the_train_form_says_how_long_its_run_takes_before_start(app_runs):
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/train.py").run()
    said = [c.value for c in at.caption if "How long" in c.value]
    assert len(said) == 1 and "5 epochs x 936 steps = 4,680 steps" in said[0]
    assert "Too short for the default's usual quality" in said[0]
