"""The one configuration object of a training run, validated before anything is built."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ganlib import GanlibError
from ganlib.config.settings import SETTINGS, ConfigError
from ganlib.data import toys
from ganlib.zoo import losses, models, user_models


@dataclass
class TrainConfig:
    """Every setting of a run. Saved as ``config.json``; the run is reproducible from it."""

    dataset: str = "mnist"
    model: str = "dcgan"
    models_from: str = ""  # a Python file of the user's registering architectures (zoo/user_models.py)
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
    pack: int = 1  # samples D judges at once (PacGAN); 1 = one at a time
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
        out = self._type_problems()
        if out:
            return out
        if self.models_from:  # its architectures join the registry before the model is checked
            try:
                user_models.load(self.models_from)
            except GanlibError as exc:
                return [str(exc)]
        for name, setting in SETTINGS.items():
            value = getattr(self, name)
            if not setting.allows(value):
                out.append(f"{name} must be {setting.allowed_text()}, got {value!r}")
        # Rules across fields: the one thing the table cannot say.
        if self.pack > 1 and isinstance(self.batch_size, int) and self.batch_size % self.pack:
            out.append(f"batch_size {self.batch_size} must divide by pack {self.pack}: D judges whole packs")
        if (
            self.pack > 1
            and self.model in models.ARCHITECTURES
            and models.ARCHITECTURES[self.model].conditional
        ):
            out.append(f"{self.model} is conditional: a pack would mix classes; use pack 1")
        known = self.model in models.ARCHITECTURES and self.loss in losses.LOSSES
        if known and penalty_meets_batch_norm(self.loss, self.model):
            out.append(
                f"{self.loss} penalises D per image, but {self.model}'s D uses BatchNorm: pick another model"
            )
        return out + self._toy_problems()

    def _toy_problems(self) -> list[str]:
        """A 2-D toy trains a points model, and the image-only options do not apply to it."""
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


def penalty_meets_batch_norm(loss: str, model: str) -> bool:
    """WGAN-GP's per-image gradient penalty is void when BatchNorm in D mixes the batch."""
    return losses.LOSSES[loss].gradient_penalty > 0 and models.ARCHITECTURES[model].d_batch_norm


def setting_type(name: str) -> type:
    """The Python type of a TrainConfig field (``int`` for ``int | None``)."""
    kinds = {"int": int, "float": float, "str": str, "bool": bool}
    return kinds[str(TrainConfig.__dataclass_fields__[name].type).split(" |")[0]]
