"""The Train page's forms: a new run (a widget per setting, from ``SETTINGS``; a sweep's own
fields are in ``sweeps``) and resuming a run."""

from __future__ import annotations

import re

import streamlit as st

from ganlib import GanlibError
from ganlib.config import (
    DEFAULT_PRESET,
    PRESETS,
    SETTINGS,
    TrainConfig,
    default_preset,
    setting_type,
    starting_point,
)
from ganlib.data import catalog, toys
from ganlib.runs import estimate
from ganlib.runs.rundir import RunDir, list_runs
from ganlib.zoo import losses, models, user_models
from ui import messages, public_link, run_list, server, sweeps

# Where each setting sits in the form; what it means, its bounds and label are in SETTINGS.
FORM_ROWS = [  # the dataset sits above the form, beside "Start from": the defaults follow it
    ["model", "loss"],
    ["latent_dim", "width", "batch_size", "epochs", "minutes"],
    ["lr_g", "lr_d", "lr_schedule", "lr_boost", "beta_1", "steps_per_epoch"],
]


STABILISER_ROW = [
    "augment",
    "label_smoothing",
    "spectral_norm",
    "r1",
    "instance_noise",
    "label_flip",
    "ema",
    "pack",
    "d_steps",
]


LAST_ROW = ["checkpoint_every", "log_every", "live_fid_samples", "tensorboard", "seed"]


DATASETS = [*catalog.BUILTIN, *toys.TOY_DATASETS]  # a folder:PATH is trained from the CLI
RUN_NAME_HELP = "Letters, digits, '.', '_' and '-'; the run's folder name."


def free_name(model: str, dataset: str) -> str:
    taken = set(run_list.run_names())
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


def architecture_file(container, initial: str) -> str:
    """The file of your own architectures: outside the form, so that its models join the
    Architecture list as soon as it is given (the policy's models file fills it first)."""
    setting = SETTINGS["models_from"]
    path = container.text_input(setting.label, initial, help=setting.input_text()).strip()
    if path:
        try:
            container.caption(f"Adds: {', '.join(user_models.load(path).names)}")
        except GanlibError as exc:
            container.error(str(exc))
    return path


def starting_points() -> dict[str, tuple[str | None, TrainConfig]]:
    """What the form can start from, as (preset name or None, settings): each preset, and each
    run's own settings with the next seed (the same run again: how much of its FID was luck).
    The first is the default."""
    points = {f"{name} (preset)": (name, PRESETS[name]) for name in [DEFAULT_PRESET, *PRESETS]}
    for run in list_runs(server.policy().runs_dir):
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
    read_only = server.policy().read_only
    if read_only:
        public_link.read_only_notice()
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
        "(docs/benchmarks.md); toy: a 2-D toy (ring8, grid25 or spiral) in seconds (the grid: a minute), to watch D "
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
    if not read_only:  # a public link runs no code of anyone's own
        values["models_from"] = architecture_file(right, picked.models_from or server.policy().models_file)
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
        # A form sends its values only on Start: the estimate is of the settings it opened with.
        found = estimate.estimate(
            defaults, list_runs(server.policy().runs_dir), is_default=preset == DEFAULT_PRESET
        )
        st.caption(f"**How long, as the form opened:** {estimate.describe(defaults, found)}")
        submitted = st.form_submit_button("Start", type="primary", disabled=read_only)
        with st.expander("Sweep: these settings with some varied, over seeds"):
            swept = sweeps.form_fields()
            sweep_submitted = st.form_submit_button("Start sweep", disabled=read_only)
    with st.expander("What the architectures and losses are"):
        for item in [*models.ARCHITECTURES.values(), *losses.LOSSES.values()]:
            st.markdown(f"**{item.name}**: {item.description}")
    if not (submitted or sweep_submitted) or read_only:  # refused here too, not only by the disabled button
        return
    # Settings the form does not show (steps per call, image size) keep the starting point's values.
    config = defaults.replace(**{key: SETTINGS[key].from_input(value) for key, value in values.items()})
    if sweep_submitted:
        sweeps.start(config, *swept)
        return
    problems = config.problems()
    try:
        run = RunDir(server.policy().runs_dir, name.strip() or free_name(config.model, config.dataset))
        if run.exists():
            problems.append(f"a run named {run.name!r} exists already: pick another name or resume it below")
    except GanlibError as exc:
        problems.append(str(exc))
    if problems:
        for problem in problems:
            st.error(problem)
        return
    messages.start_job(lambda: server.manager().start(config, run.name))


def resume_form() -> None:
    if server.policy().read_only:
        return
    manager = server.manager()
    labels = {}  # one read of each run's status, checkpoints and config per page run
    for run in list_runs(server.policy().runs_dir):
        status, checkpoints = run.status(), run.checkpoints()
        if (
            status.state.resumable and checkpoints and not run.trained_elsewhere
        ):  # ganlib.track's: their code goes on
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
            messages.start_job(lambda: manager.resume_run(run.name, int(more)))
