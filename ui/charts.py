"""Every chart the app draws, as plotly figures: the pages place them, this module builds them.

FID is drawn on a log axis wherever it appears: the checkpoints worth choosing lie within a
factor of a few of the real-data floor, which a linear axis from the first epoch's hundreds
flattens onto the floor line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from ganlib.comparison import Axis, Point
from ganlib.evaluation import EpochResult
from ganlib.runs.records import METRIC_NAMES, PointKind
from ganlib.runs.rundir import RunDir
from ganlib.zoo import losses

PLANE_LEGEND = (
    "Background: what D believes over the plane (green: real, purple: fake); green dots: real "
    "points; purple dots: the generator's, from fixed latents; grey ticks: where G's loss pushes "
    "each of them (up D's slope)."
)


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average for noisy curves (TensorBoard's smoothing): 0 = raw."""
    out, last = [], None
    for value in values:
        if math.isnan(value):  # a point that did not log this number: a gap, the average goes on
            out.append(value)
            continue
        last = value if last is None else weight * last + (1 - weight) * value
        out.append(last)
    return out


MARGIN = dict(l=10, r=10, t=40, b=10)
# While a run is young its log points are a sliver of one epoch: chart them against steps.
EPOCH_AXIS_FROM = 2.0
# A live chart's panel is a few hundred pixels wide: more points than that only cost the browser,
# which lays out and paints every point at each redraw. A toy run logs 16 points a second, so an
# unthinned chart grew until each 5-second redraw took half a second of a core (docs/benchmarks.md).
CHART_POINTS = 300


def log_ticks(values: Sequence[float], at_most: int = 7) -> list[float]:
    """Tick values for a log axis over ``values``: 1-2-5 steps per decade, or 1-3, or only the
    decades (every n-th, past ``at_most`` decades), whichever fits ``at_most`` ticks; always at least the two nearest 1-2-5 values around
    them. Plotly's own labels a narrow log range with every digit (2, 3, 4... crowded) and a wide
    one with a "2" and a "5" at each decade, not saying which decade (issue 44)."""
    positive = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not positive:
        return []
    low, high = min(positive), max(positive)
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [
            round(m * 10.0**exponent, 12)
            for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
            for m in mantissas
        ]
        inside = [t for t in ticks if low <= t <= high]
        if len(inside) <= at_most:
            below = [t for t in ticks if t < low][-1:]
            above = [t for t in ticks if t > high][:1]
            return below + inside + above if len(inside) < 2 else inside
    return inside[:: math.ceil(len(inside) / at_most)]  # many decades: every other one or fewer


def log_axis(figure: go.Figure, values: Sequence[float], **where) -> None:
    """Make ``figure``'s y axis (``where``: row and col of a subplot) a log axis over ``values``
    labelled at ``log_ticks``, as plain numbers, its range spanning the values and the ticks."""
    ticks = log_ticks(values)
    if not ticks:
        figure.update_yaxes(type="log", **where)
        return
    positive = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    span = [math.log10(min(*positive, ticks[0])), math.log10(max(*positive, ticks[-1]))]
    pad = 0.04 * max(span[1] - span[0], 0.5)
    figure.update_yaxes(
        type="log",
        tickvals=ticks,
        ticktext=[f"{t:g}" for t in ticks],
        range=[span[0] - pad, span[1] + pad],
        **where,
    )


def thinned(count: int, at_most: int = CHART_POINTS) -> list[int]:
    """The indices of at most ``at_most`` evenly spaced items of ``count``, first and last included."""
    if count <= at_most:
        return list(range(count))
    spacing = (count - 1) / (at_most - 1)
    return [round(i * spacing) for i in range(at_most)]


