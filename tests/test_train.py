import dataclasses
import json
import shutil
import socket
import threading

import numpy as np
import pytest
from conftest import tiny_config
from PIL import Image

from ganlib.runs import estimate
from ganlib.runs.records import METRIC_NAMES, PointKind
from ganlib.runs.rundir import RunDir, RunError, RunWriteError
from ganlib.training import gan as gan_lib
from ganlib.training import model_io
from ganlib.training.callbacks import TrainingControl, TrainingDiverged
from ganlib.training.train import train
from ganlib.zoo import losses, schedules


def _weights(model):
    return [w.copy() for w in model.get_weights()]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["dcgan", "mlp"])
def test_training_changes_both_networks_and_writes_a_complete_run(runs_dir, model):
    run = RunDir(runs_dir, f"t-{model}")
    config = tiny_config(model=model)
    initial = gan_lib.build_gan(config, (28, 28, 1))
    state = train(config, run)
    assert state == "finished"
    trained, checkpoint = model_io.load_models(run)
    assert checkpoint.epoch == 2 and run.epochs() == [1, 2]
    # Under Keras 3 the tutorials' `d.trainable = False` freezes D silently: check both moved.
    for before, after in (
        (initial.generator, trained.generator),
        (initial.discriminator, trained.discriminator),
    ):
        moved = [not np.allclose(a, b) for a, b in zip(_weights(before), _weights(after))]
        assert sum(moved) >= len(moved) // 2, f"{before.name}: only {sum(moved)}/{len(moved)} tensors changed"
    history = run.history()
    assert [r.step for r in history if r.kind == "epoch"] == [3, 6]
    assert [r.step for r in history if r.kind == "step"] == [2, 4, 6]
    for record in history:
        assert np.isfinite([record.metric(k) for k in METRIC_NAMES]).all()
        assert 0 <= record.acc_real <= 1 and 0 <= record.d_real <= 1
    assert run.status().state == "finished"
    assert run.config().model == model
    assert run.meta()["versions"]["keras"].startswith("3.")
    machine = run.meta()["machine"]  # what reproduces it, beside the settings and the seed
    assert machine["cpu"] == estimate.cpu_model() != "unknown" and machine["replicas"] == 1
    assert machine["precision"] == "float32" and machine["gpus"] == []  # this machine: a CPU
    grid = checkpoint.grid_path.read_bytes()
    assert grid.startswith(b"\x89PNG")


def test_live_preview_follows_the_weights(runs_dir, monkeypatch):
    monkeypatch.setattr("ganlib.training.train.PREVIEW_EVERY_SEC", 0.0)  # a preview after every step
    run = RunDir(runs_dir, "preview")
    assert run.preview() is None
    train(tiny_config(), run)
    png, info = run.preview()
    final = run.checkpoints()[-1]
    assert info["step"] == final.step and info["elapsed"] > 0
    # The same weights and fixed seeds as the last checkpoint: the very same picture.
    assert png == final.grid_path.read_bytes()


@pytest.mark.slow
def test_exact_resume_matches_an_uninterrupted_run(runs_dir):
    config = tiny_config(epochs=3)
    straight, resumed = RunDir(runs_dir, "straight"), RunDir(runs_dir, "resumed")
    train(config, straight)
    train(config.replace(epochs=2), resumed)
    train(config, resumed, resume=True)
    a, _ = model_io.load_models(straight)
    b, _ = model_io.load_models(resumed)
    for wa, wb in zip(
        _weights(a.generator) + _weights(a.discriminator), _weights(b.generator) + _weights(b.discriminator)
    ):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert [r.step for r in resumed.history()] == [r.step for r in straight.history()]


def test_existing_run_is_not_overwritten(runs_dir):
    run = RunDir(runs_dir, "once")
    train(tiny_config(epochs=1), run)
    with pytest.raises(RunError, match="already exists"):
        train(tiny_config(epochs=1), run)
    assert run.epochs() == [1]


def test_stop_and_pause_from_another_thread(runs_dir):
    run = RunDir(runs_dir, "controlled")
    control = TrainingControl()
    resumed = threading.Event()
    seen = []

    def resume():
        resumed.set()
        control.resume()

    def report(progress):
        seen.append((progress.state, progress.step))
        if progress.step == 2 and not control.paused and not resumed.is_set():
            control.pause()
            threading.Timer(0.3, resume).start()
        if progress.step >= 5:
            control.stop()

    state = train(tiny_config(epochs=50), run, control=control, report=report)
    assert state == "stopped" and seen[-1][0] == "stopped"
    paused_at = seen.index(("paused", 2))
    assert seen[paused_at + 1] == ("training", 2)  # no step while paused: it went on from step 2
    assert resumed.is_set()  # and only the other thread's resume let it go on
    assert run.status().state == "stopped"
    assert run.epochs() == [1]  # stopped during epoch 2: the completed epoch is kept


