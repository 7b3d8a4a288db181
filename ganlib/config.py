"""The one configuration object of a training run, validated before anything is built."""

from __future__ import annotations

import dataclasses
import re
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
    if not isinstance(name, str) or not RUN_NAME_PATTERN.match(name) or ".." in name:
        raise ConfigError(
            [
                f"invalid run name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            ]
        )
    return name


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
    steps_per_epoch: int | None = None  # cap an epoch for quick tries; None = full pass
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta_1: float = 0.5
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    label_flip: float = 0.0  # share of D's real/fake pairs swapped each step
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs, annealed to 0
    spectral_norm: bool = False  # spectral normalisation of D's layers
    ema: float = 0.0  # decay of the generator's weight average used for sampling; 0 = off
    d_steps: int | None = None  # D updates per G update; None = the loss's default (WGAN-GP: 5)
    checkpoint_every: int = 1  # epochs between checkpoints; the last epoch is always saved
    log_every: int = 50  # steps between history lines (every epoch end is logged too)
    seed: int = 0
    image_size: int | None = None  # folder datasets: resize to this square size
    steps_per_execution: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # free-form notes, kept as given

    def problems(self) -> list[str]:
        """Human-readable problems with these settings; empty when valid."""
        from ganlib import losses, models

        out = self._type_problems()
        if out:
            return out
        if self.model not in models.ARCHITECTURES:
            out.append(f"unknown model {self.model!r} (choose from {', '.join(models.ARCHITECTURES)})")
        if self.loss not in losses.LOSSES:
            out.append(f"unknown loss {self.loss!r} (choose from {', '.join(losses.LOSSES)})")
        elif self.model in models.ARCHITECTURES and penalty_meets_batch_norm(self.loss, self.model):
            out.append(
                f"{self.loss} penalises D per image, but {self.model}'s D uses BatchNorm: pick another model"
            )
        checks = [
            (1 <= self.latent_dim <= 1024, "latent_dim must be between 1 and 1024"),
            (0.125 <= self.width <= 4, "width must be between 0.125 and 4"),
            (1 <= self.batch_size <= 4096, "batch_size must be between 1 and 4096"),
            (1 <= self.epochs <= 100_000, "epochs must be between 1 and 100000"),
            (
                self.steps_per_epoch is None or self.steps_per_epoch >= 1,
                "steps_per_epoch must be at least 1",
            ),
            (0 < self.lr_g < 1 and 0 < self.lr_d < 1, "learning rates must be in (0, 1)"),
            (0 <= self.beta_1 < 1, "beta_1 must be in [0, 1)"),
            (0 <= self.label_smoothing < 0.5, "label_smoothing must be in [0, 0.5)"),
            (0 <= self.label_flip < 0.5, "label_flip must be in [0, 0.5)"),
            (0 <= self.instance_noise <= 2, "instance_noise must be in [0, 2]"),
            (self.ema == 0 or 0.5 <= self.ema < 1, "ema must be 0 (off) or in [0.5, 1)"),
            (self.d_steps is None or 1 <= self.d_steps <= 20, "d_steps must be between 1 and 20"),
            (self.checkpoint_every >= 1, "checkpoint_every must be at least 1"),
            (self.log_every >= 1, "log_every must be at least 1"),
            (0 <= self.seed < 2**31, "seed must be between 0 and 2^31-1"),
            (
                self.image_size is None or 8 <= self.image_size <= 256,
                "image_size must be between 8 and 256",
            ),
            (self.steps_per_execution >= 1, "steps_per_execution must be at least 1"),
        ]
        out += [message for ok, message in checks if not ok]
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


# The app's starting point: the configuration that shows digits soonest on a 2-core CPU
# (README, "Time to quality", measured by benchmarks/time_to_quality.py). The dataclass defaults
# stay the DCGAN paper's settings at the TF tutorial's model size: the CLI's defaults.
QUICK_START = TrainConfig(
    model="cdcgan-lean",
    width=0.5,
    batch_size=64,
    epochs=5,
    lr_g=4e-4,
    lr_d=4e-4,
    ema=0.999,
    log_every=20,
    steps_per_execution=4,
)
# The TF DCGAN tutorial as written (batch 256, Adam 1e-4 with Keras's default beta_1 0.9, one
# step per call): the baseline that time to quality is compared with.
TUTORIAL_DCGAN = TrainConfig(model="dcgan", width=1.0, batch_size=256, lr_g=1e-4, lr_d=1e-4, beta_1=0.9)
PRESETS = {"quick-start": QUICK_START, "tutorial": TUTORIAL_DCGAN}


def penalty_meets_batch_norm(loss: str, model: str) -> bool:
    """WGAN-GP's per-image gradient penalty is void when BatchNorm in D mixes the batch."""
    from ganlib import losses, models

    return losses.LOSSES[loss].gradient_penalty > 0 and models.ARCHITECTURES[model].d_batch_norm
