"""A generator with no TensorFlow at all, written to the workbench as samples: the way a PyTorch,
JAX or NumPy training loop attaches. This one is probabilistic PCA fitted with NumPy: each
"epoch" keeps more principal components of MNIST, so its samples get better epoch by epoch, and
Evaluate's per-epoch FID (computed by the app, not here) shows by how much.

    python -m examples.track_numpy --epochs 8

The writer imports NumPy and ganlib.track only: `ganlib.track` loads no TensorFlow for it.
"""

import argparse

import numpy as np

import ganlib.track
from ganlib.data import datasets

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=8)
parser.add_argument("--runs-dir", default=None, help="default: the app's (GANLIB_RUNS_DIR or ./checkpoints)")
parser.add_argument("--name", default="numpy-pca")
parser.add_argument("--samples", type=int, default=10_000, help="samples stored per checkpoint")
given = parser.parse_args()

images = datasets.load_dataset("mnist", "train").images  # uint8 (60000, 28, 28, 1)
x = images.reshape(len(images), -1).astype(np.float64) / 255.0
mean = x.mean(axis=0)
rng = np.random.default_rng(0)
subset = x[rng.choice(len(x), 20_000, replace=False)] - mean
_, singular, components = np.linalg.svd(subset, full_matrices=False)
variances = singular**2 / (len(subset) - 1)


def draw(z: np.ndarray, kept: int, noise: float) -> np.ndarray:
    """Images from latents ``z``: the mean plus ``kept`` components, plus PPCA's isotropic noise."""
    pixels = mean + (z[:, :kept] * np.sqrt(variances[:kept])) @ components[:kept]
    pixels += rng.normal(0.0, np.sqrt(noise), pixels.shape)
    return (pixels.clip(0, 1) * 255).round().astype(np.uint8).reshape(-1, 28, 28, 1)


config = {"epochs": given.epochs, "model": "probabilistic PCA", "components": "2 ** (epoch + 1)"}
with ganlib.track.Run(
    given.name, dataset="mnist", config=config, runs_dir=given.runs_dir, samples=given.samples
) as run:
    fixed = np.random.default_rng(1).standard_normal((64, len(variances)))  # the grid: same draws each epoch
    for epoch in range(1, given.epochs + 1):
        kept = min(2 ** (epoch + 1), len(variances))
        noise = variances[kept:].mean() if kept < len(variances) else 0.0  # PPCA's isotropic rest
        explained = variances[:kept].sum() / variances.sum()
        run.log(epoch, explained_variance=explained, noise_variance=noise, components=kept)

        fresh = rng.standard_normal((given.samples, len(variances)))
        samples = np.concatenate([draw(fixed, kept, noise), draw(fresh, kept, noise)])
        run.checkpoint(epoch, samples=samples)  # the first 64 (fixed draws) are its grid
        if run.should_stop():
            break
        print(f"epoch {epoch}: {kept} components, {explained:.1%} of the variance")
