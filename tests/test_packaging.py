"""What the container image holds and who may change it (no Docker engine runs here: the files
are checked instead)."""

import subprocess

from conftest import ROOT


def _rules(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_image_leaves_out_all_that_git_ignores_and_every_run_but_the_demo_runs():
    docker = _rules(".dockerignore")
    missing = [rule for rule in _rules(".gitignore") if rule not in docker]
    assert not missing, f".dockerignore lacks .gitignore's {missing}"
    tracked = subprocess.run(
        ["git", "ls-files", "checkpoints"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    shipped = sorted({line.split("/")[1] for line in tracked.splitlines()})
    assert "checkpoints/*" in docker
    assert (
        sorted(r[len("!checkpoints/") :].strip("/") for r in docker if r.startswith("!checkpoints/"))
        == shipped
    )
    for private in (".git", ".venv", ".env", "tests"):
        assert private in docker


def test_the_image_is_read_only_for_the_servers_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--chown" not in dockerfile  # files copied stay root's
    assert "RUN chmod -R a-w,a+rX /app" in dockerfile
    assert dockerfile.index("chmod -R a-w") < dockerfile.index("USER app")
    assert "GANLIB_DEMO=1" in dockerfile