@pytest.mark.slow
def test_nan_loss_fails_the_run_but_keeps_checkpoints(runs_dir, monkeypatch):
    run = RunDir(runs_dir, "diverges")
    train(tiny_config(epochs=1), run)
    bce = losses.LOSSES["bce"]
    poisoned = dataclasses.replace(
        bce, d_loss=lambda real, fake, s=0.0: bce.d_loss(real, fake, s) * float("nan")
    )
    monkeypatch.setitem(losses.LOSSES, "bce", poisoned)
    with pytest.raises(TrainingDiverged, match="d_loss.* became nan at step 4"):
        train(tiny_config(epochs=2), run, resume=True)
    status = run.status()
    assert status.state == "failed" and "nan" in status.error
    monkeypatch.setitem(losses.LOSSES, "bce", bce)
    _, checkpoint = model_io.load_models(run)  # the epoch before the failure still loads
    assert checkpoint.epoch == 1


def test_second_process_cannot_take_a_locked_run(runs_dir):
    run = RunDir(runs_dir, "locked")
    train(tiny_config(epochs=1), run)
    (run.path / "lock.json").write_text(json.dumps({"pid": 1, "host": socket.gethostname()}))
    with pytest.raises(RunError, match="being written by process 1 on "):
        train(tiny_config(epochs=2), run, resume=True)


def _digest(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_full_disk_fails_the_run_cleanly_and_keeps_earlier_checkpoints(runs_dir, monkeypatch):
    import errno

    run = RunDir(runs_dir, "full-disk")
    train(tiny_config(epochs=1), run)
    saved = _digest(run.epochs_dir)
    real_writers = model_io.writers

    def writers_on_a_full_disk(gan, grid_png):
        def no_space(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        return {**real_writers(gan, grid_png), "grid.png": no_space}

    monkeypatch.setattr(model_io, "writers", writers_on_a_full_disk)
    with pytest.raises(RunWriteError, match="cannot write to the run folder: No space left on device"):
        train(tiny_config(epochs=2), run, resume=True)
    status = run.status()
    assert status.state == "failed" and "intact (newest: epoch 1)" in status.error
    assert _digest(run.epochs_dir) == saved  # no half-written folder, epoch 1 untouched
    monkeypatch.undo()
    train(tiny_config(epochs=2), run, resume=True)  # space is back: it resumes from epoch 1
    assert run.epochs() == [1, 2]


def test_a_read_only_run_folder_stops_training_with_a_message_and_loses_nothing(runs_dir, monkeypatch):
    import errno

    from ganlib import atomic
    from ganlib.runs.rundir import RunDir as Run

    run = RunDir(runs_dir, "read-only")
    train(tiny_config(epochs=1), run)
    saved = _digest(run.path)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(run.path))

    # Every way the trainer writes: atomic files (checkpoints, status, preview) and history appends.
    monkeypatch.setattr(atomic, "atomic_path", read_only)
    monkeypatch.setattr(Run, "append_history", read_only)
    with pytest.raises(RunWriteError, match="cannot write to the run folder: Read-only file system"):
        train(tiny_config(epochs=3), run, resume=True)
    monkeypatch.undo()
    assert _digest(run.path) == saved  # nothing changed, nothing lost
    assert run.epochs() == [1]


@pytest.mark.slow
def test_history_with_several_steps_per_execution(runs_dir):
    run = RunDir(runs_dir, "multi-step")
    train(tiny_config(epochs=2, steps_per_epoch=6, steps_per_execution=2, log_every=3), run)
    steps = [r.step for r in run.history() if r.kind == "step"]
    assert steps == [4, 6, 10, 12]  # a line as soon as each multiple of 3 is passed
    assert [r.step for r in run.history() if r.kind == "epoch"] == [6, 12]
    assert run.epochs() == [1, 2]
    odd = RunDir(runs_dir, "odd-epoch")  # 7 steps do not split into executions of 4: 4 are kept
    train(tiny_config(epochs=2, steps_per_epoch=7, steps_per_execution=4, log_every=3), odd)
    assert odd.epochs() == [1, 2] and [c.step for c in odd.checkpoints()] == [4, 8]


def test_loading_a_run_does_not_reseed_the_global_random_state(trained_run):
    # The app loads models while other code draws random numbers: loading must not reseed them
    # (Keras itself still draws a few seeds from Python's `random` to build layers).
    np.random.seed(7)
    expected = np.random.rand(3)
    np.random.seed(7)
    model_io.load_models(trained_run)
    assert np.array_equal(np.random.rand(3), expected)
    # ...while building a fresh model stays reproducible from the config's seed.
    fresh = [gan_lib.build_gan(trained_run.config(), (28, 28, 1)).generator.get_weights() for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*fresh))


