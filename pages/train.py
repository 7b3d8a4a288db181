"""Train: configure a run, start it on the background job, watch it live, pause/resume/stop."""

import time
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import ui
from ganlib import GanlibError, data, losses, models
from ganlib.config import QUICK_START, TrainConfig
from ganlib.jobs import JobBusy
from ganlib.rundir import RunDir, list_runs

ui.route_through_app()
st.title("Train")
manager = ui.manager()
demo = ui.demo_mode()

HELP = {
    "dataset": "mnist and fashion_mnist: 60,000 28x28 grayscale images in 10 classes.",
    "latent_dim": "Length of the random vector z that G turns into an image.",
    "width": "Multiplies every layer's channels/units: 0.5 trains about 3x faster, 1.0 is the tutorial size.",
    "batch_size": "Real images per step (and as many fakes).",
    "epochs": "Full passes over the data (or over the step cap below).",
    "steps_per_epoch": "Cap an epoch at this many steps for quick tries; 0 = a full pass.",
    "lr_g": "Adam learning rate of the generator.",
    "lr_d": "Adam learning rate of the discriminator (a different rate than G's is TTUR).",
    "label_smoothing": "One-sided: real targets become 1 - s, so D is less over-confident (0.1 is common).",
    "checkpoint_every": "Save weights and a sample grid every N epochs (the last epoch is always saved).",
    "seed": "Same seed, same machine, same run.",
    "spectral_norm": "Normalises each D layer by its largest singular value: a smoother D, steadier training.",
    "instance_noise": "Gaussian noise (this std, annealed to 0 over the first half) on D's inputs, so real and fake overlap early.",
    "label_flip": "Share of real/fake pairs shown to D with swapped labels each step: keeps D from over-confidence.",
    "ema": "Sample from a moving average of G's weights (0.999 is typical; 0 = off): smoother, often better FID.",
    "d_steps": "Discriminator updates per generator update; WGAN-GP defaults to 5, the others to 1.",
    "log_every": "Steps between points on the live charts (each is the mean over those steps).",
    "name": "Letters, digits, '.', '_' and '-'; the run's folder name.",
}


def free_name(model: str, dataset: str) -> str:
    taken = set(ui.run_names())
    base = f"{model}-{dataset}"
    return next(f"{base}-{i}" for i in range(1, 10_000) if f"{base}-{i}" not in taken)


