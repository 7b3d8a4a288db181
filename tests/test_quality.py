"""Quality while it trains: the live quick FID at each checkpoint, and alerts (D wins, mode
collapse, divergence) recorded in the run and shown on the Train page."""

import math

import pytest
from conftest import log_point, tiny_config

from ganlib.runs.records import AlertKind, QualityPoint
from ganlib.runs.rundir import RunDir
from ganlib.training import alerts
from ganlib.training.callbacks import AlertWatch
from ganlib.training.train import train


def _history(n, **values):
    return [log_point(10 * (i + 1), **values) for i in range(n)]


def _quality(step, recall, covered):
    return QualityPoint(step, step // 100, step / 10, 1000, 50.0, 1.0, 0.8, recall, covered, 1.0)


def test_a_healthy_history_raises_no_alert():
    assert alerts.check(_history(50), [_quality(100, 0.4, 10), _quality(200, 0.45, 10)]) == []


def test_d_wins_when_it_is_right_about_nearly_everything_for_a_stretch():
    history = _history(20) + _history(alerts.D_WINS_POINTS, acc_real=0.99, acc_fake=1.0)
    alert = alerts.d_wins(history)
    assert alert.kind == AlertKind.D_WINS and alert.step == history[-1].step
    assert "100% of fakes" in alert.detail
    assert alerts.d_wins(history[:-1] + _history(1, acc_real=0.5)) is None  # one miss: not sustained


def test_mode_collapse_when_recall_halves_or_classes_vanish():
    collapse = alerts.mode_collapse([_quality(100, 0.40, 10), _quality(200, 0.15, 10)])
    assert collapse.kind == AlertKind.MODE_COLLAPSE and "recall fell from 0.40 to 0.15" in collapse.detail
    vanished = alerts.mode_collapse([_quality(100, 0.40, 10), _quality(200, 0.38, 6)])
    assert "4 classes fewer (10 -> 6)" in vanished.detail and vanished.step == 200
    assert alerts.mode_collapse([_quality(100, 0.40, 10), _quality(200, 0.30, 9)]) is None


def test_divergence_when_a_loss_explodes_or_is_not_finite():
    exploded = _history(30) + _history(alerts.EXPLOSION_POINTS, g_loss=40.0)
    alert = alerts.divergence(exploded)
    assert alert.kind == AlertKind.DIVERGENCE and "g_loss has exploded" in alert.detail
    assert alerts.divergence(_history(30) + _history(1, d_loss=math.nan)).detail == "d_loss is nan"
    assert alerts.divergence(_history(30) + _history(2, g_loss=40.0) + _history(1)) is None  # a spike


def test_an_alert_is_recorded_once_when_it_starts_and_again_after_it_cleared(runs_dir):
    run = RunDir(runs_dir, "watched")
    run.path.mkdir()
    watch = AlertWatch(run)
    for record in _history(10) + _history(12, acc_real=1.0, acc_fake=1.0):
        watch.add_history(record)
    assert [a.kind for a in run.alerts()] == [AlertKind.D_WINS]  # raised once while it lasts
    for record in _history(3) + _history(alerts.D_WINS_POINTS, acc_real=1.0, acc_fake=1.0):
        watch.add_history(record)
    assert [a.kind for a in run.alerts()] == [AlertKind.D_WINS] * 2


@pytest.mark.slow
def test_training_records_a_quick_fid_at_each_checkpoint(runs_dir):
    run = RunDir(runs_dir, "live-quality")
    train(tiny_config(model="cdcgan", epochs=3, live_fid_samples=200), run)
    quality = run.quality()
    assert [q.epoch for q in quality] == [1, 2, 3]
    assert [q.step for q in quality] == [c.step for c in run.checkpoints()]
    for point in quality:
        assert point.samples == 200 and point.fid > point.floor_fid > 0
        assert 0 <= point.recall <= 1 and 1 <= point.classes_covered <= 10
    train(tiny_config(model="cdcgan", epochs=4, live_fid_samples=200), run, resume=True)
    assert [q.epoch for q in run.quality()] == [1, 2, 3, 4]  # resumed runs go on appending


def test_a_diverging_run_records_the_alert_and_fails_with_the_step(runs_dir, monkeypatch):
    import dataclasses

    import pytest

    from ganlib.training.callbacks import TrainingDiverged
    from ganlib.zoo import losses

    bce = losses.LOSSES["bce"]
    poisoned = dataclasses.replace(bce, g_loss=lambda fake: bce.g_loss(fake) * math.inf)
    monkeypatch.setitem(losses.LOSSES, "bce", poisoned)
    run = RunDir(runs_dir, "diverging")
    with pytest.raises(TrainingDiverged, match="became (nan|inf) at step 2"):
        train(tiny_config(epochs=1), run)
    (alert,) = run.alerts()  # recorded in the run before the trainer stopped
    assert (
        alert.kind == AlertKind.DIVERGENCE
        and alert.step == 2
        and alert.detail.endswith((" is nan", " is inf"))
    )
    assert run.status().state == "failed" and "at step 2" in run.status().error
