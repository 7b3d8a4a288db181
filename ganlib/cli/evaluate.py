"""``evaluate``, ``fid``, ``neighbours``, ``picks`` and ``train-evaluator``: the numbers of a
run's checkpoints, of two image sources, and of people's blind picks."""

from __future__ import annotations

import json
import sys

from ganlib import GanlibError, atomic, evaluation, picks
from ganlib.cli import args
from ganlib.measure.features import train_evaluator
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images


def register(commands) -> None:
    """The evaluation commands."""
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


def cmd_evaluate(given) -> int:

    run = RunDir.from_path(given.run)
    engine = evaluation.engine_for(run, given.samples, evaluator=given.evaluator)
    for epoch, problem in run.damaged().items():  # reported, and every other epoch evaluated
        print(json.dumps({"epoch": epoch, "damaged": problem}))
    epochs = args.parse_epochs(given.epochs, run.epochs())
    evaluated = evaluation.evaluate_run(engine, epochs, args.progress_bar)
    floor, results, best = evaluated.floor, evaluated.results, evaluated.best
    hidden = {"fingerprint"} | (set() if given.per_class else {"per_class"})
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


def cmd_neighbours(given) -> int:

    if not 1 <= given.n <= 64 or not 1 <= given.k <= 16:
        raise GanlibError("--n must be between 1 and 64 and --k between 1 and 16")
    run = RunDir.from_path(given.run)
    args.images_only(run, "neighbours")
    epoch = run.checkpoint(given.epoch).epoch
    samples, neighbours, distances = evaluation.nearest_training_images(
        run, epoch, given.n, given.k, given.seed
    )
    atomic.write_bytes(given.out, images.png_bytes(images.neighbour_sheet(samples, neighbours)))
    print(
        json.dumps(
            {"run": run.name, "epoch": epoch, "out": str(given.out), "distances": distances.round(3).tolist()}
        )
    )
    return 0


def cmd_fid(given) -> int:

    if not 100 <= given.samples <= evaluation.MAX_SAMPLES:
        raise GanlibError(f"--samples must be between 100 and {evaluation.MAX_SAMPLES}")
    result = evaluation.compare_sources(given.real, given.fake, given.samples, given.evaluator)
    if result["samples"] < given.samples:
        print(f"ganlib: only {result['samples']} images to compare ({given.samples} asked)", file=sys.stderr)
    print(json.dumps(result))
    print(
        f"FID ({result['evaluator']}): {result['fid']:.4f}  KID: {result['kid']:.6f}  "
        f"precision: {result['precision']:.3f}  recall: {result['recall']:.3f}  samples: {result['samples']}"
    )
    return 0


def cmd_train_evaluator(given) -> int:
    train_evaluator(given.dataset, epochs=given.epochs, image_size=given.image_size)
    return 0


def cmd_picks(given) -> int:

    run = RunDir.from_path(given.run)
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
    args.print_table(list(rows[0]), rows)
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
