import dataclasses
import json
import shutil

import pytest
from conftest import log_point, tiny_config

from ganlib.runs import checkpoints
from ganlib.runs.records import PointKind, Progress, QualityPoint
from ganlib.runs.rundir import Best, ChosenBy, RunDir, RunError, RunState, list_runs
from ganlib.training import model_io
from ganlib.training.train import train


def test_torn_history_line_is_skipped(runs_dir):
    run = RunDir(runs_dir, "torn")
    run.path.mkdir()
    run.append_history([log_point(1), log_point(2)])
    with open(run.history_path, "a") as f:
        f.write('{"step": 3, "d_lo')  # what a kill -9 mid-write leaves
    assert run.history() == [log_point(1), log_point(2)]
    run.truncate_history(1)
    assert run.history() == [log_point(1)] and run.history_path.read_text().count("\n") == 1


@pytest.mark.parametrize(
    "damage, problem",
    [
        (
            lambda c: c.generator_path.write_bytes(c.generator_path.read_bytes()[:5000]),
            "generator.weights.h5 is damaged",
        ),
        (
            lambda c: c.discriminator_path.write_bytes(b"not weights" * 100),
            "discriminator.weights.h5 is damaged",
        ),
        (lambda c: (c.path / "state.json").write_text("{cut"), "state.json is not JSON"),
        (lambda c: c.grid_path.unlink(), "no grid.png"),
    ],
)
@pytest.mark.slow
def test_a_damaged_checkpoint_is_reported_the_others_load_and_resume_falls_back(
    trained_run, runs_dir, damage, problem
):
    run = RunDir(runs_dir, "damaged")
    shutil.copytree(trained_run.path, run.path)
    damage(run.checkpoint(3))
    assert list(run.damaged()) == [3] and problem in run.damaged()[3]
    assert run.epochs() == [1, 2]  # every other epoch is listed and loads
    model_io.load_models(run, 2)
    with pytest.raises(RunError, match=f"epoch 3 is damaged \\({problem}"):
        run.checkpoint(3)
    assert problem in run.summary()["damaged"]
    train(tiny_config(epochs=4), run, resume=True)  # from epoch 2, the newest intact one
    assert run.epochs() == [1, 2, 3, 4] and run.damaged() == {}
    steps = [r.step for r in run.history(PointKind.STEP)]
    assert steps == sorted(set(steps)) and steps[-1] == 12  # history cut back to epoch 2, no repeats


def test_half_written_checkpoint_folder_is_invisible(trained_run, runs_dir):
    import shutil

    run = RunDir(runs_dir, "half")
    shutil.copytree(trained_run.path, run.path)
    (run.epochs_dir / ".0004.tmp-123").mkdir()
    (run.epochs_dir / "0005").mkdir()  # no state.json: never completed
    assert run.epochs() == [1, 2, 3]


def test_optimizer_state_kept_only_where_resume_needs_it(trained_run):
    have = [c.epoch for c in trained_run.checkpoints() if c.optimizer_path.exists()]
    assert have == [2, 3]


def test_best_epoch_must_exist(trained_run):
    with pytest.raises(RunError, match="no checkpoint for epoch 42"):
        trained_run.set_best(Best(42, ChosenBy.PERSON))


def test_list_runs_skips_non_runs(trained_run):
    (trained_run.runs_dir / "not-a-run").mkdir(exist_ok=True)
    assert [r.name for r in list_runs(trained_run.runs_dir)] == ["tiny"]


def test_status_is_a_typed_state_even_from_a_damaged_file(trained_run, tmp_path):
    from ganlib.runs.rundir import RunState

    run = RunDir(tmp_path, "copy")
    shutil.copytree(trained_run.path, run.path)
    assert run.status().state is RunState.FINISHED
    (run.path / "status.json").write_text('{"state": "exploded"}')
    assert run.status().state is RunState.CREATED  # unknown state: as if never started
    (run.path / "status.json").write_text('{"state": "training"}')  # no live process holds the lock
    status = run.status()
    assert status.state is RunState.INTERRUPTED and status.was is RunState.TRAINING
    assert status.state.resumable and not status.state.active
    assert RunDir(tmp_path, "nothing").status().state is RunState.MISSING


