"""The Evaluate page's panels below its charts: one epoch per class, the truncation sweep, other
runs' FID curves overlaid; and a 2-D toy's modes, in place of the image charts."""

from __future__ import annotations

import streamlit as st

from ganlib import GanlibError, evaluation
from ganlib.evaluation import Engine, EpochResult, ModeResult
from ganlib.measure.modes import QUALITY_SDS, ModeStats, covering_count
from ganlib.runs.rundir import Best, ChosenBy, RunDir
from ui import charts, messages, run_list


def per_class(result: EpochResult, class_names: list[str], epoch: int) -> None:
    """A conditional model's intra-class FID and label accuracy, class by class."""
    names = [
        class_names[row["label"]] if row["label"] < len(class_names) else str(row["label"])
        for row in result.per_class
    ]
    st.markdown(f"**Per class, epoch {epoch}** (each class's samples against real images of that class)")
    p1, p2 = st.columns([3, 2])
    p1.plotly_chart(charts.per_class(result.per_class, names), key="per-class")
    p2.dataframe(
        {
            "class": names,
            "FID": [round(row["fid"], 3) for row in result.per_class],
            "label accuracy": [round(row["label_accuracy"], 3) for row in result.per_class],
            "samples": [row["samples"] for row in result.per_class],
        },
        hide_index=True,
    )
    p2.caption("Label accuracy: the share of a class's samples the classifier puts in that class.")


@st.cache_data(max_entries=8, show_spinner=False)
def truncation_sweep(run_path: str, epoch: int, fingerprint: str, evaluator: str | None) -> list[dict]:
    return evaluation.Engine(RunDir.from_path(run_path), 2000, evaluator).truncation_sweep(epoch)


def truncation(run: RunDir, engine: Engine, epoch: int, result: EpochResult, read_only: bool) -> None:
    """FID, precision and recall at five truncation levels, on request (not on a read-only host)."""
    st.subheader(f"Truncation, epoch {epoch}")
    st.caption(
        "Latents drawn from a normal cut at ±t (the Gallery's slider): smaller t trades diversity (recall) for "
        "fidelity (precision). 2,000 samples per level, computed in memory."
    )
    if read_only:
        st.caption("Not computed here: this app is read-only.")
    elif st.button(f"Compute FID at truncation levels for epoch {epoch}"):
        with st.spinner("sampling and measuring five levels..."):
            try:
                rows = truncation_sweep(str(run.path), epoch, result.fingerprint, engine.evaluator_name)
            except GanlibError as exc:
                messages.show_error(exc)
                st.stop()
        labels = ["off" if row["truncation"] is None else f"{row['truncation']:g}" for row in rows]
        t1, t2 = st.columns([3, 2])
        t1.plotly_chart(charts.truncation(rows, labels), key="truncation")
        t2.dataframe(
            {
                "truncation": labels,
                **{k: [round(row[k], 4) for row in rows] for k in ("fid", "precision", "recall")},
            },
            hide_index=True,
        )


def compare_runs(run: RunDir, results: list[EpochResult], engine: Engine, read_only: bool) -> None:
    """Other runs' FID curves over this one's, at the same sample count (cached results only)."""
    samples = engine.samples
    runs = run_list.runs_by_name()
    others = [n for n in runs if n != run.name]
    overlaid = set(st.multiselect("Overlay the FID curves of", others))
    picked = [name for name in others if name in overlaid]
    if picked:
        curves = {run.name: results}
        for name in picked:
            try:
                other = evaluation.Engine(runs[name], samples, read_only=read_only)
                curves[name] = [r for r in (other.cached(e) for e in other.run.epochs()) if r]
            except GanlibError as exc:
                st.warning(f"{name}: {exc}")
                continue
            if not curves[name]:
                st.caption(f"{name}: not evaluated at {samples:,} samples yet.")
        st.plotly_chart(charts.fid_curves(curves, f"{engine.metric_label} (log scale)"), key="compare")


