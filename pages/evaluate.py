"""Evaluate: per-epoch FID and friends, cached; pick and mark the best checkpoint; compare runs."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from ganlib import GanlibError, evaluation
from ganlib.data import catalog
from ganlib.runs.rundir import ChosenBy
from ui import charts, evaluate_panels, messages, pick_panels, run_list, server, shell

shell.route_through_app()
st.title("Evaluate")
run = run_list.pick_run()
if run is None:
    st.stop()
epochs = run.epochs()
run_list.warn_if_damaged(run)
if not epochs:
    st.info(f"{run.name} has no checkpoint yet.")
    st.stop()

toy = run_list.is_toy(run)  # a 2-D toy is evaluated by its modes, in points (ganlib.measure.modes)
c1, c2 = st.columns([1, 3])
counts, default_count = ([1000, 2500, 5000, 10_000], 2500) if toy else ([1000, 2000, 5000, 10_000], 10_000)
samples = c1.select_slider("Samples per epoch", counts, value=default_count)
# Each epoch once, in order, whatever the widget sends (it keeps duplicates of valid options).
picked_epochs = set(c2.multiselect("Epochs", epochs, default=epochs))
chosen = [e for e in epochs if e in picked_epochs]
read_only = server.policy().read_only
try:
    engine = evaluation.engine_for(run, samples, read_only=read_only)  # a read-only host writes nothing
except GanlibError as exc:
    messages.show_error(exc)
    st.stop()

cached = {e: engine.cached(e) for e in chosen}
missing = [e for e in chosen if cached[e] is None]
if missing and read_only:
    # Decided: a public link shows the evaluations made when its runs were built; computing more would
    # cost the shared host seconds of CPU per epoch, and nothing may be written there.
    st.caption(
        f"{len(missing)} epoch(s) have no evaluation at {samples:,} samples, and this app is read-only here."
    )
elif missing:
    label = f"Compute {len(missing)} epoch(s) at {samples:,} samples"
    if st.button(label, type="primary"):
        bar = st.progress(0.0, text="starting...")
        try:
            evaluation.evaluate_run(engine, chosen, progress=lambda f, m: bar.progress(f, text=m))
        except GanlibError as exc:
            messages.show_error(exc)
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
    messages.show_error(exc)
    st.stop()
best = run.best()
best_epoch = best and best.epoch
x = [r.epoch for r in results]
if toy:
    evaluate_panels.toy_modes(run, results, floor, best, read_only)
    st.stop()


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
st.caption(f"D accuracy: {engine.accuracy_label}.")
st.caption(
    f"Real-data floor (real train vs real test, {samples:,} samples): FID {floor.fid:.3f}, KID {floor.kid:.5f}, "
    f"precision {floor.precision:.3f}, recall {floor.recall:.3f}. Features: {engine.evaluator_label}."
)

class_names = run.meta().get("class_names") or []
evaluate_panels.memorisation_and_classes(results, best_epoch, class_names)
pick_panels.beside_fid(run, results)

# -- one epoch in detail ---------------------------------------------------------------------------
st.subheader("Inspect an epoch")
default = x.index(best_epoch) if best_epoch in x else int(np.argmin([r.fid for r in results]))
epoch = st.selectbox("Epoch", x, index=x.index(run_list.query_int("epoch", x, x[default])))
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
values = [None if v is None else round(float(v), 5) for v in table.values()]  # None: not measured
c3.dataframe({"metric": list(table), "value": values}, hide_index=True)
if result.per_class:
    evaluate_panels.per_class(result, class_names, epoch)
if best is not None:
    counted = f" at {best.samples:,} samples" if best.samples else ""
    c3.caption(f"Best: epoch {best.epoch} (chosen by {best.chosen_by}{counted})")
else:
    c3.caption("No best epoch yet.")
if c3.button(f"Mark epoch {epoch} as best", disabled=read_only or epoch == best_epoch) and not read_only:
    evaluation.mark_best(run, epoch, ChosenBy.PERSON, result)
    st.rerun()

evaluate_panels.truncation(run, engine, epoch, result, read_only)
st.subheader("Compare runs")
evaluate_panels.compare_runs(run, results, engine, read_only)
st.caption(f"Dataset: {catalog.BUILTIN.get(run.config().dataset, (run.config().dataset,))[0]}")