def file_version(path: Path) -> tuple[int, int]:
    """A file's size and modification time: what a cached chart of it is keyed by."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)


@st.cache_resource(max_entries=4, show_spinner=False)
def live_training(
    history_path: str, version: tuple, smoothing: float, loss_name: str, quick_fid: bool = True
):
    """The Train page's live charts (losses, D's outputs, D's accuracy, and with ``quick_fid`` the
    quick FID) as one figure, and the loss's accuracy label; rebuilt only when the history or quality file changes
    (``version``: their sizes and modification times), since the page polls more often than the
    trainer logs. None before the first log point."""
    run = RunDir.from_path(Path(history_path).parent)
    # Log points every few steps; a run with tiny epochs may only have its epoch means.
    history = run.history(PointKind.STEP) or run.history(PointKind.EPOCH)
    if not history:
        return None
    axis = "epoch" if history[-1].epoch >= EPOCH_AXIS_FROM else "step"
    shown = thinned(len(history))  # smoothed over every point, drawn at these
    x = [history[i].metric(axis) for i in shown]
    loss = losses.LOSSES.get(loss_name)
    quality = run.quality()
    # One figure of four panels: the browser lays out and paints one plot instead of four.
    # The score's meaning is a small second title line: as a y title it ran into the plot.
    score_label = loss.score_label if loss else "as your D outputs them"
    panels = [
        ("Losses", {"D loss": "d_loss", "G loss": "g_loss"}),
        (f"Discriminator outputs<br><sup>{score_label}</sup>", {"D(x)": "d_real", "D(G(z))": "d_fake"}),
        ("D accuracy", {"acc. real": "acc_real", "acc. fake": "acc_fake"}),
    ]
    # A run written by another loop (ganlib.track) logs what it has: a panel of nothing is left
    # out, and the numbers of its own are a panel of theirs.
    logged = {name for name in METRIC_NAMES if any(not math.isnan(point.metric(name)) for point in history)}
    panels = [(title, keys) for title, keys in panels if logged & set(keys.values())]
    if others := sorted({name for point in history for name in point.other}):
        panels.append(("Other numbers logged", {name: name for name in others}))
    quality_title = f"Quick FID (n={quality[-1].samples:,})" if quality else "Quick FID"
    figure = make_subplots(
        rows=1,
        cols=len(panels) + quick_fid,
        subplot_titles=[*(title for title, _ in panels), *([quality_title] if quick_fid else [])],
        horizontal_spacing=0.06,
    )
    for col, (_, keys) in enumerate(panels, start=1):
        for name, key in keys.items():
            curve = smooth([r.metric(key) for r in history], smoothing)
            figure.add_trace(
                go.Scatter(x=x, y=[curve[i] for i in shown], mode="lines", name=name), row=1, col=col
            )
        figure.update_xaxes(title_text=axis, row=1, col=col)
    fid_col = len(panels) + 1
    if quality and quick_fid:
        qx = [getattr(q, axis) for q in quality]
        figure.add_trace(
            go.Scatter(x=qx, y=[q.fid for q in quality], mode="lines+markers", name="quick FID"),
            row=1,
            col=fid_col,
        )
        floor = [q.floor_fid for q in quality]
        figure.add_trace(
            go.Scatter(x=qx, y=floor, mode="lines", name="real-data floor", line=dict(dash="dot")),
            row=1,
            col=fid_col,
        )
        log_axis(figure, [q.fid for q in quality] + floor, row=1, col=fid_col)
    if quick_fid:
        # The other panels' extent: one checkpoint alone spanned "935 to 937" (issue 44).
        figure.update_xaxes(title_text=axis, range=_padded(x[0], x[-1]), row=1, col=fid_col)
    figure.update_layout(height=360, margin=MARGIN, legend=dict(orientation="h", y=-0.28))
    return (
        figure,
        loss.accuracy_label if loss else "real above your D's threshold (0 for a logit, 0.5 after a sigmoid)",
    )


def _padded(low: float, high: float) -> list[float]:
    """An axis range over [low, high], 3% wider each side (a whole unit when they are equal)."""
    pad = 0.03 * (high - low) if high > low else 1.0
    return [low - pad, high + pad]


def per_epoch(
    traces: Sequence[go.BaseTraceType],
    title: str,
    best_epoch: int | None,
    floor: tuple[float, str] | None = None,
    y_title: str = "",
    log_y: bool = False,
) -> go.Figure:
    """A metric against epochs, the real-data floor as a dotted line, the best epoch marked."""
    figure = go.Figure(traces)
    if floor is not None:
        figure.add_hline(y=floor[0], line_dash="dot", line_color="green", annotation_text=floor[1])
    epochs = {x for trace in traces for x in trace.x}
    if best_epoch in epochs:
        figure.add_vline(x=best_epoch, line_color="gold", line_width=3, annotation_text="best")
    # The legend below the x title, not on it (issue 44: "epoch" ran into "classes covered").
    figure.update_layout(title=title, height=320, margin={**MARGIN, "b": 50}, xaxis_title="epoch", yaxis_title=y_title,
                         legend=dict(orientation="h", yanchor="top", y=-0.32))  # fmt: skip
    if log_y:
        log_axis(figure, [y for trace in traces for y in trace.y] + ([floor[0]] if floor else []))
    return figure


def metric_line(results: Sequence[EpochResult], key: str, name: str, **kwargs) -> go.Scatter:
    return go.Scatter(
        x=[r.epoch for r in results],
        y=[getattr(r, key) for r in results],
        mode="lines+markers",
        name=name,
        **kwargs,
    )


def class_histogram(results: Sequence[EpochResult], class_names: list[str]) -> go.Figure:
    """Which classes an unconditional model's samples fall in, epoch by epoch."""
    histogram = go.Heatmap(
        z=[[count / max(sum(r.coverage.histogram), 1) for count in r.coverage.histogram] for r in results],
        x=class_names, y=[str(r.epoch) for r in results], colorscale="Blues", colorbar=dict(title="share"),
    )  # fmt: skip
    figure = go.Figure(histogram)
    figure.update_layout(title="Classes the samples fall in (classifier)", height=300, yaxis_title="epoch",
                         margin=MARGIN)  # fmt: skip
    return figure


