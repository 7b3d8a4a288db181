"""Every chart the app draws, as plotly figures: the pages place them, this module builds them.

FID is drawn on a log axis wherever it appears: the checkpoints worth choosing lie within a
factor of a few of the real-data floor, which a linear axis from the first epoch's hundreds
flattens onto the floor line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import ui
from ganlib.comparison import Axis, Point
from ganlib.evaluation import EpochResult
from ganlib.runs.records import PointKind
from ganlib.runs.rundir import RunDir
from ganlib.zoo import losses

MARGIN = dict(l=10, r=10, t=40, b=10)
# While a run is young its log points are a sliver of one epoch: chart them against steps.
EPOCH_AXIS_FROM = 2.0
# A live chart's panel is a few hundred pixels wide: more points than that only cost the browser,
# which lays out and paints every point at each redraw. A toy run logs 16 points a second, so an
# unthinned chart grew until each 5-second redraw took half a second of a core (docs/benchmarks.md).
CHART_POINTS = 300


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
    loss = losses.LOSSES.get(loss_name, losses.LOSSES["bce"])
    quality = run.quality()
    # One figure of four panels: the browser lays out and paints one plot instead of four.
    panels = [
        ("Losses", "", {"D loss": "d_loss", "G loss": "g_loss"}),
        ("Discriminator outputs", loss.score_label, {"D(x)": "d_real", "D(G(z))": "d_fake"}),
        ("D accuracy", "", {"acc. real": "acc_real", "acc. fake": "acc_fake"}),
    ]
    quality_title = f"Quick FID (n={quality[-1].samples:,})" if quality else "Quick FID"
    figure = make_subplots(
        rows=1,
        cols=4 if quick_fid else 3,
        subplot_titles=[*(title for title, _, _ in panels), *([quality_title] if quick_fid else [])],
        horizontal_spacing=0.06,
    )
    for col, (_, y_title, keys) in enumerate(panels, start=1):
        for name, key in keys.items():
            curve = ui.smooth([r.metric(key) for r in history], smoothing)
            figure.add_trace(
                go.Scatter(x=x, y=[curve[i] for i in shown], mode="lines", name=name), row=1, col=col
            )
        figure.update_xaxes(title_text=axis, row=1, col=col)
        figure.update_yaxes(title_text=y_title, row=1, col=col)
    if quality and quick_fid:
        qx = [getattr(q, axis) for q in quality]
        figure.add_trace(
            go.Scatter(x=qx, y=[q.fid for q in quality], mode="lines+markers", name="quick FID"),
            row=1,
            col=4,
        )
        floor = [q.floor_fid for q in quality]
        figure.add_trace(
            go.Scatter(x=qx, y=floor, mode="lines", name="real-data floor", line=dict(dash="dot")),
            row=1,
            col=4,
        )
        figure.update_yaxes(type="log", row=1, col=4)
    if quick_fid:
        figure.update_xaxes(title_text=axis, row=1, col=4)
    figure.update_layout(height=360, margin=MARGIN, legend=dict(orientation="h", y=-0.28))
    return figure, loss.accuracy_label


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
    figure.update_layout(title=title, height=300, margin=MARGIN, xaxis_title="epoch", yaxis_title=y_title,
                         legend=dict(orientation="h"))  # fmt: skip
    if log_y:
        figure.update_yaxes(type="log")
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
    figure.update_yaxes(type="log")
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
    figure.update_layout(title=title, xaxis_title=str(axis or "seconds"), height=320, margin=MARGIN,
                         legend=dict(orientation="h"))  # fmt: skip
    figure.update_yaxes(type="log")
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
