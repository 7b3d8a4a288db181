"""Architectures from a Python file of your own (``--models-from``, the Train form, GANLIB_MODELS).

The file registers its generator/discriminator pairs with the decorator the built-ins use::

    import ganlib

    @ganlib.architecture("mine", "my DCGAN with a wider D")
    def mine(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
        ...
        return generator, discriminator   # keras.Model each

and trains with every feature of the trainer. A run records where its architecture came from
(the file's path and sha256, in config.json's meta) so that Gallery, Evaluate and a resume
rebuild the same models later, and say what is wrong when the file is gone or has changed. A
public link's server never runs user code: its policy turns it off (``allow(False)``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from ganlib import GanlibError
from ganlib.zoo import models

_allowed = True
_loaded: dict[tuple[str, str], Source] = {}  # (path, sha256) -> what loading it registered


@dataclass(frozen=True)
class Source:
    """A loaded file of architectures: recorded with each run trained from it."""

    path: str  # absolute
    sha256: str
    names: tuple[str, ...]  # the architectures it registers

    def to_meta(self) -> dict[str, str]:
        return {"path": self.path, "sha256": self.sha256}


def allow(allowed: bool) -> None:
    """Whether this process may run user code (not on a read-only public host)."""
    global _allowed
    _allowed = allowed


def load(path: str | Path, expected_sha256: str | None = None) -> Source:
    """Run the file at ``path`` once, registering its architectures; again for the same path
    and content, the same answer without running it. ``expected_sha256``: the content a run
    was trained with (a different one is refused, naming the fix)."""
    if not _allowed:
        raise GanlibError("this host runs no user code: architectures from a file of your own train locally")
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise GanlibError(f"the architecture file {file} is not there: put it back, or pass the right path")
    sha256 = hashlib.sha256(file.read_bytes()).hexdigest()
    if expected_sha256 and sha256 != expected_sha256:
        raise GanlibError(
            f"{file.name} has changed since this run trained (sha256 {sha256[:12]}, the run's {expected_sha256[:12]}): "
            "restore that version of the file to rebuild the run's models"
        )
    key = (str(file), sha256)
    if key not in _loaded:
        _loaded[key] = _run_file(file, sha256)
    return _loaded[key]


def _run_file(file: Path, sha256: str) -> Source:
    before = dict(models.ARCHITECTURES)
    name = f"ganlib_user_models_{sha256[:16]}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    try:
        sys.modules[name] = module  # dataclasses and pickling look a module up by its name
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's code: any error is theirs to see, in one line
        _restore(before, name)
        raise GanlibError(f"{file.name} failed to load: {type(exc).__name__}: {exc}") from exc
    replaced = [n for n in before if models.ARCHITECTURES[n] is not before[n]]
    if replaced:
        _restore(before, name)
        raise GanlibError(
            f"{file.name} registers {', '.join(replaced)}, a built-in name: name yours otherwise"
        )
    added = tuple(n for n in models.ARCHITECTURES if n not in before)
    if not added:
        raise GanlibError(
            f"{file.name} registers no architecture: decorate a build function with "
            "@ganlib.architecture(NAME, DESCRIPTION)"
        )
    return Source(str(file), sha256, added)


def _restore(before: dict, module_name: str) -> None:
    models.ARCHITECTURES.clear()
    models.ARCHITECTURES.update(before)
    sys.modules.pop(module_name, None)
