"""Gallery: every checkpoint's fixed-seed grid, new samples, steering, latent interpolation, the
training animation."""

import numpy as np
import streamlit as st

from ganlib import GanlibError, evaluation
from ganlib.sampling import images, latents
from ui import cached, charts, gallery_panels, messages, run_list, server, shell, steer

TRUNCATIONS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, "off"]

shell.route_through_app()
st.title("Gallery")
run = run_list.pick_run()
if run is None:
    st.stop()
try:  # a scratch run can be pruned between the listing and these reads
    checkpoints = {c.epoch: c for c in run.checkpoints()}
    run_list.warn_if_damaged(run)
    config = run.config()
    best = run.best()
    best = best and best.epoch
except (GanlibError, OSError) as exc:
    messages.show_error(exc)
    st.stop()
if not checkpoints:
    st.info(f"{run.name} has no checkpoint yet.")
    st.stop()
epochs = list(checkpoints)
best = best if best in checkpoints else None  # a best epoch since damaged is not offered

# -- the grid of one epoch, beside another -------------------------------------------------------
left, right = st.columns([3, 1])
with left:
    if len(epochs) > 1:
        if "gallery_epoch" not in st.session_state or st.session_state["gallery_epoch"] not in epochs:
            st.session_state["gallery_epoch"] = run_list.query_int("epoch", epochs, epochs[-1])
        epoch = st.select_slider("Epoch", epochs, key="gallery_epoch")
    else:
        epoch = epochs[0]
        st.caption(f"One checkpoint: epoch {epoch}")
    st.query_params["epoch"] = str(epoch)
with right:
    beside = st.radio("Beside it", ["previous epoch", "best epoch", "nothing"], horizontal=False)
other = {"previous epoch": max([e for e in epochs if e < epoch], default=None), "best epoch": best}.get(
    beside
)

shown = [(epoch, f"epoch {epoch}" + (" (best)" if epoch == best else ""))]
if other is not None and other != epoch:
    shown.append((other, f"{beside}: {other}"))
for column, (e, caption) in zip(st.columns(2), shown):
    column.image(checkpoints[e].grid_path.read_bytes(), caption=caption, width="stretch")

toy = run_list.is_toy(run)
if toy:
    st.caption(charts.PLANE_LEGEND)
else:
    gallery_panels.downloads(run, checkpoints[epoch], read_only=server.policy().read_only)
if not server.policy().read_only and not run.trained_elsewhere:  # ganlib.track's: trained by its own code
    st.page_link(
        shell.PAGES["train"].path, label="Train again with another seed", query_params={"from": run.name}
    )

# -- every checkpoint at a glance ------------------------------------------------------------------
scores = evaluation.cached_mode_results(run) if toy else evaluation.cached_results(run)
gallery_panels.contact_sheet(run, checkpoints, epoch, best, scores)
if toy or not checkpoints[epoch].has_generator:  # a toy's points, or samples without their generator
    gallery_panels.stored_samples(run, checkpoints[epoch])
    gallery_panels.training_animation(run, len(epochs))
    st.stop()

# -- draw samples ----------------------------------------------------------------------------------
try:
    model = cached.sampler(run, epoch)
except GanlibError as exc:
    messages.show_error(exc)
    st.stop()
class_names = run.meta().get("class_names", [])
label = None
st.subheader("Draw samples")
c1, c2 = st.columns([1, 3])
seed = c1.number_input("Seed", 0, 2**31 - 1, 0, help="Each seed draws 32 new latent vectors.")
truncation = c1.select_slider(
    "Truncation",
    TRUNCATIONS,
    value="off",
    help="Draw latents from a normal cut at ±t (the truncation trick): smaller t gives cleaner but "
    "less varied samples.",
)
truncation = None if truncation == "off" else float(truncation)
drawn = latents.truncated_latents(config.latent_dim, int(seed), 32, truncation)
what = "32 samples"
if model.conditional:
    chosen = c1.selectbox("Class", class_names, help="A conditional model draws the class you ask for.")
    label = class_names.index(chosen)
    what += f" of class {chosen}"
    evaluated = scores.get(epoch)
    if evaluated and evaluated.per_class:  # this class's figures, from the epoch's evaluation
        row = evaluated.per_class[label]
        c1.caption(
            f"Class {chosen}, epoch {epoch}: intra-class FID {row['fid']:.2f}, label accuracy "
            f"{row['label_accuracy']:.0%} ({evaluated.samples:,}-sample evaluation)."
        )
samples = model.sample(drawn, None if label is None else np.full(len(drawn), label, np.int32))
cut = f", truncation {truncation:g}" if truncation else ""
c2.image(
    images.png_bytes(images.grid(samples, columns=8), scale=2),
    caption=f"{what}, seed {seed}{cut}, epoch {epoch}",
)

steer.panel(run, checkpoints[epoch], model, class_names, read_only=server.policy().read_only)

st.subheader("Latent interpolation")
c1, c2, c3, c4 = st.columns(4)
source = c1.radio("Between", ["two seeds", "two grid samples"])
if source == "two seeds":
    same = "The first sample Draw samples shows for this seed."
    a = c2.number_input("Seed A", 0, 2**31 - 1, 1, help=same)
    b = c3.number_input("Seed B", 0, 2**31 - 1, 2, help=same)
    z_a, z_b = (latents.truncated_latents(config.latent_dim, int(s), 1)[0] for s in (a, b))
else:
    grid_latents, grid_labels = latents.grid_inputs(config.latent_dim, config.seed, model.num_classes)
    a = c2.number_input("Grid sample A (0 = top left)", 0, len(grid_latents) - 1, 0)
    b = c3.number_input("Grid sample B", 0, len(grid_latents) - 1, 9)
    z_a, z_b = grid_latents[int(a)], grid_latents[int(b)]
    if grid_labels is not None and label is None:
        label = int(grid_labels[int(a)])
method = c4.radio(
    "Method", ["slerp", "lerp"], help="slerp keeps the path on the Gaussian shell where G was trained."
)
steps = st.slider("Steps", 3, 16, 10)
path = (images.slerp if method == "slerp" else images.lerp)(z_a, z_b, steps)
frames = model.sample(path, None if label is None else np.full(steps, label, np.int32))
st.image(
    images.png_bytes(images.grid(frames, columns=steps), scale=2),
    caption=f"{method}, epoch {epoch}",
    width="stretch",
)
gif = images.gif_bytes([*frames, *frames[::-1]], seconds_per_frame=0.12, scale=4)
c1, c2 = st.columns([1, 3])
c1.image(gif, caption="as an animation")
c2.download_button("Interpolation GIF", gif, f"{run.name}-epoch{epoch:04d}-{method}.gif", "image/gif")


gallery_panels.nearest_training(run, checkpoints[epoch], config, scores)

gallery_panels.training_animation(run, len(epochs))
