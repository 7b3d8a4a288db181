"""workbench.policy: what a server may do, read once from the host's settings."""

from pathlib import Path

from workbench import policy
from workbench.policy import ServerPolicy


def test_a_laptop_trains_writes_and_tells_everything(tmp_path):
    rules = ServerPolicy.from_env({"GANLIB_RUNS_DIR": str(tmp_path)})
    assert (rules.read_only, rules.public, rules.auto_resume, rules.shared_training) == (
        False,
        False,
        True,
        None,
    )
    assert rules.runs_dir == tmp_path


def test_a_public_link_is_read_only_and_resumes_nothing_by_the_variable_or_the_secret(tmp_path):
    for environ, secret in (({"GANLIB_DEMO": "1"}, False), ({}, True)):
        rules = ServerPolicy.from_env({**environ, "GANLIB_RUNS_DIR": str(tmp_path)}, demo_secret=secret)
        assert rules.read_only and rules.public and not rules.auto_resume


def test_shared_training_only_on_a_public_link_and_wrong_limits_say_why(tmp_path):
    limits = {"GANLIB_DEMO_TRAIN_SECONDS": "30", "GANLIB_DEMO_SCRATCH_DIR": str(tmp_path / "scratch")}
    assert (
        ServerPolicy.from_env({**limits, "GANLIB_RUNS_DIR": str(tmp_path / "runs")}).shared_training is None
    )
    rules = ServerPolicy.from_env({**limits, "GANLIB_DEMO": "1", "GANLIB_RUNS_DIR": str(tmp_path / "runs")})
    assert rules.shared_training.seconds == 30 and not rules.shared_training_problem
    inside = {**limits, "GANLIB_DEMO": "1", "GANLIB_RUNS_DIR": str(tmp_path / "scratch" / "..")}
    refused = ServerPolicy.from_env({**inside, "GANLIB_DEMO_SCRATCH_DIR": str(tmp_path)})
    assert refused.shared_training is None and "apart from the runs folder" in refused.shared_training_problem


def test_the_policy_is_read_again_only_when_the_settings_change(monkeypatch, tmp_path):
    monkeypatch.setenv("GANLIB_RUNS_DIR", str(tmp_path))
    monkeypatch.delenv("GANLIB_DEMO", raising=False)
    first = policy.current()
    assert policy.current() is first and not first.read_only
    monkeypatch.setenv("GANLIB_DEMO", "1")
    assert policy.current().read_only and Path(policy.current().runs_dir) == tmp_path
