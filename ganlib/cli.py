"""``python -m ganlib``: train, sample, evaluate, export, list runs and manage datasets without the app."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

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
from ganlib.data.catalog import BUILTIN
from ganlib.export import Format
from ganlib.runs.rundir import RunDir, default_runs_dir, list_runs
from ganlib.training import model_io
from ganlib.training.distribute import PRECISIONS, STRATEGIES


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line, exit 2, as for every user error
        self.exit(2, f"{self.prog}: error: {message}\n")


class _SettingsHelp(argparse.HelpFormatter):
    """Help for the setting flags, written from ``config.SETTINGS`` when help is shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        setting = SETTINGS.get(action.dest)
        if setting is None:
            return super()._get_help_string(action)
        default = getattr(PRESETS[DEFAULT_PRESET], action.dest)
        text = f"{setting.input_text()} (default: {'off' if default is False else default})"
        return text.replace("%", "%%")


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

    train = commands.add_parser(
        "train", help="train a GAN into a run directory", formatter_class=_SettingsHelp
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
    _add_runs_dir(train)
    _add_settings(train)
    train.set_defaults(handler=cmd_train)

    sweep = commands.add_parser(
        "sweep",
        help="settings x seeds, one run after another into a sweep folder; best FID per setting (mean +- std)",
        formatter_class=_SettingsHelp,
    )
    sweep.add_argument(
        "--folder", required=True, type=Path, help="the sweep's folder (a runs directory of its own)"
    )
    sweep.add_argument(
        "--name",
        default="",
        help="a named sweep among --folder's other runs (as the app's Train page makes them): "
        "its runs are NAME.<settings>.seed-N, its plan sweeps/NAME.json",
    )
    sweep.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=V1,V2",
        help="a swept setting and its values (repeat for a grid); the other settings: the flags below",
    )
    sweep.add_argument("--seeds", type=int, default=3, help="runs per point, seeds 0..N-1 (default 3)")
    sweep.add_argument(
        "--random", type=int, default=None, metavar="N", help="a random draw of N points of the grid"
    )
    sweep.add_argument(
        "--samples", type=int, default=None, help="samples per checkpoint evaluation (default: 5,000)"
    )
    sweep.add_argument(
        "--resume", action="store_true", help="go on with the sweep in --folder (after a kill)"
    )
    sweep.add_argument("--table", action="store_true", help="print the sweep's table; train nothing")
    sweep.add_argument(
        "--devices",
        default=None,
        metavar="0,1,...",
        help="GPUs to train on at once, one run per GPU (a process each, CUDA_VISIBLE_DEVICES)",
    )
    sweep.add_argument(
        "--share",
        default=None,
        metavar="K/N",
        help="train every N-th run from the K-th (0-based): one of N processes (--devices starts them)",
    )
    _add_settings(sweep)
    sweep.set_defaults(handler=cmd_sweep)

    sample = commands.add_parser("sample", help="write a PNG grid of samples from a trained run")
    sample.add_argument("--run", required=True, help="DIR/NAME of the run")
    sample.add_argument("--epoch", type=int, default=None, help="checkpoint epoch (default: newest)")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, type=Path, help="output PNG path")
    sample.set_defaults(handler=cmd_sample)

    evaluate = commands.add_parser("evaluate", help="per-epoch FID, KID, precision/recall, D accuracy")
    evaluate.add_argument("--run", required=True, help="DIR/NAME of the run")
    evaluate.add_argument("--epochs", default="all", help="all, or a comma list such as 1,5,10")
    evaluate.add_argument(
        "--samples",
        type=int,
        default=None,
        help="per epoch (default: 10,000 images; a 2-D toy: 2,500 points)",
    )
    evaluate.add_argument(
        "--evaluator", default=None, help="dataset name or inception:PATH (default: the run's)"
    )
    evaluate.add_argument(
        "--per-class",
        action="store_true",
        help="add each class's FID and label accuracy (conditional models)",
    )
    evaluate.set_defaults(handler=cmd_evaluate)

    neighbours = commands.add_parser(
        "neighbours", help="a PNG of samples, each beside its nearest training images (memorisation)"
    )
    neighbours.add_argument("--run", required=True, help="DIR/NAME of the run")
    neighbours.add_argument("--epoch", type=int, default=None, help="default: the newest")
    neighbours.add_argument("--out", required=True, help="the PNG to write")
    neighbours.add_argument("--n", type=int, default=8, help="samples (rows), 1-64")
    neighbours.add_argument("--k", type=int, default=4, help="neighbours per sample, 1-16")
    neighbours.add_argument("--seed", type=int, default=0)
    neighbours.set_defaults(handler=cmd_neighbours)

    directions = commands.add_parser(
        "directions",
        help="latent directions of a checkpoint for the Gallery's Steer sliders (principal and attribute)",
    )
    directions.add_argument("--run", required=True, help="DIR/NAME of the run")
    directions.add_argument(
        "--epoch", default=None, help="an epoch, a comma list or all (default: the newest)"
    )
    directions.add_argument("--samples", type=int, default=4000, help="generated samples to fit them on")
    directions.add_argument("--seed", type=int, default=0)
    directions.set_defaults(handler=cmd_directions)

    export = commands.add_parser(
        "export", help="a checkpoint's generator as a SavedModel, a TFLite file or a NumPy-only folder"
    )
    export.add_argument("--run", required=True, help="DIR/NAME of the run")
    export.add_argument("--epoch", type=int, default=None, help="checkpoint epoch (default: newest)")
    export.add_argument("--format", required=True, choices=[f.value for f in Format])
    export.add_argument("--out", required=True, type=Path, help="a new path (a folder; a file for tflite)")
    export.set_defaults(handler=cmd_export)

    fid = commands.add_parser("fid", help="compare two image sources")
    fid.add_argument("--real", required=True, help="DATASET:SPLIT, folder:PATH or run:DIR/NAME[@EPOCH]")
    fid.add_argument("--fake", required=True, help="same forms as --real")
    fid.add_argument("--samples", type=int, default=10_000)
    fid.add_argument("--evaluator", default=None, help="dataset name or inception:PATH (default: --real's)")
    fid.set_defaults(handler=cmd_fid)

    train_evaluator = commands.add_parser("train-evaluator", help="train the FID feature classifier")
    train_evaluator.add_argument("--dataset", required=True)
    train_evaluator.add_argument("--epochs", type=int, default=6)
    train_evaluator.add_argument("--image-size", type=int, default=None)
    train_evaluator.set_defaults(handler=cmd_train_evaluator)

    picked = commands.add_parser(
        "picks", help="the people's blind A/B ranking of a run's checkpoints, beside FID"
    )
    picked.add_argument("--run", required=True)
    picked.set_defaults(handler=cmd_picks)

    runs = commands.add_parser("runs", help="list the runs in a runs directory")
    _add_runs_dir(runs)
    runs.set_defaults(handler=cmd_runs)

    data = commands.add_parser(
        "data", help="list datasets; `data fetch` installs missing ones (npm, Keras's download, Debian)"
    )
    data.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    data.add_argument("--dataset", choices=list(BUILTIN), default=None)
    data.set_defaults(handler=cmd_data)
    return parser


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """--preset and a flag per TrainConfig setting."""
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help="start from a named configuration (quick-start, the default: the app's Train form; "
        "tutorial: the TF DCGAN tutorial as written; toy, the default for a toy:NAME dataset: "
        "the 2-D toys' MLPs); the flags below override it",
    )
    for name in SETTINGS:
        flag = "--" + name.replace("_", "-")
        kind = setting_type(name)
        # None = not given: the preset's (or the dataclass's) value stands. The help text comes
        # from SETTINGS when it is shown (_SettingsHelp), so other commands never import Keras.
        if kind is bool:  # --spectral-norm / --no-spectral-norm: a preset's True can be turned off
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help="(setting)")
        else:
            parser.add_argument(flag, type=kind, default=None, help="(setting)")


