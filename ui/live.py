"""The Train page's live panel: the job's status and controls, its charts and newest grid."""

from __future__ import annotations

import time

import streamlit as st

from ganlib.data import toys
from ganlib.runs.records import Request, RunState
from ganlib.runs.rundir import RunDir, list_runs
from ui import charts, messages, public_link, server
from workbench.jobs import JobState

# The live panel polls the job: its status every second (a line of text), its charts and grid
# less often, because redrawing three charts is the browser's heaviest work, and on a 2-core
# machine every core the browser takes is one the trainer loses (docs/benchmarks.md).
STATUS_EVERY_SEC = 2.0


CHARTS_EVERY_SEC = 5.0
PLANE_EVERY_SEC = 0.4  # a 2-D toy's plane: one small PNG (the trainer redraws it every 0.3 s)


def live_charts(run: RunDir, smoothing: float, key: str = "live-charts") -> None:
    version = (charts.file_version(run.history_path), charts.file_version(run.quality_path))
    if version[0] == (0, 0):
        st.caption("Charts appear after the first log point.")
        return
    config = run.config()
    quick_fid = bool(config.live_fid_samples)  # off for a toy: its modes are evaluated instead
    built = charts.live_training(str(run.history_path), version, smoothing, config.loss, quick_fid)
    if not built:
        st.caption("Charts appear after the first log point.")
        return
    figure, accuracy_label = built
    st.plotly_chart(figure, key=key)
    quality = (
        " Quick FID: live, at each checkpoint, on few samples (biased upwards: the trend, not a score); "
        "Evaluate computes the 10,000-sample FID to compare."
    )
    st.caption(f"D accuracy: {accuracy_label}.{quality if quick_fid else ''}")
    for alert in run.alerts():  # recorded by the trainer: D wins, mode collapse, divergence
        st.warning(f"**{alert.kind}** at step {alert.step:,}: {alert.detail}.")


def newest_grid(run: RunDir, toy: bool, live: bool) -> None:
    """The fixed-seed grid (a toy's plane): the live preview while it is ahead of the newest
    checkpoint. ``live`` (a job is training this run, and this is redrawn up to twice a second):
    the preview is the newest picture, so no checkpoint is read."""
    preview = run.preview()
    checkpoints = [] if live and preview else run.checkpoints()
    what = "the plane" if toy else "fixed-seed grid"
    if preview and (not checkpoints or preview[1]["step"] > checkpoints[-1].step):
        png, info = preview
        caption = f"{what}, live: step {info['step']} · {info['elapsed']:.0f} s of training"
        st.image(png, caption=caption, width="stretch")
    elif checkpoints:
        caption = f"{what}, epoch {checkpoints[-1].epoch}"
        st.image(checkpoints[-1].grid_path.read_bytes(), caption=caption, width="stretch")
    else:  # nothing drawn yet (the run's folder may not exist yet)
        return
    if toy:
        st.caption(charts.PLANE_LEGEND)


def job_status() -> None:
    manager, read_only = server.manager(), server.policy().read_only
    job = manager.snapshot()
    if job.run is None:
        return
    progress = job.progress
    where = f"sweep {job.sweep}, run {job.position.index}/{job.position.total}: " if job.position else ""
    st.subheader(f"{where}{job.run} · {job.state}")
    if progress:
        eta = progress.eta_sec
        eta_text = f" · ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}" if eta and job.active else ""
        st.progress(
            progress.fraction,
            text=f"epoch {progress.epoch}/{progress.epochs} · step {progress.step} · "
            f"{progress.images_per_sec:.0f} {'points' if toys.is_toy(job.dataset or '') else 'images'}/s{eta_text}",
        )
    if job.error:
        messages.show_job_error(job.error)
    if job.active and public_link.offers_training():
        public_link.stop_own_run()
    elif job.active:
        c1, c2, c3, c4, _ = st.columns([1, 1, 1, 1, 4])
        if job.state == JobState.PAUSED:
            c1.button("Resume", on_click=manager.resume, key="resume-job", disabled=read_only)
            # Step through a paused run: one logging interval at a time by default.
            log_every = RunDir(manager.runs_dir, job.run).config().log_every
            steps = c3.number_input(
                "Steps", 1, 100_000, log_every, key="step-count", label_visibility="collapsed"
            )
            c4.button(
                "Step",
                on_click=manager.step,
                args=(int(steps),),
                key="step-job",
                disabled=read_only,
                help="Train this many steps, then pause again and redraw the live grid.",
            )
        else:
            c1.button("Pause", on_click=manager.pause, key="pause-job", disabled=read_only)
        c2.button("Stop", on_click=manager.stop, key="stop-job", disabled=read_only)
    if st.session_state.get("job_was_active") and not job.active:
        st.session_state["job_was_active"] = False
        st.rerun(scope="app")  # back to the form now that the job is over
    st.session_state["job_was_active"] = job.active


