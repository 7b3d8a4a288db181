import dataclasses

import pytest

from ganlib.cli import build_parser
from ganlib.config import SETTINGS, ConfigError, Setting, TrainConfig, check_run_name, setting_type


def test_default_config_is_valid():
    assert TrainConfig().problems() == []


def test_every_problem_is_reported_at_once():
    problems = TrainConfig(batch_size=0, lr_g=2.0, label_smoothing=0.7, model="nope").problems()
    assert any(p.startswith("model must be one of") for p in problems)
    assert any("batch_size" in p for p in problems)
    assert any(p.startswith("lr_g must be in (0, 1)") for p in problems)
    assert any("label_smoothing" in p for p in problems)


def test_wrong_types_are_refused_with_a_message():
    problems = TrainConfig(batch_size="64", epochs=True).problems()
    assert any("batch_size must be an int" in p for p in problems)
    assert any("epochs must be an int" in p for p in problems)
    with pytest.raises(ConfigError):
        TrainConfig(lr_d="fast").validate()


@pytest.mark.parametrize(
    "name",
    [
        "../evil", "a/b", "..", ".hidden", "", "x" * 65, "x" * 100_000, "a\\b", "a b", "/etc/passwd",
        "a\x00b", "demo-mnist\n", "d\u0435mo-mnist", "\uff44emo", "a\u200bb", None, 7,
    ],
)  # fmt: skip
def test_bad_run_names_are_refused(name):
    with pytest.raises(ConfigError):
        check_run_name(name)


@pytest.mark.parametrize("name", ["smoke", "run-1", "dcgan_bce.v2"])
def test_good_run_names_pass(name):
    assert check_run_name(name) == name


def test_round_trip_ignores_unknown_keys():
    data = {**TrainConfig(epochs=7).to_dict(), "from_the_future": 1}
    config = TrainConfig.from_dict(data)
    assert config.epochs == 7
    assert config.extra["ignored_keys"] == ["from_the_future"]


def test_every_field_is_described_once_and_the_cli_help_says_it(monkeypatch):
    monkeypatch.setenv("COLUMNS", "10000")  # no line wrapping inside the compared texts
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra"}
    assert set(SETTINGS) == fields  # a new field without a description fails here
    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["train"].format_help().split())
    for name, setting in SETTINGS.items():
        flag = "--" + name.replace("_", "-")
        assert flag in help_text
        described = " ".join(setting.input_text().split())
        assert described in help_text, name


def _just_outside(setting: Setting, kind: type) -> list:
    """Values one notch outside each bound (or on an open bound)."""
    notch = 1 if kind is int else 1e-6
    out = []
    if setting.low is not None and setting.off != setting.low - notch:
        out.append(setting.low if setting.low_open else setting.low - notch)
    if setting.high is not None:
        out.append(setting.high if setting.high_open else setting.high + notch)
    return [kind(v) for v in out]


def test_the_validator_enforces_each_settings_bounds_and_names_the_field():
    for name, setting in SETTINGS.items():
        kind = setting_type(name)
        for value in _just_outside(setting, kind):
            problems = TrainConfig().replace(**{name: value}).problems()
            assert any(p.startswith(f"{name} must be") for p in problems), (name, value, problems)
        if setting.low is not None and not setting.low_open:
            inside = TrainConfig().replace(**{name: kind(setting.low)})
            assert not [p for p in inside.problems() if p.startswith(name)], name
        if setting.zero_means:
            assert TrainConfig().replace(**{name: None}).problems() == []
            assert setting.from_input(0) is None
    assert TrainConfig(ema=0.0).problems() == [] and TrainConfig(ema=0.3).problems()


def test_a_forms_lowest_value_is_the_bound_or_the_zero_that_switches_a_setting_off():
    assert SETTINGS["batch_size"].form_low == 1  # the validator's bound
    assert SETTINGS["ema"].form_low == 0 and SETTINGS["ema"].low == 0.5  # 0: off
    assert SETTINGS["minutes"].form_low == 0 and SETTINGS["minutes"].low == 0.1  # 0: no budget
    assert SETTINGS["steps_per_epoch"].form_low == 0  # 0: a full pass
    for name in ("ema", "minutes", "steps_per_epoch", "d_steps", "live_fid_samples"):
        setting = SETTINGS[name]
        assert setting.allows(setting.from_input(setting.form_low)), name
