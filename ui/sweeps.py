"""The Train page's sweeps: the sweep fields of the new-run form, starting a sweep, its queue and
table while it runs, and resuming one (``ganlib.sweep`` does the work, through the app's job)."""

from __future__ import annotations

import streamlit as st

from ganlib import GanlibError, evaluation, sweep
from ganlib.config import SETTINGS, ConfigError, TrainConfig, check_run_name
from ui import messages, server, shell


def form_fields() -> tuple[str, int, int, str]:
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
        "Sweep name (empty: automatic)",
        "",
        help="Letters, digits, '.', '_' and '-'; its runs' names start with it.",
    )
    return varied, int(seeds), int(samples), name


def start(base: TrainConfig, varied: str, seeds: int, samples: int, name: str) -> None:
    """Plan a named sweep in the runs folder (every problem shown at once) and start it."""
    free = (
        f"sweep-{i}"
        for i in range(1, 10_000)
        if not sweep.plan_path(server.policy().runs_dir, f"sweep-{i}").exists()
    )
    name = name.strip() or next(free)
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
            sweep.Sweep.create(
                server.policy().runs_dir, sweep.Plan(base, grid, list(range(seeds)), samples), name
            )
    except ConfigError as exc:
        problems += exc.problems
    except GanlibError as exc:
        problems.append(str(exc))
    for problem in problems:
        st.error(problem)
    if not problems:
        messages.start_job(lambda: server.manager().start_sweep(name))


def table(job: sweep.Sweep) -> None:
    """The sweep's table as read: each point's settings, the seeds done, best FID as "mean ± std"
    (one seed: its figure; none yet: blank, not "None") and the mean recall."""
    rows = []
    for row in job.table():
        mean, std, recall = row.fid_mean, row.fid_std, row.recall_mean
        figure = "" if mean is None else f"{mean:.3f}" + ("" if std is None else f" ± {std:.3f}")
        recall_figure = "" if recall is None else f"{recall:.3f}"
        rows.append({**row.settings, "seeds": row.seeds, "best FID": figure, "recall": recall_figure})
    st.dataframe(rows, hide_index=True)


def queue() -> None:
    """The job's sweep (when it is one): every planned run's state, then each point's best FID
    over the seeds done so far; redrawn with the charts while it runs."""
    manager = server.manager()
    snapshot = manager.snapshot()
    if snapshot.sweep is None:
        return
    try:
        job = sweep.Sweep.open(manager.runs_dir, snapshot.sweep)
    except GanlibError as exc:
        messages.show_error(exc)
        return
    st.subheader(f"Sweep {job.name}")
    now = snapshot.run if snapshot.active else None
    states = job.states()
    queue = [
        {"run": name, "state": str(snapshot.state if name == now else state or "waiting")}
        for name, state in states.items()
    ]
    left, right = st.columns([2, 3])
    left.dataframe(queue, hide_index=True)
    with right:
        table(job)
    right.caption(
        f"Each combination's best FID over its seeds ({job.plan.samples:,} samples per checkpoint, "
        "evaluated as each run ends): mean and standard deviation. Stop keeps every finished run; "
        "the sweep resumes from the form below."
    )
    names = [name for name, state in states.items() if state is not None][:4]
    if len(names) >= 2:
        st.page_link(
            shell.PAGES["compare"].path, label="Compare these runs", query_params={"runs": ",".join(names)}
        )


def resume_form() -> None:
    """Go on with a named sweep that has runs left (stopped, or cut short by a restart)."""
    unfinished = {job.name: job for job in sweep.named_sweeps(server.policy().runs_dir) if job.pending()}
    if server.policy().read_only or not unfinished:
        return
    with st.form("resume-sweep"):
        st.subheader("Resume a sweep")
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox("Sweep", list(unfinished))
        job = unfinished[choice]
        c1.caption(f"{len(job.pending())} of {len(job.runs())} runs still to train or finish.")
        if c2.form_submit_button("Resume sweep"):
            messages.start_job(lambda: server.manager().start_sweep(choice))
