"""The process-wide job manager the app drives: one job, controls from any thread, recovery."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import tiny_config

from ganlib.config import ConfigError
from ganlib.runs.rundir import RunDir
from workbench.jobs import JobBusy, JobManager


def _step(manager: JobManager) -> int:
    progress = manager.snapshot().progress
    return progress.step if progress else 0


def _wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_one_job_at_a_time_even_when_two_tabs_press_start(runs_dir):
    manager = JobManager(runs_dir)
    config = tiny_config(epochs=200)
    errors, barrier = [], threading.Barrier(2)

    def press_start(name):
        barrier.wait()
        try:
            manager.start(config, name)
        except JobBusy as exc:
            errors.append(str(exc))

    tabs = [threading.Thread(target=press_start, args=(f"tab{i}",)) for i in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    assert len(errors) == 1 and "already training" in errors[0]
    started = manager.snapshot().run
    _wait_for(lambda: _step(manager) >= 2)
    manager.pause()
    _wait_for(lambda: RunDir(runs_dir, started).status().state == "paused")
    step = _step(manager)
    time.sleep(0.5)
    assert _step(manager) == step  # paused means no steps
    manager.step(3)  # the page's Step button: three steps, then paused again
    _wait_for(lambda: _step(manager) == step + 3)
    _wait_for(lambda: RunDir(runs_dir, started).status().state == "paused")
    step = _step(manager)
    manager.resume()
    _wait_for(lambda: _step(manager) > step)
    manager.stop()
    final = manager.wait(60)
    assert final.state == "stopped" and not final.active
    assert RunDir(runs_dir, started).status().state == "stopped"
    assert sorted(p.name for p in runs_dir.iterdir()) == [started]  # the other tab made nothing


@pytest.mark.slow
def test_failure_is_reported_not_raised(runs_dir):
    manager = JobManager(runs_dir)
    manager.start(tiny_config(dataset="folder:/does/not/exist"), "broken")
    final = manager.wait(60)
    assert final.state == "failed" and "does not exist" in final.error


@pytest.mark.slow
def test_recover_resumes_an_interrupted_run(runs_dir):
    from ganlib.training.train import train

    run = RunDir(runs_dir, "crashed")
    train(tiny_config(epochs=1), run)
    run.set_status("paused", epoch=1)  # as a killed app leaves it; its lock is gone
    run.update_config(run.config().replace(epochs=2))
    manager = JobManager(runs_dir)
    assert [r.name for r in manager.interrupted_runs()] == ["crashed"]
    assert manager.recover() == "crashed"
    _wait_for(lambda: manager.snapshot().state == "paused")  # it was paused, so it comes back paused
    manager.resume()
    assert manager.wait(120).state == "finished"
    assert run.epochs() == [1, 2]


def test_invalid_config_is_refused_before_any_thread_starts(runs_dir):
    manager = JobManager(runs_dir)
    with pytest.raises(ConfigError, match="batch_size"):
        manager.start(tiny_config(batch_size=0), "bad")
    assert manager.snapshot().state == "idle"


@pytest.mark.slow
def test_training_runs_in_a_worker_process_not_the_app(runs_dir):
    # The app's server must not train in its own process: there its page threads starve the
    # trainer of the GIL (a watched run trained 10-30x slower, issue 12).
    manager = JobManager(runs_dir)
    manager.start(tiny_config(epochs=200), "isolated")
    run = RunDir(runs_dir, "isolated")
    _wait_for(lambda: _step(manager) >= 2)
    holder = json.loads((run.path / "lock.json").read_text())["pid"]
    assert holder == manager.snapshot().pid and holder != os.getpid()
    manager.stop()
    assert manager.wait(60).state == "stopped"


@pytest.mark.slow
def test_a_killed_worker_fails_the_job_but_not_the_app_and_the_run_resumes(runs_dir):
    manager = JobManager(runs_dir)
    manager.start(tiny_config(epochs=200), "oom")
    run = RunDir(runs_dir, "oom")
    _wait_for(lambda: len(run.epochs()) >= 2)
    os.kill(manager.snapshot().pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    final = manager.wait(60)
    assert final.state == "failed" and "ended unexpectedly" in final.error and "-9" in final.error
    assert run.status().state == "interrupted"
    saved = run.epochs()[-1]
    manager.resume_run("oom", until_epoch=saved + 1)
    assert manager.wait(120).state == "finished"
    assert run.epochs()[-1] == saved + 1


@pytest.mark.slow
def test_the_worker_leaves_its_run_resumable_when_the_app_goes_away(runs_dir):
    request = {"runs_dir": str(runs_dir), "run": "orphan", "config": tiny_config(epochs=200).to_dict()}
    worker = subprocess.Popen(
        [sys.executable, "-m", "workbench.worker", json.dumps(request)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    run = RunDir(runs_dir, "orphan")
    for line in worker.stdout:  # wait until it trains
        if json.loads(line).get("progress", {}).get("step", 0) >= 2:
            break
    worker.stdin.close()  # what the app's exit does to the pipe
    assert worker.wait(60) == 3
    assert run.status().state == "interrupted"


def test_the_worker_protocol_reads_back_every_command_it_writes_and_nothing_else():
    from workbench.worker import Command

    for command in Command:
        steps = 7 if command is Command.STEP else None
        assert Command.parse(command.line(steps)) == (command, steps or 0)
    for junk in ("", "step", "step x", "stop 3", "pause now", "rm -rf /"):
        assert Command.parse(junk) is None, junk
