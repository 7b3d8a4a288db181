"""What each part of one checkpoint's evaluation costs (issue 44), at Evaluate's 10,000 samples:

    python -m benchmarks.evaluate_cost --run checkpoints/demo-mnist

Times the engine's own calls one by one on the run's newest checkpoint (the real set's features,
radii and the copy threshold first, as the engine keeps them for every later checkpoint), then the
engine itself on every checkpoint of a copy of the run with no cache: seconds per checkpoint.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ganlib import evaluation
from ganlib.measure import metrics, reference
from ganlib.runs.rundir import RunDir
from ganlib.sampling import latents
from ganlib.training import model_io


def timed(costs: dict[str, float], name: str, call):
    started = time.perf_counter()
    result = call()
    costs[name] = round(time.perf_counter() - started, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, default=Path("checkpoints/demo-mnist"))
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="evaluate-cost-"))
    shutil.copytree(args.run, scratch / args.run.name, ignore=shutil.ignore_patterns("eval"))
    run = RunDir(scratch, args.run.name)
    config, n = run.config(), args.samples
    real_set = (config.dataset, "test", n, config.dataset, config.image_size)

    once: dict[str, float] = {}  # per engine: the real set's figures
    real = timed(once, "real test features", lambda: reference.real_features(*real_set))
    train = timed(
        once,
        "training-set features",
        lambda: reference.real_features(config.dataset, "train", 10**9, config.dataset),
    )[0]
    radii = timed(once, "real k-NN radii", lambda: reference.real_radii(*real_set))
    threshold = timed(once, "copy threshold", lambda: metrics.copy_threshold(train, real[0]))

    each: dict[str, float] = {}  # per checkpoint
    epoch = run.checkpoints()[-1].epoch
    gan, _ = timed(each, "load the checkpoint", lambda: model_io.load_models(run, epoch))
    z = np.random.default_rng(0).standard_normal((n, gan.latent_dim)).astype(np.float32)
    asked = latents.uniform_labels(n, gan.num_classes)
    images = timed(each, "sample 10,000 images", lambda: gan.sample(z, asked))
    fake = timed(each, "classifier features", lambda: reference.cached_evaluator(config.dataset)(images))
    timed(each, "FID", lambda: metrics.fid(real[0], fake[0]))
    timed(each, "KID (50 subsets)", lambda: metrics.kid(real[0], fake[0]))
    timed(each, "precision/recall", lambda: metrics.precision_recall(real[0], fake[0], real_radii=radii))
    timed(each, "copy share (60,000 training images)", lambda: metrics.copy_share(fake[0], train, threshold))
    timed(each, "D accuracy (2,000 + 2,000)", lambda: evaluation.discriminator_accuracy(gan, config, 2000))
    each["sum"] = round(sum(each.values()), 2)

    engine = evaluation.Engine(run, samples=n)
    seconds = [result.seconds for result in engine.evaluate()]
    print(
        json.dumps(
            {"once per engine": once, "each checkpoint": each, "engine seconds per checkpoint": seconds},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