def _configured(args) -> TrainConfig:
    """The preset (on the dataset asked for: ``starting_point``) with the setting flags given."""
    given = {
        name: setting.from_input(getattr(args, name))
        for name, setting in SETTINGS.items()
        if getattr(args, name) is not None
    }
    dataset = given.get("dataset")
    return starting_point(args.preset or default_preset(dataset), dataset).replace(**given)


def _add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="runs directory (default: $GANLIB_RUNS_DIR or checkpoints/)",
    )


def cmd_train(args) -> int:
    from ganlib.training.train import train

    config = _configured(args)
    from ganlib.training import distribute

    strategy = distribute.make_strategy(args.strategy)  # first: a multi-worker strategy sets up TensorFlow
    chief = distribute.is_chief(strategy)
    run = RunDir(args.runs_dir or default_runs_dir(), args.run)
    if chief and run.exists() and not args.resume:
        raise GanlibError(f"run {run.name!r} already exists in {run.runs_dir}; pass --resume to continue it")
    if strategy.num_replicas_in_sync > 1:
        role = "" if chief else " (a worker: the chief writes the run)"
        print(f"training on {strategy.num_replicas_in_sync} replicas{role}; --batch-size is the global batch")
    verbose = 1 if sys.stdout.isatty() else 2
    state = train(
        config,
        run,
        resume=args.resume,
        verbose=verbose,
        log=print,
        strategy=strategy,
        precision=args.precision,
    )
    if not chief:
        print(f"{run.name}: {state}; the chief wrote the run")
        return 0
    checkpoints = run.checkpoints()
    print(
        f"{run.name}: {state} at epoch {checkpoints[-1].epoch if checkpoints else 0}, run directory {run.path}"
    )
    return 0


