"""Your own architecture in the trainer (issue 42, part 1): ``@ganlib.architecture`` in a file of
yours, ``--models-from`` and the Train form's field, recorded in the run so Gallery, Evaluate and a
resume rebuild it, with a one-line error when the file is gone, changed or broken."""

import json
import time

import pytest
from conftest import ROOT, by_label, ganlib_cli, open_page

from ganlib import GanlibError
from ganlib.config import TrainConfig
from ganlib.runs.rundir import RunDir
from ganlib.training import model_io
from ganlib.zoo import models, user_models

EXAMPLE = ROOT / "examples" / "my_models.py"
REGISTERS = """import ganlib

@ganlib.architecture({name!r}, "a test's own")
def build(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
    raise NotImplementedError
"""


@pytest.fixture(autouse=True)
def registry_restored():
    # A user's file registers into the process's registry: other tests must not see it.
    before, loaded = dict(models.ARCHITECTURES), dict(user_models._loaded)
    user_models.allow(True)  # an earlier test's public-link policy may have turned it off
    yield
    models.ARCHITECTURES.clear()
    models.ARCHITECTURES.update(before)
    user_models._loaded.clear()
    user_models._loaded.update(loaded)
    user_models.allow(True)


def test_a_file_registers_its_architectures_once_and_the_config_accepts_them(tmp_path):
    file = tmp_path / "mine.py"
    file.write_text(REGISTERS.format(name="t-mine"))
    assert TrainConfig(model="t-mine").problems() != []  # unknown until the file is given
    assert TrainConfig(model="t-mine", models_from=str(file)).problems() == []
    source = user_models.load(file)
    assert source.names == ("t-mine",) and user_models.load(file) is source  # run once
    assert len(source.sha256) == 64 and source.path == str(file.resolve())


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "is not there: put it back"),
        ("raise ValueError('oops')", "failed to load: ValueError: oops"),
        ("x = (", "failed to load: SyntaxError"),
        ("import ganlib", "registers no architecture: decorate a build function"),
        (REGISTERS.format(name="dcgan"), "registers dcgan, a built-in name"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_fix_and_leaves_the_registry_as_it_was(tmp_path, content, message):
    file = tmp_path / "bad.py"
    if content is not None:
        file.write_text(content)
    before = dict(models.ARCHITECTURES)
    problems = TrainConfig(models_from=str(file)).problems()
    assert len(problems) == 1 and message in problems[0], problems
    assert before == models.ARCHITECTURES


def test_a_changed_file_is_refused_for_a_run_trained_with_the_old_one(tmp_path):
    file = tmp_path / "mine.py"
    file.write_text(REGISTERS.format(name="t-mine"))
    trained_with = user_models.load(file).sha256
    file.write_text(REGISTERS.format(name="t-mine") + "# edited\n")
    with pytest.raises(GanlibError, match="has changed since this run trained.*restore that version"):
        user_models.load(file, trained_with)


def test_a_public_host_runs_no_user_code(tmp_path, monkeypatch):
    from workbench import policy

    file = tmp_path / "mine.py"
    file.write_text(REGISTERS.format(name="t-mine"))
    monkeypatch.setenv("GANLIB_DEMO", "1")
    monkeypatch.setenv("GANLIB_MODELS", str(file))
    rules = policy.current()
    assert rules.models_file == ""  # GANLIB_MODELS is ignored there
    with pytest.raises(GanlibError, match="runs no user code"):
        user_models.load(file)
    assert "t-mine" not in models.ARCHITECTURES


@pytest.mark.slow
def test_the_cli_trains_your_architecture_and_the_run_rebuilds_it_later(runs_dir):
    flags = ["--runs-dir", runs_dir, "--epochs", 2, "--steps-per-epoch", 4, "--batch-size", 16]
    ganlib_cli("train", "--run", "mine", "--models-from", EXAMPLE, "--model", "small-dcgan", *flags)
    run = RunDir(runs_dir, "mine")
    recorded = run.meta()["models_from"]
    assert recorded["path"] == str(EXAMPLE.resolve()) and run.epochs() == [1, 2]
    assert run.config().model == "small-dcgan" and run.quality()  # the live FID with every default
    gan, checkpoint = model_io.load_models(run)  # Keras rebuilds it from the recorded file
    assert gan.generator.name == "generator" and checkpoint.epoch == 2
    assert type(model_io.load_sampler(run)).__name__ == "NumpyGenerator"  # Gallery: no user code
    evaluated = json.loads(
        ganlib_cli("evaluate", "--run", run.path, "--samples", 200).stdout.splitlines()[-1]
    )
    assert evaluated["best_epoch"] in (1, 2)
    ganlib_cli("train", "--run", "mine", "--resume", "--epochs", 3, "--runs-dir", runs_dir)
    assert run.epochs() == [1, 2, 3]
    missing = ganlib_cli("train", "--run", "other", "--models-from", runs_dir / "gone.py", "--model", "x",
                         *flags, check=False)  # fmt: skip
    assert missing.returncode == 2 and "gone.py is not there" in missing.stderr


@pytest.mark.slow
def test_the_train_form_takes_a_file_and_trains_its_architecture(app_runs):
    at = open_page("pages/train.py")
    by_label(at.text_input, "Architecture file").set_value(str(EXAMPLE)).run()
    assert any("Adds: small-dcgan" in c.value for c in at.caption)
    by_label(at.selectbox, "Architecture").set_value("small-dcgan")
    by_label(at.text_input, "Run name (empty: automatic)").set_value("mine-from-the-form")
    for label, value in [("Epochs", 1), ("Steps per epoch (0 = all)", 4), ("Batch size", 16)]:
        by_label(at.number_input, label).set_value(value)
    next(b for b in at.button if b.label == "Start").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    run = RunDir(app_runs, "mine-from-the-form")
    deadline = time.monotonic() + 180
    while run.status().state != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.status().state == "finished" and run.meta()["models_from"]["path"] == str(EXAMPLE.resolve())
    at.query_params["run"] = run.name
    at.switch_page("pages/gallery.py").run()
    assert not at.exception and any("mine-from-the-form" in str(s.value) for s in at.selectbox)
