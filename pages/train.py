"""Train: configure a run, start it on the background job, watch it live, pause/resume/stop."""

import streamlit as st

import ui
from ui import live, sweeps, train_form

ui.route_through_app()
st.title("Train")
manager = ui.manager()
visitors = ui.visitor_training()  # None unless a demo host lets visitors train

smoothing = st.sidebar.slider(
    "Curve smoothing", 0.0, 0.99, 0.6, help="Exponential moving average of the curves."
)
interrupted = [r.name for r in manager.interrupted_runs()]
if interrupted and not manager.snapshot().active:
    st.warning(f"Interrupted run(s): {', '.join(interrupted)}. Resume below.")

if manager.snapshot().active:
    st.fragment(run_every=live.STATUS_EVERY_SEC)(live.job_status)()
    live.job_panels(smoothing, refreshing=True)
    if manager.snapshot().sweep:  # a fragment only for a sweep: each rerun costs the browser
        st.fragment(run_every=live.CHARTS_EVERY_SEC)(sweeps.queue)()
else:
    live.job_status()
    live.job_panels(smoothing, refreshing=False)
    sweeps.queue()
    if visitors is None:
        train_form.start_form()
        train_form.resume_form()
        sweeps.resume_form()
if visitors is not None:
    st.fragment(run_every=live.STATUS_EVERY_SEC)(live.visitor_panel)()