def job_panels(smoothing: float, refreshing: bool) -> None:
    """The job's charts and its picture side by side; while it trains (``refreshing``) each is
    redrawn on its own clock: the charts every 5 s, the picture as often as it is worth it (a
    toy's plane twice a second: its points move that fast)."""
    manager = server.manager()
    job = manager.snapshot()
    if job.run is None:
        return
    run = RunDir(manager.runs_dir, job.run)
    charts_view, picture_view = live_charts, newest_grid
    toy = toys.is_toy(job.dataset or "")  # the run's folder may not be written yet
    if refreshing:
        charts_view = st.fragment(run_every=CHARTS_EVERY_SEC)(live_charts)
        picture_view = st.fragment(run_every=PLANE_EVERY_SEC if toy else CHARTS_EVERY_SEC)(newest_grid)
    left, right = st.columns([3, 2] if toy else [3, 1])  # the plane is the lesson: larger
    with left:
        charts_view(run, smoothing)
    with right:
        picture_view(run, toy, refreshing)


# -- runs another process writes: your own loop (ganlib.track), or `python -m ganlib train` ----------
def written_elsewhere() -> list[RunDir]:
    """The runs a live process other than the app's job writes now."""
    own = server.manager().snapshot().run
    return [run for run in list_runs(server.policy().runs_dir) if run.name != own and run.is_locked()]


def elsewhere(smoothing: float) -> None:
    """Each run written elsewhere, live: progress, charts, the newest grid, and Pause and Stop when
    its loop listens for them (``run.should_stop()``). Redrawn every few seconds; a writer that
    ends or dies (its heartbeat stops) leaves the panel."""
    runs = written_elsewhere()
    if not runs:
        return
    st.subheader("Training elsewhere")
    names = [run.name for run in runs]
    chosen = st.selectbox("Run", names, key="elsewhere-run") if len(runs) > 1 else names[0]
    st.fragment(run_every=CHARTS_EVERY_SEC)(_elsewhere_run)(runs[names.index(chosen)], smoothing)


def _elsewhere_run(run: RunDir, smoothing: float) -> None:
    writer, status = run.writer(), run.status()
    if writer is None:
        st.info(f"{run.name} is no longer being written ({status.state}): Gallery and Evaluate have it.")
        return
    config = run.config()
    steps = config.epochs * (config.steps_per_epoch or 0)
    of = f"/{config.epochs}" if config.epochs else ""
    text = f"{run.name} · {status.state} · epoch {status.epoch or 0}{of} · step {status.step or 0} · process {writer.pid} on {writer.host}"
    st.progress(min(1.0, (status.step or 0) / steps) if steps else 0.0, text=text)
    if writer.listens:
        read_only = server.policy().read_only
        c1, c2, _ = st.columns([1, 1, 6])
        label, request = (
            ("Resume", Request.RUN) if status.state == RunState.PAUSED else ("Pause", Request.PAUSE)
        )
        c1.button(
            label, on_click=run.request, args=(request,), key=f"elsewhere-{request}", disabled=read_only
        )
        c2.button(
            "Stop", on_click=run.request, args=(Request.STOP,), key="elsewhere-stop", disabled=read_only
        )
    elif run.trained_elsewhere:
        st.caption("Its loop does not ask for Pause and Stop (ganlib.track: call run.should_stop()).")
    else:
        st.caption("Started outside this app (python -m ganlib train): pause or stop it where it runs.")
    left, right = st.columns([3, 1])
    with left:
        live_charts(run, smoothing, key="elsewhere-charts")
    with right:
        newest_grid(run, toy=toys.is_toy(config.dataset), live=False)
