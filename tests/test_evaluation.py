"""The evaluation engine on real data, shipped evaluators and a real (tiny) run."""

import json
import shutil

import numpy as np
import pytest
from conftest import ganlib_cli

from ganlib import evaluation
from ganlib.data import datasets
from ganlib.measure import metrics, reference
from ganlib.measure.features import EvaluatorError, load_evaluator
from ganlib.runs.rundir import Best, ChosenBy, RunDir
from ganlib.sampling import images
from ganlib.training import gan as gan_lib
from ganlib.training import model_io


@pytest.mark.slow
@pytest.mark.parametrize("dataset, minimum", [("mnist", 0.99), ("fashion_mnist", 0.90)])
def test_shipped_classifiers_reach_the_stated_accuracy(dataset, minimum):
    evaluator = load_evaluator(dataset)
    test = datasets.load_dataset(dataset, "test")
    features, probabilities = evaluator(test.images)
    accuracy = (probabilities.argmax(1) == test.labels).mean()
    assert accuracy >= minimum, accuracy
    assert features.shape == (10_000, 128)
    weights = reference.cached_evaluator(dataset)  # the same files the engine uses
    assert weights.label.endswith("-classifier features")


@pytest.mark.slow
def test_fid_separates_real_from_noise():
    evaluator = reference.cached_evaluator("mnist")
    test = evaluator(reference.real_images("mnist", "test", 2000))
    train = evaluator(reference.real_images("mnist", "train", 2000))
    noise = evaluator(np.random.default_rng(0).integers(0, 256, (2000, 28, 28, 1), dtype=np.uint8))
    real_vs_real = evaluation.compare(test, train)
    real_vs_noise = evaluation.compare(test, noise)
    assert real_vs_real.fid < 5 and real_vs_noise.fid > 50 * real_vs_real.fid
    assert abs(real_vs_real.kid) < 3 * real_vs_real.kid_std + 1e-3
    assert real_vs_real.precision > 0.6 and real_vs_real.recall > 0.6
    assert real_vs_noise.precision < 0.05
    assert real_vs_real.coverage.classes_covered == 10


@pytest.mark.slow
def test_second_evaluation_computes_nothing(trained_run, monkeypatch, tmp_path):
    import shutil

    run = RunDir(tmp_path, "cached")
    shutil.copytree(trained_run.path, run.path)
    calls = []
    real_generate = gan_lib.generate
    monkeypatch.setattr(gan_lib, "generate", lambda *a, **k: calls.append(1) or real_generate(*a, **k))
    engine = evaluation.Engine(run, samples=300)
    progress = []
    first = engine.evaluate(progress=lambda fraction, message: progress.append(fraction))
    assert [r.epoch for r in first] == [1, 2, 3] and calls and progress[-1] == 1.0
    for result in first:
        assert np.isfinite(
            [result.fid, result.kid, result.precision, result.recall, result.inception_score]
        ).all()
        assert 0 <= result.d_acc_real <= 1 and 0 <= result.d_acc_fake <= 1
        assert result.evaluator == "MNIST-classifier features" and result.coverage.classes == 10
    calls.clear()
    second = evaluation.Engine(run, samples=300).evaluate()
    assert calls == [] and second == first
    # A copied checkpoint keeps its cache (the key is the weights' content, not the file's time)...
    weights = run.checkpoint(2).generator_path
    weights.write_bytes(weights.read_bytes())
    evaluation.Engine(run, samples=300).evaluate()
    assert calls == []
    # ...and re-saved, different weights are evaluated again, the other epochs still cached.
    gan, _ = model_io.load_models(run, 2)
    gan.generator.set_weights([w * 1.01 for w in gan.generator.get_weights()])
    gan.generator.save_weights(weights)
    evaluation.Engine(run, samples=300).evaluate()
    assert len(calls) == 2  # the FID sample and the D-accuracy sample of epoch 2 only
    # A cached entry that is not a result (hand-edited, another version) is computed again.
    cache_path = run.eval_dir / "epoch-0001.json"
    cache_path.write_text(json.dumps({key: {"fid": "broken"} for key in json.loads(cache_path.read_text())}))
    assert engine.cached(1) is None
    calls.clear()
    assert evaluation.Engine(run, samples=300).evaluate([1])[0].epoch == 1 and len(calls) == 2


