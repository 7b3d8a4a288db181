"""``ganlib.track.Run``: a run directory written from someone else's training loop.

It writes what the trainer writes (``ganlib/runs/rundir.py``: config.json, history.jsonl,
quality.jsonl, status.json, lock.json, epochs/NNNN/) with the same atomic writes, so every page of
the app and every command of the CLI reads it as it reads a run of ours. What differs: each
checkpoint stores samples (``samples.npz``), which Evaluate measures, and the generator's weights
only when it is a Keras model whose layers Keras itself can rebuild; D's accuracy is measured at
the checkpoint, while the writer still holds D. A thread beats the lock every few seconds, so a
writer that dies reads as interrupted within ``HEARTBEAT_TIMEOUT_SEC``.
"""

from __future__ import annotations

import json
import math
import numbers
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ganlib import GanlibError
from ganlib.config import TrainConfig
from ganlib.data import datasets, toys
from ganlib.evaluation.results import DEFAULT_SAMPLES
from ganlib.measure.quick import QuickMeasure
from ganlib.runs import checkpoints
from ganlib.runs.records import METRIC_NAMES, HistoryPoint, PointKind, QualityPoint, Request, RunState
from ganlib.runs.rundir import TRACK_WRITER, RunDir, RunError, default_runs_dir
from ganlib.sampling import images

HEARTBEAT_SEC = 5.0  # well inside rundir.HEARTBEAT_TIMEOUT_SEC
STATUS_EVERY_SEC = 2.0  # status.json follows the log at most this often
MIN_SAMPLES = 100  # Evaluate's smallest sample count
GRID_IMAGES = 64
ACCURACY_SAMPLES = 2000  # D's accuracy: as many real test images as samples (the engine's count)
KNOWN_CONFIG = ("epochs", "batch_size", "steps_per_epoch", "seed")  # read from config when given


class TrackError(GanlibError):
    """A call that cannot be recorded, in one line that names the fix; nothing written is lost."""


