"""The Gallery's panels: every checkpoint at a glance, the downloads of a checkpoint's grid and
generator, and samples beside their nearest training images (memorisation, by eye)."""

from __future__ import annotations

import functools

import streamlit as st

from ganlib import GanlibError, evaluation, export
from ganlib.config import TrainConfig
from ganlib.data import catalog
from ganlib.evaluation import EpochResult, ModeResult
from ganlib.runs.checkpoints import Checkpoint
from ganlib.runs.rundir import ChosenBy, RunDir
from ganlib.sampling import images
from ui import cached, messages, run_list, server

CONTACT_COLUMNS = 4


def _open_epoch(chosen: int) -> None:
    st.session_state["gallery_epoch"] = chosen


def contact_sheet(
    run: RunDir,
    checkpoints: dict[int, Checkpoint],
    epoch: int,
    best: int | None,
    scores: dict[int, EpochResult] | dict[int, ModeResult],
) -> None:
    """Each checkpoint's picture as a tile with its figures, the best outlined; *Open* one, mark
    the shown one best."""
    epochs = list(checkpoints)
    st.subheader("All checkpoints at a glance")
    if run_list.is_toy(run):
        st.caption(
            "Each checkpoint's plane with its modes covered and its share of points within 3 sd of a mode "
            "(the largest sample count evaluated). The best epoch is outlined. Evaluate computes what is missing."
        )
    else:
        features = next((result.evaluator for result in scores.values()), "the dataset's classifier features")
        st.caption(
            f"Each checkpoint's fixed-seed grid with its FID ({features}, the largest sample count evaluated; "
            "lower is better). The best epoch is outlined. Evaluate computes what is missing."
        )
    for row in range(0, len(epochs), CONTACT_COLUMNS):
        for column, e in zip(st.columns(CONTACT_COLUMNS), epochs[row : row + CONTACT_COLUMNS]):
            tile = column.container(border=e == best)
            result = scores.get(e)
            label = score_label(result) if result else "not evaluated"
            tile.image(
                checkpoints[e].grid_path.read_bytes(),
                caption=f"epoch {e}{' · best' if e == best else ''} · {label}",
            )
            tile.button(
                f"Open epoch {e}", key=f"open-{e}", on_click=_open_epoch, args=(e,), disabled=e == epoch
            )
    if epoch != best and len(epochs) > 1:
        result = scores.get(epoch)
        read_only = server.policy().read_only
        if (
            st.button(f"Mark epoch {epoch} as best", disabled=read_only, key="gallery-mark-best")
            and not read_only
        ):
            evaluation.mark_best(run, epoch, ChosenBy.PERSON, result)
            st.rerun()


def score_label(result: EpochResult | ModeResult) -> str:
    if isinstance(result, ModeResult):
        return f"{result.modes_covered}/{result.modes} modes · {result.high_quality:.0%} near one"
    return f"FID {result.fid:.2f} ({result.samples:,} samples)"


EXPORT_LABELS = {
    export.Format.NUMPY: (
        "NumPy sampler (.zip)",
        "The generator with a sampler script that needs only NumPy.",
    ),
    export.Format.SAVEDMODEL: (
        "SavedModel (.zip)",
        "TensorFlow SavedModel: latent (and label) in, uint8 images out.",
    ),
    export.Format.TFLITE: ("TFLite", "The same signature as one .tflite file, for phones and LiteRT."),
    export.Format.ONNX: ("ONNX", "The same signature as one .onnx file, for ONNX Runtime and the rest."),
}


@st.cache_data(max_entries=4, show_spinner=False)
def _export_archive(run_path: str, epoch: int, fmt: str, fingerprint: str) -> bytes:  # fingerprint: the key
    return export.archive(RunDir.from_path(run_path), epoch, fmt)


