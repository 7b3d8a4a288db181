"""What a shared public link shows that a laptop's app does not: the welcome, why the Train page
does not train, the queue where a stranger may train for a few seconds, and the running total of
everyone's real-or-fake answers. Every other view asks only ``server.policy()``'s questions."""

from __future__ import annotations

import streamlit as st

from ganlib.data import catalog, toys
from ui import server, shell
from workbench.visitors import AnswerTally


def welcome() -> None:
    """Home's first words on a public link: what a visitor may do here."""
    if not server.policy().public:
        return
    visitors = server.shared_training()
    st.info(
        "Read-only demo: browse the runs, draw new samples, steer them (the Gallery's Steer sliders "
        "move slant, ink, size and brightness) and compare their evaluations. "
        + (
            f"You may train the default settings, or a 2-D toy, for {visitors.limits.seconds:.0f} s on the "
            "Train page."
            if visitors
            else "Training is switched off on this link: run the app on your machine to train."
        )
    )


def read_only_notice() -> None:
    """First on the Train page of a read-only demo: why nothing trains, and what to do instead."""
    st.info(
        "**Training is switched off in this read-only demo**: nothing on this host can change. "
        "Run the app on your own machine to train (README: one command). Here you can instead:"
    )
    gallery, home, evaluate = st.columns(3)
    gallery.page_link(shell.PAGES["gallery"].path, label="Steer a trained generator's digits (Gallery)",
                      icon=":material/tune:")  # fmt: skip
    home.page_link(shell.PAGES["home"].path, label="See two GANs learn a ring of 8 modes (Home)",
                   icon=":material/scatter_plot:")  # fmt: skip
    evaluate.page_link(shell.PAGES["evaluate"].path, label="Find the best checkpoint (Evaluate)",
                       icon=":material/query_stats:")  # fmt: skip


def offers_training() -> bool:
    """Whether this host lets visitors train (its policy's shared training)."""
    return server.shared_training() is not None


def stop_own_run() -> None:
    """A visitor may stop their own run, nothing more: the time limit keeps the queue moving."""
    visitors = server.shared_training()
    me = server.session_id()
    own = visitors.poll(me).training
    st.button("Stop", on_click=visitors.stop, args=(me,), key="stop-job", disabled=not own)


def training_panel() -> None:
    """A visitor's own training: ask, wait in the queue, watch it; polled every 2 s, which also
    tells the queue this visitor is still here."""
    visitors = server.shared_training()
    me = server.session_id()
    turn = visitors.poll(me)
    seconds = f"{visitors.limits.seconds:.0f} s"
    st.subheader("Train it yourself")
    if turn.training:
        st.caption(f"Your run **{turn.run}** is training above; it stops by itself after {seconds}.")
    elif turn.place is not None:
        st.info(
            f"You are number {turn.place} in the queue: this host trains one run at a time. Keep this page open."
        )
        st.button("Leave the queue", on_click=visitors.leave, args=(me,))
    else:
        # What this host can train: a 2-D toy always (its points are generated), images only
        # with their dataset installed.
        offered = [
            label
            for label, config in visitors.choices.items()
            if toys.is_toy(config.dataset) or catalog.installed(config.dataset)
        ]
        choice = st.selectbox("What to train", offered, key="visitor-choice")
        st.caption(
            f"Train it for {seconds} on this host, then browse your run in the Gallery and Evaluate "
            "(a 2-D toy trains in seconds: watch D's belief and the points move). One run at a time: "
            "you may have to wait."
        )
        if st.button(f"Train for {seconds}", type="primary"):
            st.session_state["visitor_refused"] = visitors.request(me, server.client(), choice).refused
            st.rerun(scope="app")
        for why in (st.session_state.get("visitor_refused"), turn.error):
            if why:
                st.warning(why[0].upper() + why[1:] + ".")
        if turn.run:
            st.page_link(
                shell.PAGES["gallery"].path,
                label=f"Your last run: {turn.run}",
                query_params={"run": turn.run},
            )
    if st.session_state.setdefault("visitor_training", turn.training) != turn.training:
        st.session_state["visitor_training"] = turn.training
        st.rerun(scope="app")  # the live panel appears (or goes) with the visitor's own run


@st.cache_resource
def tally() -> AnswerTally:
    """The running total of real-or-fake answers over every visitor: one per server process,
    memory only (the host stays read-only)."""
    return AnswerTally()


def count_answer(judged_real: bool) -> None:
    """A visitor's answer on a sample, into the tally (at most its cap per visitor)."""
    tally().add(server.client() or server.session_id(), judged_real)


def everyone_so_far() -> None:
    """The tally's sentence, once anyone has answered."""
    judged, share = tally().total()
    if share is not None:
        st.caption(f"Every visitor so far: {judged:,} samples judged, {share:.0%} taken for real "
                   f"(at most {tally().per_visitor} answers count per visitor).")  # fmt: skip
