"""Atomic writes: a reader (or a run killed with kill -9) never sees a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)

# What atomic_path's temporary files are named (a glob): ".NAME.RANDOM.tmp.SUFFIXES". A reader
# that copies a folder while it is being written skips them: each is renamed away when written.
TEMPORARY = ".*.tmp*"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    The temporary name keeps the final suffix, because Keras insists on ``.weights.h5``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".tmp" + "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; runs are shared files
    try:
        yield tmp_path
        fsync(tmp_path)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Atomically write ``path`` with a library function that only takes a file name."""
    with atomic_path(path) as tmp:
        writer(tmp)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
