"""The Pick page's two blind protocols (ganlib.picks): A/B between two checkpoints, and real or
fake on single images. Each answer is appended to the run; on a read-only host picks stay in the
session and real-or-fake answers go to the public link's in-memory tally."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ganlib import evaluation, picks
from ganlib.runs.records import PairPick, RealOrFake
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images
from ui import cached, public_link, server, shell

ROUND = 20  # images in one real-or-fake round: half real, half samples
GRID_WIDTH = 330  # pixels: an 8 x 10 grid of digits, each about 40 pixels wide
SCALE = 8  # a single 28x28 image shown 224 pixels wide, real and fake alike


@st.cache_resource(max_entries=4, show_spinner=False)
def _real_pool(run_path: str):
    """A run's real images for real or fake, read once per process (the dataset's test split, or
    the run's cached real grid on a host without it)."""
    return picks.real_images(RunDir.from_path(run_path))


def _sampler(run: RunDir, epoch: int):
    """The checkpoint's generator, kept loaded; None for one written from samples (picks draws those)."""
    return cached.sampler(run, epoch) if run.checkpoint(epoch).has_generator else None


def _session_key(run: RunDir, what: str) -> str:
    return f"pick:{what}:{run.path}"


def _stored_picks(run: RunDir, read_only: bool) -> list[PairPick]:
    """The run's picks; on a read-only host, this session's alone (nothing is written)."""
    return st.session_state.setdefault(_session_key(run, "picks"), []) if read_only else run.picks()


def blind_ab(run: RunDir, epochs: list[int], read_only: bool) -> None:
    made = _stored_picks(run, read_only)
    ranking = picks.rank(epochs, made)
    key = _session_key(run, "pair")
    if st.session_state.get(key) is None or not set(st.session_state[key][:2]) <= set(epochs):
        rng = np.random.default_rng()
        st.session_state[key] = (*picks.next_pair(epochs, made, rng, ranking), int(rng.integers(0, 2**31)))
    left, right, seed = st.session_state[key]

    def answer(preferred: int | None) -> None:
        if read_only:  # the session's own list; the host stays read-only
            made.append(PairPick(0.0, server.session_id(), left, right, preferred, seed))
        else:
            picks.record_pick(run, left, right, preferred, server.session_id(), seed)
        st.session_state[key] = None

    st.caption("Which grid looks better? Both are drawn from the same latent vectors; the sides are random.")
    # Grids sized to leave the three buttons above the fold of a laptop screen.
    for column, epoch, name in zip(st.columns(2), (left, right), ("left", "right")):
        column.image(
            images.png_bytes(picks.pair_grid(run, epoch, seed, _sampler(run, epoch))),
            caption=name,
            width=GRID_WIDTH,
        )
    b1, b2, b3 = st.columns(3)
    b1.button("Left is better", on_click=answer, args=(left,), shortcut="Left", width="stretch")
    b2.button("The same", on_click=answer, args=(None,), shortcut="Down", width="stretch")
    b3.button("Right is better", on_click=answer, args=(right,), shortcut="Right", width="stretch")
    st.caption("Keys: ← left, ↓ the same, → right.")
    _verdict(run, ranking, read_only)


def _verdict(run: RunDir, ranking: picks.Ranking, read_only: bool) -> None:
    if not ranking.picks:
        st.info("No picks yet: the ratings start with the first.")
        return
    leader = ranking.leader
    if ranking.confident:
        st.success(f"A clear winner after {ranking.picks} picks: ahead with 95% confidence "
                   f"(on top in {leader.top_share:.0%} of the bootstrap fits).")  # fmt: skip
    else:
        st.info(f"{ranking.picks} picks: no checkpoint is ahead with 95% confidence yet "
                f"(the leader is on top in {leader.top_share:.0%} of the bootstrap fits).")  # fmt: skip
    if not st.toggle("Show the checkpoints' names and figures", key=_session_key(run, "reveal")):
        return
    fids = {e: r.fid for e, r in evaluation.cached_results(run).items()}
    fid_order = sorted(fids, key=fids.get)
    st.dataframe(
        [
            {"people's rank": i + 1, "epoch": r.epoch, "score": round(r.score, 2),
             "95% interval": f"{r.low:+.2f} to {r.high:+.2f}", "on top": f"{r.top_share:.0%}",
             "picks": r.comparisons, "FID": fids.get(r.epoch),
             "FID rank": fid_order.index(r.epoch) + 1 if r.epoch in fids else None}
            for i, r in enumerate(ranking.rated)
        ],
        hide_index=True,
        placeholder="",
    )  # fmt: skip
    agreement_sentences(ranking, fids)
    label = f"Mark epoch {leader.epoch} as best (by these picks)"
    if (
        ranking.confident and st.button(label, disabled=read_only) and not read_only
    ):  # a forged click: refused
        picks.mark_best_by_picks(run, ranking)
        st.success(f"Epoch {leader.epoch} recorded as the best, chosen by picks.")


