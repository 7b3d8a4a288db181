"""Latent directions (the Gallery's Steer sliders): found, saved and steered with NumPy."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import APP, ROOT, ganlib_cli, open_page
from streamlit.testing.v1 import AppTest

from ganlib import directions
from ganlib.runs.rundir import RunDir
from ganlib.sampling.latents import truncated_latents, uniform_labels
from ganlib.training import model_io

DEMO_RUNS = ["demo-mnist", "demo-fashion-mnist"]
CLEAN_ENOUGH = 0.2  # the R^2 above which the Steer panel's attribute slider is worth moving


def _copy_run(name: str, tmp_path, epochs: list[int] | None = None) -> RunDir:
    """A copy of a shipped run (only ``epochs``' checkpoints), to write into."""
    source = ROOT / "checkpoints" / name
    keep = None if epochs is None else {f"{e:04d}" for e in epochs}
    shutil.copytree(
        source,
        tmp_path / name,
        ignore=lambda folder, names: [
            n for n in names if keep and folder.endswith("epochs") and n not in keep
        ],
    )
    return RunDir(tmp_path, name)


def _draw(run: RunDir, epoch: int, latents: np.ndarray) -> np.ndarray:
    generator = model_io.load_sampler(run, epoch)
    labels = uniform_labels(len(latents), generator.num_classes) if generator.conditional else None
    return generator.sample(latents, labels)


def test_image_measures_read_ink_slant_size_and_brightness_of_drawn_shapes():
    canvas = np.zeros((6, 28, 28, 1), np.uint8)
    canvas[0, 4:24, 13:15] = 255  # a thin upright bar
    canvas[1, 4:24, 12:16] = 255  # the same bar, thicker: more ink
    canvas[2, 4:24, 12:16] = 140  # thicker and dim: less bright, lit (over half of full scale)
    for row in range(4, 24):  # a stroke whose top leans right
        canvas[3, row, 20 - (row - 4) // 2 : 22 - (row - 4) // 2] = 255
    canvas[4, 2:26, 2:26] = 255  # a big square
    canvas[5, 10:14, 10:14] = 255  # a small one
    ink, slant, size, brightness = (directions.measure(canvas)[k] for k in directions.ATTRIBUTES)
    assert ink[1] > ink[0] and ink[4] > ink[1]
    assert brightness[2] < brightness[1] == pytest.approx(1.0)
    assert slant[3] > 0.3 and abs(slant[0]) < 1e-6
    assert size[4] > 0.7 > 0.05 > size[5]


def test_principal_directions_are_orthonormal_and_ordered_by_the_variance_they_explain():
    run = RunDir.from_path(ROOT / "checkpoints" / "demo-mnist")
    checkpoint = run.checkpoint()
    found = directions.compute(model_io.load_sampler(run), checkpoint.fingerprint, samples=1000)
    vectors = found.matrix(directions.PRINCIPAL)
    assert len(vectors) == 5
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(5), atol=1e-5)
    shares = [d.explained for d in found.directions if d.kind == directions.PRINCIPAL]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) < 1
    attributes = [d for d in found.directions if d.kind == directions.ATTRIBUTE]
    assert [d.name for d in attributes] == list(directions.ATTRIBUTES)
    assert all(np.linalg.norm(d.vector) == pytest.approx(1, abs=1e-5) for d in attributes)


@pytest.mark.parametrize("name", DEMO_RUNS)
def test_moving_along_an_attribute_direction_changes_it_monotonically_on_average(name):
    """Over 300 base samples the direction was not fitted on, each step of one sd along an
    attribute's direction moves that attribute's mean the same way, by at least a tenth of its
    spread: for every attribute the latent predicts (R^2 over CLEAN_ENOUGH)."""
    run = RunDir.from_path(ROOT / "checkpoints" / name)
    found = directions.load(run.checkpoint())
    assert found is not None, "the shipped run carries its directions"
    steerable = [d for d in found.directions if d.kind == directions.ATTRIBUTE and d.explained > CLEAN_ENOUGH]
    assert {"ink", "size", "brightness"} <= {d.name for d in steerable}  # not vacuous
    bases = truncated_latents(found.latent_dim, seed=2026, count=300)
    spread = {k: v.std() for k, v in directions.measure(_draw(run, run.checkpoint().epoch, bases)).items()}
    for direction in steerable:
        means = [
            directions.measure(_draw(run, run.checkpoint().epoch, found.steer(bases, {direction.name: t})))[
                direction.name
            ].mean()
            for t in (-2, -1, 0, 1, 2)
        ]
        steps = np.diff(means) / spread[direction.name]
        assert (steps > 0.1).all(), (direction.name, np.round(steps, 3))


def test_directions_saved_and_loaded_draw_the_same_images_and_go_stale_with_new_weights(tmp_path):
    run = _copy_run("demo-mnist", tmp_path, epochs=[32, 64])
    checkpoint = run.checkpoint(32)
    checkpoint.directions_path.unlink()
    assert directions.load(checkpoint) is None
    found = directions.find_and_save(run, 32, samples=500)
    loaded = directions.load(checkpoint)
    assert loaded == found
    base = truncated_latents(found.latent_dim, 5, 1)[0]
    amounts = {"slant": 2.5, "PC1": -1.0}
    np.testing.assert_array_equal(
        _draw(run, 32, found.steer(base, amounts)[None]), _draw(run, 32, loaded.steer(base, amounts)[None])
    )
    assert loaded.strip(base, "ink").shape == (7, found.latent_dim)
    # The checkpoint's weights replaced (as a re-save does): the old directions are not offered.
    shutil.copy(run.checkpoint(64).sampler_path, checkpoint.sampler_path)
    assert directions.load(run.checkpoint(32)) is None
    checkpoint.directions_path.write_text("{not json")
    assert directions.load(run.checkpoint(32)) is None


