"""The one configuration object of a training run, validated before anything is built."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ganlib import GanlibError

RUN_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(GanlibError):
    """Invalid settings; ``problems`` lists every one, so a form can show them all at once."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def check_run_name(name: str) -> str:
    """Return ``name`` if it is a safe run-directory name (no separators, no ``..``)."""
    if not isinstance(name, str) or not RUN_NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ConfigError(
            [
                f"invalid run name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            ]
        )
    return name


def _architectures() -> list[str]:
    from ganlib.zoo import models

    return list(models.ARCHITECTURES)


def _losses() -> list[str]:
    from ganlib.zoo import losses

    return list(losses.LOSSES)


def _schedules() -> list[str]:
    from ganlib.zoo import schedules

    return list(schedules.SCHEDULES)


def _augmentations() -> list[str]:
    from ganlib.zoo import augment

    return list(augment.POLICIES)


@dataclass(frozen=True)
class Setting:
    """What one ``TrainConfig`` field means and accepts: the one source from which the validator,
    the CLI's help and the Train form are derived.

    ``low``/``high`` bound numbers (``*_open``: the bound itself is refused); ``off`` is one more
    value allowed outside them that switches the feature off; ``zero_means`` marks an optional
    field whose ``None`` a form or flag enters as 0; ``choices`` lists the allowed strings.
    """

    label: str
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    off: float | None = None
    zero_means: str | None = None
    choices: Callable[[], list[str]] | None = None
    step: float | None = None  # the form's increment
    in_form: bool = True  # the Train form shows it (the others keep the preset's value)

    def allows(self, value: Any) -> bool:
        if value is None:
            return self.zero_means is not None
        if self.choices is not None:
            return value in self.choices()
        if isinstance(value, bool) or self.low is None:
            return True
        if self.off is not None and value == self.off:
            return True
        above = value > self.low if self.low_open else value >= self.low
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def allowed_text(self) -> str:
        """The allowed values in words, as the validator and the CLI's help say them."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices())
        if self.low is None:
            return ""
        if self.high is None:
            text = f"{'above' if self.low_open else 'at least'} {_number(self.low)}"
        elif not (self.low_open or self.high_open):
            text = f"between {_number(self.low)} and {_number(self.high)}"
        else:
            text = (
                f"in {'(' if self.low_open else '['}{_number(self.low)}, "
                f"{_number(self.high)}{')' if self.high_open else ']'}"
            )
        if self.off is not None:
            text = f"{_number(self.off)} (off) or {text}"
        if self.zero_means:
            text += f", or none ({self.zero_means})"
        return text

    def input_text(self) -> str:
        """The help of a form field or flag: what it does and what it takes."""
        allowed = self.allowed_text().replace(", or none (", ", or 0 (")
        return f"{self.help} Allowed: {allowed}." if allowed else self.help

    @property
    def form_low(self) -> float | None:
        """The lowest value a form field or flag takes: 0 where 0 means "none" or "off", else the
        validator's bound."""
        return 0 if self.zero_means or self.off is not None else self.low

    def from_input(self, value: Any) -> Any:
        """A form's or flag's value as the config holds it: 0 means None where ``zero_means``."""
        return None if self.zero_means and value == 0 else value


def setting_type(name: str) -> type:
    """The Python type of a TrainConfig field (``int`` for ``int | None``)."""
    kinds = {"int": int, "float": float, "str": str, "bool": bool}
    return kinds[str(TrainConfig.__dataclass_fields__[name].type).split(" |")[0]]


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# Every setting of TrainConfig, in the Train form's order.
SETTINGS: dict[str, Setting] = {
    "dataset": Setting("Dataset", "mnist, fashion_mnist (60,000 28x28 grayscale images, 10 classes), folder:PATH, or a 2-D toy: "
        "toy:ring8, toy:grid25, toy:spiral (with the toy-mlp model)."),
    "model": Setting("Architecture", "The generator/discriminator pair (see the model zoo).", choices=_architectures),
    "loss": Setting("Loss", "The adversarial objective.", choices=_losses),
    "latent_dim": Setting("Latent size", "Length of the random vector z that G turns into an image.", 1, 1024),
    "width": Setting(
        "Width",
        "Multiplies every layer's channels/units: 0.5 trains about 3x faster, 1.0 is the tutorial size.",
        0.125, 4.0, step=0.125,
    ),
    "batch_size": Setting("Batch size", "Real images per step (and as many fakes).", 1, 4096),
    "epochs": Setting("Epochs", "Full passes over the data (or over the step cap).", 1, 100_000),
    "minutes": Setting(
        "Time budget (min, 0 = none)",
        "Train for this many minutes: the run ends at the last epoch end that fits (or at the epochs, "
        "if sooner), and the learning-rate schedule and the ETA aim at that end, re-estimated from the "
        "measured speed. One machine only (not under multiworker).",
        0.1, 100_000.0, off=0.0, step=1.0,
    ),
    "steps_per_epoch": Setting(
        "Steps per epoch (0 = all)", "Cap an epoch at this many steps for quick tries.", 1, 100_000,
        zero_means="a full pass",
    ),
    "lr_g": Setting(
        "LR generator", "Adam learning rate of the generator.", 0.0, 1.0, low_open=True, high_open=True, step=1e-5
    ),
    "lr_d": Setting(
        "LR discriminator",
        "Adam learning rate of the discriminator (a rate other than G's is TTUR).",
        0.0, 1.0, low_open=True, high_open=True, step=1e-5,
    ),
    "lr_schedule": Setting(
        "LR schedule",
        "Both learning rates over the run: constant, or decayed to zero at its end (the epochs or the "
        "time budget), so the last checkpoint is a settled one.",
        choices=_schedules,
    ),
    "lr_boost": Setting(
        "LR boost at start",
        "Both learning rates start this many times higher and fall back to the schedule's over the "
        "first tenth of the run: recognisable samples sooner (1 = off).",
        1.0, 10.0, step=0.5,
    ),
    "beta_1": Setting("Adam beta_1", "Adam's first-moment decay (the DCGAN paper: 0.5).", 0.0, 1.0, high_open=True, step=0.05),
    "label_smoothing": Setting(
        "Label smoothing",
        "One-sided: real targets become 1 - s, so D is less over-confident (0.1 is common).",
        0.0, 0.5, high_open=True, step=0.05,
    ),
    "label_flip": Setting(
        "Label flipping",
        "Share of real/fake pairs shown to D with swapped labels each step: keeps D from over-confidence.",
        0.0, 0.5, high_open=True, step=0.01,
    ),
    "instance_noise": Setting(
        "Instance noise",
        "Gaussian noise of this std, annealed to 0 over the first half, on D's inputs: real and fake overlap early.",
        0.0, 2.0, step=0.05,
    ),
    "augment": Setting(
        "Augment D's inputs",
        "DiffAugment: real and generated images reach D randomly shifted and/or with a square cut out, "
        "so D cannot memorise the training images (its held-out accuracy stays up).",
        choices=_augmentations,
    ),
    "spectral_norm": Setting(
        "Spectral norm in D",
        "Normalises each D layer by its largest singular value: a smoother D, steadier training.",
    ),
    "r1": Setting(
        "R1 penalty",
        "Penalises D's gradient on real images, r1 / 2 times its mean squared norm (Mescheder et al. "
        "2018): D stays flat around the data, so G is not pushed past it and spreads over more of it "
        "(more recall); 0 turns it off. The default 0.1: steps 1.3x slower, FID far lower per minute "
        "(docs/benchmarks.md).",
        0.0, 1000.0, step=0.01,
    ),
    "ema": Setting(
        "Generator EMA",
        "Sample from a moving average of G's weights: smoother, often better FID. The decay warms up as "
        "(1 + t) / (10 + t) at step t and stops at this value, so 0.999 takes effect after about 9,000 "
        "steps and 0.99 after 900; the average spans about the last tenth of a shorter run. The default: "
        "0.99 (MNIST's best), 0.999 on Fashion-MNIST (docs/benchmarks.md).",
        0.5, 1.0, high_open=True, off=0.0, step=0.001,
    ),
    "d_steps": Setting(
        "D steps per G step (0 = loss default)",
        "Discriminator updates per generator update.",
        1, 20, zero_means="the loss's default: WGAN-GP 5, the others 1",
    ),
    "checkpoint_every": Setting(
        "Checkpoint every (epochs)",
        "Save weights and a sample grid every N epochs (the last epoch is always saved).",
        1, 100_000,
    ),
    "log_every": Setting(
        "Log every (steps)", "Steps between points on the live charts (each the mean over those steps).", 1, 100_000
    ),
    "seed": Setting("Seed", "Same seed, same machine, same run.", 0, 2**31 - 1),
    "live_fid_samples": Setting(
        "Live FID samples",
        "At each checkpoint, a quick FID, precision/recall and class coverage at this many samples, charted "
        "live (not comparable with Evaluate's 10,000-sample FID).",
        100, 10_000, off=0,
    ),
    "tensorboard": Setting(
        "TensorBoard events",
        "Also write TensorBoard event files in the run's tensorboard/ folder: the losses and D outputs at "
        "every log point, the quick FID and the grid at every checkpoint (`tensorboard --logdir checkpoints/`).",
    ),
    "image_size": Setting(
        "Image size", "Folder datasets: resize to this square size.", 8, 256, zero_means="the images' own size",
        in_form=False,
    ),
    "steps_per_execution": Setting(
        "Steps per call",
        "Training steps per call into TensorFlow: changes speed, not results.",
        1, 1000, in_form=False,
    ),
}  # fmt: skip


@dataclass
class TrainConfig:
    """Every setting of a run. Saved as ``config.json``; the run is reproducible from it."""

    dataset: str = "mnist"
    model: str = "dcgan"
    loss: str = "bce"
    latent_dim: int = 100
    width: float = 1.0  # channel/unit multiplier of the architecture: 0.5 halves every layer
    batch_size: int = 128
    epochs: int = 10
    minutes: float = 0.0  # time budget: end at the last epoch end that fits; 0 = the epochs decide
    steps_per_epoch: int | None = None  # cap an epoch for quick tries; None = full pass
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_schedule: str = "constant"  # ganlib/zoo/schedules.py: factor on both rates over the run
    lr_boost: float = 1.0  # both rates this many times higher at the start, back to 1x at a tenth
    beta_1: float = 0.5
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    label_flip: float = 0.0  # share of D's real/fake pairs swapped each step
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs, annealed to 0
    spectral_norm: bool = False  # spectral normalisation of D's layers
    augment: str = "none"  # DiffAugment policy on D's inputs (ganlib/zoo/augment.py)
    r1: float = 0.0  # weight of the R1 penalty on D's gradient at real images; 0 = off
    ema: float = 0.0  # decay of the generator's weight average used for sampling; 0 = off
    d_steps: int | None = None  # D updates per G update; None = the loss's default (WGAN-GP: 5)
    checkpoint_every: int = 1  # epochs between checkpoints; the last epoch is always saved
    log_every: int = 50  # steps between history lines (every epoch end is logged too)
    seed: int = 0
    live_fid_samples: int = 1000  # quick FID at each checkpoint (0 = off): quality while it trains
    tensorboard: bool = True  # TensorBoard event files beside the run's own JSON records
    image_size: int | None = None  # folder datasets: resize to this square size
    steps_per_execution: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes, kept as given

    def problems(self) -> list[str]:
        """Human-readable problems with these settings, every one at once; empty when valid."""
        from ganlib.zoo import losses, models

        out = self._type_problems()
        if out:
            return out
        for name, setting in SETTINGS.items():
            value = getattr(self, name)
            if not setting.allows(value):
                out.append(f"{name} must be {setting.allowed_text()}, got {value!r}")
        # Rules across fields: the one thing the table cannot say.
        known = self.model in models.ARCHITECTURES and self.loss in losses.LOSSES
        if known and penalty_meets_batch_norm(self.loss, self.model):
            out.append(
                f"{self.loss} penalises D per image, but {self.model}'s D uses BatchNorm: pick another model"
            )
        return out + self._toy_problems()

    def _toy_problems(self) -> list[str]:
        """A 2-D toy trains a points model, and the image-only options do not apply to it."""
        from ganlib.data import toys
        from ganlib.zoo import models

        if not toys.is_toy(self.dataset):
            if models.for_points(self.model):
                return [
                    f"{self.model} draws 2-D points: train it on a toy dataset ({', '.join(toys.TOY_DATASETS)})"
                ]
            return []
        out = []
        if self.dataset not in toys.TOY_DATASETS:
            out.append(f"unknown toy {self.dataset!r} (choose from {', '.join(toys.TOY_DATASETS)})")
        points_models = [name for name, a in models.ARCHITECTURES.items() if a.points]
        if self.model in models.ARCHITECTURES and not models.for_points(self.model):
            out.append(f"a toy dataset needs a points model ({', '.join(points_models)}), not {self.model}")
        if self.augment != "none":
            out.append("augment shifts and cuts images: use none on a toy dataset")
        if self.live_fid_samples:
            out.append(
                "the live FID measures images: set live_fid_samples to 0 on a toy (its modes are evaluated)"
            )
        if self.image_size is not None:
            out.append("image_size resizes images: leave it unset on a toy dataset")
        return out

    def _type_problems(self) -> list[str]:
        kinds = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
        out = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            base, _, optional = str(f.type).partition(" | ")
            if optional == "None" and value is None or base not in kinds:
                continue
            if (isinstance(value, bool) and base != "bool") or not isinstance(value, kinds[base]):
                out.append(f"{f.name} must be a{'n' if base == 'int' else ''} {base}, got {value!r}")
        return out

    def critic_steps(self) -> int:
        """D updates per G update: ``d_steps``, or the loss's default when it is None."""
        from ganlib.zoo import losses

        return self.d_steps or losses.get(self.loss).d_steps

    def validate(self) -> TrainConfig:
        problems = self.problems()
        if problems:
            raise ConfigError(problems)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a saved dict, ignoring keys this version does not know."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        config = cls(**{k: v for k, v in data.items() if k in names})
        if unknown:
            config.extra = {**config.extra, "ignored_keys": sorted(unknown)}
        return config

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


# The app's and the CLI's starting point: the configuration that shows digits soonest on a 2-core
# CPU (docs/benchmarks.md, "Time to quality"), with the hinge loss and spectral norm in D, which
# the quality screen found better on both datasets at every checkpoint past the first minutes,
# with more recall and no loss of speed (docs/benchmarks.md, "Quality screen"), and the R1
# penalty at 0.1, the one lever that moved recall (best FID at 7,488 steps: MNIST 0.58 against 0.78
# over 3 seeds, Fashion-MNIST 5.07 against 6.56; each step 1.3x slower; "Sixth round"). Its dataset is
# MNIST, whose G averaged over a short horizon (EMA 0.99) is best, and whose learning rates decay
# linearly to the run's end: past about 9,000 steps a constant rate wanders on a plateau, a decay
# settles lower ("Seventh round"; DATASET_DEFAULTS has the other datasets'); and both rates start
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
    lr_schedule="linear",
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
)
# The toys' lesson, shipped as demo runs side by side on Home and offered to a demo link's
# visitors (docs/benchmarks.md, "2-D toys", measured over 3 seeds): the toy preset covers most of
# the ring's 8 modes; the plain GAN of Metz et al. 2017 (BCE, D's rate 10x below G's, batch 512,
# latent 256) collapses onto one mode that hops around the ring.
TOY_SLOW_D = TOY.replace(loss="bce", ema=0.0, batch_size=512, latent_dim=256, lr_d=1e-4)


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
    Lesson("2d-ring8-preset", "ring8, the toy preset (hinge loss, EMA of G)", TOY),
    Lesson("2d-ring8-slow-d", "ring8, the plain GAN of Metz et al. (BCE, D 10x slower than G)", TOY_SLOW_D),
)
PRESETS = {"quick-start": QUICK_START, "tutorial": TUTORIAL_DCGAN, "toy": TOY}
DEFAULT_PRESET = "quick-start"  # what the Train form starts from, and the CLI without --preset
# Where the quality screen found a lever that helps one dataset and hurts another, the default
# preset differs by dataset (docs/benchmarks.md, "The EMA over three seeds"). MNIST's best FID
# over 3 seeds: 0.78 with EMA 0.99 against 0.91 with 0.999; Fashion-MNIST, still improving at
# the end of a short run, gains from the longer average: 6.13 with 0.999 against 7.83 with 0.99,
# and from its full learning rate to the end: at 16,848 steps 2.96 decayed against 2.42 constant;
# a boost at the start costs it the middle of the run (4.48 against 3.17 at 11,232 steps).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "fashion_mnist": {"ema": 0.999, "lr_schedule": "constant", "lr_boost": 1.0}
}


def starting_point(preset: str, dataset: str | None = None) -> TrainConfig:
    """Preset ``preset`` on ``dataset`` (default: its own), with the dataset's own defaults
    when the preset is the default one."""
    config = PRESETS[preset]
    dataset = dataset or config.dataset
    changes = DATASET_DEFAULTS.get(dataset, {}) if preset == DEFAULT_PRESET else {}
    return config.replace(dataset=dataset, **changes)


def default_preset(dataset: str | None) -> str:
    """The preset a dataset starts from when none is named: the toys' for a 2-D toy."""
    from ganlib.data import toys

    return "toy" if dataset and toys.is_toy(dataset) else DEFAULT_PRESET


def penalty_meets_batch_norm(loss: str, model: str) -> bool:
    """WGAN-GP's per-image gradient penalty is void when BatchNorm in D mixes the batch."""
    from ganlib.zoo import losses, models

    return losses.LOSSES[loss].gradient_penalty > 0 and models.ARCHITECTURES[model].d_batch_norm
