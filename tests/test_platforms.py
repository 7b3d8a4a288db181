"""requirements.txt installs on the laptops people have: every pinned package has a wheel for
Linux x86_64 and aarch64, macOS on Apple silicon and Windows x86_64, on each Python that
pyproject.toml admits, resolved from the package index (skipped when it cannot be reached).

pip evaluates environment markers against the Python running it, not against ``--platform``, so
each platform's requirement list is made here with its own marker environment first.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

pytestmark = pytest.mark.slow  # minutes, not seconds: left out of the editing subset

# name: (PEP 508 marker environment, pip's --platform tags for a current machine of that kind;
# pip does not widen a manylinux tag to older glibc versions by itself)
PLATFORMS = {
    "linux-x86_64": (
        {"sys_platform": "linux", "platform_machine": "x86_64"},
        [f"manylinux_2_{glibc}_x86_64" for glibc in (17, 27, 28)] + ["manylinux2014_x86_64"],
    ),
    "linux-aarch64": (
        {"sys_platform": "linux", "platform_machine": "aarch64"},
        [f"manylinux_2_{glibc}_aarch64" for glibc in (17, 27, 28)] + ["manylinux2014_aarch64"],
    ),
    "macos-arm64": ({"sys_platform": "darwin", "platform_machine": "arm64"}, ["macosx_14_0_arm64"]),
    "windows-x86_64": ({"sys_platform": "win32", "platform_machine": "AMD64"}, ["win_amd64"]),
}
PYTHONS = ["3.11", "3.12", "3.13"]
FULL_RESOLUTION_PYTHON = "3.12"  # every dependency's wheel too; the others check the pins only
UNREACHABLE = ("Failed to establish a new connection", "Network is unreachable", "Temporary failure in name")


def pins(platform: str, python: str) -> list[str]:
    """The requirement lines of requirements.txt that apply on ``platform`` with ``python``."""
    environment = {
        **PLATFORMS[platform][0],
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "nt" if platform.startswith("windows") else "posix",
    }
    lines = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith(("#", "-")):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                requirement.marker = None
                lines.append(str(requirement))
    return lines


def resolve(platform: str, python: str, tmp: Path) -> subprocess.CompletedProcess:
    """``pip install --dry-run`` of that list for that platform and Python, wheels only."""
    listing = tmp / f"{platform}-{python}.txt"
    listing.write_text("\n".join(pins(platform, python)) + "\n")
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
        *(f"--platform={tag}" for tag in PLATFORMS[platform][1]), "--python-version", python, "--implementation", "cp",
        "--target", str(tmp / "target"), "--quiet", "-r", str(listing),
    ]  # fmt: skip
    if python != FULL_RESOLUTION_PYTHON:
        command.append("--no-deps")
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_each_platform_gets_one_tensorflow_and_the_cpu_wheel_where_it_exists():
    tensorflow = {p: [pin for pin in pins(p, "3.12") if pin.startswith("tensorflow")] for p in PLATFORMS}
    assert tensorflow == {
        "linux-x86_64": ["tensorflow-cpu==2.21.0"],
        "windows-x86_64": ["tensorflow-cpu==2.21.0"],
        "linux-aarch64": ["tensorflow==2.21.0"],
        "macos-arm64": ["tensorflow==2.21.0"],
    }


def test_requires_python_is_the_range_checked_here():
    requires = SpecifierSet(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    assert [v for v in ["3.10", *PYTHONS, "3.14"] if requires.contains(f"{v}.0")] == PYTHONS


@pytest.fixture(scope="module")
def index_reachable():
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--only-binary=:all:",
         "--platform", "win_amd64", "--python-version", "3.12", "--target", "/nonexistent", "six==1.17.0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if any(sign in done.stderr for sign in UNREACHABLE):  # a local mirror may still have answered
        pytest.skip(f"the package index cannot be reached: {done.stderr.strip()[-200:]}")


def test_the_requirements_resolve_on_every_platform_and_python(index_reachable, tmp_path):
    combos = [(p, v) for p in PLATFORMS for v in PYTHONS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(combos, pool.map(lambda c: resolve(*c, tmp_path), combos)))
    failed = {f"{p} Python {v}": r.stderr.strip()[-400:] for (p, v), r in results.items() if r.returncode}
    assert not failed, failed


def test_python_3_14_has_no_tensorflow_wheel_yet(index_reachable, tmp_path):
    # Why requires-python stops at 3.13 (the README says what to do on 3.14).
    done = resolve("linux-x86_64", "3.14", tmp_path)
    assert done.returncode != 0 and "tensorflow-cpu" in done.stderr
