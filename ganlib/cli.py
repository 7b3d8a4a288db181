"""``python -m ganlib``: train, sample, list runs and manage datasets without the app."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from ganlib import GanlibError
from ganlib.config import TrainConfig
from ganlib.rundir import RunDir, default_runs_dir, list_runs


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line, exit 2, as for every user error
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except GanlibError as exc:
        print(f"ganlib: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganlib: interrupted", file=sys.stderr)
        return 130


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="python -m ganlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    train = commands.add_parser("train", help="train a GAN into a run directory")
    train.add_argument("--run", required=True, help="run name (a folder in the runs directory)")
    train.add_argument("--resume", action="store_true", help="continue an existing run")
    _add_runs_dir(train)
    defaults = TrainConfig()
    for field in dataclasses.fields(TrainConfig):
        if field.name == "extra":
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = {"int": int, "float": float, "str": str}[str(field.type).split(" |")[0]]
        train.add_argument(
            flag, type=kind, default=getattr(defaults, field.name), help="(default: %(default)s)"
        )
    train.set_defaults(handler=cmd_train)

    sample = commands.add_parser("sample", help="write a PNG grid of samples from a trained run")
    sample.add_argument("--run", required=True, help="DIR/NAME of the run")
    sample.add_argument("--epoch", type=int, default=None, help="checkpoint epoch (default: newest)")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, type=Path, help="output PNG path")
    sample.set_defaults(handler=cmd_sample)

    runs = commands.add_parser("runs", help="list the runs in a runs directory")
    _add_runs_dir(runs)
    runs.set_defaults(handler=cmd_runs)

    data = commands.add_parser("data", help="list datasets; `data fetch` installs missing ones")
    data.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    data.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default=None)
    data.set_defaults(handler=cmd_data)
    return parser


def _add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="runs directory (default: $GANLIB_RUNS_DIR or checkpoints/)",
    )


def cmd_train(args) -> int:
    from ganlib.train import train

    names = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra"}
    config = TrainConfig(**{name: getattr(args, name) for name in names})
    run = RunDir(args.runs_dir or default_runs_dir(), args.run)
    if run.exists() and not args.resume:
        raise GanlibError(f"run {run.name!r} already exists in {run.runs_dir}; pass --resume to continue it")
    state = train(config, run, resume=args.resume, verbose=1 if sys.stdout.isatty() else 2, log=print)
    checkpoints = run.checkpoints()
    print(
        f"{run.name}: {state} at epoch {checkpoints[-1].epoch if checkpoints else 0}, run directory {run.path}"
    )
    return 0


def cmd_sample(args) -> int:
    from ganlib import gan as gan_lib
    from ganlib import images

    if not 1 <= args.n <= 1024:
        raise GanlibError("--n must be between 1 and 1024")
    run = RunDir.from_path(args.run)
    gan, checkpoint = gan_lib.load_models(run, args.epoch)
    latents = gan_lib.fixed_latents(gan.latent_dim, args.seed, args.n)
    samples = gan_lib.generate(gan.generator, latents)
    from ganlib import atomic

    atomic.write_bytes(args.out, images.png_bytes(images.grid(samples)))
    print(f"wrote {args.n} samples of {run.name} epoch {checkpoint.epoch} to {args.out}")
    return 0


def cmd_runs(args) -> int:
    rows = []
    for run in list_runs(args.runs_dir):
        try:
            rows.append(run.summary())
        except GanlibError as exc:
            rows.append({"name": run.name, "status": f"unreadable: {exc}"})
    if not rows:
        print(f"no runs in {args.runs_dir or default_runs_dir()}")
        return 0
    columns = ["name", "dataset", "model", "loss", "epochs", "status", "best_epoch", "best_fid"]
    table = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    for line in [columns, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
    return 0


def cmd_data(args) -> int:
    from ganlib import data

    names = [args.dataset] if args.dataset else list(data.BUILTIN)
    failed = []
    for name in names:
        if args.action == "fetch":
            try:
                data.fetch(name)
            except data.DatasetError as exc:
                print(f"{name}: {exc}", file=sys.stderr)
                failed.append(name)
        else:
            path, message = data.verify(name)
            print(json.dumps({"dataset": name, "path": str(path) if path else None, "status": message}))
    print(f"data directory: {data.data_dir()} (set GANLIB_DATA_DIR to change)")
    return 1 if failed else 0
