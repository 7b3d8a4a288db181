"""Train: configure a run, start it on the background job, watch it live, pause/resume/stop."""

import streamlit as st

from ui import live, public_link, server, shell, sweeps, train_form

shell.route_through_app()
st.title("Train")
manager = server.manager()
shared_training = public_link.offers_training()  # a public host's queue, if it has one

smoothing = st.sidebar.slider(
    "Curve smoothing", 0.0, 0.99, 0.6, help="Exponential moving average of the curves."
)
interrupted = [r.name for r in manager.interrupted_runs()]
if interrupted and not manager.snapshot().active:
    st.warning(f"Interrupted run(s): {', '.join(interrupted)}. Resume below.")
live.elsewhere(smoothing)  # runs another process writes: your own loop (ganlib.track), the CLI

if manager.snapshot().active:
    st.fragment(run_every=live.STATUS_EVERY_SEC)(live.job_status)()
    live.job_panels(smoothing, refreshing=True)
    if manager.snapshot().sweep:  # a fragment only for a sweep: each rerun costs the browser
        st.fragment(run_every=live.CHARTS_EVERY_SEC)(sweeps.queue)()
else:
    live.job_status()
    live.job_panels(smoothing, refreshing=False)
    sweeps.queue()
    if not shared_training:
        train_form.start_form()
        train_form.resume_form()
        sweeps.resume_form()
if shared_training:
    st.fragment(run_every=live.STATUS_EVERY_SEC)(public_link.training_panel)()