def test_every_step_and_purpose_draws_its_own_random_stream():
    # The old packing, (step * 64 + salt) * 1024 + replica, gave step s with salt 64 (the 6th
    # critic step's gradient penalty) the stream of step s + 1 with salt 0.
    gan = gan_lib.build_gan(tiny_config(model="mlp"), (28, 28, 1))
    seeds = set()
    for step in range(3):
        gan.g_optimizer.iterations.assign(step)
        for salt in range(0, 10 * 21 + 5):  # every salt of up to 20 critic steps, and beyond
            seeds.add(tuple(gan._seed(salt).numpy()))
    assert len(seeds) == 3 * (10 * 21 + 5)


def test_step_while_paused_trains_that_many_steps_then_pauses_with_a_fresh_grid(runs_dir):
    run = RunDir(runs_dir, "stepped")
    control = TrainingControl()
    seen = []

    def report(progress):
        seen.append((progress.state, progress.step))
        if progress.step == 2 and progress.state == "training" and not control.paused:
            control.pause()
            threading.Timer(0.3, control.step, args=(3,)).start()  # a person presses Step (3 steps)
        if progress.state == "paused" and progress.step == 5:
            preview_steps.append(run.preview()[1]["step"])
            control.stop()

    preview_steps = []
    train(tiny_config(epochs=50, steps_per_epoch=10), run, control=control, report=report)
    paused_at = [step for state, step in seen if state == "paused"]
    assert paused_at[:2] == [2, 5]  # paused at 2, stepped 3, paused again at 5
    first, second = seen.index(("paused", 2)), seen.index(("paused", 5))
    assert sorted({step for _, step in seen[first:second]}) == [2, 3, 4, 5]  # exactly 3 steps between
    assert preview_steps == [5]  # the live grid was redrawn at the new pause


