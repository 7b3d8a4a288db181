"""The real app, driven by streamlit.testing.v1.AppTest, on a copy of the shipped demo run."""

import json
import shutil
import sys
import time

import pytest
from conftest import APP, ROOT, by_label, log_point, open_page, tree_digest
from streamlit.testing.v1 import AppTest

from ganlib import directions, evaluation
from ganlib.config import TOY_LESSON
from ganlib.runs.records import Alert, AlertKind
from ganlib.runs.rundir import ChosenBy, RunDir, list_runs
from ganlib.zoo import losses

SHIPPED = ROOT / "checkpoints"
DEMO = SHIPPED / "demo-mnist"


def test_the_shipped_demo_runs_are_complete_slim_and_evaluated():
    names = sorted(p.name for p in SHIPPED.iterdir())
    lessons = [lesson.run_name for lesson in TOY_LESSON]
    assert names == sorted(["demo-fashion-mnist", "demo-mnist", *lessons])
    for name in ["demo-fashion-mnist", "demo-mnist"]:
        run = RunDir(SHIPPED, name)
        epochs = run.epochs()
        assert len(epochs) >= 6 and run.history() and run.best().samples == 10_000
        assert all(b == 2 * a for a, b in zip(epochs, epochs[1:]))  # doubling intervals
        for checkpoint in run.checkpoints():
            assert checkpoint.grid_path.is_file() and checkpoint.ema_path.is_file()
            assert checkpoint.discriminator_path.is_file()
            assert not checkpoint.optimizer_path.exists() and not checkpoint.generator_path.exists()
            assert directions.load(checkpoint) is not None  # the Gallery's Steer sliders
        engine = evaluation.Engine(run, 10_000, read_only=True)
        assert all(engine.cached(epoch) for epoch in epochs)  # every epoch evaluated, cache valid
    for name in lessons:  # the 2-D toys' lesson: evaluated by its modes, every checkpoint slim
        run = RunDir(SHIPPED, name)
        engine = evaluation.ModeEngine(run, read_only=True)
        assert run.epochs() and all(engine.cached(epoch) for epoch in run.epochs())
        assert run.best().chosen_by == "modes"
        assert not any(c.optimizer_path.exists() for c in run.checkpoints())
    # Image runs of 18 MB each and the toys' 8: a repository a free host clones in seconds.
    size = sum(f.stat().st_size for f in SHIPPED.rglob("*") if f.is_file())
    assert size <= 48 * 10**6, f"the demo runs take {size / 1e6:.1f} MB"


def test_home_lists_the_demo_run(app_runs):
    at = open_page("pages/home.py")
    table = at.dataframe[0].value
    assert "demo-mnist" in list(table["name"])
    assert set(table["damaged"]) == {""}  # healthy runs: nothing, not "None"
    assert not at.error


def test_gallery_shows_grids_interpolation_and_animation(app_runs):
    at = open_page("pages/gallery.py")
    assert not at.error
    assert len(at.get("image")) >= 4  # the grid, its neighbour, the strip, the GIFs
    assert {b.label for b in at.get("download_button")} >= {"Grid PNG", "Interpolation GIF", "Training GIF"} | {
        "NumPy sampler (.zip)", "SavedModel (.zip)", "TFLite", "ONNX"  # the generator, exported when clicked
    }  # fmt: skip
    by_label(at.radio, "Method").set_value("lerp").run()
    assert not at.exception
    by_label(at.select_slider, "Truncation").set_value(0.5).run()
    by_label(at.number_input, "Seed").set_value(7).run()
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert any(c.startswith("32 samples") and "seed 7, truncation 0.5" in c for c in captions), captions