def test_best_epoch_is_lowest_fid_at_the_largest_count_unless_a_person_chose(trained_run, tmp_path):
    import shutil

    run = RunDir(tmp_path, "best")
    shutil.copytree(trained_run.path, run.path)
    coverage = evaluation.Coverage([1] * 10, 1.0, 10, 10)
    metrics = dict(kid_std=0.0, precision=0.5, recall=0.5, inception_score=5.0, inception_score_std=0.1)

    def results(samples, fids_and_kids):
        return [
            evaluation.EpochResult(
                fid=fid,
                kid=kid,
                **metrics,
                coverage=coverage,
                epoch=epoch,
                step=epoch * 3,
                samples=samples,
                evaluator="test",
                d_acc_real=0.5,
                d_acc_fake=0.5,
            )  # fmt: skip
            for epoch, (fid, kid) in enumerate(fids_and_kids, start=1)
        ]

    best = evaluation.record_best(run, results(1000, [(5.0, 0.2), (3.0, 0.1), (3.0, 0.05)]))
    assert best.epoch == 3 and best.samples == 1000  # tie on FID: lower KID wins
    # A smaller pass (FID is biased by sample count) never replaces a larger one's choice...
    assert evaluation.record_best(run, results(100, [(1.0, 0.1), (9.0, 0.1), (9.0, 0.1)])).epoch == 3
    # ...a pass of the same or a larger count does.
    assert evaluation.record_best(run, results(1000, [(5.0, 0.1), (2.0, 0.1), (3.0, 0.1)])).epoch == 2
    run.set_best(Best(1, ChosenBy.PERSON))
    assert evaluation.record_best(run, results(5000, [(9.0, 0.1), (1.0, 0.1), (9.0, 0.1)])).epoch == 1


@pytest.mark.slow
def test_evaluate_cli_prints_epochs_and_summary(trained_run, tmp_path):
    # A copy: evaluating writes scores into the run, and other tests read the shared one unevaluated.
    run_path = shutil.copytree(trained_run.path, tmp_path / trained_run.name)
    done = ganlib_cli("evaluate", "--run", run_path, "--samples", 300, "--epochs", "1,3")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["epoch"] for line in lines[:-1]] == [1, 3]
    summary = lines[-1]
    assert summary["metric"] == "FID (MNIST-classifier features)" and summary["best_epoch"] in (1, 3)
    assert summary["real_data_floor"]["fid"] < lines[0]["fid"]
    bad = ganlib_cli("evaluate", "--run", run_path, "--epochs", "7", check=False)
    assert bad.returncode == 2 and "no checkpoint for epoch(s) [7]" in bad.stderr


@pytest.mark.slow
def test_fid_cli_compares_two_sources(trained_run):
    done = ganlib_cli("fid", "--real", "mnist:test", "--fake", "mnist:train", "--samples", 1000)
    floor = json.loads(done.stdout.splitlines()[0])
    assert floor["evaluator"] == "MNIST-classifier features" and floor["fid"] < 5
    fake = ganlib_cli("fid", "--real", "mnist:test", "--fake", f"run:{trained_run.path}@1", "--samples", 1000)
    assert json.loads(fake.stdout.splitlines()[0])["fid"] > floor["fid"]


def test_missing_evaluators_are_named_not_substituted(tmp_path):
    with pytest.raises(EvaluatorError, match="never downloaded"):
        load_evaluator(f"inception:{tmp_path / 'inception.h5'}")
    with pytest.raises(EvaluatorError, match="train-evaluator --dataset folder:"):
        load_evaluator(f"folder:{tmp_path}")


@pytest.mark.slow
def test_a_folder_of_samples_is_compared_whole_and_a_short_count_is_said(tmp_path):
    from PIL import Image

    digits = datasets.load_dataset("mnist", "test").images[:30]
    for i, digit in enumerate(digits):
        Image.fromarray(digit[..., 0]).save(tmp_path / f"{i:02d}.png")
    done = ganlib_cli(
        "fid",
        "--real",
        "mnist:test",
        "--fake",
        f"folder:{tmp_path}",
        "--samples",
        100,
        "--evaluator",
        "mnist",
    )
    assert json.loads(done.stdout.splitlines()[0])["samples"] == 30  # not the 90% "train" split
    assert "only 30 images to compare (100 asked)" in done.stderr


@pytest.mark.slow  # evaluates a checkpoint at 1,000 samples: the evaluator's first load
def test_a_damaged_cache_file_is_recomputed_with_a_warning_not_a_crash(trained_run, tmp_path, caplog):
    import logging
    import shutil

    run = RunDir(tmp_path, "bad-cache")
    shutil.copytree(trained_run.path, run.path)
    engine = evaluation.Engine(run, samples=100)
    engine.evaluate([1, 2])
    (run.eval_dir / "epoch-0001.json").write_text('{"mnist|n=100|v=1": {"fid": 1.0, "ki')  # cut off
    (run.eval_dir / "epoch-0002.json").write_text("[1, 2, 3]")
    (run.eval_dir / "floor.json").write_bytes(b"\x00\xff garbage")
    with caplog.at_level(logging.WARNING, logger="ganlib.evaluation"):
        assert not set(evaluation.cached_results(run)) & {1, 2}  # damaged: not results
        results = evaluation.Engine(run, samples=100).evaluate([1, 2])
        evaluation.Engine(run, samples=100).floor()
    assert [r.epoch for r in results] == [1, 2]
    assert sum("ignoring" in m for m in caplog.messages) >= 3
    assert evaluation.Engine(run, samples=100).cached(1) is not None  # rewritten whole


