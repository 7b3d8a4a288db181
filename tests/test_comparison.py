"""Comparing runs: the library's progress axes, nearest checkpoints and differing settings, and
the Compare page through AppTest."""

import json
import shutil

import pytest
from conftest import APP, ROOT, tree_digest
from streamlit.testing.v1 import AppTest

from ganlib import comparison, evaluation
from ganlib.comparison import Axis
from ganlib.runs.rundir import RunDir, list_runs

SHIPPED = ROOT / "checkpoints"


def test_checkpoints_sit_on_steps_and_images_seen_with_their_cached_fid():
    points = comparison.points(RunDir(SHIPPED, "demo-mnist"))
    assert [p.step for p in points] == [200, 400, 800, 1600, 3200, 6400, 12800]
    assert all(p.images_seen == 64 * p.step for p in points)  # batch 64, one D step per G step
    assert all(p.fid is not None and p.samples == 10_000 for p in points)
    assert comparison.nearest(points, 250_000, Axis.IMAGES).step == 3200
    assert comparison.nearest(points, 4800, Axis.STEPS).step == 3200  # a tie: the earlier
    assert comparison.nearest([], 1, Axis.STEPS) is None


def test_only_the_settings_that_differ_are_listed(trained_run):
    configs = {name: RunDir(SHIPPED, name).config() for name in ("demo-mnist", "demo-fashion-mnist")}
    assert comparison.differing_settings(configs) == {  # the default, with each dataset's own
        "dataset": {"demo-mnist": "mnist", "demo-fashion-mnist": "fashion_mnist"},
        "lr_schedule": {"demo-mnist": "linear", "demo-fashion-mnist": "constant"},
        "ema": {"demo-mnist": 0.99, "demo-fashion-mnist": 0.999},
        "lr_boost": {"demo-mnist": 2.0, "demo-fashion-mnist": 1.0},
    }
    configs["tiny"] = trained_run.config()
    differing = comparison.differing_settings(configs)
    assert {"model", "batch_size", "width"} <= set(differing) and "seed" not in differing
    assert differing["batch_size"] == {"demo-mnist": 64, "demo-fashion-mnist": 64, "tiny": 16}


def _compare(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(params)
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at) -> list[str]:
    return [image.proto.imgs[0].caption for image in at.get("image")]


def _fid(name: str, epoch: int) -> float:
    """The run's own cached FID of ``epoch`` (what the page must show beside its grid)."""
    return evaluation.cached_results(RunDir(SHIPPED, name))[epoch].fid


def test_a_deep_link_shows_each_run_at_that_step_with_its_fid_and_the_settings_table(app_runs):
    at = _compare(runs="demo-mnist,demo-fashion-mnist", step="3200")
    assert _captions(at) == [
        f"demo-mnist · epoch 16 · step 3,200 · 204,800 images · FID {_fid('demo-mnist', 16):.2f} (10,000 samples)",
        f"demo-fashion-mnist · epoch 16 · step 3,200 · 204,800 images · FID {_fid('demo-fashion-mnist', 16):.2f} "
        "(10,000 samples)",
    ]
    table = at.dataframe[-1].value  # the picked runs' differing settings
    assert list(table["setting"]) == ["dataset", "ema", "lr_boost", "lr_schedule", "best FID"]
    best = min(r.fid for r in evaluation.cached_results(RunDir(SHIPPED, "demo-mnist")).values())
    assert list(table["demo-mnist"]) == ["mnist", "0.99", "2.0", "linear", f"{best:.3f}"]
    assert len(at.get("plotly_chart")) == 3  # the settings' parallel coordinates, FID by progress, by seconds
    at.select_slider[0].set_value(800).run()
    assert [c.split(" · ")[2] for c in _captions(at)] == ["step 800", "step 800"]


