"""2-D toys (issue 25): the datasets and their modes, the points models through the same trainer
and run directory as images, evaluation by modes, and the app's pages on a toy run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import by_label, ganlib_cli, open_page

from ganlib import evaluation
from ganlib.config import PRESETS, TOY_LESSON, ConfigError, TrainConfig
from ganlib.data import datasets, toys
from ganlib.measure import modes
from ganlib.runs.rundir import ChosenBy, RunDir
from ganlib.sampling import images
from ganlib.training import model_io
from ganlib.training.train import resume, train


def toy_config(**changes) -> TrainConfig:
    """The toy preset, a few steps an epoch: seconds."""
    return PRESETS["toy"].replace(epochs=3, steps_per_epoch=25, batch_size=64).replace(**changes)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> RunDir:
    run = RunDir(tmp_path_factory.mktemp("toy-runs"), "ring")
    train(toy_config(), run)  # every default of the preset on (TensorBoard included)
    return run


# -- the datasets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", toys.TOY_DATASETS)
def test_a_toys_points_are_the_same_every_time_and_cover_every_mode(name):
    first, again = datasets.load_dataset(name, "train"), datasets.load_dataset(name, "train")
    np.testing.assert_array_equal(first.points, again.points)
    test = datasets.load_dataset(name, "test")
    assert not np.array_equal(test.points[:100], first.points[:100])  # a split of its own
    stats = modes.mode_stats(test.points[:2500], test.toy)
    # Real points: every mode covered, about 98.9% within 3 sd (a 2-D Gaussian), spread evenly.
    assert stats.modes_covered == stats.modes == test.toy.modes
    assert 0.98 < stats.high_quality <= 1.0 and stats.mode_kl < 0.02
    assert stats.balanced_quality > 0.95


def test_the_papers_scales_ring_radius_2_and_grid_spacing_2():
    ring, grid = toys.get("toy:ring8"), toys.get("toy:grid25")
    np.testing.assert_allclose(np.linalg.norm(ring.anchors, axis=1), 2.0)
    assert ring.sd == 0.02 and grid.sd == 0.05 and len(grid.anchors) == 25
    assert sorted(set(grid.anchors[:, 0].round(6))) == [-4.0, -2.0, 0.0, 2.0, 4.0]


def test_mode_figures_of_a_collapsed_a_scattered_and_a_broken_generator():
    ring = toys.get("toy:ring8")
    collapsed = modes.mode_stats(np.tile(ring.anchors[:1], (2500, 1)), ring)
    assert (collapsed.modes_covered, collapsed.high_quality) == (1, 1.0)
    assert collapsed.mode_kl == pytest.approx(np.log(8))  # all on one mode: the largest KL
    assert collapsed.balanced_quality == pytest.approx(1 / 8)  # sharp, but one mode of 8
    scattered = modes.mode_stats(np.random.default_rng(0).uniform(-3, 3, (2500, 2)), ring)
    assert scattered.modes_covered == 0 and scattered.high_quality < 0.01
    broken = modes.mode_stats(np.full((100, 2), np.nan), ring)  # NaN points are never "near a mode"
    assert broken.high_quality == 0.0 and broken.modes_covered == 0
    # A mode needs 20 of 2,500 points (PacGAN's rule) to count as covered, the same share of others.
    assert modes.covering_count(2500) == 20 and modes.covering_count(500) == 4
    scattered_rest = np.random.default_rng(1).uniform(10, 20, (2500 - 39, 2))  # far from every mode
    few = np.concatenate([np.repeat(ring.anchors[:2], [20, 19], axis=0), scattered_rest])
    assert modes.mode_stats(few, ring).modes_covered == 1


# -- settings ----------------------------------------------------------------------------------------


def test_a_toy_trains_a_points_model_and_refuses_image_only_options_all_at_once():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(
            dataset="toy:ring8", model="dcgan", augment="translation", live_fid_samples=500
        ).validate()
    text = str(caught.value)
    assert "needs a points model (toy-mlp), not dcgan" in text
    assert "augment" in text and "live_fid_samples" in text
    assert "train it on a toy dataset" in str(TrainConfig(model="toy-mlp").problems())
    assert "unknown toy 'toy:moons'" in " ".join(TrainConfig(dataset="toy:moons", model="toy-mlp").problems())
    assert PRESETS["toy"].problems() == []


# -- training ----------------------------------------------------------------------------------------


def test_a_toy_run_is_a_run_directory_like_any_other(toy_run):
    assert toy_run.status().state == "finished" and toy_run.epochs() == [1, 2, 3]
    assert toy_run.meta()["image_shape"] == [2]
    assert (toy_run.tensorboard_dir).is_dir()
    # The checkpoint picture is the plane: D's belief as the background, the points on top.
    plane = images.read_png(toy_run.checkpoint(3).grid_path.read_bytes())
    assert plane.shape == (320, 320, 3) and len(np.unique(plane.reshape(-1, 3), axis=0)) > 50
    preview, info = toy_run.preview()
    assert preview[:4] == b"\x89PNG" and info["step"] >= 1
    # The weights moved: D and G really train (Keras 3 freezes nothing by accident).
    gan, _ = model_io.load_models(toy_run, 3)
    points = gan.sample(np.zeros((4, gan.latent_dim), np.float32))
    assert points.shape == (4, 2) and points.dtype == np.float32


@pytest.mark.parametrize(
    "loss, spectral_norm, pack",
    [("wgan-gp", False, 1), ("hinge", True, 1), ("wgan-gp", False, 4)],
)
def test_the_critic_the_normalised_and_the_packing_d_really_learn_on_points(loss, spectral_norm, pack):
    """WGAN-GP's penalty (a gradient per point, not per image), spectral norm on a dense D, and a
    D that judges packs of points (PacGAN)."""
    from ganlib.training.gan import build_gan

    config = toy_config(loss=loss, spectral_norm=spectral_norm, batch_size=32, pack=pack)
    data = datasets.load_dataset(config.dataset)
    gan = build_gan(config, data.sample_shape, total_steps=4)
    before = [w.copy() for w in gan.discriminator.get_weights()]
    real_per_step = config.batch_size * config.critic_steps()
    gan.fit(
        datasets.training_dataset(data, real_per_step, 2, 0, 0, 1), epochs=1, steps_per_epoch=2, verbose=0
    )
    after = gan.discriminator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(before, after)), f"{loss}: D did not change"
    assert all(np.isfinite(w).all() for w in after)
    assert gan.discriminator.input_shape == (None, 2 * pack)  # a pack of points, side by side


def test_a_pack_holds_consecutive_samples_side_by_side_and_the_config_checks_it():
    from ganlib.training.gan import pack_samples

    points = np.arange(12, dtype=np.float32).reshape(6, 2)  # six points (x, y)
    packed = np.asarray(pack_samples(points, 3))
    assert (
        packed.shape == (2, 6)
        and sorted(packed[0]) == list(range(6))
        and sorted(packed[1]) == list(range(6, 12))
    )
    images = np.random.default_rng(0).random((4, 5, 5, 3)).astype(np.float32)
    packed = np.asarray(pack_samples(images, 2))
    assert packed.shape == (2, 5, 5, 6) and np.allclose(
        np.sort(packed[1], axis=-1), np.sort(np.concatenate([images[2], images[3]], -1), axis=-1)
    )
    assert "batch_size 30 must divide by pack 4" in " ".join(toy_config(batch_size=30, pack=4).problems())
    assert "a pack would mix classes" in " ".join(
        toy_config(dataset="mnist", model="cdcgan", pack=2).problems()
    )


@pytest.mark.slow
def test_a_resumed_toy_run_equals_an_uninterrupted_one(tmp_path):
    straight, halves = RunDir(tmp_path, "straight"), RunDir(tmp_path, "halves")
    config = toy_config(tensorboard=False)
    train(config, straight)
    train(config.replace(epochs=2), halves)
    resume(halves, until_epoch=3)
    for a, b in zip(*(model_io.load_models(r, 3)[0].generator.get_weights() for r in (straight, halves))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- evaluation --------------------------------------------------------------------------------------


def test_evaluation_by_modes_is_cached_and_picks_a_best(toy_run, tmp_path):
    run = RunDir(tmp_path, "ring")
    shutil.copytree(toy_run.path, run.path)
    engine = evaluation.engine_for(run, 500)
    assert isinstance(engine, evaluation.ModeEngine)
    evaluated = evaluation.evaluate_run(engine)
    assert [r.epoch for r in evaluated.results] == [1, 2, 3]
    assert evaluated.floor.modes_covered == 8 and evaluated.floor.high_quality > 0.98
    for result in evaluated.results:
        assert 0 <= result.modes_covered <= 8 and 0.0 <= result.high_quality <= 1.0
        assert sum(result.histogram) == round(result.high_quality * 500)
        assert 0.0 <= result.d_acc_real <= 1.0
    assert engine.cached(2) == evaluated.results[1]  # from the cache, not computed again
    assert evaluation.cached_mode_results(run)[3] == evaluated.results[2]
    assert evaluated.best.chosen_by == ChosenBy.MODES and evaluated.best.metric == "modes covered"
    best = evaluation.best_by_modes(evaluated.results)
    assert evaluated.best.epoch == best.epoch


@pytest.mark.slow
def test_a_toy_trains_and_evaluates_from_the_cli(runs_dir):
    # --dataset toy:NAME alone starts from the toy preset (the model, no live FID), with the
    # grid's own settings (TOY_DATASET_DEFAULTS: R1 on 2-D points, a 2-D latent, the decay).
    ganlib_cli("train", "--runs-dir", runs_dir, "--run", "grid", "--dataset", "toy:grid25",
               "--epochs", "2", "--steps-per-epoch", "25")  # fmt: skip
    run = RunDir(runs_dir, "grid")
    config = run.config()
    assert config.model == "toy-mlp" and config.dataset == "toy:grid25"
    assert (config.batch_size, config.latent_dim, config.r1, config.lr_schedule) == (64, 2, 0.1, "linear")
    done = ganlib_cli("evaluate", "--run", run.path, "--samples", "500")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    epochs, summary = lines[:-1], lines[-1]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert all({"modes_covered", "high_quality", "mode_kl"} <= set(e) for e in epochs)
    assert all(e["modes"] == 25 for e in epochs)
    assert summary["metric"] == "modes covered" and summary["real_data_floor"]["modes_covered"] == 25
    assert summary["best_chosen_by"] == "modes"
    # The commands that draw images say so, in a sentence, instead of failing on points.
    refused = ganlib_cli("sample", "--run", run.path, "--out", runs_dir / "x.png", check=False)
    assert refused.returncode == 2 and "sample works on image runs; grid is a 2-D toy" in refused.stderr


# -- the app -----------------------------------------------------------------------------------------


@pytest.fixture
def app_with_toy(app_runs, toy_run):
    shutil.copytree(toy_run.path, app_runs / "ring")
    return app_runs


def test_the_gallery_shows_a_toys_planes_and_its_animation(app_with_toy):
    at = open_page("pages/gallery.py", run="ring")
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert any(c.startswith("epoch 3") for c in captions)
    assert any("the plane over 3 checkpoints" in c for c in captions)
    assert any("what D believes over the plane" in c.value for c in at.caption)
    assert not [s for s in at.subheader if s.value in ("Draw samples", "Latent interpolation")]


def test_the_evaluate_page_charts_a_toys_modes_per_epoch(app_with_toy):
    at = open_page("pages/evaluate.py", run="ring")
    by_label(at.select_slider, "Samples per epoch").set_value(1000).run()
    next(b for b in at.button if b.label.startswith("Compute 3 epoch(s)")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    assert "Modes covered (of 8), higher is better" in titles
    assert any(t.startswith("High-quality share") for t in titles) and "Points near each mode" in titles
    assert RunDir(app_with_toy, "ring").best().chosen_by == ChosenBy.MODES


def test_the_train_form_offers_the_toys_and_starts_from_the_toy_preset(app_runs):
    at = open_page("pages/train.py")
    assert set(toys.TOY_DATASETS) <= set(by_label(at.selectbox, "Dataset").options)
    by_label(at.selectbox, "Start from").set_value("toy (preset)").run()
    assert by_label(at.selectbox, "Dataset").value == "toy:ring8"
    assert by_label(at.selectbox, "Architecture").value == "toy-mlp"


def test_home_shows_the_toys_lesson_side_by_side_from_the_shipped_runs(app_runs):
    at = open_page("pages/home.py")
    assert "Why GANs fail, in 2-D" in [s.value for s in at.subheader]
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert all(lesson.label in captions for lesson in TOY_LESSON)
    figures = [c.value for c in at.caption if "modes covered" in c.value]
    assert len(figures) == len(TOY_LESSON) and any(
        f.startswith("Epoch 20: 1/8 modes covered") for f in figures
    )
