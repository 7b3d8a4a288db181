"""Train a GAN into a run directory, or resume one from its last complete checkpoint."""

from __future__ import annotations

import contextlib
import platform
import traceback
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

import ganlib
from ganlib import GanlibError
from ganlib.config import ConfigError, TrainConfig
from ganlib.data import datasets, toys
from ganlib.runs import checkpoints
from ganlib.runs.records import Progress
from ganlib.runs.rundir import RunDir, RunError, RunState, RunWriteError
from ganlib.sampling import latents
from ganlib.training import callbacks, distribute, model_io, pictures
from ganlib.training import gan as gan_lib
from ganlib.zoo import models, user_models

# How often the live view's grid is redrawn: often enough to watch digits form, and at a few
# milliseconds per 64-image grid, free next to the training step.
PREVIEW_EVERY_SEC = 5.0
# A toy's plane is redrawn more often than the live page refreshes (twice a second): the picture
# costs a few milliseconds, and watching points move is the lesson.
TOY_PREVIEW_EVERY_SEC = 0.3


def library_versions() -> dict[str, str]:
    return {
        "ganlib": ganlib.__version__,
        "keras": keras.version(),
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def train(
    config: TrainConfig,
    run: RunDir,
    *,
    resume: bool = False,
    control: callbacks.TrainingControl | None = None,
    report: Callable[[Progress], None] | None = None,
    verbose: int = 0,
    log: Callable[[str], None] = lambda message: None,
    strategy: tf.distribute.Strategy | None = None,
    precision: str | None = None,
) -> RunState:
    """Train ``run`` to ``config.epochs`` epochs; returns the final state (finished or stopped).

    A new run needs ``resume=False`` and a free name. ``resume=True`` continues an existing run
    from its newest loadable checkpoint with the run's own settings, except ``epochs``, which
    may be raised. Errors are recorded in the run's status and re-raised.

    ``strategy`` (default: the one in scope) and ``precision`` (``distribute.PRECISIONS``;
    default: the process's dtype policy) say how to compute, not what: a run resumes under any
    of them. Under a multi-worker strategy every worker calls this; only the chief writes
    ``run`` (``distribute.run_for_this_worker``).
    """
    strategy = strategy or tf.distribute.get_strategy()
    with (
        distribute.run_for_this_worker(run, strategy, resume) as own_run,
        strategy.scope(),
        distribute.precision(precision),
    ):
        chief = own_run is run
        return _train(
            config,
            own_run,
            resume=resume,
            control=control or callbacks.TrainingControl(),
            report=report or (lambda progress: None),
            verbose=verbose if chief else 0,
            log=log if chief else _quiet,
            chief=chief,
        )


def _quiet(message: str) -> None:
    pass


def _train(
    config: TrainConfig,
    run: RunDir,
    *,
    resume: bool,
    control: callbacks.TrainingControl,
    report: Callable[[Progress], None],
    verbose: int,
    log: Callable[[str], None],
    chief: bool,
) -> RunState:
    """``train`` on this worker: check the settings, load the data, create or lock the run, fit,
    and record a failure in the run's status."""
    if resume:
        if not run.exists():
            raise RunError(f"no run {run.name!r} in {run.runs_dir} to resume")
        config = run.config().replace(epochs=max(config.epochs, 1))
    config.validate()
    architecture_source = _architecture_source(config, run if resume else None)
    _check_batch_splits(config)
    if config.minutes and isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        # Each worker would measure its own speed and could end at another epoch than the rest.
        raise ConfigError(["a time budget (minutes) needs one machine: under multiworker give epochs"])
    if not chief:  # the chief measures quality; the other workers only take part in the steps
        config = config.replace(live_fid_samples=0)
    dataset = datasets.load_dataset(config.dataset, "train", config.image_size)
    if models.ARCHITECTURES[config.model].conditional and dataset.num_classes < 2:
        raise ConfigError([f"{config.model} needs class labels: use a folder with one sub-folder per class"])
    try:  # the data is in memory by now: an OSError from here on is the run failing to be written
        if resume:
            run.lock()  # before touching the config: another process may be training this run
            run.update_config(config)
        else:
            run.create(config, {**_meta(dataset), **architecture_source})
            run.lock()
    except OSError as exc:
        raise _write_failure(run, exc) from exc
    try:
        try:
            return _fit(config, run, dataset, control=control, report=report, verbose=verbose, log=log)
        except OSError as exc:
            raise _write_failure(run, exc) from exc
        except Exception as exc:
            if distribute.lost_worker(exc):
                raise RunError(
                    "training stopped: a worker of the cluster stopped or cannot be reached; "
                    f"{_kept(run)}; start every worker again with --resume"
                ) from exc
            raise
    except BaseException as exc:
        message = str(exc) if isinstance(exc, GanlibError) else f"{type(exc).__name__}: {exc}"
        detail = "" if isinstance(exc, GanlibError) else traceback.format_exc(limit=5)
        with contextlib.suppress(OSError):  # on a full disk even the status may not be writable
            run.set_status(RunState.FAILED, error=message, detail=detail)
        raise
    finally:
        run.unlock()


def _check_batch_splits(config: TrainConfig) -> None:
    """Every replica must get an equal share of each critic batch (see GAN._critic_batches)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if config.batch_size % replicas:
        raise ConfigError(
            [
                f"batch size {config.batch_size} does not split over {replicas} replicas: use a multiple of {replicas}"
            ]
        )


def _write_failure(run: RunDir, exc: OSError) -> RunWriteError:
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return RunWriteError(f"training stopped: cannot write to the run folder: {reason}{where}; {_kept(run)}")


def _kept(run: RunDir) -> str:
    kept = run.epochs()
    return (
        f"the checkpoints saved before are intact (newest: epoch {kept[-1]})"
        if kept
        else "no checkpoint was saved"
    )


def resume(run: RunDir, until_epoch: int | None = None, **options) -> RunState:
    """Continue ``run`` from its newest loadable checkpoint with its own settings, until epoch
    ``until_epoch`` (default: the epochs it was started with). Options as for ``train()``."""
    if not run.exists():
        raise RunError(f"no run {run.name!r} in {run.runs_dir} to resume")
    if run.trained_elsewhere:
        raise RunError(
            f"run {run.name!r} was written by another training loop (ganlib.track): continue it from "
            "that loop, with ganlib.track.Run(..., resume=True)"
        )
    config = run.config()
    if until_epoch is not None:
        config = config.replace(epochs=until_epoch)
    return train(config, run, resume=True, **options)


def _architecture_source(config: TrainConfig, resumed: RunDir | None) -> dict:
    """Where a user's architecture came from, for the run's meta: the file's path and sha256. A
    resumed run must find the file as it trained with it."""
    if not config.models_from:
        return {}
    recorded = resumed.meta().get("models_from") if resumed else None
    if recorded:
        return {"models_from": user_models.load(recorded["path"], recorded["sha256"]).to_meta()}
    return {"models_from": user_models.load(config.models_from).to_meta()}


def _meta(dataset: datasets.ImageSet | toys.PointSet) -> dict:
    return {
        "image_shape": list(dataset.sample_shape),  # a toy's: [2]
        "num_classes": dataset.num_classes,
        "class_names": dataset.class_names,
        "dataset_size": len(dataset),
        "versions": library_versions(),
        "machine": distribute.machine(),  # where it started; a resume may run elsewhere
    }


def _fit(
    config: TrainConfig,
    run: RunDir,
    dataset: datasets.ImageSet | toys.PointSet,
    *,
    control: callbacks.TrainingControl,
    report: Callable[[Progress], None],
    verbose: int,
    log: Callable[[str], None],
) -> RunState:
    """The training loop: the GAN built (or restored), fit() with the callbacks in their order."""
    # Each step takes a fresh real batch for every critic update (WGAN-GP as published), so an
    # epoch, one pass over the data, has 1/critic_steps as many generator steps.
    real_per_step = config.batch_size * config.critic_steps()
    steps = datasets.steps_per_epoch(dataset, real_per_step, config.steps_per_epoch)
    # Whole executions per epoch, so that epoch ends (checkpoints, history) line up with the
    # callbacks, which run once per execution: drop at most steps_per_execution - 1 batches.
    per_execution = min(config.steps_per_execution, steps)
    if per_execution > 1 and tf.distribute.get_strategy().num_replicas_in_sync > 1:
        # Keras cannot run several steps per call across replicas (keras-team/keras#19246, open).
        log(f"steps_per_execution {per_execution} -> 1: several replicas run one step per call")
        per_execution = 1
    steps -= steps % per_execution
    config = config.replace(steps_per_execution=per_execution)
    gan = gan_lib.build_gan(config, dataset.sample_shape, dataset.num_classes, steps * config.epochs)
    first_epoch, elapsed = _restore(gan, run, log)
    if not run.generator_config_path.is_file():  # for sampling without TensorFlow
        run.save_generator_config(gan.sampler.get_config())
    if first_epoch >= config.epochs or _budget_spent(config.minutes, first_epoch, elapsed):
        log(f"run {run.name} already has {first_epoch} epochs ({elapsed / 60:.1f} minutes); nothing to do")
        run.set_status(RunState.FINISHED, epoch=first_epoch)
        return RunState.FINISHED
    batches = datasets.training_dataset(
        dataset, real_per_step, steps, config.seed, first_epoch, config.epochs
    )
    clock = callbacks.StepClock(
        steps, real_per_step, first_epoch, elapsed, config.epochs, config.minutes * 60
    )
    reporter = callbacks.ProgressReporter(run, clock, report)

    def set_state(state: RunState) -> None:
        run.set_status(state, epoch=clock.step // steps, step=clock.step)
        reporter.report(reporter.progress(state))

    if gan.points:  # a 2-D toy: the plane, redrawn often (its steps take a millisecond)
        picture = pictures.toy_plane(dataset, config.latent_dim, config.seed)
        preview = callbacks.PreviewWriter(run, clock, picture, TOY_PREVIEW_EVERY_SEC)
    else:
        picture = pictures.image_grid(latents.grid_inputs(config.latent_dim, config.seed, gan.num_classes))
        preview = callbacks.PreviewWriter(run, clock, picture, PREVIEW_EVERY_SEC)
    # What follows the records as they are written: the alerts, and TensorBoard's event files.
    listeners = [callbacks.AlertWatch(run)]
    if config.tensorboard:
        listeners.append(callbacks.TensorBoardWriter(run.tensorboard_dir))
    loop = TrainingLoop(
        clock=clock,
        rates=callbacks.ScheduledLearningRates(clock, config.lr_schedule, config.lr_g, config.lr_d, config.lr_boost)
        if config.lr_schedule != "constant" or config.lr_boost != 1.0 else None,  # constant: set once by the optimizers
        reseeder=callbacks.EpochReseeder(config.seed),
        history=callbacks.HistoryLogger(run, clock, config.log_every, listeners),
        checkpointer=callbacks.Checkpointer(run, clock, config.checkpoint_every, picture, listeners),
        quality=callbacks.QualityProbe(run, clock, config.live_fid_samples, listeners) if config.live_fid_samples else None,
        preview=preview,
        progress=reporter,
        control=callbacks.ControlCallback(control, clock, set_state, on_pause=preview.write),
    )  # fmt: skip
    set_state(RunState.TRAINING)
    gan.fit(
        batches,
        epochs=config.epochs,
        initial_epoch=first_epoch,
        steps_per_epoch=steps,
        callbacks=[loop],
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles, deterministically per epoch
    )
    stopped_early = control.stop_requested and clock.step < config.epochs * steps
    final = RunState.STOPPED if stopped_early else RunState.FINISHED
    set_state(final)
    return final


class TrainingLoop(keras.callbacks.Callback):
    """Everything around the training step (``GAN.train_step``), in the order the algorithm needs,
    in one place. ``fit()`` runs the steps and calls these hooks once per call into TensorFlow
    (``steps_per_execution`` steps); each hook calls the parts in its written order. The clock
    counts first, since every part below reads it; pause and stop come last, once a step's
    records are written; the quick FID measures the checkpoint just saved."""

    def __init__(
        self,
        *,
        clock: callbacks.StepClock,
        rates: callbacks.ScheduledLearningRates | None,
        reseeder: callbacks.EpochReseeder,
        history: callbacks.HistoryLogger,
        checkpointer: callbacks.Checkpointer,
        quality: callbacks.QualityProbe | None,
        preview: callbacks.PreviewWriter,
        progress: callbacks.ProgressReporter,
        control: callbacks.ControlCallback,
    ):
        super().__init__()
        self.clock, self.rates, self.reseeder, self.history = clock, rates, reseeder, history
        self.checkpointer, self.quality, self.preview = checkpointer, quality, preview
        self.progress, self.control = progress, control
        self._parts = [clock, rates, reseeder, history, checkpointer, quality, preview, progress, control]

    def set_model(self, model):
        super().set_model(model)
        for part in self._parts:
            if part is not None:
                part.set_model(model)

    def on_train_begin(self, logs=None):
        self.clock.on_train_begin(logs)  # the speed is measured from here

    def on_epoch_begin(self, epoch, logs=None):
        self.clock.on_epoch_begin(epoch)  # 1. the epoch, for every part below
        self.reseeder.on_epoch_begin(epoch)  # 2. dropout seeds from (seed, epoch): a resumed run draws alike
        self.history.on_epoch_begin(epoch)  # 3. a fresh epoch mean

    def on_train_batch_begin(self, batch, logs=None):
        if self.rates is not None:
            self.rates.on_train_batch_begin(batch)  # 4. this step's learning rates (schedule, boost)

    # 5. GAN.train_step: D's update(s), G's, the EMA of G (ganlib/training/gan.py)

    def on_train_batch_end(self, batch, logs=None):
        self.clock.on_train_batch_end(batch, logs)  # 6. count the step: speed, the run's end
        self.history.on_train_batch_end(batch, logs)  # 7. a history point every log_every steps; NaN stops
        self.preview.on_train_batch_end(batch, logs)  # 8. the live picture every few seconds
        self.progress.on_train_batch_end(batch, logs)  # 9. the progress the app and the CLI show
        self.control.on_train_batch_end(batch, logs)  # 10. pause or stop, now that the step is written

    def on_epoch_end(self, epoch, logs=None):
        self.clock.on_epoch_end(epoch, logs)  # 11. a time budget's end ends fit() here
        self.history.on_epoch_end(epoch, logs)  # 12. the epoch's mean
        saved = self.checkpointer.save_if_due(epoch)  # 13. the checkpoint, when one is due
        if saved and self.quality is not None:
            self.quality.measure(epoch)  # 14. the quick FID of the checkpoint just saved


def _budget_spent(minutes: float, epochs_done: int, elapsed: float) -> bool:
    """Whether a time budget has no room for another epoch at the run's mean pace so far (the
    rule that ended it: the last epoch end that fits)."""
    return bool(minutes) and elapsed + (elapsed / epochs_done if epochs_done else 0.0) > minutes * 60


def _restore(gan: gan_lib.GAN, run: RunDir, log) -> tuple[int, float]:
    """Load the newest checkpoint that loads; returns (epochs done, seconds trained)."""
    for name in checkpoints.remove_unfinished(run.epochs_dir):  # left by a kill mid-save
        log(f"removed the unfinished checkpoint folder {name}")
    for checkpoint in reversed(run.checkpoints()):
        try:
            model_io.load_into(gan, checkpoint, with_optimizer=True)
        except checkpoints.CheckpointError as exc:
            log(f"skipping checkpoint: {exc}")
            continue
        run.truncate_history(checkpoint.step)
        log(f"resuming {run.name} from epoch {checkpoint.epoch} (step {checkpoint.step})")
        return checkpoint.epoch, float(checkpoint.state.get("elapsed", 0.0))
    if run.checkpoints():
        raise RunError(f"run {run.name!r} has no loadable checkpoint with optimizer state; start a new run")
    run.truncate_history(0)
    return 0, 0.0
