"""The architecture as folders and an import-linter contract (pyproject.toml): checked here."""

import subprocess
import sys
import tomllib
from pathlib import Path

from conftest import ROOT


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_every_import_keeps_to_the_layers():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{len(_contracts())} kept, 0 broken" in done.stdout


def test_every_room_of_the_library_has_its_place_in_the_layers():
    # A module or package added to ganlib/ without a layer would escape the contract.
    library = next(c for c in _contracts() if c["name"].startswith("The library"))
    placed = {name.strip() for layer in library["layers"] for name in layer.split("|")}
    rooms = {
        f"ganlib.{p.stem if p.suffix == '.py' else p.name}"
        for p in (ROOT / "ganlib").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert rooms == placed


VIEWS = sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "app.py"])


def test_views_read_no_environment_variable():
    # What the server may do is read once, in workbench/policy.py; a view asks the policy.
    readers = [
        p.name for p in VIEWS if any(word in p.read_text() for word in ("environ", "getenv", "GANLIB_"))
    ]
    assert readers == []


def test_demo_mode_is_spoken_of_in_few_views():
    # The rest ask server.policy() one question (read_only, public) and never name the mode.
    import re

    speaking = [str(p.relative_to(ROOT)) for p in VIEWS if re.search(r"demo|visitor", p.read_text(), re.I)]
    assert len(speaking) <= 4, speaking
    assert "ui/public_link.py" in speaking


def test_the_ui_package_itself_holds_no_code():
    # One module per job; ui/__init__.py only says which (no patch runs on import).
    import ast

    source = (ROOT / "ui" / "__init__.py").read_text()
    body = ast.parse(source).body
    assert len(source.splitlines()) <= 150
    assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def test_no_module_is_longer_than_a_reader_can_hold():
    # One job per file: past about 450 lines a module holds several (issue 41).
    folders = ("ganlib", "ui", "workbench", "pages")
    long = {
        str(p.relative_to(ROOT)): n
        for folder in folders
        for p in (ROOT / folder).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 450
    }
    assert long == {}
