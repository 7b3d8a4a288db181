"""``train`` and ``sweep``: one run, or settings x seeds one run after another (a process per
GPU with ``--devices``). TensorFlow is imported when a command runs, not when ``--help`` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ganlib import GanlibError, sweep
from ganlib.cli import args
from ganlib.runs.rundir import RunDir, default_runs_dir
from ganlib.training import distribute
from ganlib.training.distribute import PRECISIONS, STRATEGIES


def register(commands) -> None:
    """The train and sweep commands."""
    train = commands.add_parser(
        "train", help="train a GAN into a run directory", formatter_class=args.SettingsHelp
    )
    train.add_argument("--run", required=True, help="run name (a folder in the runs directory)")
    train.add_argument("--resume", action="store_true", help="continue an existing run")
    train.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default=next(iter(STRATEGIES)),
        help="how to spread the steps: "
        + "; ".join(f"{name}: {what}" for name, what in STRATEGIES.items())
        + ". --batch-size is the global batch under every one",
    )
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=next(iter(PRECISIONS)),
        help="; ".join(f"{name}: {what}" for name, what in PRECISIONS.items())
        + ". A run resumes under any of them",
    )
    args.add_runs_dir(train)
    args.add_settings(train)
    train.set_defaults(handler=cmd_train)

    sweep_command = commands.add_parser(
        "sweep",
        help="settings x seeds, one run after another into a sweep folder; best FID per setting (mean +- std)",
        formatter_class=args.SettingsHelp,
    )
    sweep_command.add_argument(
        "--folder", required=True, type=Path, help="the sweep's folder (a runs directory of its own)"
    )
    sweep_command.add_argument(
        "--name",
        default="",
        help="a named sweep among --folder's other runs (as the app's Train page makes them): "
        "its runs are NAME.<settings>.seed-N, its plan sweeps/NAME.json",
    )
    sweep_command.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=V1,V2",
        help="a swept setting and its values (repeat for a grid); the other settings: the flags below",
    )
    sweep_command.add_argument(
        "--seeds", type=int, default=3, help="runs per point, seeds 0..N-1 (default 3)"
    )
    sweep_command.add_argument(
        "--random", type=int, default=None, metavar="N", help="a random draw of N points of the grid"
    )
    sweep_command.add_argument(
        "--samples", type=int, default=None, help="samples per checkpoint evaluation (default: 5,000)"
    )
    sweep_command.add_argument(
        "--resume", action="store_true", help="go on with the sweep in --folder (after a kill)"
    )
    sweep_command.add_argument("--table", action="store_true", help="print the sweep's table; train nothing")
    sweep_command.add_argument(
        "--devices",
        default=None,
        metavar="0,1,...",
        help="GPUs to train on at once, one run per GPU (a process each, CUDA_VISIBLE_DEVICES)",
    )
    sweep_command.add_argument(
        "--share",
        default=None,
        metavar="K/N",
        help="train every N-th run from the K-th (0-based): one of N processes (--devices starts them)",
    )
    args.add_settings(sweep_command)
    sweep_command.set_defaults(handler=cmd_sweep)


def cmd_train(given) -> int:
    from ganlib.training.train import train  # TensorFlow: loaded when a run trains, not for --help

    config = args.configured(given)
    strategy = distribute.make_strategy(given.strategy)  # first: a multi-worker strategy sets up TensorFlow
    chief = distribute.is_chief(strategy)
    run = RunDir(given.runs_dir or default_runs_dir(), given.run)
    if chief and run.exists() and not given.resume:
        raise GanlibError(f"run {run.name!r} already exists in {run.runs_dir}; pass --resume to continue it")
    if strategy.num_replicas_in_sync > 1:
        role = "" if chief else " (a worker: the chief writes the run)"
        print(f"training on {strategy.num_replicas_in_sync} replicas{role}; --batch-size is the global batch")
    verbose = 1 if sys.stdout.isatty() else 2
    state = train(
        config,
        run,
        resume=given.resume,
        verbose=verbose,
        log=print,
        strategy=strategy,
        precision=given.precision,
    )
    if not chief:
        print(f"{run.name}: {state}; the chief wrote the run")
        return 0
    checkpoints = run.checkpoints()
    print(
        f"{run.name}: {state} at epoch {checkpoints[-1].epoch if checkpoints else 0}, run directory {run.path}"
    )
    return 0


def cmd_sweep(given) -> int:
    devices, share = _device_list(given.devices) if given.devices else None, _share(given.share)
    if given.resume or given.table:
        job = sweep.Sweep.open(given.folder, given.name)
    else:
        if not given.set:
            raise GanlibError("name at least one swept setting: --set SETTING=V1,V2")
        if not 1 <= given.seeds <= 100:
            raise GanlibError("--seeds must be between 1 and 100")
        plan = sweep.Plan(
            args.configured(given),
            sweep.parse_grid(given.set),
            list(range(given.seeds)),
            given.samples or sweep.DEFAULT_SAMPLES,
            given.random,
        )
        job = sweep.Sweep.create(given.folder, plan, given.name)
    if devices and not given.table:
        _sweep_on_devices(given, devices)
    elif not given.table:
        job.run(log=print, share=share, verbose=1 if sys.stdout.isatty() else 2)
    if given.share is None:  # a process with one share of the runs leaves the table to its parent
        for row in job.table():
            print(json.dumps(row.to_dict()))
    return 0


def _device_list(text: str) -> list[str]:
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices or not all(d.isdigit() for d in devices) or len(set(devices)) < len(devices):
        raise GanlibError(f"--devices takes distinct GPU numbers such as 0,1 (not {text!r})")
    return devices


def _share(text: str | None) -> tuple[int, int]:
    if text is None:
        return 0, 1
    part, _, parts = text.partition("/")
    if not (part.isdigit() and parts.isdigit() and int(part) < int(parts)):
        raise GanlibError(f"--share takes K/N with 0 <= K < N, such as 0/2 (not {text!r})")
    return int(part), int(parts)


def _sweep_on_devices(given, devices: list[str]) -> None:
    """One process per GPU, each seeing only its own (CUDA_VISIBLE_DEVICES) and training its
    share of the runs: every N-th, so no two take the same run and a resumed sweep splits alike."""

    base = [sys.executable, "-m", "ganlib", "sweep", "--folder", str(given.folder), "--resume"]
    base += ["--name", given.name] if given.name else []
    workers = [
        subprocess.Popen(
            [*base, "--share", f"{k}/{len(devices)}"], env={**os.environ, "CUDA_VISIBLE_DEVICES": device}
        )
        for k, device in enumerate(devices)
    ]
    failed = [device for device, worker in zip(devices, workers) if worker.wait() != 0]
    if failed:
        raise GanlibError(f"the sweep's process on GPU {', '.join(failed)} failed (its output is above)")
