"""Picking the best checkpoint by eye, blind (issue 43): the ratings, the pair schedule, HYPE-
infinity and the demo's tally in the library; the Pick page through AppTest; the CLI."""

import numpy as np
import pytest
from conftest import ganlib_cli, open_page, tree_digest
from scipy import stats

from ganlib import GanlibError, evaluation, picks
from ganlib.runs.records import ChosenBy, PairPick, RealOrFake
from ganlib.runs.rundir import RunDir
from workbench.visitors import AnswerTally

EPOCHS = [1, 2, 4, 8, 16, 32, 64]  # demo-mnist's checkpoints
QUALITY = dict(zip(EPOCHS, range(7)))  # a known order: each checkpoint better than the one before


def _session(rater, seed: int, count: int) -> tuple[list[PairPick], int | None]:
    """``count`` picks made on the schedule by ``rater``; also how many it took to be confident."""
    rng = np.random.default_rng(seed)
    made, confident_at = [], None
    for n in range(count):
        ranking = picks.rank(EPOCHS, made, seed=n)
        if ranking.confident and confident_at is None:
            confident_at = n
        left, right = picks.next_pair(EPOCHS, made, rng, ranking)
        made.append(PairPick(0.0, "sim", left, right, rater(left, right, rng), 0))
    return made, confident_at


def _noisy_rater(noise: float):
    """Prefers the better checkpoint with the Bradley-Terry probability of a quality gap over
    ``noise``: neighbours in the order are told apart 88% of the time at 0.5."""

    def answer(left, right, rng):
        gap = QUALITY[left] - QUALITY[right]
        return left if rng.random() < 1 / (1 + np.exp(-gap / noise)) else right

    return answer


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_simulated_rater_following_a_quality_order_recovers_it_within_40_picks(seed):
    made, confident_at = _session(_noisy_rater(0.5), seed, 40)
    ranking = picks.rank(EPOCHS, made)
    tau = stats.kendalltau(
        [r.score for r in ranking.rated], [QUALITY[r.epoch] for r in ranking.rated]
    ).statistic
    assert tau >= 0.8, tau
    assert confident_at is not None and confident_at <= 40 and ranking.leader.epoch == 64
    assert ranking.confident and ranking.leader.low > ranking.rated[-1].high


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_rater_answering_at_random_gets_no_confident_winner(seed):
    made, _ = _session(lambda left, right, rng: [left, right, None][rng.integers(3)], seed, 40)
    ranking = picks.rank(EPOCHS, made)
    assert not ranking.confident and ranking.leader.top_share < picks.CONFIDENCE


def test_the_schedule_shows_unseen_checkpoints_first_and_never_one_beside_itself():
    rng = np.random.default_rng(0)
    made = []
    for _ in range(4):  # 7 checkpoints: every one shown within the first 4 pairs
        left, right = picks.next_pair(EPOCHS, made, rng)
        assert left != right and {left, right} <= set(EPOCHS)
        made.append(PairPick(0.0, "s", left, right, max(left, right), 0))
    assert {e for p in made for e in (p.left, p.right)} == set(EPOCHS)
    sides = [picks.next_pair(EPOCHS, made, np.random.default_rng(s))[0] for s in range(20)]
    assert len(set(sides)) == 2  # the same pair, its sides drawn at random


def test_a_few_picks_claim_nothing_and_ties_split_the_rating():
    made = [PairPick(0.0, "s", 64, 1, 64, 0)]
    ranking = picks.rank(EPOCHS, made)
    assert ranking.leader.epoch == 64 and not ranking.confident  # one pick, six checkpoints unseen
    same = picks.rank([1, 2], [PairPick(0.0, "s", 1, 2, None, 0)] * 10)
    assert abs(same.rated[0].score - same.rated[1].score) < 1e-6 and not same.confident
    with pytest.raises(GanlibError, match="two checkpoints"):
        picks.rank([1], [])


def test_real_against_real_scores_half_within_its_interval():
    # A rater who cannot tell: "samples" that are real images too, judged by the same noisy eye.
    rng = np.random.default_rng(3)
    answers = [RealOrFake(0.0, "s", 64, bool(i % 2), bool(rng.random() < 0.5), i) for i in range(400)]
    score = picks.hype(answers, 64)
    assert score.shown and score.low <= 0.5 <= score.high and score.high - score.low < 0.2
    assert abs(score.fooled - score.real_judged_real) < 0.15
    few = picks.hype(answers[:10], 64)
    assert not few.shown and picks.hype(answers, 32) is None


