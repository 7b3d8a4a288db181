"""GAN losses. Each is one entry in ``LOSSES``; adding a loss is one new function.

A loss receives the discriminator's raw outputs (logits or critic scores) for a real and a fake
batch. It also says how to read those outputs: what "D(x)" means for it and where the decision
threshold for real/fake accuracy lies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ganlib import deferred

keras, ops = deferred("keras"), deferred("keras.ops")  # imported when a loss is computed


@dataclass(frozen=True)
class GanLoss:
    name: str
    description: str
    d_loss: Callable  # (real_out, fake_out, label_smoothing) -> scalar
    g_loss: Callable  # (fake_out) -> scalar
    score: Callable  # raw output -> the value charted as D(x) / D(G(z))
    threshold: Callable  # (real_out, fake_out) -> outputs above it are judged "real" for accuracy
    score_label: str  # what the charted D value means
    accuracy_label: str = "share judged correctly (real above the threshold, fake at or below)"
    d_steps: int = 1  # discriminator (critic) updates per generator update
    gradient_penalty: float = 0.0  # weight of the WGAN-GP penalty on D's input gradients
    score_in_unit_range: bool = False  # score() is a probability (else unbounded)


def fixed(value: float) -> Callable:
    return lambda real_out, fake_out: value


LOSSES: dict[str, GanLoss] = {}


def register(loss: GanLoss) -> GanLoss:
    LOSSES[loss.name] = loss
    return loss


def get(name: str) -> GanLoss:
    return LOSSES[name]


def _bce(logits, target: float):
    return ops.mean(keras.losses.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def _bce_d_loss(real, fake, label_smoothing: float = 0.0):
    # One-sided label smoothing (Salimans et al. 2016): only real targets move, to 1 - s.
    return _bce(real, 1.0 - label_smoothing) + _bce(fake, 0.0)


register(
    GanLoss(
        name="bce",
        description="Non-saturating GAN loss (binary cross-entropy from logits): the classic DCGAN objective.",
        d_loss=_bce_d_loss,
        g_loss=lambda fake: _bce(fake, 1.0),
        score=lambda out: ops.sigmoid(out),
        threshold=fixed(0.0),
        score_label="probability of 'real'",
        score_in_unit_range=True,
    )
)

register(
    GanLoss(
        name="lsgan",
        description="Least-squares GAN: D regresses real to 1 and fake to 0; smoother gradients than BCE.",
        d_loss=lambda real, fake, s=0.0: 0.5 * (ops.mean((real - (1.0 - s)) ** 2) + ops.mean(fake**2)),
        g_loss=lambda fake: 0.5 * ops.mean((fake - 1.0) ** 2),
        score=lambda out: out,
        threshold=fixed(0.5),
        score_label="least-squares score (real target 1, fake 0)",
    )
)

register(
    GanLoss(
        name="hinge",
        description="Hinge loss (SAGAN, BigGAN): D pushes real above +1 and fake below -1.",
        d_loss=lambda real, fake, s=0.0: ops.mean(ops.relu(1.0 - s - real)) + ops.mean(ops.relu(1.0 + fake)),
        g_loss=lambda fake: -ops.mean(fake),
        score=lambda out: out,
        threshold=fixed(0.0),
        score_label="hinge score (real > 0 > fake)",
    )
)

register(
    GanLoss(
        name="wgan-gp",
        description="Wasserstein GAN with gradient penalty (Gulrajani et al. 2017): a critic, 5 critic "
        "steps per G step, penalty weight 10; stable, but slower per step.",
        d_loss=lambda real, fake, s=0.0: ops.mean(fake) - ops.mean(real),
        g_loss=lambda fake: -ops.mean(fake),
        score=lambda out: out,
        # A critic's scores have no fixed zero: judge against the midpoint of the two means.
        threshold=lambda real, fake: 0.5 * (ops.mean(real) + ops.mean(fake)),
        score_label="critic score (unbounded, not a probability)",
        accuracy_label="share on the right side of the midpoint of mean real and fake critic scores",
        d_steps=5,
        gradient_penalty=10.0,
    )
)
