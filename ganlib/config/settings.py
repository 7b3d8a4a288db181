"""Every setting of a run, written once: its meaning, bounds and label (the validator, the
CLI's help and the Train form derive from it), and the run name's rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ganlib import GanlibError
from ganlib.zoo import augment, losses, models, schedules

MAX_RUN_NAME = 64
RUN_NAME_PATTERN = re.compile(rf"^[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_RUN_NAME - 1}}}$")


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
                f"invalid run name {name!r}: use 1-{MAX_RUN_NAME} letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            ]
        )
    return name


def _architectures() -> list[str]:
    return list(models.ARCHITECTURES)


def _losses() -> list[str]:
    return list(losses.LOSSES)


def _schedules() -> list[str]:
    return list(schedules.SCHEDULES)


def _augmentations() -> list[str]:
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


def _number(value: float | None) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# Every setting of TrainConfig, in the Train form's order.
SETTINGS: dict[str, Setting] = {
    "dataset": Setting("Dataset", "mnist, fashion_mnist (60,000 28x28 grayscale images, 10 classes), folder:PATH, or a 2-D toy: "
        "toy:ring8, toy:grid25, toy:spiral (with the toy-mlp model)."),
    "model": Setting("Architecture", "The generator/discriminator pair (see the model zoo).", choices=_architectures),
    "models_from": Setting(
        "Architecture file",
        "A Python file of yours that registers generator/discriminator pairs with "
        "@ganlib.architecture(NAME, DESCRIPTION): they join the architectures. The run records the "
        "file's path and sha256, so Gallery, Evaluate and a resume rebuild the same models.",
        in_form=False,
    ),
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
        "time budget), so the last checkpoint is a settled one; auto: constant for a run under "
        f"{schedules.DECAY_FROM_STEPS:,} steps, which needs its full rate ("
        + ", ".join(f"under {steps:,} steps {rate:g}x" for steps, rate in schedules.SHORT_RUN_RATES)
        + " the rates), decayed for a longer one; auto-constant: the same, never decayed.",
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
    "pack": Setting(
        "Pack (PacGAN)",
        "D judges this many samples at once, side by side (PacGAN, Lin et al. 2018): a pack drawn "
        "from a G that drops modes looks less like a pack of real samples than one sample alone does, "
        "so D pushes G to cover them. 1 = off; the batch must divide by it.",
        1, 8,
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