def toy_modes(
    run: RunDir, results: list[ModeResult], floor: ModeStats, best: Best | None, read_only: bool
) -> None:
    """A 2-D toy's evaluation: modes covered, the high-quality share and the mode KL per epoch
    (the real test points' figures dotted), D's accuracy, and one epoch's plane and histogram."""
    best_epoch = best and best.epoch
    st.subheader("Modes")
    c1, c2 = st.columns(2)
    covered = charts.metric_line(results, "modes_covered", "modes covered")
    c1.plotly_chart(
        charts.per_epoch([covered], f"Modes covered (of {floor.modes}), higher is better", best_epoch,
                         (floor.modes_covered, "real points")),
        key="modes",
    )  # fmt: skip
    quality = [
        charts.metric_line(results, "high_quality", "high quality"),
        charts.metric_line(results, "balanced_quality", "balanced (no mode beyond 1/K)"),
    ]
    c2.plotly_chart(
        charts.per_epoch(quality, f"High-quality share (within {QUALITY_SDS:g} sd of a mode)", best_epoch,
                         (floor.high_quality, "real points")),
        key="quality",
    )  # fmt: skip
    c1, c2 = st.columns(2)
    kl = charts.metric_line(results, "mode_kl", "KL")
    c1.plotly_chart(
        charts.per_epoch([kl], "KL of the mode histogram from uniform, lower is better", best_epoch,
                         (floor.mode_kl, "real points")),
        key="kl",
    )  # fmt: skip
    accuracy = [
        charts.metric_line(results, "d_acc_real", "on real"),
        charts.metric_line(results, "d_acc_fake", "on fake"),
    ]
    c2.plotly_chart(
        charts.per_epoch(accuracy, "D accuracy (held-out real / fresh fake)", best_epoch), key="dacc"
    )
    st.caption(
        f"A mode is covered when at least {covering_count(results[0].samples)} of the {results[0].samples:,} "
        "points fall within 3 sd of it (as in the papers: Metz et al. 2017, Srivastava et al. 2017). The best "
        "epoch has the highest balanced quality: the share of points near a mode, no mode counted beyond its "
        "fair share (a collapse onto one mode of K scores at most 1/K)."
    )

    st.subheader("Inspect an epoch")
    x = [r.epoch for r in results]
    default = x.index(best_epoch) if best_epoch in x else len(x) - 1
    epoch = st.selectbox("Epoch", x, index=x.index(run_list.query_int("epoch", x, x[default])))
    st.query_params["epoch"] = str(epoch)
    result = results[x.index(epoch)]
    c1, c2 = st.columns([2, 3])
    c1.image(
        run.checkpoint(epoch).grid_path.read_bytes(), caption=f"the plane, epoch {epoch}", width="stretch"
    )
    c2.plotly_chart(charts.mode_histogram(result.histogram), key="mode-histogram")
    c2.caption(
        f"Epoch {epoch}: {result.modes_covered}/{result.modes} modes, {result.high_quality:.1%} of the points near "
        f"one, KL {result.mode_kl:.3f}; real points: {floor.modes_covered}/{floor.modes}, {floor.high_quality:.1%}."
    )
    if best is not None:
        c2.caption(f"Best: epoch {best.epoch} (chosen by {best.chosen_by})")
    if c2.button(f"Mark epoch {epoch} as best", disabled=read_only or epoch == best_epoch) and not read_only:
        evaluation.mark_best(run, epoch, ChosenBy.PERSON, result)
        st.rerun()


def memorisation_and_classes(
    results: list[EpochResult], best_epoch: int | None, class_names: list[str]
) -> None:
    """Per epoch, side by side: how much of the generator copies its training images, and (an
    unconditional model's) which classes it draws."""
    c1, c2 = st.columns(2)
    shares = [r for r in results if r.copy_share is not None]
    if shares:
        copies = charts.metric_line(shares, "copy_share", "copy share")
        figure = charts.per_epoch([copies], "Memorisation: copy share (lower is better)", best_epoch,
                                  (0.1, "like held-out images"))  # fmt: skip
        c1.plotly_chart(figure, key="copies")
        c1.caption(
            "Share of samples closer to a training image than 90% of held-out real images are to theirs: "
            "about 0.1 for a generator that samples the data, near 1 for one that copies it."
        )
    if class_names and not any(r.per_class for r in results):  # unconditional: which classes, per epoch
        c2.plotly_chart(charts.class_histogram(results, class_names), key="histogram")