@pytest.mark.slow
def test_linear_schedule_decays_both_rates_to_zero_at_the_end_and_resumes_exactly(runs_dir):
    config = tiny_config(epochs=3, lr_schedule="linear", lr_g=3e-4, lr_d=6e-4)
    straight, resumed = RunDir(runs_dir, "straight"), RunDir(runs_dir, "resumed")
    train(config, straight)
    # A crash after epoch 2: the last checkpoint is lost, the resumed run retrains epoch 3.
    train(config, resumed)
    shutil.rmtree(resumed.checkpoints()[-1].path)
    train(config, resumed, resume=True)
    gan = gan_lib.build_gan(config, (28, 28, 1), seeded=False)
    model_io.load_into(gan, straight.checkpoints()[-1], with_optimizer=True)
    # Rates are set before each step: the 9th and last step of 9 trains at 1/9 of the base.
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(3e-4 / 9)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(6e-4 / 9)
    a, _ = model_io.load_models(straight)
    b, _ = model_io.load_models(resumed)
    for wa, wb in zip(a.generator.get_weights(), b.generator.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_the_auto_schedule_speeds_short_runs_keeps_middle_ones_and_decays_long_ones():
    # issue 40: a run shorter than DECAY_FROM_STEPS needs its full rate to the end; a longer one
    # settles lower with the linear decay (docs/benchmarks.md, "Eleventh round").
    short, long = schedules.DECAY_FROM_STEPS - 1, schedules.DECAY_FROM_STEPS
    assert [schedules.factor("auto", step, short) for step in (0, short // 2, short)] == [1.0, 1.0, 1.0]
    # and a run shorter still, higher rates throughout, the higher the shorter ("Twelfth" and
    # "Fourteenth round"): each row's rate just below its steps, the next row's (or 1) at them
    rows = schedules.SHORT_RUN_RATES
    rates = [rate for _, rate in rows]
    assert rates == sorted(rates, reverse=True) and rates[-1] > 1.0
    below = [(steps - 1, rate) for steps, rate in rows]
    at = [(steps, rate) for (steps, _), rate in zip(rows, [*rates[1:], 1.0])]
    for end, rate in below + at:
        for schedule in ("auto", "auto-constant"):  # Fashion-MNIST's: auto without the decay
            assert {schedules.factor(schedule, step, end) for step in (0, end // 2, end)} == {rate}
    assert {schedules.factor("auto-constant", step, 4 * long) for step in (0, long, 4 * long)} == {1.0}
    assert [schedules.factor("auto", step, long) for step in (0, long // 2, long)] == [1.0, 0.5, 0.0]
    assert schedules.factor("auto", 0, long, boost=2.0) == 2.0  # the boost as with any schedule


def test_a_boost_starts_both_rates_higher_and_falls_back_to_the_schedule_within_a_tenth(runs_dir):
    boosted = [schedules.factor("linear", step, 100, boost=3.0) for step in (0, 5, 10, 50)]
    assert boosted == pytest.approx([3.0, 0.95 * 2.0, 0.9, 0.5])  # 3x, halfway back, the schedule's
    assert schedules.factor("constant", 20, 100, boost=3.0) == 1.0
    # Through a real run: its one step (at share 0) trains at three times both base rates.
    run = RunDir(runs_dir, "boosted")
    config = tiny_config(
        epochs=1, steps_per_epoch=1, lr_schedule="constant", lr_boost=3.0, lr_g=1e-4, lr_d=2e-4
    )
    train(config, run)
    gan = gan_lib.build_gan(config, (28, 28, 1), seeded=False)
    model_io.load_into(gan, run.checkpoints()[-1], with_optimizer=True)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(3e-4)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(6e-4)


@pytest.mark.slow
def test_a_time_budget_ends_the_run_at_an_epoch_end_and_checkpoints_it(runs_dir):
    run = RunDir(runs_dir, "budget")
    reports = []
    config = tiny_config(minutes=0.2, epochs=100_000, steps_per_epoch=2, checkpoint_every=1000)
    assert train(config, run, report=reports.append) == "finished"
    status, last = run.status(), run.checkpoints()[-1]
    # The progress bar and ETA aim at the budget's end, not at the 100,000 epochs.
    assert reports[-1].epochs == status.epoch and reports[-1].fraction == 1.0
    assert reports[-1].eta_sec in (0.0, None)
    assert 1 <= status.epoch < 100_000 and status.step == 2 * status.epoch
    # The checkpoint interval is 1,000 epochs, yet the run's end is saved: its last epoch.
    assert last.epoch == status.epoch and last.step == status.step
    # Resuming a run whose budget is spent trains nothing more.
    assert train(tiny_config(epochs=100_000), run, resume=True) == "finished"
    assert run.checkpoints()[-1].epoch == last.epoch


def _events(folder) -> dict[str, list[tuple[int, object]]]:
    """Every summary in a TensorBoard folder, as {tag: [(step, value)]} (scalars as floats)."""
    import tensorflow as tf

    found: dict[str, list] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for raw in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            for value in event.summary.value:
                tensor = tf.make_ndarray(value.tensor)
                found.setdefault(value.tag, []).append(
                    (event.step, float(tensor) if tensor.ndim == 0 else list(tensor))
                )
    return found


@pytest.mark.slow
def test_a_run_is_also_written_as_tensorboard_events_that_say_what_its_records_say(runs_dir):
    run = RunDir(runs_dir, "tb")
    train(tiny_config(epochs=2, live_fid_samples=200), run)
    events = _events(run.tensorboard_dir)
    steps = [r.to_dict() for r in run.history(PointKind.STEP)]
    quality = [q.to_dict() for q in run.quality()]
    for tag, records, key in [("train/d_loss", steps, "d_loss"), ("quick_fid/fid", quality, "fid")]:
        assert [step for step, _ in events[tag]] == [r["step"] for r in records], tag
        assert [value for _, value in events[tag]] == pytest.approx([r[key] for r in records], rel=1e-5), tag
    grids = events["fixed-seed grid"]  # an image summary: width, height, PNG
    assert [step for step, _ in grids] == [c.step for c in run.checkpoints()]
    assert grids[-1][1][2] == run.checkpoints()[-1].grid_path.read_bytes()
    assert [int(v) for v in grids[-1][1][:2]] == list(Image.open(run.checkpoints()[-1].grid_path).size)
    off = RunDir(runs_dir, "no-tb")
    train(tiny_config(epochs=1, tensorboard=False), off)
    assert off.checkpoints() and not off.tensorboard_dir.exists()


def test_a_packing_d_trains_on_images_and_its_accuracy_is_read_per_pack(runs_dir):
    """PacGAN on images: D takes two images side by side on the channels; a checkpoint reloads
    into the same packed D, whose accuracy Evaluate reads per pack."""
    from ganlib.evaluation import discriminator_accuracy
    from ganlib.training import model_io

    run = RunDir(runs_dir, "packed")
    train(tiny_config(pack=2, r1=0.1, ema=0.99), run)
    gan, _ = model_io.load_models(run)
    assert gan.discriminator.input_shape == (None, 28, 28, 2) and gan.pack == 2
    real, fake = discriminator_accuracy(gan, run.config(), 100)
    assert 0.0 <= real <= 1.0 and 0.0 <= fake <= 1.0