def test_evaluate_shows_cached_charts_and_marks_best(app_runs):
    linked = AppTest.from_file(APP, default_timeout=180)
    linked.query_params.update({"run": "demo-mnist", "epoch": "4"})
    linked.run()
    linked.switch_page("pages/evaluate.py").run()
    assert by_label(linked.selectbox, "Epoch").value == 4  # ?epoch= opens that epoch
    at = open_page("pages/evaluate.py")
    assert not at.error
    assert len(at.get("plotly_chart")) >= 5
    run = RunDir(app_runs, "demo-mnist")
    first = run.epochs()[0]
    by_label(at.selectbox, "Epoch").set_value(first).run()
    next(b for b in at.button if b.label.startswith("Mark epoch")).click().run()
    assert (run.best().epoch, run.best().chosen_by) == (first, ChosenBy.PERSON)


def test_train_page_refuses_invalid_input(app_runs):
    at = open_page("pages/train.py")
    by_label(at.text_input, "Run name (empty: automatic)").set_value("../escape")
    by_label(at.number_input, "LR generator").set_value(0.0)
    next(b for b in at.button if b.label == "Start").click().run()
    errors = " ".join(e.value for e in at.error)
    assert "invalid run name" in errors and "lr_g must be in (0, 1)" in errors
    assert sorted(p.name for p in app_runs.iterdir()) == sorted(p.name for p in SHIPPED.iterdir())


@pytest.mark.slow
def test_train_page_starts_a_tiny_job_and_shows_its_history(app_runs):
    at = open_page("pages/train.py")
    by_label(at.text_input, "Run name (empty: automatic)").set_value("from-the-app")
    for label, value in [
        ("Epochs", 2),
        ("Steps per epoch (0 = all)", 3),
        ("Batch size", 16),
        ("Width", 0.25),
        ("Live FID samples", 200),
    ]:
        by_label(at.number_input, label).set_value(value)
    by_label(at.selectbox, "LR schedule").set_value("cosine")  # not the default: the form's value is used
    next(b for b in at.button if b.label == "Start").click().run()
    run = RunDir(app_runs, "from-the-app")
    deadline = time.monotonic() + 180
    while run.status().state != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.status().state == "finished" and run.epochs() == [1, 2]
    assert run.config().lr_schedule == "cosine"
    assert [r.step for r in run.history() if r.kind == "epoch"] == [3, 6]
    at.run()
    assert not at.exception
    assert any("from-the-app" in h.value for h in at.subheader)
    (chart,) = at.get("plotly_chart")  # losses, D outputs, D accuracy and live quality: one figure
    titles = [a["text"] for a in json.loads(chart.proto.spec)["layout"]["annotations"]]
    assert titles[0] == "Losses" and titles[2:] == ["D accuracy", "Quick FID (n=200)"]
    # The outputs' meaning (the loss's score) is the panel title's second line (issue 44).
    score = losses.LOSSES[run.config().loss].score_label
    assert titles[1] == f"Discriminator outputs<br><sup>{score}</sup>"
    assert [q.epoch for q in run.quality()] == [1, 2]
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert "fixed-seed grid, epoch 2" in captions, captions
    run.append_alert(Alert(AlertKind.D_WINS, 6, "D has judged 100% of fakes correctly"))
    at.run()
    assert any("D wins" in w.value and "at step 6" in w.value for w in at.warning)


def test_demo_mode_switches_training_off(app_runs, monkeypatch):
    monkeypatch.setenv("GANLIB_DEMO", "1")
    at = open_page("pages/train.py")
    assert next(b for b in at.button if b.label == "Start").disabled
    assert not [b for b in at.button if b.label.startswith("Train for")]  # no visitor training either