def test_a_large_references_features_are_kept_on_disk_read_back_exactly_and_recomputed_when_damaged(
    tmp_path, monkeypatch, caplog
):
    import logging

    kept_dir = tmp_path / "features"
    monkeypatch.setattr(reference, "features_dir", lambda: kept_dir)
    monkeypatch.setattr(reference, "KEPT_FROM_SAMPLES", 1000)  # (10,000 in use) a tenth of the work
    reference.real_features.cache_clear()
    computed = reference.real_features("mnist", "test", 1000, "mnist")
    (kept,) = kept_dir.glob("mnist-test-1000-*.npz")
    reference.real_features("mnist", "test", 999, "mnist")  # smaller: computed, not kept
    assert list(kept_dir.iterdir()) == [kept]

    # A new process (here: an empty in-process cache) reads the file; the evaluator is not run.
    reference.real_features.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(reference, "cached_evaluator", lambda name: pytest.fail("computed again"))
        read = reference.real_features("mnist", "test", 1000, "mnist")
    assert all(np.array_equal(a, b) and b.dtype == np.float64 for a, b in zip(computed, read))

    # Other evaluator weights (retrained, say) never read the old features: another file.
    other_weights = tmp_path / "retrained.weights.h5"
    other_weights.write_bytes(reference.weights_path("mnist").read_bytes() + b"\0")
    reference.real_features.cache_clear()
    with monkeypatch.context() as m:
        m.setattr(reference, "weights_path", lambda name: other_weights)
        reference.real_features("mnist", "test", 1000, "mnist")
    assert len(list(kept_dir.iterdir())) == 2

    # A damaged file is computed again with a warning and rewritten whole.
    kept.write_bytes(b"PK\x03\x04 cut off")
    reference.real_features.cache_clear()
    with caplog.at_level(logging.WARNING, logger="ganlib.measure.reference"):
        again = reference.real_features("mnist", "test", 1000, "mnist")
    assert any("damaged features file" in m for m in caplog.messages)
    assert all(np.array_equal(a, b) for a, b in zip(computed, again))
    with np.load(kept, allow_pickle=False) as stored:
        assert stored["features"].shape == (1000, 128)

    # Where nothing can be written (a read-only host, a full disk), they are only not kept.
    shutil.rmtree(kept_dir)
    kept_dir.write_text("a file where the folder would be")
    reference.real_features.cache_clear()
    assert np.array_equal(reference.real_features("mnist", "test", 1000, "mnist")[0], computed[0])
    reference.real_features.cache_clear()


def test_per_class_figures_single_out_the_class_a_generator_gets_wrong():
    # "Samples" of a generator that draws every digit well except 3, where it draws 5s.
    evaluator = reference.cached_evaluator("mnist")
    train = datasets.load_dataset("mnist", "train")
    asked = np.repeat(np.arange(10), 300)
    drawn = np.where(asked == 3, 5, asked)
    fake = train.images[np.concatenate([np.flatnonzero(train.labels == c)[:300] for c in drawn[::300]])]
    real_images = reference.real_images("mnist", "test", 5000)
    real_labels = reference.real_labels("mnist", "test", 5000)
    real_f, _ = evaluator(real_images)
    fake_f, fake_p = evaluator(fake)
    rows = {row["label"]: row for row in metrics.per_class(real_f, real_labels, fake_f, fake_p, asked)}
    assert rows[3]["label_accuracy"] < 0.05 and all(rows[c]["label_accuracy"] > 0.95 for c in rows if c != 3)
    assert rows[3]["fid"] > 10 * max(rows[c]["fid"] for c in rows if c != 3)


@pytest.mark.slow
def test_the_copy_share_rises_when_the_samples_are_training_images():
    evaluator = reference.cached_evaluator("mnist")
    train_f = reference.real_features("mnist", "train", 10**9, "mnist")[0]
    held_out = evaluator(datasets.load_dataset("mnist", "test").images[:2000])[0]
    fresh = evaluator(datasets.load_dataset("mnist", "test").images[2000:4000])[0]
    copies = evaluator(datasets.load_dataset("mnist", "train").images[:2000])[0]
    threshold = metrics.copy_threshold(train_f, held_out)
    assert metrics.copy_share(fresh, train_f, threshold) < 0.2  # like held-out images: about 0.1
    assert metrics.copy_share(copies, train_f, threshold) > 0.95


