import pytest

from ganlib.config import ConfigError, TrainConfig, check_run_name


def test_default_config_is_valid():
    assert TrainConfig().problems() == []


def test_every_problem_is_reported_at_once():
    problems = TrainConfig(batch_size=0, lr_g=2.0, label_smoothing=0.7, model="nope").problems()
    assert any("unknown model" in p for p in problems)
    assert any("batch_size" in p for p in problems)
    assert any("learning rates" in p for p in problems)
    assert any("label_smoothing" in p for p in problems)


def test_wrong_types_are_refused_with_a_message():
    problems = TrainConfig(batch_size="64", epochs=True).problems()
    assert any("batch_size must be an int" in p for p in problems)
    assert any("epochs must be an int" in p for p in problems)
    with pytest.raises(ConfigError):
        TrainConfig(lr_d="fast").validate()


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "", "x" * 65, "a\\b", "a b"])
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