@pytest.mark.slow
def test_a_demo_visitor_trains_within_the_hosts_time_limit_and_finds_the_run(app_runs, tmp_path, monkeypatch):
    scratch = tmp_path / "visitor-runs"
    monkeypatch.setenv("GANLIB_DEMO", "1")
    monkeypatch.setenv("GANLIB_DEMO_TRAIN_SECONDS", "20")
    monkeypatch.setenv("GANLIB_DEMO_SCRATCH_DIR", str(scratch))
    before = tree_digest(app_runs)
    at = open_page("pages/train.py")
    assert not [b for b in at.button if b.label == "Start"]  # no free-form training on the link
    next(b for b in at.button if b.label == "Train for 20 s").click().run()
    assert not at.exception
    assert not next(b for b in at.button if b.label == "Stop").disabled  # the visitor's own run
    assert not [b for b in at.button if b.label in ("Pause", "Step")]
    deadline = time.monotonic() + 180
    while not (runs := list_runs(scratch)) or runs[0].status().state != "stopped":
        assert time.monotonic() < deadline, "the time limit did not stop the visitor's run"
        time.sleep(0.5)
    (run,) = runs
    assert run.status().state == "stopped" and run.config().epochs == 10_000  # the limit ended it
    at.run()
    assert not at.exception
    assert any(f"Your last run: {run.name}" in str(link.proto.label) for link in at.get("page_link"))
    gallery = open_page("pages/gallery.py")
    assert run.name in by_label(gallery.selectbox, "Run").options
    assert tree_digest(app_runs) == before  # the shipped runs are untouched


def test_script_runs_leave_the_keras_session_alone(app_runs, monkeypatch):
    # Streamlit's post-run hook would call keras.backend.clear_session() after every script run
    # (every second on the live Train page): a gc.collect() over TensorFlow's heap each time.
    import keras

    calls = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *args, **kwargs: calls.append(args))
    at = open_page("pages/gallery.py")  # loads a generator, so Keras is in use
    by_label(at.radio, "Method").set_value("lerp").run()
    assert "keras" in sys.modules and not at.exception
    assert calls == []


def test_the_server_skips_streamlits_full_garbage_collection_after_each_run():
    # A full gc.collect() after every script run took ~45% of the server's CPU while the Train
    # page polled (TensorFlow's heap is large); the trainer's cores paid for it.
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def test_the_train_form_takes_its_widgets_bounds_and_help_from_the_settings(app_runs):
    from ganlib.config import QUICK_START, SETTINGS

    at = open_page("pages/train.py")
    widgets = {w.label: w for kind in ("number_input", "selectbox", "checkbox") for w in at.get(kind)}
    for name, setting in SETTINGS.items():
        if not setting.in_form:
            assert setting.label not in widgets
            continue
        widget = widgets[setting.label]
        assert widget.help == setting.input_text()
        if widget.type == "number_input":
            assert (widget.min, widget.max) == (setting.form_low, setting.high), name  # the validator's
            initial = getattr(QUICK_START, name)
            assert widget.value == (0 if initial is None else initial), name


def test_the_train_forms_defaults_follow_the_dataset_chosen_above_it(app_runs):
    at = open_page("pages/train.py")
    assert (by_label(at.selectbox, "Dataset").value, by_label(at.number_input, "Generator EMA").value) == (
        "mnist",
        0.99,
    )
    assert by_label(at.selectbox, "LR schedule").value == "auto"
    assert by_label(at.number_input, "LR boost at start").value == 2.0
    by_label(at.selectbox, "Dataset").set_value("fashion_mnist").run()
    assert by_label(at.number_input, "Generator EMA").value == 0.999  # Fashion-MNIST's own
    assert by_label(at.selectbox, "LR schedule").value == "auto-constant"  # never decayed; MNIST's is
    assert by_label(at.number_input, "LR boost at start").value == 1.0  # MNIST's starts high
    by_label(at.selectbox, "Dataset").set_value("toy:ring8").run()
    assert by_label(at.selectbox, "Architecture").value == "toy-mlp"  # the toys' preset
    assert not at.exception


def test_train_again_starts_the_form_from_a_runs_settings_with_the_next_seed(app_runs):
    from ganlib.config import QUICK_START

    demo = RunDir(app_runs, "demo-mnist").config()
    at = open_page("pages/gallery.py")
    again = [link for link in at.get("page_link") if "Train again" in link.proto.label]
    assert len(again) == 1 and again[0].proto.query_string == "from=demo-mnist"
    for linked, expected in [("demo-mnist", demo.replace(seed=demo.seed + 1)), ("../etc<x>", QUICK_START)]:
        at = AppTest.from_file(APP, default_timeout=180)
        at.query_params["from"] = linked
        at.run()
        at.switch_page("pages/train.py").run()
        assert not at.exception
        assert by_label(at.number_input, "Seed").value == expected.seed
        assert by_label(at.number_input, "Width").value == expected.width
        assert by_label(at.selectbox, "Loss").value == expected.loss