class Run:
    """A run directory written from any training loop; use it as a context manager (or call
    ``close``). ``config``: your settings, stored as given (``epochs``, ``batch_size``,
    ``steps_per_epoch`` and ``seed`` there are also read, for progress and speed); ``samples``:
    how many samples each checkpoint stores (Evaluate's default count); ``quick_fid``: measure a
    quick FID on that many of them at each checkpoint (0: off; it loads the dataset's classifier,
    and with it TensorFlow); ``real_label``: the label your D is trained to give real images (1 in
    TensorFlow's tutorial; 0 in keras-io's DCGAN, whose D says "fake"), for its accuracy;
    ``resume``: continue a run of this name left stopped or interrupted."""

    def __init__(
        self,
        name: str,
        dataset: str = "mnist",
        config: dict[str, Any] | None = None,
        *,
        runs_dir: Path | str | None = None,
        samples: int = DEFAULT_SAMPLES,
        quick_fid: int = 0,
        real_label: int = 1,
        resume: bool = False,
    ):
        config = dict(config or {})
        try:
            json.dumps(config, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TrackError(f"config must hold JSON values (numbers, text, lists, dicts): {exc}") from None
        if toys.is_toy(dataset):
            raise TrackError(
                f"{dataset} is a 2-D toy: ganlib.track records image runs; use mnist, fashion_mnist or folder:PATH"
            )
        if samples < MIN_SAMPLES or quick_fid < 0 or real_label not in (0, 1):
            raise TrackError(
                f"samples must be at least {MIN_SAMPLES}, quick_fid 0 or more, real_label 0 or 1"
            )
        self.real_label = real_label
        try:
            self.run = RunDir(runs_dir if runs_dir is not None else default_runs_dir(), name)
            test = datasets.load_dataset(dataset, "test")
        except GanlibError as exc:
            raise TrackError(str(exc)) from None
        self.image_shape = tuple(test.image_shape)
        self._real = test.images[:ACCURACY_SAMPLES]  # D's accuracy is measured on these
        self.samples = samples
        known = {key: config[key] for key in KNOWN_CONFIG if isinstance(config.get(key), int)}
        self.batch_size = known.pop("batch_size", 0)
        self.train_config = TrainConfig(
            dataset=dataset,
            model=str(config.get("model", "your own")),
            loss=str(config.get("loss", "your own")),
            epochs=known.get("epochs", 0),
            batch_size=self.batch_size,  # 0: not given (Compare then has no images-seen axis for it)
            d_steps=1,  # a logged step is one step of the writer's loop
            steps_per_epoch=known.get("steps_per_epoch"),
            seed=known.get("seed", 0),
            live_fid_samples=quick_fid,
            tensorboard=False,
            extra=config,
        )
        self._quick = QuickMeasure(dataset, quick_fid) if quick_fid else None
        self._started = time.monotonic()
        self._elapsed_before = 0.0
        self._last_step, self._last_epoch = -1, 0
        self._rate_mark: tuple[int, float] | None = None
        self._status_at = -math.inf
        self._listens = False
        self._stop_asked = False
        self._closed = False
        self._owner = uuid.uuid4().hex[:12]
        self._open(resume, test.class_names)
        self._beating = threading.Event()
        self._heart = threading.Thread(target=self._beat, name=f"ganlib.track:{name}", daemon=True)
        self._heart.start()

    # -- opening and closing ------------------------------------------------------------------
    def _open(self, resume: bool, class_names: list[str]) -> None:
        run = self.run
        if run.exists() and not resume:
            raise TrackError(
                f"run {run.name!r} already exists in {run.runs_dir}: pass resume=True to continue it, or pick another name"
            )
        if run.exists() and not run.trained_elsewhere:
            raise TrackError(
                f"run {run.name!r} was trained by ganlib's trainer: continue it with `python -m ganlib resume {run.path}`"
            )
        try:
            if not run.exists():
                run.path.mkdir(parents=True, exist_ok=True)
                # The lock before anything else is written: a second writer stops here.
                run.lock(beat=True, owner=self._owner)
                meta = {"writer": TRACK_WRITER, "image_shape": list(self.image_shape), "num_classes": 0,
                        "class_names": class_names, "samples_per_checkpoint": self.samples}  # fmt: skip
                run.create(self.train_config, meta)
            else:
                run.lock(beat=True, owner=self._owner)
                self._continue()
            run.request(Request.RUN)  # a Stop meant for a writer before this one is not for this one
            run.set_status(RunState.TRAINING, epoch=self._last_epoch, step=max(self._last_step, 0))
        except RunError as exc:
            raise TrackError(
                f"{exc}: a second writer would mix their records; stop that process or use another name"
            ) from None

    def _continue(self) -> None:
        """Resume: the records up to the newest checkpoint stay, those after it go."""
        newest = self.run.checkpoints()[-1] if self.run.checkpoints() else None
        if newest is not None:
            self._last_step, self._last_epoch = newest.step, newest.epoch
            self._elapsed_before = float(newest.state.get("elapsed", 0.0))
        self.run.truncate_history(max(self._last_step, 0))

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is None:
            self.close()
        else:  # the loop raised: the run says why, in one line, and keeps what it wrote
            detail = "".join(traceback.format_exception(kind, error, trace))[-2000:]
            self.close(RunState.FAILED, error=f"{kind.__name__}: {error}", detail=detail)

    def close(
        self, state: RunState | None = None, *, error: str | None = None, detail: str | None = None
    ) -> None:
        """End the run: finished (stopped when the app asked), or ``state``; the lock is released."""
        if self._closed:
            return
        self._closed = True
        self._beating.set()
        self._heart.join(timeout=HEARTBEAT_SEC)
        state = state or (RunState.STOPPED if self._stop_asked else RunState.FINISHED)
        self.run.set_status(
            state, epoch=self._last_epoch, step=max(self._last_step, 0), error=error, detail=detail
        )
        self.run.unlock(self._owner)

    def _beat(self) -> None:
        while not self._beating.wait(HEARTBEAT_SEC):
            try:
                self.run.lock(beat=True, listens=self._listens, owner=self._owner)
            except (GanlibError, OSError):  # a full disk: the next beat may get through
                continue

    @property
    def last_step(self) -> int:
        """The last step logged (-1 before the first; a resumed run's, its newest checkpoint's)."""
        return self._last_step

    @property
    def last_epoch(self) -> int:
        """The last epoch saved (0 before the first checkpoint)."""
        return self._last_epoch

    def set_steps_per_epoch(self, steps: int) -> None:
        """Steps in an epoch, when the loop learns it after the run opened (for progress)."""
        if steps > 0 and self.train_config.steps_per_epoch != steps:
            self.train_config = self.train_config.replace(steps_per_epoch=int(steps))
            self.run.update_config(self.train_config)

    @property
    def elapsed(self) -> float:
        return self._elapsed_before + time.monotonic() - self._started

    # -- the loop's calls -------------------------------------------------------------------------
    def log(self, step: int, epoch: float | None = None, **metrics: float) -> None:
        """Record the metrics at ``step`` (``d_loss``, ``g_loss``, ``d_real``, ``d_fake``,
        ``acc_real``, ``acc_fake``, any other number): the live charts plot them."""
        self._check_open()
        if not isinstance(step, numbers.Integral) or step < 0:
            raise TrackError(f"step must be a whole number, 0 or more, got {step!r}")
        if step <= self._last_step:
            raise TrackError(
                f"step {step} is not after step {self._last_step}, already logged: log steps in increasing order"
            )
        if not metrics:
            raise TrackError("log(step, **metrics) needs a metric, e.g. run.log(step, d_loss=d, g_loss=g)")
        values = {name: _number(name, value, step) for name, value in metrics.items()}
        if epoch is None:
            per_epoch = self.train_config.steps_per_epoch
            epoch = step / per_epoch if per_epoch else float(self._last_epoch)
        known = {name: values.pop(name) for name in METRIC_NAMES if name in values}
        point = HistoryPoint(
            PointKind.STEP, int(step), float(epoch), round(self.elapsed, 3), self._images_per_sec(int(step)),
            **{name: known.get(name, math.nan) for name in METRIC_NAMES}, other=values,
        )  # fmt: skip
        self.run.append_history([point])
        self._last_step = int(step)
        if time.monotonic() - self._status_at >= STATUS_EVERY_SEC:
            self._status_at = time.monotonic()
            self.run.set_status(self._state(), epoch=self._last_epoch, step=self._last_step)

    def checkpoint(
        self,
        epoch: int,
        generator: Any = None,
        discriminator: Any = None,
        samples: np.ndarray | None = None,
        step: int | None = None,
    ) -> None:
        """Save epoch ``epoch``'s checkpoint: its samples (drawn from a Keras ``generator``, or
        ``samples`` as given: uint8 (N, H, W, C), the first 64 its grid, so put fixed-seed ones
        first), the generator's weights when Keras can rebuild it, and D's accuracy when a Keras
        ``discriminator`` is given."""
        self._check_open()
        if not isinstance(epoch, numbers.Integral) or epoch <= self._last_epoch:
            raise TrackError(
                f"epoch must be a whole number after {self._last_epoch} (the last saved), got {epoch!r}"
            )
        if generator is None and samples is None:
            raise TrackError("checkpoint needs generator= (a Keras model) or samples= (uint8, N x H x W x C)")
        step = self._last_step if step is None else step
        state: dict[str, Any] = {"step": max(int(step), 0), "elapsed": round(self.elapsed, 3)}
        writers: dict[str, Any] = {}
        if generator is not None:
            from ganlib.track import keras_models  # Keras: only for a writer that hands us a Keras model

            try:
                drawn = keras_models.Drawn.of(
                    generator, self.samples, self.train_config.seed, epoch, GRID_IMAGES
                )
            except keras_models.KerasInputError as exc:
                raise TrackError(str(exc)) from None
            samples = drawn.samples if samples is None else samples
            if drawn.architecture is not None and not self.run.generator_config_path.is_file():
                self.run.save_generator_config(drawn.architecture)
            if drawn.architecture is not None:
                writers[checkpoints.GENERATOR_FILE] = drawn.save_weights
                self._record_latent_dim(drawn.latent_dim)
        samples = self._checked(samples)
        grid = samples[:GRID_IMAGES] if generator is None else drawn.grid
        if discriminator is not None:
            from ganlib.track import keras_models

            unit_range = generator is not None and drawn.unit_range  # D takes images as G draws them
            try:
                state["d_acc_real"], state["d_acc_fake"] = keras_models.discriminator_accuracy(
                    discriminator, self._real, samples[:ACCURACY_SAMPLES], unit_range, self.real_label
                )
            except keras_models.KerasInputError as exc:
                raise TrackError(str(exc)) from None
        writers[checkpoints.GRID_FILE] = lambda path: Path(path).write_bytes(
            images.png_bytes(images.grid(grid))
        )
        writers[checkpoints.SAMPLES_FILE] = lambda path: _save_samples(path, samples)
        state["files"] = sorted(writers)
        self.run.save_checkpoint(int(epoch), state, writers)
        self._last_epoch = int(epoch)
        if self._quick is not None:
            self._measure_quick(samples, int(epoch), state)
        self.run.set_status(self._state(), epoch=self._last_epoch, step=self._last_step)

    def should_stop(self) -> bool:
        """True when the app's Stop was pressed; while Pause is pressed, waits here (the run
        shows as paused) until Resume or Stop. Calling it tells the app the loop listens."""
        self._check_open()
        if not self._listens:
            self._listens = True  # said now, not at the next beat: the buttons appear at once
            self.run.lock(beat=True, listens=True, owner=self._owner)
        if self.run.requested() == Request.PAUSE:
            self.run.set_status(RunState.PAUSED, epoch=self._last_epoch, step=max(self._last_step, 0))
            while self.run.requested() == Request.PAUSE:
                time.sleep(0.2)
            self.run.set_status(RunState.TRAINING, epoch=self._last_epoch, step=max(self._last_step, 0))
        self._stop_asked = self.run.requested() == Request.STOP
        return self._stop_asked

    # -- helpers ----------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise TrackError(
                f"run {self.run.name!r} is closed: open a new Run(..., resume=True) to continue it"
            )

    def _state(self) -> RunState:
        return RunState.PAUSED if self.run.requested() == Request.PAUSE else RunState.TRAINING

    def _images_per_sec(self, step: int) -> float:
        now = time.monotonic()
        mark, self._rate_mark = self._rate_mark, (step, now)
        if not self.batch_size or mark is None or now <= mark[1]:
            return math.nan
        return round((step - mark[0]) * self.batch_size / (now - mark[1]), 1)

    def _checked(self, samples: Any) -> np.ndarray:
        array = np.asarray(samples)
        if array.dtype != np.uint8:
            raise TrackError(
                f"samples must be uint8 pixels (0-255), got {array.dtype}: from a tanh generator, "
                "((x + 1) * 127.5).round().clip(0, 255).astype('uint8')"
            )
        if array.ndim == 3 and self.image_shape[-1] == 1:
            raise TrackError(
                f"samples must be N x H x W x C, got {array.shape}: add the channel, samples[..., None]"
            )
        if array.ndim != 4 or array.shape[1:] != self.image_shape:
            raise TrackError(
                f"samples must be N x {' x '.join(map(str, self.image_shape))} ({self.train_config.dataset}'s "
                f"images), got {' x '.join(map(str, array.shape))}"
            )
        if len(array) < MIN_SAMPLES:
            raise TrackError(
                f"a checkpoint needs at least {MIN_SAMPLES} samples (Evaluate's default: {DEFAULT_SAMPLES:,}), got {len(array)}"
            )
        return array[: max(self.samples, GRID_IMAGES)]

    def _record_latent_dim(self, latent_dim: int) -> None:
        if self.train_config.latent_dim != latent_dim:  # Gallery draws latents of this size
            self.train_config = self.train_config.replace(latent_dim=latent_dim)
            self.run.update_config(self.train_config)

    def _measure_quick(self, samples: np.ndarray, epoch: int, state: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            figures = self._quick.measure(samples)
        except GanlibError as exc:  # e.g. a folder dataset with no classifier: no quick FID, say why once
            self.run.set_status(self._state(), epoch=epoch, step=state["step"], detail=f"no quick FID: {exc}")
            self._quick = None
            return
        point = QualityPoint(
            step=state["step"], epoch=epoch, elapsed=state["elapsed"], samples=self._quick.samples,
            **vars(figures), seconds=round(time.perf_counter() - started, 3),
        )  # fmt: skip
        self.run.append_quality(point)


def _number(name: str, value: Any, step: int) -> float:
    try:
        number = float(value)  # a Python or NumPy number, a 0-d tensor or array
    except (TypeError, ValueError):
        raise TrackError(f"{name} must be a number, got {type(value).__name__} at step {step}") from None
    if not math.isfinite(number):
        raise TrackError(
            f"{name} is {number} at step {step}: training diverged (lower the learning rate or check "
            "the loss); the run keeps every step before it"
        )
    return number


def _save_samples(path: Path, samples: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, samples=samples)