def downloads(run: RunDir, checkpoint: Checkpoint, read_only: bool) -> None:
    """The checkpoint's grid, its generator's weights, and the generator exported for use without
    this app (built when clicked). A read-only app offers the formats that need no TensorFlow."""
    name = f"{run.name}-epoch{checkpoint.epoch:04d}"
    sampler = checkpoint.sampler_path  # the EMA generator when the run keeps one
    if not checkpoint.has_generator:  # written from samples alone (ganlib.track): they are what it has
        c1, c2, _ = st.columns([1, 1, 2])
        c1.download_button("Grid PNG", checkpoint.grid_path.read_bytes(), f"{name}-grid.png", "image/png")
        c2.download_button(
            "Samples (.npz)", sampler.read_bytes(), f"{name}-samples.npz", "application/octet-stream"
        )
        return
    # A read-only host, and a run another loop wrote (its G is not one of ours to rebuild), export with NumPy.
    numpy_only = read_only or run.trained_elsewhere
    formats = [f for f in EXPORT_LABELS if not (numpy_only and f in export.NEEDS_TENSORFLOW)]
    if not run.generator_config_path.is_file():
        formats = [f for f in formats if f != export.Format.NUMPY]
    columns = st.columns(2 + len(formats))
    columns[0].download_button("Grid PNG", checkpoint.grid_path.read_bytes(), f"{name}-grid.png", "image/png")
    columns[1].download_button(
        "Generator weights (.weights.h5)",
        sampler.read_bytes(),
        f"{name}-{sampler.name}",
        "application/octet-stream",
    )
    for column, fmt in zip(columns[2:], formats):
        label, help_text = EXPORT_LABELS[fmt]
        column.download_button(
            label,
            functools.partial(
                _export_archive, str(run.path), checkpoint.epoch, fmt.value, checkpoint.fingerprint
            ),
            f"{name}-{export.DOWNLOAD_NAMES[fmt]}",
            "application/octet-stream",
            help=f"{help_text} Built when clicked. Or: `python -m ganlib export --format {fmt.value}`.",
            key=f"export-{fmt.value}",
        )


def stored_samples(run: RunDir, checkpoint: Checkpoint) -> None:
    """The samples a run written from samples alone stored with this checkpoint (no generator to
    draw new ones: Gallery shows these; Evaluate measures them)."""
    if not checkpoint.samples_path.is_file():
        return
    st.subheader("Stored samples")
    shown = checkpoint.samples(64)
    st.image(images.png_bytes(images.grid(shown, columns=16), scale=2), width="stretch")
    stored = run.meta().get("samples_per_checkpoint")
    st.caption(
        f"The first {len(shown)} of the {stored or 'stored'} samples of epoch {checkpoint.epoch}, as its writer "
        "stored them (ganlib.track): drawing new ones, interpolation and steering need a generator."
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _nearest_training(run_path: str, epoch: int, fingerprint: str) -> tuple[bytes, list[list[float]]]:
    samples, neighbours, distances = evaluation.nearest_training_images(RunDir.from_path(run_path), epoch)
    return images.png_bytes(images.neighbour_sheet(samples, neighbours), scale=2), distances.round(2).tolist()


def nearest_training(
    run: RunDir, checkpoint: Checkpoint, config: TrainConfig, scores: dict[int, EpochResult]
) -> None:
    """On request, 8 samples beside their nearest training images (classifier features)."""
    epoch = checkpoint.epoch
    st.subheader("Nearest training images")
    if server.policy().read_only:
        # Decided: measuring 60,000 training images takes TensorFlow (+540 MB) and seconds of CPU
        # in the server: not for a shared host. The copy share on Evaluate answers the same question.
        st.caption("Not computed here (a read-only host): see the copy share on the Evaluate page.")
    elif config.dataset in catalog.BUILTIN and not catalog.installed(config.dataset):
        st.caption(f"Needs the {config.dataset} training images, which this host does not have.")
    elif st.button(f"Show 8 samples of epoch {epoch} beside their nearest training images"):
        with st.spinner("measuring every training image (the first time takes seconds)..."):
            try:
                sheet, distances = _nearest_training(str(run.path), epoch, checkpoint.fingerprint)
            except GanlibError as exc:
                messages.show_error(exc)
                st.stop()
        st.image(
            sheet, caption="each row: a sample, then its 4 nearest training images (classifier features)"
        )
        st.caption(
            "Distances, row by row: " + "; ".join(", ".join(f"{d:g}" for d in row) for row in distances)
        )
        share = (scores.get(epoch) and scores[epoch].copy_share) or None
        if share is not None:
            st.caption(
                f"Copy share of epoch {epoch}: {share:.3f} (about 0.1 means no memorisation; see Evaluate)."
            )


def training_animation(run: RunDir, checkpoints: int) -> None:
    st.subheader("Training animation")
    animation = cached.training_gif(run)
    c1, c2 = st.columns([1, 1])
    c1.image(animation, caption=f"{run_list.picture_name(run)} over {checkpoints} checkpoints")
    c2.download_button("Training GIF", animation, f"{run.name}-training.gif", "image/gif")