def test_runs_of_other_batch_sizes_align_by_images_seen(app_runs, trained_run):
    shutil.copytree(trained_run.path, app_runs / "tiny")  # batch 16, three checkpoints of 3 steps
    at = _compare(runs="tiny,demo-mnist")
    assert at.radio[0].value == Axis.IMAGES
    positions = at.select_slider[0].options
    assert "144" in positions and "12800" in positions  # tiny's 9 steps x 16; demo-mnist's 200 x 64
    at.select_slider[0].set_value(144).run()
    assert _captions(at)[0].startswith("tiny · epoch 3 · step 9 · 144 images")  # in the URL's order
    assert _captions(at)[1].startswith("demo-mnist · epoch 1 · step 200")  # 12,800 images: the nearest


def test_a_toy_runs_row_shows_its_modes_and_leaves_the_fid_cells_empty(app_runs):
    rows = {row["run"]: row for row in comparison.runs_table(list_runs(app_runs))}
    toy = evaluation.cached_mode_results(RunDir(app_runs, "demo-2d-ring8-preset"))[20]
    assert rows["demo-2d-ring8-preset"]["modes covered"] == f"{toy.modes_covered}/8"
    assert rows["demo-2d-ring8-preset"]["high quality"] == pytest.approx(toy.high_quality)
    assert rows["demo-2d-ring8-preset"]["best FID"] is None and rows["demo-mnist"]["modes covered"] is None
    # Both tables show a missing figure as an empty cell, not "None".
    at = _compare()
    assert at.dataframe[0].proto.placeholder == ""
    at.switch_page("app.py").run()
    home = next(frame for frame in at.dataframe if "modes covered" in frame.value.columns)
    assert home.proto.placeholder == ""
    assert set(home.value["modes covered"].dropna()) == {"8/8", "1/8"}


def test_hostile_parameters_fall_back_and_the_demo_link_writes_nothing(app_runs, monkeypatch):
    monkeypatch.setenv("GANLIB_DEMO", "1")
    before = tree_digest(app_runs)
    at = _compare(runs="<script>,demo-mnist,demo-mnist,../etc", step="1e99", images="-5")
    # The default instead: the first two runs listed, each at its newest checkpoint.
    names = [run.name for run in list_runs(app_runs)][:2]
    assert [c.split(" · ")[0] for c in _captions(at)] == names
    for name, caption in zip(names, _captions(at)):
        assert f"step {RunDir(app_runs, name).checkpoints()[-1].step:,}" in caption
    assert tree_digest(app_runs) == before


def test_every_run_is_a_row_of_its_settings_and_best_figures_and_a_filter_narrows_them(app_runs, trained_run):
    shutil.copytree(trained_run.path, app_runs / "tiny")
    rows = {
        row["run"]: row
        for row in comparison.runs_table([RunDir(app_runs, n) for n in ("demo-mnist", "tiny")])
    }
    best = RunDir(app_runs, "demo-mnist").best()
    scored = evaluation.cached_results(RunDir(app_runs, "demo-mnist"))[best.epoch]
    assert rows["demo-mnist"]["best epoch"] == best.epoch and rows["demo-mnist"]["FID samples"] == 10_000
    assert rows["demo-mnist"]["recall"] == pytest.approx(scored.recall)
    assert rows["demo-mnist"]["loss"] == RunDir(app_runs, "demo-mnist").config().loss
    assert rows["tiny"]["best FID"] is None and rows["tiny"]["batch_size"] == 16  # never evaluated
    at = _compare()
    every = at.dataframe[0].value
    assert set(every["run"]) == {run.name for run in list_runs(app_runs)} and "tiny" in set(every["run"])
    assert {"best FID", "recall", "model", "lr_g", "ema"} <= set(every.columns)
    # The parallel coordinates: the runs with a best FID, on the settings that differ between them
    # (tiny's batch size differs, but tiny has no FID to end its line at), then that FID.
    parallel = json.loads(next(c for c in at.get("plotly_chart") if "parcoords" in c.proto.spec).proto.spec)
    axes = [d["label"] for d in parallel["data"][0]["dimensions"]]
    assert axes == ["dataset", "ema", "lr_boost", "lr_schedule", "best FID"]
    at.text_input[0].input("fashion").run()
    assert list(at.dataframe[0].value["run"]) == ["demo-fashion-mnist"]
