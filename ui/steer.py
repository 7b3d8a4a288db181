"""The Gallery's Steer panel: a checkpoint's latent directions (``ganlib.directions``) as sliders.

It draws with the page's NumPy sampler inside a fragment, so a slider move redraws this panel
only. Every control is bound to the URL (``bind="query-params"``, keyed ``steer_*``): the address
bar is a deep link to the view, and Streamlit drops values that are not valid for a control.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import streamlit as st

from ganlib import directions
from ganlib.runs.checkpoints import Checkpoint
from ganlib.runs.rundir import RunDir
from ganlib.sampling import images, latents

STRIP_STEPS = 7
KEY = "steer_"  # every control's key, and so its query parameter


def _is_not_the_reset_warning(record: logging.LogRecord) -> bool:
    """Reset sets the sliders' values through their session state (the one way to change a bound
    widget), and Streamlit logs a warning with a stack trace for any widget so set that also has
    a default; for ours that is the design, and a stack trace in a server's log reads as a fault."""
    message = record.getMessage()
    return not (message.startswith("The widget with key") and f'"{KEY}' in message)


logging.getLogger("streamlit.elements.lib.policies").addFilter(_is_not_the_reset_warning)


def slider_key(name: str) -> str:
    return KEY + name.replace(" ", "")


def panel(run: RunDir, checkpoint: Checkpoint, model, class_names: list[str], read_only: bool) -> None:
    """The panel for one checkpoint; ``model`` is its sampler (``cached.sampler``)."""
    st.subheader("Steer")
    found = directions.load(checkpoint)
    if found is not None:
        _steer(run.name, checkpoint.epoch, found, model, class_names)
        return
    having = [c.epoch for c in run.checkpoints() if directions.load(c) is not None]
    elsewhere = f" Epochs with them: {', '.join(map(str, having))}." if having else ""
    if read_only:
        st.caption(f"Epoch {checkpoint.epoch} has no latent directions to steer along.{elsewhere}")
        return
    st.caption(
        "Sliders that move one property of the images (ink, slant, size, brightness, and the main "
        f"directions of the generator) need the checkpoint's latent directions.{elsewhere}"
    )
    if st.button(f"Find the directions of epoch {checkpoint.epoch} (seconds)", key="steer-find"):
        with st.spinner("generating 4,000 samples and measuring them..."):
            directions.find_and_save(run, checkpoint.epoch)
        st.rerun()


def _reset(names: list[str]) -> None:
    """Every slider back to 0 (a bound widget's value is changed through its session state;
    forgetting it would let the URL's value come back)."""
    for name in names:
        st.session_state[slider_key(name)] = 0.0


def _slider_label(direction: directions.Direction) -> str:
    if direction.kind == directions.PRINCIPAL:
        return f"{direction.name} · {direction.explained:.1%} of the variance"
    tangle = direction.entanglement
    tangled = f"{tangle:.2f}" if math.isfinite(tangle) else "∞ (it moves only the others)"
    return f"{direction.name} · R² {direction.explained:.2f} · entanglement {tangled}"


@st.fragment
def _steer(run_name: str, epoch: int, found: directions.Directions, model, class_names: list[str]) -> None:
    setup, attributes, principal = st.columns([1, 2, 2])
    seed = setup.number_input(
        "Base sample: seed", 0, 2**31 - 1, 0, key=KEY + "seed", bind="query-params",
        help="The first sample Draw samples shows for this seed.",
    )  # fmt: skip
    label = None
    if model.conditional:
        chosen = setup.selectbox("Class", class_names, key=KEY + "class", bind="query-params")
        label = class_names.index(chosen)
    # The strip starts along the attribute the latent predicts best: the cleanest first move.
    order = sorted(found.directions, key=lambda d: (d.kind != directions.ATTRIBUTE, -d.explained))
    along = setup.selectbox(
        "Strip along", [d.name for d in order], key=KEY + "strip", bind="query-params",
        help="The strip below moves this one direction from -3 to +3 sd, the other sliders kept.",
    )  # fmt: skip
    setup.button("Reset the sliders", on_click=_reset, args=(found.names,), key="steer-reset")

    amounts = {}
    attributes.caption(
        "Attributes: R², how well the latent predicts it; entanglement, how much the others move "
        "along it (0 = clean)"
    )
    principal.caption("Principal directions of the generator's first layer (GANSpace)")
    for direction in found.directions:
        column = principal if direction.kind == directions.PRINCIPAL else attributes
        amounts[direction.name] = column.slider(
            _slider_label(direction), -directions.SLIDER_RANGE, directions.SLIDER_RANGE, 0.0, 0.1,
            key=slider_key(direction.name), bind="query-params", help=direction.describe(),
        )  # fmt: skip

    base = latents.truncated_latents(found.latent_dim, int(seed), 1)[0]
    others = {name: amount for name, amount in amounts.items() if name != along}
    drawn_latents = np.vstack(
        [found.steer(base, amounts)[None], found.strip(found.steer(base, others), along, STRIP_STEPS)]
    )
    drawn = model.sample(
        drawn_latents, None if label is None else np.full(len(drawn_latents), label, np.int32)
    )
    moved = (
        ", ".join(f"{name} {amount:+.1f}" for name, amount in amounts.items() if amount) or "no slider moved"
    )
    image, strip = st.columns([1, 4])
    image.image(images.png_bytes(drawn[0], scale=6), caption=f"seed {seed}: {moved}")
    strip_png = images.png_bytes(images.grid(drawn[1:], columns=STRIP_STEPS), scale=4)
    strip.image(
        strip_png,
        caption=f"along {along}, -3 to +3 sd (the slider is at {amounts[along]:+.1f}), epoch {epoch}",
        width="stretch",
    )
    strip.download_button(
        "Strip PNG", strip_png, f"{run_name}-epoch{epoch:04d}-steer-{along.replace(' ', '')}.png", "image/png"
    )
