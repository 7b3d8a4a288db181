"""Comparing two image sources, each a dataset split, a folder or a run's checkpoint
(``python -m ganlib fid``)."""

from __future__ import annotations

import numpy as np

from ganlib.data import datasets
from ganlib.evaluation.results import compare
from ganlib.measure import reference
from ganlib.runs.rundir import RunDir
from ganlib.training import model_io


def source_images(spec: str, samples: int) -> tuple[np.ndarray, str]:
    """Images from ``DATASET:SPLIT``, ``folder:PATH`` or ``run:DIR/NAME[@EPOCH]``, with the
    dataset name whose evaluator fits them."""
    if spec.startswith("run:"):
        path, _, epoch = spec[4:].partition("@")
        run = RunDir.from_path(path)
        checkpoint = run.checkpoint(int(epoch) if epoch else None)
        if checkpoint.samples_path.is_file():  # a run written by ganlib.track: the samples it stored
            return checkpoint.samples(samples), run.config().dataset
        gan, _ = model_io.load_models(run, checkpoint.epoch)
        latents = np.random.default_rng(777).standard_normal((samples, gan.latent_dim)).astype(np.float32)
        return gan.sample(latents), run.config().dataset
    if spec.startswith(datasets.FOLDER_PREFIX):
        return reference.real_images(spec, "all", samples), spec  # a folder of samples: every image counts
    dataset, _, split = spec.partition(":")
    return reference.real_images(dataset, split or "test", samples), dataset


def compare_sources(real_spec: str, fake_spec: str, samples: int, evaluator: str | None = None) -> dict:
    real, real_dataset = source_images(real_spec, samples)
    fake, _ = source_images(fake_spec, samples)
    extractor = reference.cached_evaluator(evaluator or real_dataset)
    result = compare(extractor(real), extractor(fake))
    return {
        "real": real_spec,
        "fake": fake_spec,
        "samples": min(len(real), len(fake)),
        "samples_asked": samples,
        "evaluator": extractor.label,
        **result.to_dict(),
    }
