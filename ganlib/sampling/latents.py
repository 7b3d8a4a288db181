"""The latent vectors a generator is sampled at: the run's fixed grid, fresh draws with the
truncation trick, and balanced labels. NumPy only, so that sampling needs no TensorFlow."""

from __future__ import annotations

import numpy as np

# Defined with the NumPy sampler, which a NumPy export ships alone; every other caller reads it here.
from ganlib.sampling.inference import uniform_labels  # noqa: F401

GRID_COLUMNS = 8  # a sample grid's width: one row per class for conditional models


def fixed_latents(latent_dim: int, seed: int, count: int = 64) -> np.ndarray:
    """The run's fixed grid latents: the same vectors at every epoch, so grids compare."""
    return np.random.default_rng([seed, 12345]).standard_normal((count, latent_dim)).astype(np.float32)


def truncated_latents(latent_dim: int, seed: int, count: int, truncation: float | None = None) -> np.ndarray:
    """Latents from the normal, or with ``truncation`` t from the normal truncated to [-t, t]
    (the truncation trick, Brock et al. 2019): every value outside is drawn again. Smaller t
    trades diversity for fidelity. Every panel that takes a seed draws through this, so a
    seed means the same vectors everywhere (untruncated, a longer draw starts with a shorter one)."""
    if truncation is not None and truncation <= 0:
        raise ValueError("truncation must be positive (or None for none)")
    rng = np.random.default_rng([seed, 4242])
    latents = rng.standard_normal((count, latent_dim))
    if truncation is not None:
        outside = np.abs(latents) > truncation
        while outside.any():
            latents[outside] = rng.standard_normal(int(outside.sum()))
            outside = np.abs(latents) > truncation
    return latents.astype(np.float32)


def grid_inputs(latent_dim: int, seed: int, num_classes: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """Latents (and, for conditional models, labels: one row of 8 per class) of the sample grid."""
    if num_classes:
        labels = np.repeat(np.arange(num_classes, dtype=np.int32), GRID_COLUMNS)
        return fixed_latents(latent_dim, seed, len(labels)), labels
    return fixed_latents(latent_dim, seed, GRID_COLUMNS * GRID_COLUMNS), None
