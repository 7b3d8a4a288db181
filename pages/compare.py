"""Compare: the sweeps' tables (best FID per setting over seeds), 2-4 runs side by side at the same
point of training, their FID curves overlaid, and the settings in which they differ."""

import streamlit as st

from ganlib import GanlibError, comparison, sweep
from ganlib.comparison import Axis
from ui import charts, messages, run_list, server, shell, sweeps

shell.route_through_app()
st.title("Compare runs")
runs = run_list.runs_by_name()
names = list(runs)

# -- sweeps: this runs folder as one (sweep --folder), or the named ones in it (the Train page) -----
found = sweep.named_sweeps(server.policy().runs_dir)
if (server.policy().runs_dir / sweep.SWEEP_FILE).is_file():
    try:
        found.insert(0, sweep.Sweep.open(server.policy().runs_dir))
    except GanlibError as exc:
        messages.show_error(exc)
if found:
    st.subheader("Sweeps")
    labels = [job.name or "this runs folder" for job in found]
    job = found[labels.index(st.selectbox("Sweep", labels))] if len(found) > 1 else found[0]
    sweeps.table(job)
    st.caption(
        f"Each point's best FID over its seeds ({len(job.plan.seeds)} planned; {job.plan.samples:,} "
        "samples per checkpoint): mean and standard deviation. "
        + ("The Train page resumes it." if job.name else "`python -m ganlib sweep --resume` goes on.")
    )

# -- every run: its settings and its best checkpoint's figures -----------------------------------
st.subheader("Every run")
table = comparison.runs_table(list(runs.values()))
wanted_text = st.text_input(
    "Show the runs whose row contains", "", placeholder="e.g. hinge, fashion_mnist, 0.999"
)
shown = [row for row in table if wanted_text.strip().lower() in " ".join(map(str, row.values())).lower()]
st.dataframe(
    shown,
    hide_index=True,
    placeholder="",
    column_config={
        "best FID": st.column_config.NumberColumn(format="%.3f"),
        "high quality": st.column_config.NumberColumn(format="percent"),
    },
)
st.caption(
    "Sort by any column with a click on its header; every setting of each run is a column. "
    "A 2-D toy's result is its modes covered and its share of high-quality points."
)
scored, varying = comparison.parallel_axes(shown, {r["run"]: runs[r["run"]].config() for r in shown})
if varying:
    st.plotly_chart(charts.settings_against_fid(scored, varying), key="parallel")
    st.caption(f"The settings that differ between the {len(scored)} runs with a best FID, and that FID.")
if len(names) < 2:
    st.info("Comparing side by side needs two runs or more.")
    st.stop()

st.subheader("Side by side")

# The URL's runs (known ones, each once, at most four), else the two newest.
wanted = [n for n in dict.fromkeys(str(st.query_params.get("runs", "")).split(",")) if n in runs]
picked = st.multiselect(
    "Runs",
    names,
    default=wanted[: comparison.MAX_RUNS] if len(wanted) >= 2 else names[:2],
    max_selections=comparison.MAX_RUNS,
)
picked = [n for n in dict.fromkeys(picked) if n in runs][: comparison.MAX_RUNS]  # however it is driven
if len(picked) < 2:
    st.info("Pick two runs or more.")
    st.stop()
st.query_params["runs"] = ",".join(picked)
try:
    points = {name: comparison.points(runs[name]) for name in picked}
    configs = {name: runs[name].config() for name in picked}
except (GanlibError, OSError) as exc:  # a scratch run pruned meanwhile, an unreadable config
    messages.show_error(exc)
    st.stop()
points = {name: run_points for name, run_points in points.items() if run_points}
if len(points) < 2:
    st.info("Comparing needs two runs with a checkpoint each.")
    st.stop()

# -- one moment of training, every run -----------------------------------------------------------
c1, c2 = st.columns([1, 3])
by_steps = "step" in st.query_params and "images" not in st.query_params  # a link's own axis
axis = Axis(
    c1.radio(
        "Align by",
        list(Axis),
        index=int(by_steps),
        help="Runs of other batch sizes compare fairly by images seen.",
    )
)
param = "images" if axis == Axis.IMAGES else "step"
positions = sorted({p.at(axis) for run_points in points.values() for p in run_points})
# Keyed, with its value from the URL only at first: a widget whose default follows the URL is made
# anew at every move, and the next key press on it was lost (measured in Chromium).
slider_key = f"compare_{param}"
if st.session_state.get(slider_key) not in positions:
    st.session_state[slider_key] = run_list.query_int(param, positions, positions[-1])
position = c2.select_slider(f"Training progress ({axis})", positions, key=slider_key)
st.query_params.pop("images" if param == "step" else "step", None)
st.query_params[param] = str(position)
for column, (name, run_points) in zip(st.columns(len(points)), points.items()):
    point = comparison.nearest(run_points, position, axis)
    score = f"FID {point.fid:.2f} ({point.samples:,} samples)" if point.fid is not None else "not evaluated"
    column.image(
        point.checkpoint.grid_path.read_bytes(),
        caption=f"{name} · epoch {point.checkpoint.epoch} · step {point.step:,} · "
        f"{point.images_seen:,} images · {score}",
        width="stretch",
    )
    links = {"run": name, "epoch": point.checkpoint.epoch}
    column.page_link(shell.PAGES["gallery"].path, label="Open in Gallery", query_params=links)
    column.page_link(shell.PAGES["evaluate"].path, label="Open in Evaluate", query_params=links)
    if not server.policy().read_only:
        column.page_link(
            shell.PAGES["train"].path, label="Train again, another seed", query_params={"from": name}
        )

# -- the whole runs ------------------------------------------------------------------------------
c1, c2 = st.columns(2)
c1.plotly_chart(charts.progress_curves(points, axis), key="fid-progress")
c2.plotly_chart(charts.progress_curves(points, None), key="fid-seconds")
st.caption("Each run's cached FID at the largest sample count evaluated (Evaluate computes what is missing).")

st.subheader("Settings that differ")
differing = comparison.differing_settings({name: configs[name] for name in points})
best = {
    name: min((p.fid for p in run_points if p.fid is not None), default=None)
    for name, run_points in points.items()
}
rows = [
    {"setting": key, **{name: str(value) for name, value in values.items()}}
    for key, values in differing.items()
]
rows.append(
    {"setting": "best FID", **{name: "" if fid is None else f"{fid:.3f}" for name, fid in best.items()}}
)
st.dataframe(rows, hide_index=True)
