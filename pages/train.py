"""Train: configure a run, start it on the background job, watch it live, pause/resume/stop."""

import time
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import ui
from ganlib import GanlibError
from ganlib.config import DEFAULT_PRESET, PRESETS, SETTINGS, setting_type
from ganlib.data import catalog
from ganlib.runs.rundir import RunDir, list_runs
from ganlib.zoo import losses, models
from workbench.jobs import JobBusy, JobState

ui.route_through_app()
st.title("Train")
manager = ui.manager()
demo = ui.demo_mode()
visitors = ui.visitor_training()  # None unless a demo host lets visitors train

# Where each setting sits in the form; what it means, its bounds and label are in SETTINGS.
FORM_ROWS = [
    ["dataset", "model", "loss"],
    ["latent_dim", "width", "batch_size", "epochs", "minutes"],
    ["lr_g", "lr_d", "lr_schedule", "beta_1", "steps_per_epoch"],
]
STABILISER_ROW = [
    "augment",
    "label_smoothing",
    "spectral_norm",
    "instance_noise",
    "label_flip",
    "ema",
    "d_steps",
]
LAST_ROW = ["checkpoint_every", "log_every", "live_fid_samples", "seed"]
RUN_NAME_HELP = "Letters, digits, '.', '_' and '-'; the run's folder name."


def free_name(model: str, dataset: str) -> str:
    taken = set(ui.run_names())
    base = f"{model}-{dataset}"
    return next(f"{base}-{i}" for i in range(1, 10_000) if f"{base}-{i}" not in taken)


def setting_widget(container, name: str, initial):
    """The form's widget for one setting, with the label, bounds and help of ``SETTINGS``."""
    setting, kind = SETTINGS[name], setting_type(name)
    help_text = setting.input_text()
    options = setting.choices() if setting.choices else (list(catalog.BUILTIN) if name == "dataset" else None)
    if options is not None:
        index = options.index(initial) if initial in options else 0
        return container.selectbox(setting.label, options, index=index, help=help_text)
    if kind is bool:
        return container.checkbox(setting.label, bool(initial), help=help_text)
    low = setting.form_low
    value = 0 if initial is None else initial
    if kind is int:
        return container.number_input(setting.label, int(low), int(setting.high), int(value), help=help_text)
    decimals = max(3, len(f"{setting.step:f}".rstrip("0").split(".")[1])) if setting.step else 3
    return container.number_input(
        setting.label,
        float(low),
        float(setting.high),
        float(value),
        step=setting.step,
        format=f"%.{decimals}f",
        help=help_text,
    )


def start_form() -> None:
    defaults = PRESETS[DEFAULT_PRESET]  # the settings that show digits soonest (docs/benchmarks.md)
    values = {}
    with st.form("train"):
        st.subheader("New run")
        for row in FORM_ROWS:
            for column, name in zip(st.columns(len(row)), row):
                values[name] = setting_widget(column, name, getattr(defaults, name))
        with st.expander("Stabilisers"):
            for column, name in zip(st.columns(len(STABILISER_ROW)), STABILISER_ROW):
                values[name] = setting_widget(column, name, getattr(defaults, name))
        columns = st.columns(len(LAST_ROW) + 1)
        for column, name in zip(columns, LAST_ROW):
            values[name] = setting_widget(column, name, getattr(defaults, name))
        name = columns[-1].text_input("Run name (empty: automatic)", "", help=RUN_NAME_HELP)
        submitted = st.form_submit_button("Start", type="primary", disabled=demo)
    with st.expander("What the architectures and losses are"):
        for item in [*models.ARCHITECTURES.values(), *losses.LOSSES.values()]:
            st.markdown(f"**{item.name}**: {item.description}")
    if demo:
        st.caption("Training is switched off in the read-only demo.")
    if not submitted or demo:  # refused here too, not only by the disabled button
        return
    # Settings the form does not show (steps per call, image size) keep the preset's values.
    config = defaults.replace(**{key: SETTINGS[key].from_input(value) for key, value in values.items()})
    problems = config.problems()
    try:
        run = RunDir(ui.runs_dir(), name.strip() or free_name(config.model, config.dataset))
        if run.exists():
            problems.append(f"a run named {run.name!r} exists already: pick another name or resume it below")
    except GanlibError as exc:
        problems.append(str(exc))
    if problems:
        for problem in problems:
            st.error(problem)
        return
    start(lambda: manager.start(config, run.name))


def start(action) -> None:
    try:
        action()
    except JobBusy as exc:
        st.warning(str(exc))
        return
    except GanlibError as exc:
        ui.show_error(exc)
        return
    st.rerun()