def test_picks_and_answers_are_stored_in_the_run_and_sessions_add_up(tmp_path, app_runs):
    run = RunDir(app_runs, "demo-mnist")
    picks.record_pick(run, 64, 32, 64, "alice", 7)
    picks.record_pick(run, 16, 64, None, "bob", 8)
    with run.picks_path.open("a") as f:
        f.write('{"time": 1.0, "session": "torn", "left": 6')  # a kill mid-line
    picks.record_answer(run, 64, real=False, judged_real=True, session="carol", index=5)
    assert [(p.session, p.preferred) for p in run.picks()] == [("alice", 64), ("bob", None)]
    assert run.real_or_fake()[0].judged_real is True
    with pytest.raises(GanlibError):
        picks.record_pick(run, 64, 3, 64, "mallory", 1)  # epoch 3 is not a checkpoint
    with pytest.raises(GanlibError):
        picks.record_pick(run, 64, 32, 8, "mallory", 1)  # not one of the two shown


def test_mark_as_best_by_picks_waits_for_confidence_and_no_evaluation_replaces_it(app_runs):
    run = RunDir(app_runs, "demo-mnist")
    with pytest.raises(GanlibError, match="95% confidence"):
        picks.mark_best_by_picks(run, picks.rank(EPOCHS, [PairPick(0.0, "s", 64, 1, 64, 0)]))
    clear = [PairPick(0.0, "s", 32, other, 32, 0) for other in EPOCHS if other != 32 for _ in range(4)]
    clear += [
        PairPick(0.0, "s", a, b, max(a, b), 0) for a, b in zip(EPOCHS[:-2], EPOCHS[1:-1]) for _ in range(2)
    ]
    ranking = picks.rank(EPOCHS, clear)
    assert ranking.confident and picks.mark_best_by_picks(run, ranking) == 32
    assert run.best().chosen_by == ChosenBy.PICKS and run.best().fid == evaluation.cached_results(run)[32].fid
    evaluation.record_best(run, list(evaluation.cached_results(run).values()))  # FID prefers 64
    assert run.best().epoch == 32


def test_the_demo_tally_caps_each_visitor_and_its_memory():
    tally = AnswerTally(per_visitor=5, visitors=3)
    counted = [tally.add("mallory", True) for _ in range(1000)]  # a forged flood from one visitor
    assert sum(counted) == 5 and tally.total() == (5, 1.0)
    for visitor in ("a", "b", "c"):
        tally.add(visitor, False)
    assert tally.total() == (3, 0.0)  # the oldest visitor forgotten past three


def test_the_cli_ranks_the_picks_beside_fid_and_says_when_there_are_none(app_runs):
    done = ganlib_cli("picks", "--run", str(app_runs / "demo-mnist"))
    assert done.returncode == 0 and "no picks yet" in done.stdout
    run = RunDir(app_runs, "demo-mnist")
    for other in (1, 2, 4, 8):
        picks.record_pick(run, 64, other, 64, "s", 0)
    done = ganlib_cli("picks", "--run", str(run.path))
    assert done.returncode == 0 and "FID rank" in done.stdout and "4 picks; epoch 64 leads" in done.stdout
    assert "Kendall's tau" in done.stdout


def test_the_pick_page_records_blind_picks_and_real_or_fake_answers(app_runs):
    at = open_page("pages/pick.py")
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    assert captions == ["left", "right"]  # no epoch named
    for button in ("Left is better", "The same", "Right is better"):
        next(b for b in at.button if b.label == button).click().run()
    lines = RunDir(app_runs, "demo-mnist").picks()
    assert len(lines) == 3 and [p.preferred is None for p in lines] == [False, True, False]
    assert lines[0].preferred == lines[0].left and lines[2].preferred == lines[2].right
    next(b for b in at.button if b.label == "Real or fake").click().run()
    for _ in range(3):
        next(b for b in at.button if b.label == "Fake").click().run()
    assert not at.exception and len(RunDir(app_runs, "demo-mnist").real_or_fake()) == 3
    # Evaluate sets the people's rank beside the FID's, with their agreement.
    at = open_page("pages/evaluate.py")
    assert "People's picks beside FID" in [s.value for s in at.subheader]
    table = next(frame.value for frame in at.dataframe if "people's rank" in frame.value.columns)
    assert list(table["FID rank"]) and set(table["epoch"]) == set(EPOCHS)
    assert any("Agreement with FID" in c.value for c in at.caption)


def test_the_demo_link_plays_both_games_and_writes_no_byte(app_runs, monkeypatch):
    monkeypatch.setenv("GANLIB_DEMO", "1")
    before = tree_digest(app_runs)
    at = open_page("pages/pick.py")
    for _ in range(12):
        next(b for b in at.button if b.label == "Left is better").click().run()
    at.toggle[0].set_value(True).run()
    for button in [b for b in at.button if b.label.startswith("Mark epoch")]:
        button._value = True  # a forged click on the disabled button
        at.run()
    next(b for b in at.button if b.label == "Real or fake").click().run()
    for _ in range(25):  # past the round: the rest cannot be counted
        real = [b for b in at.button if b.label == "Real"]
        if not real:
            break
        real[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("You were fooled") for s in at.success)
    assert any(c.value.startswith("Every visitor so far") for c in at.caption)
    assert tree_digest(app_runs) == before
