"""Named starting points: the quick-start default (per dataset), the TF tutorial as written,
the 2-D toys' preset and their lesson."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganlib.config.run_config import TrainConfig
from ganlib.data import toys

# The app's and the CLI's starting point: the configuration that shows digits soonest on a 2-core
# CPU (docs/benchmarks.md, "Time to quality"), with the hinge loss and spectral norm in D, which
# the quality screen found better on both datasets at every checkpoint past the first minutes,
# with more recall and no loss of speed (docs/benchmarks.md, "Quality screen"), and the R1
# penalty at 0.1, the one lever that moved recall (best FID at 7,488 steps: MNIST 0.58 against 0.78
# over 3 seeds, Fashion-MNIST 5.07 against 6.56; each step 1.3x slower; "Sixth round"). Its dataset is
# MNIST, whose G averaged over a short horizon (EMA 0.99) is best, and whose learning rates follow
# the run's length ("auto"): constant for a run under 15,000 steps, which needs its full rate to
# the end ("Eleventh round": 1.4-4x lower FID at 1,000-4,680 steps), and 1.5x that rate under
# 5,000 steps ("Twelfth round": 2-3x lower at 1,000-1,500 steps), a linear decay to the end for
# a longer one, which settles lower ("Seventh round"; DATASET_DEFAULTS has the other datasets'); and both rates start
# twice as high, back to the schedule's at a tenth of the run: digits at 400 steps instead of 700,
# the same end ("Eighth round"). The dataclass
# defaults stay the DCGAN paper's settings at the TF tutorial's model size.
QUICK_START = TrainConfig(
    dataset="mnist",
    model="cdcgan-lean",
    loss="hinge",
    spectral_norm=True,
    width=0.5,
    batch_size=64,
    epochs=5,
    lr_g=4e-4,
    lr_d=4e-4,
    lr_schedule="auto",
    lr_boost=2.0,
    ema=0.99,
    r1=0.1,
    log_every=20,
    steps_per_execution=4,
)
# The TF DCGAN tutorial as written (batch 256, Adam 1e-4 with Keras's default beta_1 0.9, one
# step per call): the baseline that time to quality is compared with.
TUTORIAL_DCGAN = TrainConfig(model="dcgan", width=1.0, batch_size=256, lr_g=1e-4, lr_d=1e-4, beta_1=0.9)
# The 2-D toys: small MLPs; an epoch (100,000 points: 375 steps) takes a few seconds, so a
# checkpoint, and a point on the Evaluate page's mode charts, comes that often; no live FID (toys
# are evaluated by their modes). The hinge loss and the EMA, as for images: of the settings
# measured over 3 seeds, the best worst seed on ring8 and grid25 (docs/benchmarks.md, "2-D toys").
# On ring8 D judges packs of 4 points (PacGAN): every mode on each of 6 seeds, against 5-8 of 8
# without; on grid25 packing loses modes, so there it is off (TOY_DATASET_DEFAULTS; "PacGAN").
TOY = TrainConfig(
    dataset="toy:ring8",
    model="toy-mlp",
    loss="hinge",
    ema=0.999,
    latent_dim=16,
    batch_size=256,
    epochs=20,
    lr_g=1e-3,
    lr_d=1e-3,
    log_every=25,
    live_fid_samples=0,
    steps_per_execution=25,
    pack=4,
)
# The toys' lesson, shipped as demo runs side by side on Home and offered to a demo link's
# visitors (docs/benchmarks.md, "2-D toys" and "PacGAN", measured over 6 seeds): the toy preset covers
# all of the ring's 8 modes; the plain GAN of Metz et al. 2017 (BCE, D's rate 10x below G's, batch 512,
# latent 256) collapses onto one mode that hops around the ring.
TOY_SLOW_D = TOY.replace(loss="bce", ema=0.0, batch_size=512, latent_dim=256, lr_d=1e-4, pack=1)


@dataclass(frozen=True)
class Lesson:
    name: str
    label: str
    config: TrainConfig

    @property
    def run_name(self) -> str:
        """Its shipped run. "demo-2d-..." sorts before "demo-mnist": a fresh clone writes it
        first, so the image demo stays the newest run, the one every page opens on by default."""
        return f"demo-{self.name}"


TOY_LESSON = (
    Lesson("2d-ring8-preset", "ring8, the toy preset (hinge loss, EMA of G, D judging packs of 4)", TOY),
    Lesson("2d-ring8-slow-d", "ring8, the plain GAN of Metz et al. (BCE, D 10x slower than G)", TOY_SLOW_D),
)
PRESETS = {"quick-start": QUICK_START, "tutorial": TUTORIAL_DCGAN, "toy": TOY}
DEFAULT_PRESET = "quick-start"  # what the Train form starts from, and the CLI without --preset
# Where the quality screen found a lever that helps one dataset and hurts another, the default
# preset differs by dataset (docs/benchmarks.md, "The EMA over three seeds"). MNIST's best FID
# over 3 seeds: 0.78 with EMA 0.99 against 0.91 with 0.999; Fashion-MNIST, still improving at
# the end of a short run, gains from the longer average: 6.13 with 0.999 against 7.83 with 0.99,
# and from its full learning rate to the end: at 16,848 steps 2.96 decayed against 2.42 constant;
# a boost at the start costs it the middle of the run (4.48 against 3.17 at 11,232 steps). So its
# rates are never decayed, and a short run gets MNIST's higher rates ("auto-constant",
# schedules.SHORT_RUN_RATES): at 1.5x, 1.35x lower FID at 1,872 and 3,744 steps over 3 seeds, while
# 1.5x to the end of ten minutes ends 1.11x higher (best 2.36 against 2.13; "Thirteenth round").
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "fashion_mnist": {"ema": 0.999, "lr_schedule": "auto-constant", "lr_boost": 1.0}
}
# The toy preset's packing helps the ring and hurts the grid (docs/benchmarks.md, "PacGAN"): 11
# of 25 modes at 26% quality with packs of 2, none with 4, against 12.7 at 53% one point at a time.
# The grid needs more: 4x the steps (batch 64: 31,000 steps, about a minute), a 2-D latent and
# twice the units (the papers' toy models), R1 against the late collapses and a decay to the end
# that settles every point onto its mode: 25 of 25 modes at 91-97% on 3 seeds not screened on,
# 24-25 on the 3 screened, against 12-13 at 53% (docs/benchmarks.md, "The 25-mode grid").
TOY_DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "toy:grid25": {
        "pack": 1, "batch_size": 64, "latent_dim": 2, "width": 2.0, "r1": 0.1, "lr_schedule": "linear"
    },
    "toy:spiral": {"pack": 1},
}  # fmt: skip


def starting_point(preset: str, dataset: str | None = None) -> TrainConfig:
    """Preset ``preset`` on ``dataset`` (default: its own), with the dataset's own defaults
    where the preset has some (the default preset's, the toy preset's)."""
    config = PRESETS[preset]
    dataset = dataset or config.dataset
    own = {DEFAULT_PRESET: DATASET_DEFAULTS, "toy": TOY_DATASET_DEFAULTS}.get(preset, {})
    return config.replace(dataset=dataset, **own.get(dataset, {}))


def default_preset(dataset: str | None) -> str:
    """The preset a dataset starts from when none is named: the toys' for a 2-D toy."""
    return "toy" if dataset and toys.is_toy(dataset) else DEFAULT_PRESET