def resume_form() -> None:
    if demo:
        return
    labels = {}  # one read of each run's status, checkpoints and config per page run
    for run in list_runs(ui.runs_dir()):
        status, checkpoints = run.status(), run.checkpoints()
        if status.get("state").resumable and checkpoints:
            config = run.config()
            label = f"{run.name} ({status['state']}, epoch {checkpoints[-1].epoch}/{config.epochs})"
            labels[label] = (run, config, status.get("error"))
    if not labels:
        return
    with st.form("resume"):
        st.subheader("Resume a run")
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox("Run", list(labels))
        run, config, error = labels[choice]
        if error:  # a failed run says why it stopped (a full disk, NaN losses, ...)
            c1.error(f"Why it stopped: {error}")
        more = c2.number_input("Train until epoch", 1, 100_000, config.epochs)
        if st.form_submit_button("Resume"):
            start(lambda: manager.resume_run(run.name, int(more)))


# While a run is young its log points are a sliver of one epoch: chart them against steps.
EPOCH_AXIS_FROM = 2.0


def _version(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_size, stat.st_mtime_ns)


@st.cache_resource(max_entries=4, show_spinner=False)
def live_charts(history_path: str, version: tuple, smoothing: float, loss_name: str):
    """The live charts, rebuilt only when the history or quality file changes (``version``: their
    sizes and modification times): the page polls every few seconds, the trainer logs less often."""
    run = RunDir.from_path(Path(history_path).parent)
    records = run.history()
    # Log points every few steps; a run with tiny epochs may only have its epoch means.
    history = [r for r in records if r.get("kind") == "step"] or [
        r for r in records if r.get("kind") == "epoch"
    ]
    if not history:
        return None
    axis = "epoch" if history[-1]["epoch"] >= EPOCH_AXIS_FROM else "step"
    x = [r[axis] for r in history]

    def series(key):
        return x, ui.smooth([r[key] for r in history], smoothing)

    loss = losses.LOSSES.get(loss_name, losses.LOSSES["bce"])
    quality = run.quality()
    # One figure of four panels: the browser lays out and paints one plot instead of four.
    panels = [
        ("Losses", "", {"D loss": "d_loss", "G loss": "g_loss"}),
        ("Discriminator outputs", loss.score_label, {"D(x)": "d_real", "D(G(z))": "d_fake"}),
        ("D accuracy", "", {"acc. real": "acc_real", "acc. fake": "acc_fake"}),
    ]
    quality_title = f"Quick FID (n={quality[-1]['samples']:,})" if quality else "Quick FID"
    figure = make_subplots(
        rows=1,
        cols=4,
        subplot_titles=[*(title for title, _, _ in panels), quality_title],
        horizontal_spacing=0.06,
    )
    for col, (_, y_title, keys) in enumerate(panels, start=1):
        for name, key in keys.items():
            figure.add_trace(
                go.Scatter(x=x, y=ui.smooth([r[key] for r in history], smoothing), mode="lines", name=name),
                row=1,
                col=col,
            )
        figure.update_xaxes(title_text=axis, row=1, col=col)
        figure.update_yaxes(title_text=y_title, row=1, col=col)
    if quality:
        qx = [q[axis] for q in quality]
        figure.add_trace(
            go.Scatter(x=qx, y=[q["fid"] for q in quality], mode="lines+markers", name="quick FID"),
            row=1,
            col=4,
        )
        floor = [q["floor_fid"] for q in quality]
        figure.add_trace(
            go.Scatter(x=qx, y=floor, mode="lines", name="real-data floor", line=dict(dash="dot")),
            row=1,
            col=4,
        )
        figure.update_yaxes(type="log", row=1, col=4)
    figure.update_xaxes(title_text=axis, row=1, col=4)
    figure.update_layout(
        height=360, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.28)
    )
    return figure, loss.accuracy_label


def charts(run: RunDir, smoothing: float) -> None:
    version = (_version(run.history_path), _version(run.quality_path))
    built = version[0] != (0, 0) and live_charts(str(run.history_path), version, smoothing, run.config().loss)
    if not built:
        st.caption("Charts appear after the first log point.")
        return
    figure, accuracy_label = built
    st.plotly_chart(figure, key="live-charts")
    st.caption(
        f"D accuracy: {accuracy_label}. Quick FID: live, at each checkpoint, on few samples (biased upwards: "
        "the trend, not a score); Evaluate computes the 10,000-sample FID to compare."
    )
    for alert in run.alerts():  # recorded by the trainer: D wins, mode collapse, divergence
        st.warning(f"**{alert['kind']}** at step {alert['step']:,}: {alert['detail']}.")


def newest_grid(run: RunDir) -> None:
    """The fixed-seed grid: the live preview while it is ahead of the newest checkpoint."""
    checkpoints = run.checkpoints()
    preview = run.preview()
    if preview and (not checkpoints or preview[1]["step"] > checkpoints[-1].step):
        png, info = preview
        caption = f"fixed-seed grid, live: step {info['step']} · {info['elapsed']:.0f} s of training"
        st.image(png, caption=caption, width="stretch")
    elif checkpoints:
        caption = f"fixed-seed grid, epoch {checkpoints[-1].epoch}"
        st.image(checkpoints[-1].grid_path.read_bytes(), caption=caption, width="stretch")


