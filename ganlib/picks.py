"""Picking the best checkpoint by eye, blind (issue 43).

Two protocols, both stored in the run and added up over every session and person:

- **Blind A/B**: two checkpoints' grids from the same latents, sides random, no names or figures;
  the person picks left, right or "the same" (``PairPick``). The picks are ranked with a
  Bradley-Terry model (``choix``), with a bootstrap over the picks for the intervals and for how
  sure the top is: the share of resampled fits in which the leader stays on top. At 95% the page
  says so and offers *Mark as best* (``ChosenBy.PICKS``). The next pair is chosen to be
  informative: unseen checkpoints first, then, by turns, the leader against its likeliest rival
  and the closest neighbours in the rating that were compared least.
- **Real or fake** (HYPE-infinity, Zhou et al. 2019): single images, half real test images and
  half samples of one checkpoint, shuffled; the score is the share of samples taken for real,
  with a bootstrap interval (50%: people cannot tell), beside the share of real images taken
  for real. Shown only past ``MIN_ANSWERS`` answers.

``agreement`` sets the human rank beside the FID's (Kendall's tau) and names the pairs where they
disagree. Nothing here imports TensorFlow or Streamlit.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ganlib import GanlibError, evaluation
from ganlib.measure import reference
from ganlib.runs.records import ChosenBy, PairPick, RealOrFake
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images, latents
from ganlib.training import model_io

CONFIDENCE = 0.95  # the leader stays on top in this share of bootstrap fits: "ahead with 95% confidence"
BOOTSTRAP = 200  # resampled fits for the intervals and the leader's confidence
ALPHA = 0.01  # choix's regularisation: a checkpoint never preferred still has a finite rating
MIN_COMPARISONS = 3  # picks each checkpoint takes part in before the top is called
REAL_POOL = 1000  # real test images a real-or-fake round draws from (when the dataset is at hand)
MIN_ANSWERS = 20  # real-or-fake answers on a checkpoint's samples before its score is shown


@dataclass(frozen=True)
class Rated:
    """One checkpoint's place in the people's rating."""

    epoch: int
    score: float  # Bradley-Terry log-strength (the checkpoints' mean is 0)
    low: float  # 95% bootstrap interval of the score
    high: float
    top_share: float  # the share of bootstrap fits in which it is the top checkpoint
    comparisons: int  # picks it took part in


@dataclass(frozen=True)
class Ranking:
    rated: list[Rated]  # best first
    picks: int

    @property
    def leader(self) -> Rated | None:
        return self.rated[0] if self.picks else None

    @property
    def confident(self) -> bool:
        """The top checkpoint is ahead with 95% confidence: on top in 95% of the bootstrap fits,
        once every checkpoint has been compared ``MIN_COMPARISONS`` times (the bootstrap cannot
        see what no pick has tested: a checkpoint never shown could be the best)."""
        return (
            self.leader is not None
            and self.leader.top_share >= CONFIDENCE
            and min(r.comparisons for r in self.rated) >= MIN_COMPARISONS
        )

    def position(self, epoch: int) -> int:
        return next(i for i, rated in enumerate(self.rated) if rated.epoch == epoch)


def _outcomes(epochs: list[int], picks: list[PairPick]) -> list[list[tuple[int, int]]]:
    """Each pick as (winner, loser) index pairs for choix; "the same" is one win each way."""
    index = {epoch: i for i, epoch in enumerate(epochs)}
    units = []
    for pick in picks:
        left, right = index[pick.left], index[pick.right]
        if pick.preferred is None:
            units.append([(left, right), (right, left)])
        else:
            winner = left if pick.preferred == pick.left else right
            units.append([(winner, right if winner == left else left)])
    return units


def _fit(count: int, units: list[list[tuple[int, int]]]) -> np.ndarray:
    """Bradley-Terry log-strengths of ``count`` checkpoints (index ``count`` is the prior's
    virtual checkpoint, see ``_prior``), mean 0 over the real ones."""
    # Here, not above: choix brings SciPy's optimisers, 64 MB more in the app's process
    # (measured); Evaluate imports this module but ranks only when a run has picks.
    import choix

    data = [pair for unit in units for pair in unit]
    try:  # the fast fit; a resample it cannot settle goes to the slower, sure optimiser
        scores = choix.ilsr_pairwise(count + 1, data, alpha=ALPHA, max_iter=300)
    except RuntimeError:
        scores = choix.opt_pairwise(count + 1, data, alpha=ALPHA)
    scores = scores[:count]
    return scores - scores.mean()


def _prior(count: int) -> list[list[tuple[int, int]]]:
    """A virtual checkpoint that ties once with each real one: all alike until picks say
    otherwise (the virtual player of Coulom's Whole-History Rating). It is resampled with the
    picks, so a handful of picks cannot claim certainty."""
    return [[(i, count), (count, i)] for i in range(count)]


def rank(epochs: list[int], picks: list[PairPick], bootstrap: int = BOOTSTRAP, seed: int = 0) -> Ranking:
    """The checkpoints ``epochs`` rated by ``picks``, best first, with bootstrap intervals."""
    if len(epochs) < 2:
        raise GanlibError("picking needs a run with two checkpoints or more")
    kept = [p for p in picks if p.left in epochs and p.right in epochs]  # not a checkpoint since removed
    units = _outcomes(epochs, kept) + _prior(len(epochs))
    scores = _fit(len(epochs), units)
    rng = np.random.default_rng(seed)
    fits = np.array([_fit(len(epochs), [units[i] for i in rng.integers(0, len(units), len(units))])
                     for _ in range(bootstrap if kept else 0)] or [scores])  # fmt: skip
    # A tie on top (checkpoints no resampled pick tells apart) is split at random, not to the first.
    jittered = fits + rng.uniform(0, 1e-9, fits.shape)
    tops = (
        np.bincount(jittered.argmax(axis=1), minlength=len(epochs)) / len(fits)
        if kept
        else np.zeros(len(epochs))
    )
    low, high = np.percentile(fits, [2.5, 97.5], axis=0)
    taking_part = [sum(epoch in (p.left, p.right) for p in kept) for epoch in epochs]
    rated = [
        Rated(epoch, float(scores[i]), float(low[i]), float(high[i]), float(tops[i]), taking_part[i])
        for i, epoch in enumerate(epochs)
    ]
    rated.sort(key=lambda r: (-r.score, -r.top_share, r.epoch))
    return Ranking(rated, len(kept))


def next_pair(
    epochs: list[int], picks: list[PairPick], rng: np.random.Generator, ranking: Ranking | None = None
) -> tuple[int, int]:
    """The next two checkpoints to show, as (left, right) in random order: checkpoints never
    compared first (two together, or the last against the leader); then by turns the leader against the rival most often on
    top in the bootstrap, and the neighbours in the rating compared least (the closest first)."""
    ranking = ranking or rank(epochs, picks)
    order = [r.epoch for r in ranking.rated]
    met: dict[frozenset, int] = {}
    for pick in picks:
        key = frozenset((pick.left, pick.right))
        met[key] = met.get(key, 0) + 1
    unseen = [r.epoch for r in ranking.rated if r.comparisons == 0]
    if len(unseen) >= 2:  # two never shown: each tells something
        pair = (unseen[0], unseen[1])
    elif unseen:
        pair = (unseen[0], order[0] if order[0] != unseen[0] else order[1])  # against the leader
    elif len(picks) % 2 == 0:
        leader = ranking.rated[0]
        rivals = sorted(
            ranking.rated[1:],
            key=lambda r: (-r.top_share, met.get(frozenset((leader.epoch, r.epoch)), 0), -r.score),
        )
        pair = (leader.epoch, rivals[0].epoch)
    else:
        neighbours = [(a, b) for a, b in itertools.pairwise(ranking.rated)]
        a, b = min(
            neighbours,
            key=lambda ab: (met.get(frozenset((ab[0].epoch, ab[1].epoch)), 0), ab[0].score - ab[1].score),
        )
        pair = (a.epoch, b.epoch)
    return pair if rng.random() < 0.5 else (pair[1], pair[0])


def record_pick(
    run: RunDir, left: int, right: int, preferred: int | None, session: str, seed: int
) -> PairPick:
    """Append one blind pick to the run (``preferred``: the epoch chosen, None for the same)."""
    if preferred not in (None, left, right):
        raise GanlibError(f"the pick must be epoch {left}, epoch {right} or the same")
    pick = PairPick(time.time(), session, left, right, preferred, seed)
    run.append_pick(pick)
    return pick


def mark_best_by_picks(run: RunDir, ranking: Ranking) -> int:
    """Record the people's top checkpoint as the run's best (``ChosenBy.PICKS``), with its cached
    figures when it is evaluated; refused until the top is ahead with 95% confidence."""
    if not ranking.confident:
        raise GanlibError("the picks do not yet put one checkpoint ahead with 95% confidence")
    epoch = ranking.leader.epoch
    evaluation.mark_best(run, epoch, ChosenBy.PICKS, evaluation.cached_results(run).get(epoch))
    return epoch


# -- real or fake (HYPE-infinity) ----------------------------------------------------------------


@dataclass(frozen=True)
class Hype:
    """A checkpoint's HYPE-infinity: the share of its samples people took for real."""

    epoch: int
    fooled: float  # samples judged real / samples shown; 0.5: indistinguishable from real
    low: float  # its 95% bootstrap interval
    high: float
    real_judged_real: float | None  # the same share for the real images shown beside them
    fakes: int
    reals: int

    @property
    def shown(self) -> bool:
        return self.fakes >= MIN_ANSWERS


def hype(answers: list[RealOrFake], epoch: int, bootstrap: int = 1000, seed: int = 0) -> Hype | None:
    """``epoch``'s real-or-fake score over every answer on it (None before any sample was judged)."""
    fakes = np.array([a.judged_real for a in answers if a.epoch == epoch and not a.real], float)
    reals = np.array([a.judged_real for a in answers if a.epoch == epoch and a.real], float)
    if not len(fakes):
        return None
    resampled = np.random.default_rng(seed).choice(fakes, (bootstrap, len(fakes))).mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return Hype(epoch, float(fakes.mean()), float(low), float(high),
                float(reals.mean()) if len(reals) else None, len(fakes), len(reals))  # fmt: skip


def record_answer(
    run: RunDir, epoch: int, real: bool, judged_real: bool, session: str, index: int
) -> RealOrFake:
    answer = RealOrFake(time.time(), session, epoch, bool(real), bool(judged_real), int(index))
    run.append_real_or_fake(answer)
    return answer


def real_or_fake_items(epoch: int, count: int, test_images: int, seed: int) -> list[tuple[bool, int]]:
    """The images of one real-or-fake round on ``epoch``: ``count`` of them, half real test
    images (their indices) and half samples (their latent seeds), shuffled; the same for a seed."""
    rng = np.random.default_rng([seed, epoch])
    real = [(True, int(i)) for i in rng.choice(test_images, count // 2, replace=False)]
    fake = [(False, int(s)) for s in rng.integers(0, 2**31, count - count // 2)]
    items = real + fake
    rng.shuffle(items)
    return items


# -- the people's rank beside the FID's ----------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    tau: float | None  # Kendall's tau between the two orders (None under 3 checkpoints)
    # (people's better epoch, FID's better epoch, whether the people's intervals are apart)
    disagreements: list[tuple[int, int, bool]]


def agreement(ranking: Ranking, fids: dict[int, float]) -> Agreement:
    """The people's rating of the checkpoints with an FID against that FID (lower is better)."""
    rated = [r for r in ranking.rated if r.epoch in fids and r.comparisons]
    if len(rated) < 3:
        return Agreement(None, [])
    tau = stats.kendalltau([r.score for r in rated], [-fids[r.epoch] for r in rated]).statistic
    swapped = [
        (a.epoch, b.epoch, bool(a.low > b.high))
        for a, b in itertools.combinations(rated, 2)  # a rated above b by people
        if a.score > b.score and fids[a.epoch] > fids[b.epoch]
    ]
    return Agreement(float(tau), swapped)


# -- what the person is shown ---------------------------------------------------------------------


def pair_grid(run: RunDir, epoch: int, seed: int, sampler=None) -> np.ndarray:
    """``epoch``'s grid from the latents of ``seed``: both sides of a pair use one seed, so only
    the checkpoint differs. Sampled with NumPy where the generator allows (no TensorFlow);
    ``sampler``: the checkpoint's, when the caller keeps it loaded."""
    checkpoint = run.checkpoint(epoch)
    if not checkpoint.has_generator:  # written from samples (ganlib.track): one seeded draw of them
        stored = checkpoint.samples()
        picked = np.random.default_rng(seed).choice(len(stored), latents.GRID_COLUMNS**2, replace=False)
        return images.grid(stored[np.sort(picked)], columns=latents.GRID_COLUMNS)
    sampler = sampler or model_io.load_sampler(run, epoch)
    z, labels = latents.grid_inputs(run.config().latent_dim, seed, sampler.num_classes)
    return images.grid(sampler.sample(z, labels), columns=latents.GRID_COLUMNS)


def real_images(run: RunDir) -> np.ndarray:
    """Real test images to mix with samples: the dataset's, or on a host without it the tiles of
    the real-image grid cached in the run's evaluation (``evaluation.REAL_GRID_FILE``)."""
    config = run.config()
    try:
        return reference.real_images(config.dataset, "test", REAL_POOL, config.image_size)
    except GanlibError:
        path = run.eval_dir / evaluation.REAL_GRID_FILE
        if not path.is_file():
            raise GanlibError(f"{run.name} has no real images at hand: install its dataset") from None
        height, width = run.meta()["image_shape"][:2]
        count = evaluation.REAL_GRID_IMAGES
        return images.tiles(
            images.from_png(path.read_bytes()), height, width, math.ceil(math.sqrt(count)), count
        )


def single_image(
    run: RunDir, epoch: int, real: bool, index: int, pool: np.ndarray | None = None, sampler=None
) -> np.ndarray:
    """One image of a real-or-fake round: real test image ``index`` of ``real_images``, or the
    sample of latent seed ``index`` (a conditional model draws the class ``index`` names)."""
    if real:
        pool = real_images(run) if pool is None else pool
        return pool[index % len(pool)]
    checkpoint = run.checkpoint(epoch)
    if not checkpoint.has_generator:  # written from samples (ganlib.track): the stored one of that index
        stored = checkpoint.samples()
        return stored[index % len(stored)]
    sampler = sampler or model_io.load_sampler(run, epoch)
    z = latents.fixed_latents(run.config().latent_dim, index, 1)
    labels = np.array([index % sampler.num_classes], np.int32) if sampler.num_classes else None
    return sampler.sample(z, labels)[0]


# -- the demo link's running total (in memory only) -----------------------------------------------