def test_a_visitor_on_the_demo_link_changes_nothing(app_runs, monkeypatch):
    monkeypatch.setenv("GANLIB_DEMO", "1")
    before = tree_digest(app_runs)
    at = open_page("pages/evaluate.py")
    by_label(at.select_slider, "Samples per epoch").set_value(1000).run()  # nothing cached at 1,000
    assert not at.exception
    assert not [b for b in at.button if b.label.startswith("Compute")]  # not offered in the demo
    assert any("read-only" in c.value for c in at.caption)
    by_label(at.select_slider, "Samples per epoch").set_value(10_000).run()
    assert next(b for b in at.button if b.label.startswith("Mark epoch")).disabled
    for page in ("pages/gallery.py", "pages/train.py", "pages/home.py"):
        at.switch_page(page).run()
        assert not at.exception
    for hostile in ({"run": "../../etc", "epoch": "-5"}, {"run": "demo-mnist", "epoch": "9" * 40}):
        page = AppTest.from_file(APP, default_timeout=180)
        page.query_params.update(hostile)
        page.run()
        page.switch_page("pages/gallery.py").run()
        assert not page.exception
    assert tree_digest(app_runs) == before  # byte for byte


def test_the_contact_sheet_shows_every_checkpoint_with_its_fid_and_opens_one(app_runs):
    run = RunDir(app_runs, "demo-mnist")
    best = run.best().epoch
    at = open_page("pages/gallery.py")
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    tiles = [c for c in captions if "FID" in c or "not evaluated" in c]
    assert len(tiles) == len(run.epochs())  # one tile per checkpoint
    assert any(c.startswith(f"epoch {best} · best · FID") and "10,000 samples" in c for c in tiles)
    chosen = run.epochs()[2]
    next(b for b in at.button if b.label == f"Open epoch {chosen}").click().run()
    assert at.select_slider[0].value == chosen
    assert f"epoch {chosen}" in [image.proto.imgs[0].caption for image in at.get("image")]
    next(b for b in at.button if b.label == f"Mark epoch {chosen} as best").click().run()
    assert not at.exception
    assert (run.best().epoch, run.best().chosen_by) == (chosen, ChosenBy.PERSON)
    assert run.best().metric == "FID (MNIST-classifier features)"  # as Evaluate's mark writes it


def test_the_contact_sheet_names_the_runs_own_evaluator(app_runs):
    at = open_page("pages/gallery.py", run="demo-fashion-mnist")
    (caption,) = [c.value for c in at.caption if "fixed-seed grid with its FID" in c.value]
    assert "(Fashion-MNIST-classifier features," in caption, caption


def test_damaged_checkpoints_are_marked_and_every_other_epoch_shows(app_runs):
    run = RunDir(app_runs, "demo-mnist")
    run.checkpoint(4).grid_path.unlink()
    weights = run.checkpoint(8).ema_path
    weights.write_bytes(weights.read_bytes()[:10_000])  # cut off
    home = open_page("pages/home.py")
    damaged = dict(zip(home.dataframe[0].value["name"], home.dataframe[0].value["damaged"]))
    assert "4 (no grid.png)" in damaged["demo-mnist"] and "8 (ema_generator" in damaged["demo-mnist"]
    for page in ("pages/gallery.py", "pages/evaluate.py"):
        at = open_page(page)
        assert not at.exception, [e.value for e in at.exception]
        assert any("epoch 4: no grid.png" in w.value and "epoch 8:" in w.value for w in at.warning)
    gallery = open_page("pages/gallery.py")
    assert gallery.select_slider[0].options == [str(e) for e in (1, 2, 16, 32, 64)]