# The live panel polls the job: its status every second (a line of text), its charts and grid
# less often, because redrawing three charts is the browser's heaviest work, and on a 2-core
# machine every core the browser takes is one the trainer loses (docs/benchmarks.md).
STATUS_EVERY_SEC = 2.0
CHARTS_EVERY_SEC = 5.0


def job_status() -> None:
    job = manager.snapshot()
    if job.run is None:
        return
    progress = job.progress
    st.subheader(f"{job.run} · {job.state}")
    if progress:
        eta = progress.get("eta_sec")
        eta_text = f" · ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}" if eta and job.active else ""
        st.progress(
            progress["fraction"],
            text=f"epoch {progress['epoch']}/{progress['epochs']} · step {progress['step']} · "
            f"{progress['images_per_sec']:.0f} images/s{eta_text}",
        )
    if job.error:
        ui.show_job_error(job.error)
    if job.active and visitors is not None:
        # A visitor may stop their own run, nothing more: the time limit keeps the queue moving.
        own = visitors.poll(ui.visitor_id()).training
        st.button("Stop", on_click=visitors.stop, args=(ui.visitor_id(),), key="stop-job", disabled=not own)
    elif job.active:
        c1, c2, c3, c4, _ = st.columns([1, 1, 1, 1, 4])
        if job.state == JobState.PAUSED:
            c1.button("Resume", on_click=manager.resume, key="resume-job", disabled=demo)
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
                disabled=demo,
                help="Train this many steps, then pause again and redraw the live grid.",
            )
        else:
            c1.button("Pause", on_click=manager.pause, key="pause-job", disabled=demo)
        c2.button("Stop", on_click=manager.stop, key="stop-job", disabled=demo)
    if st.session_state.get("job_was_active") and not job.active:
        st.session_state["job_was_active"] = False
        st.rerun(scope="app")  # back to the form now that the job is over
    st.session_state["job_was_active"] = job.active


def job_charts(smoothing: float) -> None:
    job = manager.snapshot()
    if job.run is None:
        return
    run = RunDir(manager.runs_dir, job.run)
    left, right = st.columns([3, 1])
    with left:
        charts(run, smoothing)
    with right:
        newest_grid(run)


smoothing = st.sidebar.slider(
    "Curve smoothing", 0.0, 0.99, 0.6, help="Exponential moving average of the curves."
)
interrupted = [r.name for r in manager.interrupted_runs()]
if interrupted and not manager.snapshot().active:
    st.warning(f"Interrupted run(s): {', '.join(interrupted)}. Resume below.")


def visitor_panel() -> None:
    """A demo visitor's own training: ask, wait in the queue, watch it; polled every 2 s, which
    also tells the queue this visitor is still here."""
    me = ui.visitor_id()
    turn = visitors.poll(me)
    seconds = f"{visitors.limits.seconds:.0f} s"
    st.subheader("Train it yourself")
    if turn.training:
        st.caption(f"Your run **{turn.run}** is training above; it stops by itself after {seconds}.")
    elif turn.place is not None:
        st.info(
            f"You are number {turn.place} in the queue: this host trains one run at a time. Keep this page open."
        )
        st.button("Leave the queue", on_click=visitors.leave, args=(me,))
    elif not catalog.installed(visitors.config.dataset):
        st.caption(
            f"Visitor training needs the {visitors.config.dataset} dataset on this host, which it does not have."
        )
    else:
        st.caption(
            f"Train the app's default (a class-conditional DCGAN on {visitors.config.dataset}) for {seconds} "
            "on this host, then browse your run in the Gallery. One run at a time: you may have to wait."
        )
        if st.button(f"Train for {seconds}", type="primary"):
            st.session_state["visitor_refused"] = visitors.request(me, ui.client()).refused
            st.rerun(scope="app")
        for why in (st.session_state.get("visitor_refused"), turn.error):
            if why:
                st.warning(why[0].upper() + why[1:] + ".")
        if turn.run:
            st.page_link(
                ui.PAGES["gallery"].path, label=f"Your last run: {turn.run}", query_params={"run": turn.run}
            )
    if st.session_state.setdefault("visitor_training", turn.training) != turn.training:
        st.session_state["visitor_training"] = turn.training
        st.rerun(scope="app")  # the live panel appears (or goes) with the visitor's own run


if manager.snapshot().active:
    st.fragment(run_every=STATUS_EVERY_SEC)(job_status)()
    st.fragment(run_every=CHARTS_EVERY_SEC)(job_charts)(smoothing)
else:
    job_status()
    job_charts(smoothing)
    if visitors is None:
        start_form()
        resume_form()
if visitors is not None:
    st.fragment(run_every=STATUS_EVERY_SEC)(visitor_panel)()
