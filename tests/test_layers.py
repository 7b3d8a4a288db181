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