@pytest.mark.slow
def test_the_train_page_says_why_a_run_stopped(app_runs, monkeypatch):
    import errno

    from conftest import tiny_config

    from ganlib.runs import checkpoints
    from ganlib.runs.rundir import RunWriteError
    from ganlib.training.train import train

    run = RunDir(app_runs, "full-disk")
    train(tiny_config(epochs=1), run)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched, pytest.raises(RunWriteError):
        patched.setattr(checkpoints, "write", no_space)
        train(tiny_config(epochs=2), run, resume=True)
    at = open_page("pages/train.py")
    by_label(at.selectbox, "Run").set_value("full-disk (failed, epoch 1/2)").run()
    errors = " ".join(e.value for e in at.error)
    assert (
        "Why it stopped: training stopped: cannot write to the run folder: No space left on device" in errors
    )
    assert "intact (newest: epoch 1)" in errors


@pytest.mark.slow
def test_per_class_truncation_and_memorisation_views(app_runs):
    at = open_page("pages/evaluate.py")  # demo-mnist is conditional and evaluated with engine 2
    assert not at.exception
    keys = {chart.proto.id for chart in at.get("plotly_chart")}
    assert any("per-class" in key for key in keys) and any("copies" in key for key in keys)
    per_class = next(df.value for df in at.dataframe if "label accuracy" in df.value.columns)
    assert list(per_class["class"]) == [str(c) for c in range(10)]
    next(b for b in at.button if b.label.startswith("Compute FID at truncation")).click().run()
    sweep = next(df.value for df in at.dataframe if "truncation" in df.value.columns)
    assert list(sweep["truncation"]) == ["0.5", "1", "1.5", "2", "off"]
    assert sweep["recall"].iloc[0] < sweep["recall"].iloc[-1]  # cutting the latents costs diversity

    gallery = open_page("pages/gallery.py")
    assert any(c.value.startswith("Class 0, epoch 64: intra-class FID") for c in gallery.caption)
    next(b for b in gallery.button if b.label.startswith("Show 8 samples")).click().run()
    assert not gallery.exception
    captions = [image.proto.imgs[0].caption for image in gallery.get("image")]
    assert any(c.startswith("each row: a sample, then its 4 nearest training images") for c in captions)


@pytest.mark.slow
def test_an_unconditional_run_gets_its_class_histogram_per_epoch(app_runs, trained_run):
    run = RunDir(app_runs, "unconditional")
    shutil.copytree(trained_run.path, run.path)
    evaluation.Engine(run, samples=1000).evaluate()
    at = open_page("pages/evaluate.py", run="unconditional")
    by_label(at.select_slider, "Samples per epoch").set_value(1000).run()
    assert not at.exception
    keys = {chart.proto.id for chart in at.get("plotly_chart")}
    assert any("histogram" in key for key in keys) and not any("per-class" in key for key in keys)


def test_live_charts_of_a_long_run_draw_a_bounded_number_of_points_ending_at_the_newest(tmp_path):
    # A toy run logs 16 points a second: the browser must not lay out ten thousand per redraw,
    # and thinning must not move the curve (smoothed over every point, the newest one kept).
    from ui import charts

    run = RunDir(tmp_path, "long")
    run.path.mkdir()
    records = [log_point(25 * i, d_loss=float(i % 7)) for i in range(5000)]
    run.append_history(records)
    figure, _ = charts.live_training(str(run.history_path), (1, 1), 0.6, "hinge", quick_fid=False)
    curve = charts.smooth([r.d_loss for r in records], 0.6)
    d_loss = next(trace for trace in figure.data if trace.name == "D loss")
    assert len(figure.data) == 6 and all(len(trace.x) == charts.CHART_POINTS for trace in figure.data)
    assert d_loss.x[0] == 0 and d_loss.x[-1] == records[-1].epoch  # past 2 epochs: an epoch axis
    assert d_loss.y[-1] == curve[-1] and set(d_loss.y) <= set(curve)