@pytest.mark.slow  # a subprocess that loads TensorFlow and the classifier: 20-30 s
def test_directions_command_adds_class_directions_to_an_unconditional_run(trained_run, tmp_path):
    run_path = tmp_path / trained_run.name
    shutil.copytree(trained_run.path, run_path)
    done = ganlib_cli("directions", "--run", run_path, "--epoch", "1,3", "--samples", "300")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    run = RunDir.from_path(run_path)
    assert {r["epoch"] for r in rows} == {1, 3}
    names = {r["direction"] for r in rows}
    assert {"PC1", "ink", "slant", "class 0", "class 9"} <= names  # dcgan: the classifier's classes
    assert [directions.load(c) is not None for c in run.checkpoints()] == [True, False, True]
    refused = ganlib_cli("directions", "--run", run_path, "--samples", "5", check=False)
    assert refused.returncode == 2 and refused.stderr.startswith("ganlib: error: --samples")
    missing = ganlib_cli("directions", "--run", run_path, "--epoch", "99", check=False)
    assert missing.returncode == 2 and "no checkpoint for epoch" in missing.stderr


# -- the Gallery's Steer panel, through AppTest ------------------------------------------------------


def _steer_captions(at) -> list[str]:
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    return [c for c in captions if c.startswith(("seed ", "along "))]


def _slider(at, name: str):
    return next(s for s in at.slider if s.label.split(" · ")[0] == name)


def test_steer_sliders_move_the_sample_and_the_strip_from_a_deep_link_and_reset(app_runs):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(run="demo-mnist", epoch="64", steer_slant="2", steer_seed="3", steer_class="7")
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception
    assert _slider(at, "slant").value == 2.0 and _slider(at, "ink").value == 0.0
    shipped = directions.load(RunDir(ROOT / "checkpoints", "demo-mnist").checkpoint(64))
    first = max((d for d in shipped.directions if d.kind == directions.ATTRIBUTE), key=lambda d: d.explained)
    assert _steer_captions(at) == [
        "seed 3: slant +2.0",
        f"along {first.name}, -3 to +3 sd (the slider is at {2.0 if first.name == 'slant' else 0.0:+.1f}), "
        "epoch 64",  # the strip starts along the attribute the latent predicts best
    ]
    sample = at.get("image")[_image_index(at, "seed 3")].proto.imgs[0].url
    _slider(at, "ink").set_value(2.5).run()
    assert _steer_captions(at)[0] == "seed 3: ink +2.5, slant +2.0"
    assert at.get("image")[_image_index(at, "seed 3")].proto.imgs[0].url != sample
    assert "Strip PNG" in {b.label for b in at.get("download_button")}
    at.button(key="steer-reset").click().run()
    assert _steer_captions(at)[0] == "seed 3: no slider moved"
    assert not at.exception


def _image_index(at, prefix: str) -> int:
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    return next(i for i, c in enumerate(captions) if c.startswith(prefix))


def test_hostile_steer_parameters_are_ignored(app_runs):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(
        run="demo-mnist", steer_slant="1e999", steer_ink="nan", steer_seed="-4", steer_class="<script>"
    )
    at.run()
    at.switch_page("pages/gallery.py").run()
    assert not at.exception and not at.error
    assert _steer_captions(at)[0] == "seed 0: no slider moved"


@pytest.mark.slow
def test_a_checkpoint_without_directions_offers_to_find_them_except_on_the_demo_link(app_runs, monkeypatch):
    run = RunDir(app_runs, "demo-fashion-mnist")
    run.checkpoint(64).directions_path.unlink()
    at = open_page("pages/gallery.py", run="demo-fashion-mnist")
    assert not _steer_captions(at)
    at.button(key="steer-find").click().run()
    assert directions.load(run.checkpoint(64)) is not None
    assert _steer_captions(at)[0] == "seed 0: no slider moved"

    run.checkpoint(64).directions_path.unlink()
    monkeypatch.setenv("GANLIB_DEMO", "1")
    at = open_page("pages/gallery.py", run="demo-fashion-mnist")
    assert not _steer_captions(at) and not [b for b in at.button if b.key == "steer-find"]
    assert any("Epoch 64 has no latent directions" in c.value for c in at.caption)


@pytest.mark.slow  # the classifier's TensorFlow in the app's process: 20-40 s
def test_an_unconditional_run_gets_a_slider_per_class_from_the_gallery_button(app_runs, trained_run):
    shutil.copytree(trained_run.path, app_runs / "tiny")
    at = open_page("pages/gallery.py", run="tiny")
    at.button(key="steer-find").click().run()
    assert not at.exception, [e.value for e in at.exception]
    names = [s.label.split(" · ")[0] for s in at.slider]
    assert {"ink", "slant", "class 0", "class 9", "PC1"} <= set(names)
    _slider(at, "class 7").set_value(2.0).run()
    assert _steer_captions(at)[0] == "seed 0: class 7 +2.0"
    assert directions.load(RunDir(app_runs, "tiny").checkpoint()) is not None