@pytest.mark.slow
def test_evaluate_per_class_and_neighbours_on_the_command_line(runs_dir, tmp_path):
    from conftest import tiny_config

    from ganlib.training.train import train

    run = RunDir(runs_dir, "conditional")
    train(tiny_config(model="cdcgan", epochs=1), run)
    lines = [
        json.loads(x)
        for x in ganlib_cli(
            "evaluate", "--run", run.path, "--samples", 200, "--per-class"
        ).stdout.splitlines()
    ]
    (result,) = [line for line in lines if "per_class" in line]
    assert [row["label"] for row in result["per_class"]] == list(range(10))
    assert all(row["samples"] == 20 and 0 <= row["label_accuracy"] <= 1 for row in result["per_class"])
    assert 0 <= result["copy_share"] <= 1
    plain = json.loads(ganlib_cli("evaluate", "--run", run.path, "--samples", 200).stdout.splitlines()[0])
    assert "per_class" not in plain
    out = tmp_path / "neighbours.png"
    printed = json.loads(ganlib_cli("neighbours", "--run", run.path, "--out", out, "--n", 3, "--k", 4).stdout)
    assert len(printed["distances"]) == 3 and all(len(row) == 4 for row in printed["distances"])
    sheet = images.read_png(str(out))
    assert sheet.shape[:2] == (3 * 30 + 2, 5 * 30 + 2)  # a row per sample: it and its 4 neighbours


def _plain_precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al.'s definition written straight from full distance matrices."""
    from scipy.spatial.distance import cdist

    radii_real = np.sort(cdist(real, real, "sqeuclidean"), axis=1)[:, k]
    radii_fake = np.sort(cdist(fake, fake, "sqeuclidean"), axis=1)[:, k]
    cross = cdist(fake, real, "sqeuclidean")
    return (cross <= radii_real[None, :]).any(1).mean(), (cross <= radii_fake[:, None]).any(0).mean()


def test_the_fast_neighbour_metrics_equal_their_plain_definitions():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((1500, 16)).astype(np.float32)
    fake = (rng.standard_normal((1200, 16)) * 1.3 + 0.2).astype(np.float32)
    train = rng.standard_normal((4000, 16)).astype(np.float32)
    precision, recall = metrics.precision_recall(real, fake, chunk=500)
    assert (precision, recall) == pytest.approx(_plain_precision_recall(real, fake), abs=2 / 1200)
    kept = metrics.precision_recall(real, fake, real_radii=metrics.kth_neighbour_radii(real))
    assert kept == (precision, recall)
    # The nearest training point: the argmin path (k = 1) and the partition path (k = 3) agree
    # with a plain sort of the whole distance matrix.
    from scipy.spatial.distance import cdist

    plain = np.sort(cdist(fake, train), axis=1)
    for k in (1, 3):
        distances, indices = metrics.nearest(fake, train, k=k, chunk=300)
        np.testing.assert_allclose(distances, plain[:, :k], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(
            np.linalg.norm(fake[:, None] - train[indices], axis=2), distances, rtol=1e-4
        )
    threshold = metrics.copy_threshold(train, real)
    assert threshold == pytest.approx(np.quantile(np.sort(cdist(real, train), axis=1)[:, 0], 0.1), rel=1e-4)
    assert metrics.copy_share(fake, train, threshold) == pytest.approx(
        (plain[:, 0] < threshold).mean(), abs=2 / 1200
    )


@pytest.mark.slow
def test_a_shipped_checkpoint_evaluates_to_the_figures_cached_when_it_was_shipped(tmp_path):
    # The shipped cache was computed by the engine before issue 44 made it faster: every figure
    # must come out the same (precision, recall and the copy share to a sample or two of 10,000:
    # a distance computed in another order may round across a ball's edge).
    shutil.copytree("checkpoints/demo-mnist", tmp_path / "demo-mnist")
    run = RunDir(tmp_path, "demo-mnist")
    epoch = run.checkpoints()[-1].epoch
    cache = run.eval_dir / f"epoch-{epoch:04d}.json"
    shipped = json.loads(cache.read_text())["mnist|n=10000|v=2"]
    cache.unlink()
    fresh = evaluation.Engine(run, samples=10_000).evaluate([epoch])[0].to_dict()
    for name in ("fid", "kid", "inception_score"):
        assert fresh[name] == pytest.approx(shipped[name], rel=1e-4), name
    for name in ("precision", "recall", "copy_share", "d_acc_real", "d_acc_fake"):
        assert fresh[name] == pytest.approx(shipped[name], abs=2e-4), name
    assert fresh["coverage"] == shipped["coverage"]
