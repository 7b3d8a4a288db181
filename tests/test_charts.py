"""The app's charts as a person reads them (issue 44): log axes labelled once per tick, a live
quick FID of one checkpoint on the run's own x extent, titles and legends clear of the plots."""

import pytest
from conftest import log_point

from ganlib.runs.records import QualityPoint
from ganlib.runs.rundir import RunDir
from ui import charts


@pytest.mark.parametrize(
    "values",
    [[935.0], [5.3], [3.0, 8.0], [0.164, 200.0], [0.5, 1.13], [0.11, 737.0], [0.2, 0.21], [1e-3, 1e4]],
)
def test_a_log_axis_labels_each_tick_once_with_plain_numbers_around_the_values(values):
    ticks = charts.log_ticks(values)
    labels = [f"{t:g}" for t in ticks]
    assert len(set(labels)) == len(labels) == len(ticks) and 2 <= len(ticks) <= 7
    assert ticks == sorted(ticks)
    # Every tick a 1, 2, 3 or 5 times a power of ten, and the values inside the ticks' reach.
    assert all(label.lstrip("0.").rstrip("0")[0] in "1235" for label in labels)
    assert ticks[0] <= max(values) and ticks[-1] >= min(values)


def _quality(step: int, fid: float) -> QualityPoint:
    return QualityPoint(step, step // 100, step / 10, 1000, fid, 0.8, 0.5, 0.5, 10, 1.0)


def test_the_live_quick_fid_of_one_checkpoint_spans_the_runs_steps_on_labelled_log_ticks(tmp_path):
    run = RunDir(tmp_path, "young")
    run.path.mkdir()
    run.append_history([log_point(20 * i) for i in range(1, 48)])
    run.append_quality(_quality(900, 41.7))
    figure, _ = charts.live_training(str(run.history_path), (1, 2), 0.6, "hinge", quick_fid=True)
    losses = figure.data[0].x
    low, high = figure.layout.xaxis4.range
    assert low <= losses[0] and high >= losses[-1]  # the losses' extent, not "935 to 937"
    labels = list(figure.layout.yaxis4.ticktext)
    assert len(labels) == len(set(labels)) >= 2 and figure.layout.yaxis4.type == "log"
    # The score's meaning is in the panel's title (a second, small line), not a y title on the plot.
    titles = [a.text for a in figure.layout.annotations]
    assert any("Discriminator outputs" in t and "hinge score" in t for t in titles)
    assert not figure.layout.yaxis2.title.text


def test_a_per_epoch_chart_puts_its_legend_below_the_x_title():
    results = [type("R", (), {"epoch": e, "fid": 100 / e})() for e in (1, 2, 4, 8)]
    line = charts.metric_line(results, "fid", "FID")
    figure = charts.per_epoch([line], "FID", 8, (0.16, "real-data floor"), log_y=True)
    assert figure.layout.legend.y < -0.2 and figure.layout.legend.yanchor == "top"
    assert list(figure.layout.yaxis.ticktext) == ["0.3", "1", "3", "10", "30", "100"]
