"""The Train page's forms: a new run or a sweep (a widget per setting, from ``SETTINGS``), and
resuming a run or a sweep."""

from __future__ import annotations

import re

import streamlit as st

import ui
from ganlib import GanlibError, evaluation, sweep
from ganlib.config import (
    DEFAULT_PRESET,
    PRESETS,
    SETTINGS,
    ConfigError,
    TrainConfig,
    check_run_name,
    default_preset,
    setting_type,
    starting_point,
)
from ganlib.data import catalog, toys
from ganlib.runs.rundir import RunDir, list_runs
from ganlib.zoo import losses, models
from workbench.jobs import JobBusy

# Where each setting sits in the form; what it means, its bounds and label are in SETTINGS.
FORM_ROWS = [  # the dataset sits above the form, beside "Start from": the defaults follow it
    ["model", "loss"],
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


LAST_ROW = ["checkpoint_every", "log_every", "live_fid_samples", "tensorboard", "seed"]


DATASETS = [*catalog.BUILTIN, *toys.TOY_DATASETS]  # a folder:PATH is trained from the CLI
RUN_NAME_HELP = "Letters, digits, '.', '_' and '-'; the run's folder name."


def free_name(model: str, dataset: str) -> str:
    taken = set(ui.run_names())
    # A run name takes letters, digits, '.', '_' and '-': "toy:ring8" and "folder:PATH" do not fit.
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{model}-{dataset}")[:48].strip("-.")
    return next(f"{base}-{i}" for i in range(1, 10_000) if f"{base}-{i}" not in taken)


def setting_widget(container, name: str, initial):
    """The form's widget for one setting, with the label, bounds and help of ``SETTINGS``."""
    setting, kind = SETTINGS[name], setting_type(name)
    help_text = setting.input_text()
    options = setting.choices() if setting.choices else (DATASETS if name == "dataset" else None)
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


def starting_points() -> dict[str, tuple[str | None, TrainConfig]]:
    """What the form can start from, as (preset name or None, settings): each preset, and each
    run's own settings with the next seed (the same run again: how much of its FID was luck).
    The first is the default."""
    points = {f"{name} (preset)": (name, PRESETS[name]) for name in [DEFAULT_PRESET, *PRESETS]}
    for run in list_runs(ui.runs_dir()):
        try:
            config = run.config()
        except (GanlibError, OSError):
            continue  # unreadable: not offered
        points[f"{run.name}'s settings, seed {config.seed + 1}"] = (
            None,
            config.replace(seed=config.seed + 1),
        )
    return points


def start_form() -> None:
    demo = ui.demo_mode()
    points = starting_points()
    labels = list(points)
    # ?from=RUN (the "train again" links) picks that run, ?from=PRESET a preset, if it is listed.
    wanted = st.query_params.get("from")
    linked = next(
        (
            i
            for i, label in enumerate(labels)
            if label == f"{wanted} (preset)" or label.startswith(f"{wanted}'s ")
        ),
        0,
    )
    left, right = st.columns([2, 1])
    chosen = left.selectbox(
        "Start from",
        labels,
        index=linked,
        help="quick-start: the settings that show digits soonest, with each dataset's own best "
        "(docs/benchmarks.md); toy: a 2-D toy (ring8, grid25 or spiral) in seconds, to watch D "
        "and G and mode collapse. A run's settings with the next seed train it again: a GAN's "
        "FID varies from seed to seed.",
    )
    preset, picked = points[chosen]
    dataset = setting_widget(right, "dataset", picked.dataset)
    if preset is not None:  # the preset for this dataset: a toy's own, a dataset's own defaults
        defaults = starting_point(default_preset(dataset) if preset == DEFAULT_PRESET else preset, dataset)
    else:
        defaults = picked.replace(dataset=dataset)
    values = {"dataset": dataset}
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
        with st.expander("Sweep: these settings with some varied, over seeds"):
            swept = sweep_fields()
            sweep_submitted = st.form_submit_button("Start sweep", disabled=demo)
    with st.expander("What the architectures and losses are"):
        for item in [*models.ARCHITECTURES.values(), *losses.LOSSES.values()]:
            st.markdown(f"**{item.name}**: {item.description}")
    if demo:
        st.caption("Training is switched off in the read-only demo.")
    if not (submitted or sweep_submitted) or demo:  # refused here too, not only by the disabled button
        return
    # Settings the form does not show (steps per call, image size) keep the starting point's values.
    config = defaults.replace(**{key: SETTINGS[key].from_input(value) for key, value in values.items()})
    if sweep_submitted:
        start_sweep(config, *swept)
        return
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
    start(lambda: ui.manager().start(config, run.name))


def sweep_fields() -> tuple[str, int, int, str]:
    """A sweep's own fields, inside the new-run form: what varies, seeds, samples, its name."""
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
    varied = c1.text_area(
        "Vary (a setting a line: name=value,value)",
        "",
        placeholder="loss=bce,hinge\nlr_g=2e-4,4e-4",
        help="Any setting of the form by its name ("
        + ", ".join(name for name in SETTINGS if name not in sweep.NOT_SWEPT)
        + "); every combination trains at every seed, the other settings as above.",
    )
    seeds = c2.number_input("Seeds", 1, 10, 3, help="Runs per combination: a GAN's FID varies with the seed.")
    samples = c3.number_input(
        "Samples per evaluation",
        100,
        evaluation.MAX_SAMPLES,
        sweep.DEFAULT_SAMPLES,
        step=500,
        help="Each run's checkpoints are evaluated when it ends; its best FID goes in the sweep's table.",
    )
    name = c4.text_input(
        "Sweep name (empty: automatic)", "", help=RUN_NAME_HELP + " Its runs' names start with it."
    )
    return varied, int(seeds), int(samples), name


def start_sweep(base: TrainConfig, varied: str, seeds: int, samples: int, name: str) -> None:
    """Plan a named sweep in the runs folder (every problem shown at once) and start it."""
    taken = sweep.plan_path
    name = name.strip() or next(
        f"sweep-{i}" for i in range(1, 10_000) if not taken(ui.runs_dir(), f"sweep-{i}").exists()
    )
    problems = []
    try:
        check_run_name(name)
    except ConfigError as exc:
        problems += exc.problems
    try:
        grid = sweep.parse_grid([line for line in varied.splitlines() if line.strip()])
        if not grid:
            problems.append("name at least one setting to vary, such as loss=bce,hinge")
        if not problems:
            sweep.Sweep.create(ui.runs_dir(), sweep.Plan(base, grid, list(range(seeds)), samples), name)
    except ConfigError as exc:
        problems += exc.problems
    except GanlibError as exc:
        problems.append(str(exc))
    for problem in problems:
        st.error(problem)
    if not problems:
        start(lambda: ui.manager().start_sweep(name))


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
    if ui.demo_mode():
        return
    manager = ui.manager()
    labels = {}  # one read of each run's status, checkpoints and config per page run
    for run in list_runs(ui.runs_dir()):
        status, checkpoints = run.status(), run.checkpoints()
        if status.state.resumable and checkpoints:
            config = run.config()
            label = f"{run.name} ({status.state}, epoch {checkpoints[-1].epoch}/{config.epochs})"
            labels[label] = (run, config, status.error)
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


def sweep_resume_form() -> None:
    """Go on with a named sweep that has runs left (stopped, or cut short by a restart)."""
    unfinished = {job.name: job for job in sweep.named_sweeps(ui.runs_dir()) if job.pending()}
    if ui.demo_mode() or not unfinished:
        return
    with st.form("resume-sweep"):
        st.subheader("Resume a sweep")
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox("Sweep", list(unfinished))
        job = unfinished[choice]
        c1.caption(f"{len(job.pending())} of {len(job.runs())} runs still to train or finish.")
        if c2.form_submit_button("Resume sweep"):
            start(lambda: ui.manager().start_sweep(choice))
