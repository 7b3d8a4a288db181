"""Evaluate: per-epoch FID and friends, cached; pick and mark the best checkpoint; compare runs."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import ui
from ganlib import GanlibError, evaluation
from ganlib.data import catalog
from ganlib.runs.rundir import ChosenBy, RunDir
from ganlib.zoo import losses
from ui import charts

ui.route_through_app()
st.title("Evaluate")
run = ui.pick_run()
if run is None:
    st.stop()
epochs = run.epochs()
ui.warn_if_damaged(run)
if not epochs:
    st.info(f"{run.name} has no checkpoint yet.")
    st.stop()

c1, c2 = st.columns([1, 3])
samples = c1.select_slider("Samples per epoch", [1000, 2000, 5000, 10_000], value=10_000)
# Each epoch once, in order, whatever the widget sends (it keeps duplicates of valid options).
picked_epochs = set(c2.multiselect("Epochs", epochs, default=epochs))
chosen = [e for e in epochs if e in picked_epochs]
demo = ui.demo_mode()
try:
    engine = evaluation.Engine(run, samples, read_only=demo)  # a public demo writes nothing
except GanlibError as exc:
    ui.show_error(exc)
    st.stop()

cached = {e: engine.cached(e) for e in chosen}
missing = [e for e in chosen if cached[e] is None]
if missing and demo:
    # Decided: a visitor sees the evaluations made when the demo was built; computing more would
    # cost the shared host seconds of CPU per epoch, and nothing may be written there.
    st.caption(f"{len(missing)} epoch(s) have no evaluation at {samples:,} samples in this read-only demo.")
elif missing:
    label = f"Compute {len(missing)} epoch(s) at {samples:,} samples"
    if st.button(label, type="primary"):
        bar = st.progress(0.0, text="starting...")
        try:
            evaluation.evaluate_run(engine, chosen, progress=lambda f, m: bar.progress(f, text=m))
        except GanlibError as exc:
            ui.show_error(exc)
            st.stop()
        st.rerun()
    st.caption(
        f"Cached: {len(chosen) - len(missing)} of {len(chosen)} epochs. One 10,000-sample epoch takes seconds."
    )

results = [cached[e] for e in chosen if cached[e] is not None]
if not results:
    st.stop()
try:
    floor = engine.floor()
except GanlibError as exc:
    ui.show_error(exc)
    st.stop()
best = run.best() or {}
best_epoch = best.get("epoch")
x = [r.epoch for r in results]


st.subheader(engine.metric_label)
c1, c2 = st.columns(2)
fid = charts.metric_line(results, "fid", "FID")
c1.plotly_chart(
    charts.per_epoch([fid], f"{engine.metric_label}, lower is better (log scale)", best_epoch,
                     (floor.fid, "real-data floor"), log_y=True),
    key="fid",
)  # fmt: skip
kid = charts.metric_line(results, "kid", "KID", error_y=dict(type="data", array=[r.kid_std for r in results]))
c2.plotly_chart(
    charts.per_epoch([kid], "KID (± std over subsets)", best_epoch, (floor.kid, "real-data floor")), key="kid"
)
c1, c2, c3 = st.columns(3)
precision_recall = [
    charts.metric_line(results, "precision", "precision"),
    charts.metric_line(results, "recall", "recall"),
]
c1.plotly_chart(
    charts.per_epoch(precision_recall, "Precision (fidelity) / recall (diversity)", best_epoch), key="pr"
)
covered = go.Scatter(
    x=x, y=[r.coverage.classes_covered for r in results], name="classes covered", mode="lines+markers"
)
entropy = go.Scatter(
    x=x, y=[10 * r.coverage.entropy for r in results], name="10 x label entropy", mode="lines+markers"
)
c2.plotly_chart(charts.per_epoch([covered, entropy], "Class coverage", best_epoch), key="coverage")
accuracy = [
    charts.metric_line(results, "d_acc_real", "on real"),
    charts.metric_line(results, "d_acc_fake", "on fake"),
]
c3.plotly_chart(charts.per_epoch(accuracy, "D accuracy (held-out real / fresh fake)", best_epoch), key="dacc")
st.caption(f"D accuracy: {losses.get(run.config().loss).accuracy_label}.")
st.caption(
    f"Real-data floor (real train vs real test, {samples:,} samples): FID {floor.fid:.3f}, KID {floor.kid:.5f}, "
    f"precision {floor.precision:.3f}, recall {floor.recall:.3f}. Features: {engine.evaluator_label}."
)

class_names = run.meta().get("class_names") or []
c1, c2 = st.columns(2)
shares = [r for r in results if r.copy_share is not None]
if shares:
    copies = charts.metric_line(shares, "copy_share", "copy share")
    figure = charts.per_epoch([copies], "Memorisation: copy share (lower is better)", best_epoch,
                              (0.1, "like held-out images"))  # fmt: skip
    c1.plotly_chart(figure, key="copies")
    c1.caption(
        "Share of samples closer to a training image than 90% of held-out real images are to theirs: "
        "about 0.1 for a generator that samples the data, near 1 for one that copies it."
    )
if class_names and not any(r.per_class for r in results):  # unconditional: which classes, per epoch
    c2.plotly_chart(charts.class_histogram(results, class_names), key="histogram")

# -- one epoch in detail ---------------------------------------------------------------------------
st.subheader("Inspect an epoch")
default = x.index(best_epoch) if best_epoch in x else int(np.argmin([r.fid for r in results]))
epoch = st.selectbox("Epoch", x, index=x.index(ui.query_int("epoch", x, x[default])))
st.query_params["epoch"] = str(epoch)  # a shared link opens this epoch
result = results[x.index(epoch)]
c1, c2, c3 = st.columns([2, 2, 3])
c1.image(run.checkpoint(epoch).grid_path.read_bytes(), caption=f"generated, epoch {epoch}", width="stretch")
try:
    c2.image(engine.real_grid(), caption="real test images", width="stretch")
except GanlibError as exc:  # a host without the dataset, and a run that cached no real images
    c2.caption(f"Real images are not shown: {exc}")
table = {
    k: getattr(result, k)
    for k in ("fid", "kid", "precision", "recall", "inception_score", "d_acc_real", "d_acc_fake")
}
table["classes_covered"] = result.coverage.classes_covered
c3.dataframe({"metric": list(table), "value": [round(float(v), 5) for v in table.values()]}, hide_index=True)
if result.per_class:
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
chooser = best.get("chosen_by")
counted = f" at {best['samples']:,} samples" if best.get("samples") else ""
c3.caption(f"Best: epoch {best_epoch} (chosen by {chooser}{counted})" if best_epoch else "No best epoch yet.")
if c3.button(f"Mark epoch {epoch} as best", disabled=demo or epoch == best_epoch) and not demo:
    evaluation.mark_best(run, epoch, ChosenBy.PERSON, result)
    st.rerun()


# -- truncation -------------------------------------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner=False)
def truncation_sweep(run_path: str, epoch: int, fingerprint: str, evaluator: str | None) -> list[dict]:
    return evaluation.Engine(RunDir.from_path(run_path), 2000, evaluator).truncation_sweep(epoch)


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

# -- compare runs ----------------------------------------------------------------------------------
st.subheader("Compare runs")
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
st.caption(f"Dataset: {catalog.BUILTIN.get(run.config().dataset, (run.config().dataset,))[0]}")
