"""Training under ``tf.distribute``: strategies and precisions by name, and which worker writes
the run.

The trainer itself is strategy-agnostic: ``fit()`` distributes the dataset (the global batch is
``--batch-size``; each replica takes a contiguous slice of it), optimizers all-reduce the
gradients, and ``GAN.train_step`` divides each loss by the number of replicas and draws every
random tensor over the global batch (``ganlib/zoo/replica.py``), so N replicas compute what one
device would. This module holds the rest, which Keras leaves to its user. TensorFlow is
imported on use: the CLI builds its help from the tables below.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ganlib import GanlibError, atomic, deferred
from ganlib.runs.estimate import cpu_model
from ganlib.runs.rundir import RunDir, RunError

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
else:
    keras, tf = deferred("keras"), deferred("tensorflow")

# name -> what it runs on. The first is the default.
STRATEGIES: dict[str, str] = {
    "default": "one device (the first GPU if there is one, else the CPU)",
    "mirrored": "every local GPU of this machine, one replica each (MirroredStrategy)",
    "multiworker": "several machines, each running this same command with its own TF_CONFIG "
    "(MultiWorkerMirroredStrategy); the chief writes the run",
}

# name -> when to use it. Variables (and so checkpoints) stay float32 under every one of them.
PRECISIONS: dict[str, str] = {
    "float32": "full precision everywhere",
    "mixed_float16": "float16 compute with dynamic loss scaling: NVIDIA GPUs with tensor cores",
    "mixed_bfloat16": "bfloat16 compute, no loss scaling needed: TPUs, recent GPUs (A100 on) and CPUs",
}


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The strategy called ``name``. Create it before anything else touches TensorFlow: a
    multi-worker strategy must configure the runtime first."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise GanlibError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")


def _check_tf_config() -> None:
    """A clear line instead of TensorFlow's stack trace for a missing or malformed TF_CONFIG."""
    example = (
        '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    )
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise GanlibError(f"--strategy multiworker needs TF_CONFIG, for example TF_CONFIG='{example}'")
    try:
        spec = json.loads(raw)
        task, cluster = spec["task"], spec["cluster"]
        if not 0 <= int(task["index"]) < len(cluster.get(task["type"], [])):
            raise ValueError(f"task {task['type']} {task['index']} is not in the cluster")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise GanlibError(
            f"TF_CONFIG is not a cluster and task ({exc}); for example TF_CONFIG='{example}'"
        ) from exc


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run: always, except on a multi-worker strategy's
    non-chief workers (the chief is task "chief", or worker 0 when there is none)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def lost_worker(exc: BaseException) -> bool:
    """Whether ``exc`` is TensorFlow reporting, under a multi-worker strategy, that another
    worker stopped or cannot be reached (its collectives abort with one of these)."""
    strategy = tf.distribute.get_strategy()
    lost = (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError)
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and isinstance(exc, lost)


@contextlib.contextmanager
def run_for_this_worker(run: RunDir, strategy: tf.distribute.Strategy, resume: bool) -> Iterator[RunDir]:
    """The run this process trains into. The chief trains ``run`` itself. Every other worker
    must run the same callbacks (they take part in the same steps) but writes nothing into the
    run: it trains into a scratch copy in the temp folder, holding what resuming reads (the
    settings and the newest intact checkpoint), deleted at the end and, if a kill left it
    behind, at the next start."""
    if is_chief(strategy):
        yield run
        return
    resolver = strategy.cluster_resolver
    if resume and not run.exists():
        raise RunError(
            f"{resolver.task_type} {resolver.task_id}: no run {run.name!r} in {run.runs_dir} to resume; "
            "every worker must see the run folder at the same path (shared storage)"
        )
    scratch = Path(tempfile.gettempdir()) / f"ganlib-{resolver.task_type}-{resolver.task_id}"
    shutil.rmtree(scratch, ignore_errors=True)
    copy = RunDir(scratch, run.name)
    try:
        if resume:
            # The chief may be writing the run as this copies it (a resumed run's settings,
            # its status): skip its files being written, which vanish when they are renamed.
            skipped = shutil.ignore_patterns(run.epochs_dir.name, "eval", "lock.json", atomic.TEMPORARY)
            shutil.copytree(run.path, copy.path, ignore=skipped)
            intact = run.checkpoints()
            if intact:
                shutil.copytree(intact[-1].path, copy.epochs_dir / intact[-1].path.name)
        yield copy
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def machine() -> dict[str, object]:
    """What computes a run in this process: the CPU, the GPUs TensorFlow sees, the strategy in
    scope with its replicas, and the dtype policy. Recorded in a run's config.json."""
    strategy = tf.distribute.get_strategy()
    gpus = [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpus,
        "os": platform.platform(),
        "strategy": type(strategy).__name__,
        "replicas": strategy.num_replicas_in_sync,
        "precision": keras.config.dtype_policy().name,
    }


@contextlib.contextmanager
def precision(name: str | None) -> Iterator[None]:
    """Build and train under the Keras dtype policy ``name`` (None: the process's policy, float32
    unless changed); the previous one is restored after."""
    if name is None:
        yield
        return
    if name not in PRECISIONS:
        raise GanlibError(f"unknown precision {name!r} (choose from {', '.join(PRECISIONS)})")
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def float32_outputs(model: keras.Model) -> keras.Model:
    """``model`` with its outputs cast to float32 (under a mixed policy they would be float16 or
    bfloat16): generated images and D's scores, and so the losses, stay float32. The cast is a
    layer without weights, so checkpoints load under any precision."""
    policy = keras.config.dtype_policy()
    if policy.compute_dtype == policy.variable_dtype:
        return model
    output = keras.layers.Activation("linear", dtype="float32", name="float32_output")(model.output)
    return keras.Model(model.inputs, output, name=model.name)
