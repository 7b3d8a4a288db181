"""Sweeps in the app: one job trains a named sweep's runs one after another (stopped, resumed,
picked up after a restart), planned from the Train page's form, its queue and table shown live."""

import os
import signal
import time

import pytest
from conftest import by_label, open_page, tiny_sweep_plan

from ganlib import GanlibError, evaluation, sweep
from ganlib.runs.rundir import RunDir, RunState
from workbench.jobs import JobManager, JobState


def _wait_for(predicate, timeout=180):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow  # a worker process trains and evaluates two tiny runs, three times over
def test_the_apps_job_runs_a_sweep_stops_it_resumes_it_and_picks_it_up_after_a_restart(runs_dir):
    job = sweep.Sweep.create(runs_dir, tiny_sweep_plan(), "losses")
    first, second = (name for name, _ in job.runs())
    manager = JobManager(runs_dir)
    manager.start_sweep("losses", paused=True)
    _wait_for(lambda: manager.snapshot().state == JobState.PAUSED and manager.snapshot().position)
    snapshot = manager.snapshot()
    assert (snapshot.sweep, snapshot.run, snapshot.position.index, snapshot.position.total) == (
        "losses",
        first,
        1,
        2,
    )
    manager.step(2)  # two steps of the first run, then paused again
    _wait_for(lambda: manager.snapshot().progress and manager.snapshot().progress.step >= 2)
    manager.stop()
    assert manager.wait(120).state == JobState.STOPPED
    assert job.states() == {first: RunState.STOPPED, second: None}  # the queue stops with the run
    # Pressed again: the stopped run goes on from its checkpoint; killed paused in the second run,
    # as an app that dies leaves it.
    manager.start_sweep("losses")
    _wait_for(lambda: manager.snapshot().run == second and manager.snapshot().state == JobState.TRAINING)
    manager.pause()
    _wait_for(lambda: RunDir(runs_dir, second).status().state == "paused")
    os.kill(manager.snapshot().pid, signal.SIGKILL)
    assert manager.wait(60).state == JobState.FAILED
    assert job.states() == {first: RunState.FINISHED, second: RunState.INTERRUPTED}
    assert len(evaluation.cached_results(job.run_dir(first))) == 2  # evaluated before it went on
    restarted = JobManager(runs_dir)  # a restarted app recovers the sweep, not only its run
    assert restarted.recover() == second
    _wait_for(lambda: restarted.snapshot().state == JobState.PAUSED)  # it was paused: so it comes back
    restarted.resume()
    final = restarted.wait(180)
    assert final.state == JobState.FINISHED and final.sweep == "losses" and final.position.index == 2
    assert set(job.states().values()) == {RunState.FINISHED} and job.pending() == []
    assert [row.seeds for row in job.table()] == [1, 1]
    with pytest.raises(GanlibError, match="every run it plans"):
        restarted.start_sweep("losses")


def test_the_train_pages_sweep_form_reports_every_problem_and_plans_nothing(app_runs):
    at = open_page("pages/train.py")
    for text, name, expected in [
        ("seed=1,2\nwidth=", "../up", ["'seed' is not a setting", "width: no values", "invalid run name"]),
        ("loss=nope", "", ["loss must be one of"]),  # a value its setting refuses
        ("", "", ["name at least one setting to vary"]),
    ]:
        by_label(at.text_area, "Vary (a setting a line: name=value,value)").set_value(text)
        by_label(at.text_input, "Sweep name (empty: automatic)").set_value(name)
        next(b for b in at.button if b.label == "Start sweep").click().run()
        errors = " ".join(e.value for e in at.error)
        assert all(word in errors for word in expected), errors
    assert not (app_runs / "sweeps").exists() and not at.exception


@pytest.mark.slow  # the app's worker trains and evaluates two tiny runs
def test_a_sweep_started_from_the_train_page_shows_its_queue_and_table(app_runs):
    at = open_page("pages/train.py")
    for label, value in [
        ("Epochs", 1),
        ("Steps per epoch (0 = all)", 3),
        ("Batch size", 16),
        ("Width", 0.25),
    ]:
        by_label(at.number_input, label).set_value(value)
    by_label(at.number_input, "Live FID samples").set_value(0)
    by_label(at.text_area, "Vary (a setting a line: name=value,value)").set_value("lr_g=2e-4,4e-4")
    by_label(at.number_input, "Seeds").set_value(1)
    by_label(at.number_input, "Samples per evaluation").set_value(100)
    by_label(at.text_input, "Sweep name (empty: automatic)").set_value("rates")
    next(b for b in at.button if b.label == "Start sweep").click().run()
    assert not at.exception and not at.error
    job = sweep.Sweep.open(app_runs, "rates")
    assert [name for name, _ in job.runs()] == ["rates.lr_g-0.0002.seed-0", "rates.lr_g-0.0004.seed-0"]
    _wait_for(lambda: job.table()[-1].seeds == 1)  # both runs trained and evaluated
    assert job.run_dir("rates.lr_g-0.0004.seed-0").config().lr_g == 4e-4
    # The page's queue says what each run is doing; the last one ends with the job.
    _wait_for(lambda: list(at.run().dataframe[0].value["state"]) == ["finished", "finished"])
    assert any(h.value == "Sweep rates" for h in at.subheader) and not at.exception
    assert list(at.dataframe[1].value["seeds"]) == [1, 1]
    assert any(link.proto.label == "Compare these runs" for link in at.get("page_link"))
