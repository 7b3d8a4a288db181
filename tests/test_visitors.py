"""Training for the visitors of a public demo link: off by default, capped in time, one job at a
time with a queue, in a scratch folder capped in count and disk, never touching the shipped runs."""

import hashlib
import os
import time
from pathlib import Path

import pytest
from conftest import tiny_config

from ganlib import GanlibError
from ganlib.runs.rundir import RunDir, list_runs
from workbench.jobs import JobManager
from workbench.visitors import ABANDON_AFTER_SEC, VisitorLimits, VisitorTraining, prune


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_visitor_training_is_off_unless_the_host_sets_a_time_limit(tmp_path):
    assert VisitorLimits.from_env({}) is None
    assert VisitorLimits.from_env({"GANLIB_DEMO_TRAIN_SECONDS": "0"}) is None
    limits = VisitorLimits.from_env(
        {
            "GANLIB_DEMO_TRAIN_SECONDS": "45",
            "GANLIB_DEMO_SCRATCH_DIR": str(tmp_path),
            "GANLIB_DEMO_MAX_MB": "50",
        }
    )
    assert (limits.seconds, limits.scratch_dir, limits.max_bytes) == (45, tmp_path, 50_000_000)
    with pytest.raises(
        GanlibError, match="GANLIB_DEMO_TRAIN_SECONDS must be a number.*MAX_RUNS must be between"
    ):
        VisitorLimits.from_env({"GANLIB_DEMO_TRAIN_SECONDS": "lots", "GANLIB_DEMO_MAX_RUNS": "-1"})


@pytest.mark.slow
def test_a_visitor_run_stops_at_the_time_limit_and_the_next_visitor_waits_their_turn(tmp_path):
    shipped = tmp_path / "shipped"
    RunDir(shipped, "demo").create(tiny_config(), {"image_shape": [28, 28, 1]})
    before = _tree_digest(shipped)
    scratch = tmp_path / "scratch"
    limits = VisitorLimits(seconds=8, scratch_dir=scratch)
    # Endless epochs: only the time limit can end these runs.
    host = VisitorTraining(
        JobManager(scratch), limits, choices={"tiny": tiny_config(epochs=10_000, steps_per_epoch=5)}
    )

    first = host.request("alice")
    assert first.training and first.place is None
    second = host.request("bob")
    assert second.place == 1 and not second.training and second.run is None
    assert host.request("bob").place == 1  # asking again does not queue twice

    host.stop("bob")  # a visitor cannot stop somebody else's run
    assert host.manager.snapshot().active
    final = host.manager.wait(120)
    assert final.state == "stopped"  # ended by the limit, not by its 10,000 epochs
    alice_run = RunDir(scratch, first.run)
    assert alice_run.status().state == "stopped" and alice_run.checkpoints()
    assert alice_run.checkpoints()[-1].epoch < 10_000

    turn = host.poll("bob")  # the host is free: bob's run starts on his page's next poll
    assert turn.training and turn.place is None and turn.run != first.run
    host.stop("bob")
    assert host.manager.wait(120).state == "stopped"
    assert {run.name for run in list_runs(scratch)} == {first.run, turn.run}
    assert _tree_digest(shipped) == before  # visitor runs never land beside the shipped runs


@pytest.mark.slow
def test_a_visitor_who_closed_the_tab_leaves_the_queue(tmp_path):
    now = [0.0]
    scratch = tmp_path / "scratch"
    host = VisitorTraining(
        JobManager(scratch),
        VisitorLimits(seconds=60, scratch_dir=scratch),
        choices={"tiny": tiny_config(epochs=10_000)},
        clock=lambda: now[0],
    )
    assert host.request("alice").training
    assert host.request("bob").place == 1
    assert host.request("carol").place == 2
    now[0] += ABANDON_AFTER_SEC / 2
    host.poll("carol")  # carol's page keeps asking; bob's tab was closed
    now[0] += ABANDON_AFTER_SEC / 2 + 1
    assert host.poll("carol").place == 1
    assert host.poll("bob").place is None
    host.stop("alice")
    host.manager.wait(120)


def _fake_run(scratch: Path, name: str, megabytes: float, age: int) -> None:
    run = RunDir(scratch, name)
    run.create(tiny_config(), {"image_shape": [28, 28, 1]})
    (run.path / "weights.bin").write_bytes(b"\0" * int(megabytes * 1_000_000))
    stamp = time.time() - age
    os.utime(run.config_path, (stamp, stamp))


def test_the_scratch_folder_is_kept_under_its_caps_oldest_runs_first(tmp_path):
    scratch = tmp_path / "scratch"
    for i, size in enumerate([3, 3, 3, 3, 3]):
        _fake_run(scratch, f"visitor-{i}", size, age=100 - i)  # visitor-0 is the oldest
    assert prune(scratch, max_runs=3, max_bytes=100_000_000) == ["visitor-0", "visitor-1"]
    assert prune(scratch, max_runs=3, max_bytes=7_000_000) == ["visitor-2"]
    assert sorted(r.name for r in list_runs(scratch)) == ["visitor-3", "visitor-4"]
    assert prune(scratch, max_runs=1, max_bytes=1, keep="visitor-3") == ["visitor-4"]  # keep is kept


@pytest.mark.slow
def test_a_new_visitor_run_makes_room_in_the_scratch_folder_first(tmp_path):
    scratch = tmp_path / "scratch"
    for i in range(4):
        _fake_run(scratch, f"visitor-old-{i}", 2, age=100 - i)
    limits = VisitorLimits(seconds=60, scratch_dir=scratch, max_runs=3, max_bytes=9_000_000)
    host = VisitorTraining(JobManager(scratch), limits, choices={"tiny": tiny_config(epochs=10_000)})
    turn = host.request("dave")
    # Room for one run more: two old runs are left (one fewer than the cap, within 2/3 of the disk).
    assert {r.name for r in list_runs(scratch)} - {turn.run} == {"visitor-old-2", "visitor-old-3"}
    host.stop("dave")
    host.manager.wait(120)
    host.poll("dave")  # after the run ends the folder is within its caps again
    runs = list_runs(scratch)
    assert len(runs) <= 3 and sum(f.stat().st_size for f in scratch.rglob("*") if f.is_file()) <= 9_000_000