def _images_only(run: RunDir, command: str) -> None:
    """Refuse, in a sentence, a command that draws images for a 2-D toy run."""
    from ganlib.data import toys

    if toys.is_toy(run.config().dataset):
        raise GanlibError(
            f"{command} works on image runs; {run.name} is a 2-D toy ({run.config().dataset}): its points "
            "are drawn on each checkpoint's plane (epochs/NNNN/grid.png), and `evaluate` counts its modes"
        )


def cmd_sample(args) -> int:
    from ganlib.sampling import images, latents

    if not 1 <= args.n <= 1024:
        raise GanlibError("--n must be between 1 and 1024")
    run = RunDir.from_path(args.run)
    _images_only(run, "sample")
    gan, checkpoint = model_io.load_models(run, args.epoch)
    samples = gan.sample(latents.fixed_latents(gan.latent_dim, args.seed, args.n))
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
    _print_table(columns, rows)
    return 0


def _print_table(columns: list[str], rows: list[dict]) -> None:
    table = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    for line in [columns, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def cmd_picks(args) -> int:
    from ganlib import evaluation, picks

    run = RunDir.from_path(args.run)
    run.meta()  # "no run at ..." for a folder that is not one
    epochs = run.epochs()
    made = run.picks()
    if not made:
        print(f"{run.name}: no picks yet (the app's Pick page records them)")
        return 0
    ranking = picks.rank(epochs, made)
    fids = {e: r.fid for e, r in evaluation.cached_results(run).items()}
    fid_order = sorted(fids, key=fids.get)
    rows = [
        {"rank": i + 1, "epoch": r.epoch, "score": f"{r.score:+.2f}", "95% interval": f"{r.low:+.2f} to {r.high:+.2f}",
         "on top": f"{r.top_share:.0%}", "picks": r.comparisons, "FID": fids.get(r.epoch) and f"{fids[r.epoch]:.3f}",
         "FID rank": fid_order.index(r.epoch) + 1 if r.epoch in fids else None}
        for i, r in enumerate(ranking.rated)
    ]  # fmt: skip
    _print_table(list(rows[0]), rows)
    leader = ranking.leader
    verdict = "ahead with 95% confidence" if ranking.confident else "not yet ahead with 95% confidence"
    print(
        f"{ranking.picks} picks; epoch {leader.epoch} leads, {verdict} (on top in {leader.top_share:.0%} of the bootstrap fits)"
    )
    found = picks.agreement(ranking, fids)
    if found.tau is not None:
        print(f"agreement with FID: Kendall's tau {found.tau:+.2f}")
        for better, fid_better, sure in found.disagreements:
            print(
                f"  people prefer epoch {better} to epoch {fid_better}; FID the reverse"
                + (" (intervals apart)" if sure else "")
            )
    return 0


def cmd_data(args) -> int:
    from ganlib.data import catalog, install

    names = [args.dataset] if args.dataset else list(catalog.BUILTIN)
    if args.action == "fetch":
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


def _parse_epochs(text: str, available: list[int]) -> list[int]:
    if text == "all":
        return available
    try:
        wanted = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GanlibError(f"--epochs takes 'all' or a comma list of numbers, got {text!r}") from None
    missing = [e for e in wanted if e not in available]
    if missing:
        raise GanlibError(f"no checkpoint for epoch(s) {missing} (saved: {available})")
    return wanted


def _progress_bar(fraction: float, message: str) -> None:
    filled = int(fraction * 30)
    print(
        f"\r[{'#' * filled}{'.' * (30 - filled)}] {message}",
        end="\n" if fraction >= 1 else "",
        file=sys.stderr,
    )


def cmd_evaluate(args) -> int:
    from ganlib import evaluation

    run = RunDir.from_path(args.run)
    engine = evaluation.engine_for(run, args.samples, evaluator=args.evaluator)
    for epoch, problem in run.damaged().items():  # reported, and every other epoch evaluated
        print(json.dumps({"epoch": epoch, "damaged": problem}))
    epochs = _parse_epochs(args.epochs, run.epochs())
    evaluated = evaluation.evaluate_run(engine, epochs, _progress_bar)
    floor, results, best = evaluated.floor, evaluated.results, evaluated.best
    hidden = {"fingerprint"} | (set() if args.per_class else {"per_class"})
    for result in results:
        print(json.dumps({k: v for k, v in result.to_dict().items() if k not in hidden}))
    if isinstance(floor, evaluation.SetMetrics):
        real = {"fid": floor.fid, "kid": floor.kid, "precision": floor.precision, "recall": floor.recall}
    else:  # a 2-D toy's: the real test points' modes
        real = {k: v for k, v in floor.to_dict().items() if k != "histogram"}
    summary = {
        "summary": run.name,
        "metric": engine.metric_label,
        "samples": engine.samples,
        "real_data_floor": real,
        "best_epoch": best and best.epoch,
        "best_chosen_by": best and best.chosen_by,
    }
    print(json.dumps(summary))
    return 0


def cmd_neighbours(args) -> int:
    from ganlib import atomic, evaluation
    from ganlib.sampling import images

    if not 1 <= args.n <= 64 or not 1 <= args.k <= 16:
        raise GanlibError("--n must be between 1 and 64 and --k between 1 and 16")
    run = RunDir.from_path(args.run)
    _images_only(run, "neighbours")
    epoch = run.checkpoint(args.epoch).epoch
    samples, neighbours, distances = evaluation.nearest_training_images(run, epoch, args.n, args.k, args.seed)
    atomic.write_bytes(args.out, images.png_bytes(images.neighbour_sheet(samples, neighbours)))
    print(
        json.dumps(
            {"run": run.name, "epoch": epoch, "out": str(args.out), "distances": distances.round(3).tolist()}
        )
    )
    return 0


def cmd_directions(args) -> int:
    from ganlib import directions

    if not 100 <= args.samples <= 100_000:
        raise GanlibError("--samples must be between 100 and 100,000")
    run = RunDir.from_path(args.run)
    _images_only(run, "directions")
    epochs = [run.checkpoint().epoch] if args.epoch is None else _parse_epochs(args.epoch, run.epochs())
    for epoch in epochs:
        found = directions.find_and_save(run, epoch, args.samples, args.seed)
        for d in found.directions:
            row = {"epoch": epoch, "direction": d.name, "kind": d.kind}
            row["variance_share" if d.kind == directions.PRINCIPAL else "r2"] = round(d.explained, 4)
            if d.entanglement is not None:  # infinite: it moves other attributes only
                row["entanglement"] = round(d.entanglement, 3) if math.isfinite(d.entanglement) else "inf"
            print(json.dumps(row))
        print(f"saved {len(found.directions)} directions in {run.checkpoint(epoch).directions_path}")
    return 0


def cmd_sweep(args) -> int:
    from ganlib import sweep

    devices, share = _device_list(args.devices) if args.devices else None, _share(args.share)
    if args.resume or args.table:
        job = sweep.Sweep.open(args.folder, args.name)
    else:
        if not args.set:
            raise GanlibError("name at least one swept setting: --set SETTING=V1,V2")
        if not 1 <= args.seeds <= 100:
            raise GanlibError("--seeds must be between 1 and 100")
        plan = sweep.Plan(
            _configured(args),
            sweep.parse_grid(args.set),
            list(range(args.seeds)),
            args.samples or sweep.DEFAULT_SAMPLES,
            args.random,
        )
        job = sweep.Sweep.create(args.folder, plan, args.name)
    if devices and not args.table:
        _sweep_on_devices(args, devices)
    elif not args.table:
        job.run(log=print, share=share, verbose=1 if sys.stdout.isatty() else 2)
    if args.share is None:  # a process with one share of the runs leaves the table to its parent
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


def _sweep_on_devices(args, devices: list[str]) -> None:
    """One process per GPU, each seeing only its own (CUDA_VISIBLE_DEVICES) and training its
    share of the runs: every N-th, so no two take the same run and a resumed sweep splits alike."""
    import os
    import subprocess

    base = [sys.executable, "-m", "ganlib", "sweep", "--folder", str(args.folder), "--resume"]
    base += ["--name", args.name] if args.name else []
    workers = [
        subprocess.Popen(
            [*base, "--share", f"{k}/{len(devices)}"], env={**os.environ, "CUDA_VISIBLE_DEVICES": device}
        )
        for k, device in enumerate(devices)
    ]
    failed = [device for device, worker in zip(devices, workers) if worker.wait() != 0]
    if failed:
        raise GanlibError(f"the sweep's process on GPU {', '.join(failed)} failed (its output is above)")


def cmd_export(args) -> int:
    from ganlib import export

    run = RunDir.from_path(args.run)
    _images_only(run, "export")
    out = export.export(run, args.epoch, args.format, args.out)
    print(f"exported {run.name} epoch {run.checkpoint(args.epoch).epoch} as {args.format} to {out}")
    return 0


def cmd_fid(args) -> int:
    from ganlib import evaluation

    if not 100 <= args.samples <= evaluation.MAX_SAMPLES:
        raise GanlibError(f"--samples must be between 100 and {evaluation.MAX_SAMPLES}")
    result = evaluation.compare_sources(args.real, args.fake, args.samples, args.evaluator)
    if result["samples"] < args.samples:
        print(f"ganlib: only {result['samples']} images to compare ({args.samples} asked)", file=sys.stderr)
    print(json.dumps(result))
    print(
        f"FID ({result['evaluator']}): {result['fid']:.4f}  KID: {result['kid']:.6f}  "
        f"precision: {result['precision']:.3f}  recall: {result['recall']:.3f}  samples: {result['samples']}"
    )
    return 0


def cmd_train_evaluator(args) -> int:
    from ganlib.measure.features import train_evaluator

    train_evaluator(args.dataset, epochs=args.epochs, image_size=args.image_size)
    return 0