def start_form() -> None:
    defaults = QUICK_START  # the settings that show digits soonest (README, Time to quality)
    with st.form("train"):
        st.subheader("New run")
        c1, c2, c3 = st.columns(3)
        dataset = c1.selectbox("Dataset", list(data.BUILTIN), help=HELP["dataset"])
        model = c2.selectbox(
            "Architecture",
            list(models.ARCHITECTURES),
            index=list(models.ARCHITECTURES).index(defaults.model),
            help=" ".join(f"{a.name}: {a.description}" for a in models.ARCHITECTURES.values()),
        )
        loss = c3.selectbox(
            "Loss",
            list(losses.LOSSES),
            index=list(losses.LOSSES).index(defaults.loss),
            help=" ".join(f"{loss.name}: {loss.description}" for loss in losses.LOSSES.values()),
        )
        c1, c2, c3, c4 = st.columns(4)
        latent_dim = c1.number_input("Latent size", 1, 1024, defaults.latent_dim, help=HELP["latent_dim"])
        width = c2.number_input("Width", 0.125, 4.0, defaults.width, step=0.125, help=HELP["width"])
        batch_size = c3.number_input("Batch size", 1, 4096, defaults.batch_size, help=HELP["batch_size"])
        epochs = c4.number_input("Epochs", 1, 100_000, defaults.epochs, help=HELP["epochs"])
        c1, c2, c3, c4 = st.columns(4)
        lr_g = c1.number_input("LR generator", 0.0, 1.0, defaults.lr_g, format="%.5f", help=HELP["lr_g"])
        lr_d = c2.number_input("LR discriminator", 0.0, 1.0, defaults.lr_d, format="%.5f", help=HELP["lr_d"])
        smoothing = c3.number_input(
            "Label smoothing", 0.0, 0.49, defaults.label_smoothing, step=0.05, help=HELP["label_smoothing"]
        )
        steps = c4.number_input("Steps per epoch (0 = all)", 0, 100_000, 0, help=HELP["steps_per_epoch"])
        with st.expander("Stabilisers"):
            c1, c2, c3, c4, c5 = st.columns(5)
            spectral_norm = c1.checkbox(
                "Spectral norm in D", defaults.spectral_norm, help=HELP["spectral_norm"]
            )
            instance_noise = c2.number_input(
                "Instance noise", 0.0, 2.0, defaults.instance_noise, step=0.05, help=HELP["instance_noise"]
            )
            label_flip = c3.number_input(
                "Label flipping", 0.0, 0.49, defaults.label_flip, step=0.01, help=HELP["label_flip"]
            )
            ema = c4.number_input(
                "Generator EMA", 0.0, 0.9999, defaults.ema, step=0.001, format="%.4f", help=HELP["ema"]
            )
            d_steps = c5.number_input("D steps per G step (0 = loss default)", 0, 20, 0, help=HELP["d_steps"])
        c1, c2, c3, c4 = st.columns(4)
        every = c1.number_input(
            "Checkpoint every (epochs)", 1, 1000, defaults.checkpoint_every, help=HELP["checkpoint_every"]
        )
        log_every = c2.number_input(
            "Log every (steps)", 1, 10_000, defaults.log_every, help=HELP["log_every"]
        )
        seed = c3.number_input("Seed", 0, 2**31 - 1, defaults.seed, help=HELP["seed"])
        name = c4.text_input("Run name (empty: automatic)", "", help=HELP["name"])
        submitted = st.form_submit_button("Start", type="primary", disabled=demo)
    with st.expander("What the architectures and losses are"):
        for item in [*models.ARCHITECTURES.values(), *losses.LOSSES.values()]:
            st.markdown(f"**{item.name}**: {item.description}")
    if demo:
        st.caption("Training is switched off in the read-only demo.")
    if not submitted:
        return
    config = TrainConfig(
        dataset=dataset, model=model, loss=loss, latent_dim=int(latent_dim), width=float(width),
        batch_size=int(batch_size), epochs=int(epochs), steps_per_epoch=int(steps) or None,
        lr_g=float(lr_g), lr_d=float(lr_d), label_smoothing=float(smoothing),
        checkpoint_every=int(every), log_every=int(log_every), seed=int(seed),
        spectral_norm=bool(spectral_norm), instance_noise=float(instance_noise), label_flip=float(label_flip),
        ema=float(ema), d_steps=int(d_steps) or None,
        steps_per_execution=defaults.steps_per_execution,  # not a form field: it changes speed, not results
    )  # fmt: skip
    problems = config.problems()
    try:
        run = RunDir(ui.runs_dir(), name.strip() or free_name(model, dataset))
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
        state, checkpoints = run.status().get("state"), run.checkpoints()
        if state in ("stopped", "interrupted", "failed", "finished") and checkpoints:
            config = run.config()
            labels[f"{run.name} ({state}, epoch {checkpoints[-1].epoch}/{config.epochs})"] = (run, config)
    if not labels:
        return
    with st.form("resume"):
        st.subheader("Resume a run")
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox("Run", list(labels))
        run, config = labels[choice]
        more = c2.number_input("Train until epoch", 1, 100_000, config.epochs)
        if st.form_submit_button("Resume"):
            start(lambda: manager.resume_run(run.name, int(more)))


# While a run is young its log points are a sliver of one epoch: chart them against steps.
EPOCH_AXIS_FROM = 2.0


@st.cache_resource(max_entries=4, show_spinner=False)
def live_charts(history_path: str, version: tuple[int, int], smoothing: float, loss_name: str):
    """The three live charts, rebuilt only when the history file changes (``version`` is its
    size and modification time): the page polls every second, the trainer logs less often."""
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
    # One figure of three panels: the browser lays out and paints one plot instead of three.
    panels = [
        ("Losses", "", {"D loss": "d_loss", "G loss": "g_loss"}),
        ("Discriminator outputs", loss.score_label, {"D(x)": "d_real", "D(G(z))": "d_fake"}),
        ("D accuracy", "", {"acc. real": "acc_real", "acc. fake": "acc_fake"}),
    ]
    figure = make_subplots(
        rows=1, cols=3, subplot_titles=[title for title, _, _ in panels], horizontal_spacing=0.08
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
    figure.update_layout(
        height=360, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.28)
    )
    return figure, loss.accuracy_label


def charts(run: RunDir, smoothing: float) -> None:
    try:
        stat = run.history_path.stat()
    except FileNotFoundError:
        stat = None
    built = stat and live_charts(
        str(run.history_path), (stat.st_size, stat.st_mtime_ns), smoothing, run.config().loss
    )
    if not built:
        st.caption("Charts appear after the first log point.")
        return
    figure, accuracy_label = built
    st.plotly_chart(figure, key="live-charts")
    st.caption(f"D accuracy: {accuracy_label}.")


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
        st.error(f"Training failed: {job.error}")
    if job.active:
        c1, c2, c3, _ = st.columns([1, 1, 1, 5])
        if job.state == "paused":
            c1.button("Resume", on_click=manager.resume, key="resume-job", disabled=demo)
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
    run = RunDir(ui.runs_dir(), job.run)
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

if manager.snapshot().active:
    st.fragment(run_every=STATUS_EVERY_SEC)(job_status)()
    st.fragment(run_every=CHARTS_EVERY_SEC)(job_charts)(smoothing)
else:
    job_status()
    job_charts(smoothing)
    start_form()
    resume_form()