def mode_histogram(histogram: list[int]) -> go.Figure:
    """A toy's high-quality points per mode: flat when every mode is drawn equally often."""
    figure = go.Figure(go.Bar(x=[str(i) for i in range(len(histogram))], y=histogram))
    figure.update_layout(title="Points near each mode", height=300, xaxis_title="mode", yaxis_title="points",
                         margin=MARGIN)  # fmt: skip
    return figure


def per_class(rows: list[dict], names: list[str]) -> go.Figure:
    """One epoch's intra-class FID (bars) and label accuracy (line) per class."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Bar(x=names, y=[row["fid"] for row in rows], name="intra-class FID"))
    figure.add_trace(
        go.Scatter(
            x=names, y=[row["label_accuracy"] for row in rows], name="label accuracy", mode="lines+markers"
        ),
        secondary_y=True,
    )
    figure.update_yaxes(title_text="FID", secondary_y=False)
    figure.update_yaxes(title_text="label accuracy", range=[0, 1.05], secondary_y=True)
    figure.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h"))
    return figure


def truncation(rows: list[dict], labels: list[str]) -> go.Figure:
    """Precision and recall against the truncation level."""
    figure = go.Figure(
        [
            go.Scatter(x=labels, y=[row[k] for row in rows], name=k, mode="lines+markers")
            for k in ("precision", "recall")
        ]
    )
    figure.update_layout(height=280, xaxis_title="truncation t", margin=dict(l=10, r=10, t=10, b=10))
    return figure


def fid_curves(curves: dict[str, Sequence[EpochResult]], title: str) -> go.Figure:
    """Several runs' FID against epochs, overlaid."""
    figure = go.Figure(
        [
            go.Scatter(
                x=[p.epoch for p in points], y=[p.fid for p in points], name=name, mode="lines+markers"
            )
            for name, points in curves.items()
        ]
    )
    figure.update_layout(title=title, xaxis_title="epoch", height=350)
    log_axis(figure, [p.fid for points in curves.values() for p in points])
    return figure


def progress_curves(curves: dict[str, list[Point]], axis: Axis | None) -> go.Figure:
    """Several runs' FID against training progress (``axis``) or, with None, training seconds."""
    figure = go.Figure()
    for name, run_points in curves.items():
        scored = [p for p in run_points if p.fid is not None]
        figure.add_trace(
            go.Scatter(
                x=[p.at(axis) if axis else p.seconds for p in scored],
                y=[p.fid for p in scored],
                name=name,
                mode="lines+markers",
            )
        )
    title = f"FID against {axis or 'training seconds'} (log scale)"
    figure.update_layout(title=title, xaxis_title=str(axis or "seconds"), height=340, margin={**MARGIN, "b": 50},
                         legend=dict(orientation="h", yanchor="top", y=-0.3))  # fmt: skip
    log_axis(figure, [y for trace in figure.data for y in trace.y])
    return figure


def settings_against_fid(rows: list[dict], settings: list[str]) -> go.Figure:
    """Parallel coordinates: one line per run across its ``settings`` (choices as numbered ticks),
    ending at its best FID and coloured by it, so the settings of the good runs line up."""
    scored = [row for row in rows if row.get("best FID") is not None]
    dimensions = []
    for key in settings:
        values = [row.get(key) for row in scored]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            dimensions.append(dict(label=key, values=values))
        else:  # a choice (or a mix): numbered ticks named by the values
            names = sorted({str(v) for v in values})
            dimensions.append(
                dict(label=key, values=[names.index(str(v)) for v in values], tickvals=list(range(len(names))),
                     ticktext=names)
            )  # fmt: skip
    fid = [row["best FID"] for row in scored]
    dimensions.append(dict(label="best FID", values=fid))
    figure = go.Figure(
        go.Parcoords(line=dict(color=fid, colorscale="Viridis_r", showscale=True), dimensions=dimensions)
    )
    figure.update_layout(height=340, margin=dict(l=90, r=60, t=40, b=20))  # room for a choice's name
    return figure
