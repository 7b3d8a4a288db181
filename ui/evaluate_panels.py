"""The Evaluate page's panels below its charts: one epoch per class, the truncation sweep, and
other runs' FID curves overlaid."""

from __future__ import annotations

import streamlit as st

import ui
from ganlib import GanlibError, evaluation
from ganlib.evaluation import Engine, EpochResult
from ganlib.runs.rundir import RunDir
from ui import charts


def per_class(result: EpochResult, class_names: list[str], epoch: int) -> None:
    """A conditional model's intra-class FID and label accuracy, class by class."""
    names = [
        class_names[row["label"]] if row["label"] < len(class_names) else str(row["label"])
        for row in result.per_class
    ]
    st.markdown(f"**Per class, epoch {epoch}** (each class's samples against real images of that class)")
    p1, p2 = st.columns([3, 2])
    p1.plotly_chart(charts.per_class(result.per_class, names), key="per-class")
    p2.dataframe(
        {
            "class": names,
            "FID": [round(row["fid"], 3) for row in result.per_class],
            "label accuracy": [round(row["label_accuracy"], 3) for row in result.per_class],
            "samples": [row["samples"] for row in result.per_class],
        },
        hide_index=True,
    )
    p2.caption("Label accuracy: the share of a class's samples the classifier puts in that class.")


@st.cache_data(max_entries=8, show_spinner=False)
def truncation_sweep(run_path: str, epoch: int, fingerprint: str, evaluator: str | None) -> list[dict]:
    return evaluation.Engine(RunDir.from_path(run_path), 2000, evaluator).truncation_sweep(epoch)


def truncation(run: RunDir, engine: Engine, epoch: int, result: EpochResult, demo: bool) -> None:
    """FID, precision and recall at five truncation levels, on request (not in the demo)."""
    st.subheader(f"Truncation, epoch {epoch}")
    st.caption(
        "Latents drawn from a normal cut at ±t (the Gallery's slider): smaller t trades diversity (recall) for "
        "fidelity (precision). 2,000 samples per level, computed in memory."
    )
    if demo:
        st.caption("Not computed in the read-only demo.")
    elif st.button(f"Compute FID at truncation levels for epoch {epoch}"):
        with st.spinner("sampling and measuring five levels..."):
            try:
                rows = truncation_sweep(str(run.path), epoch, result.fingerprint, engine.evaluator_name)
            except GanlibError as exc:
                ui.show_error(exc)
                st.stop()
        labels = ["off" if row["truncation"] is None else f"{row['truncation']:g}" for row in rows]
        t1, t2 = st.columns([3, 2])
        t1.plotly_chart(charts.truncation(rows, labels), key="truncation")
        t2.dataframe(
            {
                "truncation": labels,
                **{k: [round(row[k], 4) for row in rows] for k in ("fid", "precision", "recall")},
            },
            hide_index=True,
        )


def compare_runs(run: RunDir, results: list[EpochResult], engine: Engine, demo: bool) -> None:
    """Other runs' FID curves over this one's, at the same sample count (cached results only)."""
    samples = engine.samples
    runs = ui.runs_by_name()
    others = [n for n in runs if n != run.name]
    overlaid = set(st.multiselect("Overlay the FID curves of", others))
    picked = [name for name in others if name in overlaid]
    if picked:
        curves = {run.name: results}
        for name in picked:
            try:
                other = evaluation.Engine(runs[name], samples, read_only=demo)
                curves[name] = [r for r in (other.cached(e) for e in other.run.epochs()) if r]
            except GanlibError as exc:
                st.warning(f"{name}: {exc}")
                continue
            if not curves[name]:
                st.caption(f"{name}: not evaluated at {samples:,} samples yet.")
        st.plotly_chart(charts.fid_curves(curves, f"{engine.metric_label} (log scale)"), key="compare")