def test_resume_removes_checkpoint_folders_a_kill_left_half_written(trained_run, tmp_path):
    run = RunDir(tmp_path, "killed-mid-save")
    shutil.copytree(trained_run.path, run.path)
    for name in (".0004.tmp-12345", ".0004.tmp-67890"):  # two kills during the save of epoch 4
        (run.epochs_dir / name).mkdir()
        (run.epochs_dir / name / "generator.weights.h5").write_bytes(b"half")
    train(tiny_config(epochs=4), run, resume=True)
    assert sorted(p.name for p in run.epochs_dir.iterdir()) == ["0001", "0002", "0003", "0004"]


def test_a_symlink_in_the_runs_folder_is_refused_not_followed(trained_run, tmp_path):
    outside = tmp_path / "outside"
    shutil.copytree(trained_run.path, outside)  # looks like a run, but lives elsewhere
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "evil").symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.rglob("*"))
    assert list_runs(runs) == []
    with pytest.raises(RunError, match="symbolic link"):
        RunDir(runs, "evil")
    with pytest.raises(RunError, match="symbolic link"):
        train(tiny_config(epochs=4), RunDir(runs, "evil"), resume=True)
    assert sorted(p.name for p in outside.rglob("*")) == before


def test_bad_history_lines_anywhere_are_skipped_with_a_warning(runs_dir, caplog):
    run = RunDir(runs_dir, "damaged")
    run.path.mkdir()
    good = [json.dumps(log_point(s).to_dict()) for s in (1, 2, 3)]
    bad = ["not json", "[1, 2]", '{"step": "two"}', '{"no_step": 1}']
    run.history_path.write_bytes(
        "\n".join([good[0], bad[0], bad[1], good[1], bad[2], bad[3]]).encode()
        + b"\n\xff\xfe\n"
        + good[2].encode()
    )
    with caplog.at_level("WARNING", logger="ganlib.runs.rundir"):
        assert [r.step for r in run.history()] == [1, 2, 3]
    assert "skipped 5 unreadable line(s)" in caplog.text


def test_weights_of_another_shape_give_a_clear_error_not_a_crash(trained_run, runs_dir):
    run = RunDir(runs_dir, "reshaped")
    shutil.copytree(trained_run.path, run.path)
    meta = json.loads(run.config_path.read_text())
    meta["config"]["width"] = 0.5  # the weights on disk are of width 0.25
    run.config_path.write_text(json.dumps(meta))
    with pytest.raises(checkpoints.CheckpointError, match="checkpoint of epoch 3 is unreadable"):
        model_io.load_models(run, 3)


def test_progress_crosses_the_worker_pipe_as_json_and_comes_back_equal():
    sent = Progress("r", RunState.PAUSED, 2, 10, 1234, 600, 812.5, 33.0, 61.2)
    line = json.dumps(sent.to_dict())  # what workbench.worker writes, one line per event
    received = Progress.from_dict(json.loads(line))
    assert received == sent and received.state is RunState.PAUSED
    assert received.fraction == pytest.approx(1234 / 6000)


def test_a_quality_line_torn_or_missing_a_figure_is_skipped_not_raised(runs_dir):
    run = RunDir(runs_dir, "torn-quality")
    run.path.mkdir()
    point = QualityPoint(100, 1, 12.5, 1000, 40.1, 0.8, 0.7, 0.6, 10, 1.2)
    run.append_quality(point)
    with open(run.quality_path, "a") as f:  # a kill mid-line, then a line an old version wrote
        f.write('{"step": 200, "epoch": 2, "fid"\n{"step": 300, "epoch": 3, "fid": 9.0}\n')
    run.append_quality(dataclasses.replace(point, step=400, epoch=4))
    assert [q.step for q in run.quality()] == [100, 400] and run.quality()[0] == point
