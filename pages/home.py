"""Home: every run at a glance, and where to go next."""

import base64

import streamlit as st

from ganlib import GanlibError, comparison, directions, evaluation
from ganlib.config import TOY_LESSON
from ganlib.runs.showcase import best_checkpoints
from ui import cached, charts, public_link, run_list, server, shell

shell.route_through_app()
st.title("GAN Workbench")
st.caption("Train, watch, compare and evaluate GANs on small image datasets.")
public_link.welcome()

job = server.manager().snapshot()
if job.active:
    st.success(
        f"Training **{job.run}** ({job.state}, {job.progress.fraction if job.progress else 0:.0%}). See the Train page."
    )

# -- the best this workbench has drawn: each dataset's best checkpoint and its training ---------------
showcase = best_checkpoints(server.policy().runs_dir)
if showcase:
    st.subheader("What the best checkpoints draw")
    for column, (run, checkpoint) in zip(st.columns(len(showcase)), showcase):
        best = run.best()
        seconds = float(checkpoint.state.get("elapsed", 0))
        with column:
            grid, animation = st.columns(2)
            grid.image(
                checkpoint.grid_path.read_bytes(),
                caption=f"{run.name}, best epoch {checkpoint.epoch} (step {checkpoint.step:,}, "
                f"{seconds:.0f} s of training)",
                width="stretch",
            )
            animation.image(
                cached.training_gif(run), caption="from the first checkpoint to the last", width="stretch"
            )
            if best is not None and best.fid is not None:
                counted = f" at {best.samples:,} samples" if best.samples else ""
                st.caption(f"{best.metric} {best.fid:.2f}{counted}, chosen by {best.chosen_by}.")
            st.page_link(
                shell.PAGES["gallery"].path,
                label=f"Draw new samples from {run.name}"
                + (", and steer them" if directions.load(checkpoint) is not None else ""),
                icon=":material/photo_library:",
                query_params={"run": run.name, "epoch": checkpoint.epoch},
            )

# -- the 2-D toys' lesson: the same GAN, two settings, side by side ------------------------------------
lessons = [(lesson, run_list.runs_by_name().get(lesson.run_name)) for lesson in TOY_LESSON]
lessons = [(lesson, run) for lesson, run in lessons if run is not None and run.checkpoints()]
if lessons:
    st.subheader("Why GANs fail, in 2-D")
    st.caption(
        "A ring of 8 Gaussians, the classic test of mode collapse: two GANs, 20 epochs each (a minute). "
        f"{charts.PLANE_LEGEND} Over 3 seeds the first ends covering 5 to 8 of the modes; the second "
        'collapses onto one mode that hops around the ring (docs/benchmarks.md, "2-D toys").'
    )
    for column, (lesson, run) in zip(st.columns(len(lessons)), lessons):
        scores = evaluation.cached_mode_results(run)
        last = run.checkpoints()[-1]
        with column:
            st.image(cached.training_gif(run), caption=lesson.label, width=360)
            if last.epoch in scores:
                result = scores[last.epoch]
                st.caption(
                    f"Epoch {last.epoch}: {result.modes_covered}/{result.modes} modes covered, "
                    f"{result.high_quality:.0%} of the points within 3 sd of a mode."
                )
            st.page_link(shell.PAGES["evaluate"].path, label=f"Its modes, epoch by epoch ({run.name})",
                         icon=":material/query_stats:", query_params={"run": run.name})  # fmt: skip
    if not server.policy().read_only:
        st.page_link(shell.PAGES["train"].path, label="Train a 2-D toy yourself (seconds)",
                     icon=":material/model_training:", query_params={"from": "toy"})  # fmt: skip

rows = []
for run in run_list.all_runs():
    try:
        row = run.summary()
        row.update(comparison.mode_figures(run, row["best_epoch"]))  # a toy's result: its modes
        checkpoints = run.checkpoints()
        if checkpoints:
            png = checkpoints[-1].grid_path.read_bytes()
            row["last grid"] = "data:image/png;base64," + base64.b64encode(png).decode()
    except (GanlibError, OSError) as exc:
        row = {"name": run.name, "status": f"unreadable: {exc}"}
    rows.append(row)

st.subheader("Runs")
if rows:
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={
            "last grid": st.column_config.ImageColumn("last grid", width="small"),
            "best_fid": st.column_config.NumberColumn("best FID", format="%.2f"),
            "high quality": st.column_config.NumberColumn(format="percent"),
            "best_epoch": st.column_config.NumberColumn("best epoch"),
            "best_fid_samples": st.column_config.NumberColumn(
                "FID samples", help="FID is biased by sample count: compare FIDs of one count only"
            ),
            "damaged": st.column_config.TextColumn(
                "damaged", help="Checkpoints that cannot be used (left out of every view), and why"
            ),
        },
    )
else:
    st.info("No runs yet in the runs directory.")

st.subheader("What is a GAN here?")
st.markdown(
    """
A **generator** G turns random vectors into images; a **discriminator** D learns to tell them
from real ones, and G learns to fool it. Each run trains one pair on one dataset and saves, every
few epochs, the weights and a grid of samples drawn from the **same** latent vectors, so the grids
show how one set of "ideas" turns into digits over time.

**Quick start:** open *Train*, keep the defaults (a small class-conditional DCGAN sampled from
a moving average of its weights, on MNIST) and press *Start*: the live grid, one row per digit,
turns recognisable within about a minute on a 2-core CPU. Then scrub the epochs in *Gallery* and
let *Evaluate* compute FID to find the best checkpoint. The runs above were made exactly so, with
a checkpoint every 100 steps kept at doubling intervals (`scripts/build_demo_runs.py`).
"""
)
cols = st.columns(3)
cols[0].page_link(shell.PAGES["train"].path, label="Train a GAN", icon=":material/model_training:")
cols[1].page_link(shell.PAGES["gallery"].path, label="Browse checkpoints", icon=":material/photo_library:")
cols[2].page_link(
    shell.PAGES["evaluate"].path, label="Evaluate and pick the best", icon=":material/query_stats:"
)
