"""What the app keeps between script runs: loaded generators and the training GIF."""

from __future__ import annotations

import streamlit as st

from ganlib.runs.rundir import RunDir
from ganlib.sampling import images
from ganlib.training import model_io


@st.cache_resource(max_entries=8, show_spinner="Loading the generator...")
def _sampler(run_path: str, epoch: int, fingerprint: str):
    return model_io.load_sampler(RunDir.from_path(run_path), epoch)


def sampler(run: RunDir, epoch: int):
    """One checkpoint's generator for drawing samples (NumPy when it can: no TensorFlow in the
    server), loaded once per process and reused while its file is unchanged."""
    return _sampler(str(run.path), epoch, run.checkpoint(epoch).fingerprint)


@st.cache_data(max_entries=16, show_spinner=False)
def _training_gif(files: tuple[tuple[str, int], ...]) -> bytes:
    """Keyed by (path, mtime), so a re-saved grid makes a new animation."""
    return images.gif_bytes([images.read_png(path) for path, _ in files], seconds_per_frame=0.5, scale=2)


def training_gif(run: RunDir) -> bytes:
    """The fixed-seed grid of every checkpoint of ``run`` as a looping GIF."""
    grids = [c.grid_path for c in run.checkpoints()]
    return _training_gif(tuple((str(p), p.stat().st_mtime_ns) for p in grids))