def beside_fid(run: RunDir, results: list[evaluation.EpochResult]) -> None:
    """Evaluate's view of the people's blind picks: each checkpoint's rank by people beside its
    rank by FID, their agreement, and where they disagree; HYPE-infinity where it was played."""
    made, answers = run.picks(), run.real_or_fake()
    if not made and not answers:
        return
    st.subheader("People's picks beside FID")
    epochs = [r.epoch for r in results]
    fids = {r.epoch: r.fid for r in results}
    ranking = picks.rank(run.epochs(), made)
    fid_order = sorted(fids, key=fids.get)
    rows = []
    for r in ranking.rated:
        if r.epoch not in epochs:
            continue
        score = picks.hype(answers, r.epoch)
        rows.append({"epoch": r.epoch, "people's rank": ranking.position(r.epoch) + 1 if made else None,
                     "FID rank": fid_order.index(r.epoch) + 1, "FID": fids[r.epoch], "picks": r.comparisons,
                     "taken for real": f"{score.fooled:.0%} ({score.low:.0%}-{score.high:.0%})" if score and score.shown else None})  # fmt: skip
    st.dataframe(rows, hide_index=True, placeholder="")
    if made:
        agreement_sentences(ranking, fids)
    st.page_link(shell.PAGES["pick"].path, label="Pick more, blind", query_params={"run": run.name})


def agreement_sentences(ranking: picks.Ranking, fids: dict[int, float]) -> None:
    """Kendall's tau of the people's order against the FID's, and where they disagree, plainly."""
    found = picks.agreement(ranking, fids)
    if found.tau is None:
        st.caption("Agreement with FID: needs three evaluated checkpoints with picks.")
        return
    st.caption(f"Agreement with FID: Kendall's tau {found.tau:+.2f} (+1: the same order, -1: reversed).")
    for better, fid_better, sure in found.disagreements:
        st.caption(f"People prefer epoch {better} to epoch {fid_better}; FID prefers epoch {fid_better}"
                   + (" (the people's intervals are apart)." if sure else " (within the people's intervals)."))  # fmt: skip


def real_or_fake(run: RunDir, epochs: list[int], read_only: bool) -> None:
    best = run.best()
    default = epochs.index(best.epoch) if best and best.epoch in epochs else len(epochs) - 1
    epoch = st.selectbox("Checkpoint to judge", epochs, index=default, key=_session_key(run, "rf-epoch"))
    pool = _real_pool(str(run.path))
    key = _session_key(run, f"round:{epoch}")
    if key not in st.session_state:
        st.session_state[key] = {"items": picks.real_or_fake_items(epoch, ROUND, len(pool), int(np.random.default_rng().integers(0, 2**31))),
                                 "answers": []}  # fmt: skip
    state = st.session_state[key]
    done = len(state["answers"])
    if done < ROUND:
        real, index = state["items"][done]

        def answer(judged_real: bool) -> None:
            # The truth comes from this session's own round, never from the browser.
            state["answers"].append((real, judged_real))
            if read_only:
                if not real:
                    public_link.count_answer(judged_real)
            else:
                picks.record_answer(run, epoch, real, judged_real, server.session_id(), index)

        st.caption(f"Image {done + 1} of {ROUND}: half are real test images, half the checkpoint's samples.")
        image = picks.single_image(run, epoch, real, index, pool, _sampler(run, epoch))
        st.image(images.png_bytes(image, scale=SCALE), width=image.shape[1] * SCALE)
        b1, b2, _ = st.columns([1, 1, 2])
        b1.button("Real", on_click=answer, args=(True,), shortcut="Left", width="stretch")
        b2.button("Fake", on_click=answer, args=(False,), shortcut="Right", width="stretch")
        st.caption("Keys: ← real, → fake.")
    else:
        fakes = [judged for real, judged in state["answers"] if not real]
        reals = [judged for real, judged in state["answers"] if real]
        st.success(f"You were fooled {np.mean(fakes):.0%} of the time (samples you took for real); "
                   f"you took {np.mean(reals):.0%} of the real images for real.")  # fmt: skip
        if st.button("Another round"):
            del st.session_state[key]
            st.rerun()
    if read_only:
        public_link.everyone_so_far()
    else:
        _hype(run.real_or_fake(), epoch)


def _hype(answers: list[RealOrFake], epoch: int) -> None:
    score = picks.hype(answers, epoch)
    if score is None or not score.shown:
        count = 0 if score is None else score.fakes
        st.caption(
            f"HYPE-infinity of epoch {epoch}: shown after {picks.MIN_ANSWERS} answers on samples ({count} so far)."
        )
        return
    beside = (
        ""
        if score.real_judged_real is None
        else f"; real images taken for real: {score.real_judged_real:.0%}"
    )
    st.caption(f"HYPE-infinity of epoch {epoch}: {score.fooled:.0%} of samples taken for real "
               f"(95% interval {score.low:.0%} to {score.high:.0%}, {score.fakes} answers{beside}). "
               "50%: people cannot tell them from real images.")  # fmt: skip
