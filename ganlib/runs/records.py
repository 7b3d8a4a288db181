"""The records of the run format, as types: what ``status.json``, ``best.json`` and each line of
``alerts.jsonl`` hold, with the states and choices they name. ``RunDir`` reads and writes them
(``ganlib.runs.rundir``); the trainer, the CLI and the pages read their fields, never keys."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class RunState(StrEnum):
    """A run's state as ``status()`` reports it. The first six are written to ``status.json``;
    the last two are read conclusions: a run left training or paused by a process that is gone
    is ``INTERRUPTED``; a folder without a readable config is ``MISSING``."""

    CREATED = "created"
    TRAINING = "training"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    MISSING = "missing"

    @property
    def active(self) -> bool:
        """A process is (or was, if interrupted) training it."""
        return self in (RunState.TRAINING, RunState.PAUSED)

    @property
    def resumable(self) -> bool:
        """Training can continue from its newest checkpoint."""
        return self in (RunState.STOPPED, RunState.INTERRUPTED, RunState.FAILED, RunState.FINISHED)


WRITTEN_STATES = tuple(RunState)[:6]


class Request(StrEnum):
    """What the app asks of a run's writer that listens (``control.json``, read by ``ganlib.track``'s
    ``should_stop``): the app's own trainer takes its requests through the job instead."""

    RUN = "run"
    PAUSE = "pause"
    STOP = "stop"


@dataclass(frozen=True)
class Writer:
    """``lock.json``: the process writing a run. ``beat``: the time of its last heartbeat, for a
    writer that sends one (``ganlib.track``; the app's trainer is watched by its process id);
    ``listens``: its loop asks for Pause and Stop."""

    pid: int
    host: str
    beat: float | None = None
    listens: bool = False
    owner: str | None = None  # which writer of the process (one per ganlib.track.Run)

    def same(self, other: Writer) -> bool:
        return (self.pid, self.host, self.owner) == (other.pid, other.host, other.owner)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Writer:
        beat, owner = data.get("beat"), data.get("owner")
        return cls(
            int(data["pid"]),
            str(data["host"]),
            None if beat is None else float(beat),
            bool(data.get("listens")),
            None if owner is None else str(owner),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class ChosenBy(StrEnum):
    """Who chose a run's best epoch (``best.json``): a person's mark outranks the FID's choice
    (or, for a 2-D toy, the modes')."""

    PERSON = "person"
    PICKS = "picks"  # a person's blind A/B picks (ganlib.picks): the top of their rating
    FID = "fid"
    MODES = "modes"  # a toy: most modes covered, then the highest high-quality share

    @property
    def by_people(self) -> bool:
        """Chosen by people (a mark or their picks): no evaluation replaces it."""
        return self in (ChosenBy.PERSON, ChosenBy.PICKS)


@dataclass(frozen=True)
class RunStatus:
    """``status.json``: the run's state and where it is, or why it failed (``error`` in a
    sentence, ``detail`` the traceback's end); ``was`` is read, not written: the state a run
    was left in when it reads as interrupted."""

    state: RunState
    time: float | None = None
    epoch: int | None = None
    step: int | None = None
    error: str | None = None
    detail: str | None = None
    was: RunState | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunStatus:
        def number(key: str, kind: type) -> Any:
            return None if data.get(key) is None else kind(data[key])

        return cls(
            RunState(data["state"]), number("time", float), number("epoch", int), number("step", int),
            number("error", str), number("detail", str),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Best:
    """``best.json``: the run's best epoch, who chose it and, when it was evaluated, its figures
    with the metric and sample count they are in (``evaluation.mark_best`` writes it)."""

    epoch: int
    chosen_by: ChosenBy
    fid: float | None = None
    kid: float | None = None
    metric: str = "FID"
    samples: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Best:
        """Raises ValueError (or KeyError, TypeError) on a file that is not a best record."""
        return cls(
            epoch=int(data["epoch"]),
            chosen_by=ChosenBy(data["chosen_by"]),
            fid=None if data.get("fid") is None else float(data["fid"]),
            kid=None if data.get("kid") is None else float(data["kid"]),
            metric=str(data.get("metric", "FID")),
            samples=None if data.get("samples") is None else int(data["samples"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class PairPick:
    """A line of ``picks.jsonl``: one blind A/B answer. Two checkpoints' grids drawn from the same
    latents (``seed``) were shown left and right; ``preferred`` is the epoch the person chose, or
    None for "the same". ``session`` tells people (or tabs) apart; picks of every session add up."""

    time: float
    session: str
    left: int
    right: int
    preferred: int | None
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairPick:
        preferred = data["preferred"]
        pick = cls(float(data["time"]), str(data["session"]), int(data["left"]), int(data["right"]),
                   None if preferred is None else int(preferred), int(data["seed"]))  # fmt: skip
        if pick.preferred not in (None, pick.left, pick.right) or pick.left == pick.right:
            raise ValueError("not a pick between two shown checkpoints")
        return pick


@dataclass(frozen=True)
class RealOrFake:
    """A line of ``real-or-fake.jsonl``: one image shown alone while judging ``epoch`` (HYPE-
    infinity): a real test image (``real``) or the checkpoint's sample, and what the person said."""

    time: float
    session: str
    epoch: int
    real: bool
    judged_real: bool
    index: int  # the real test image's index, or the sample's latent seed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RealOrFake:
        if not isinstance(data["real"], bool) or not isinstance(data["judged_real"], bool):
            raise ValueError("real and judged_real are true or false")
        return cls(float(data["time"]), str(data["session"]), int(data["epoch"]), data["real"],
                   data["judged_real"], int(data["index"]))  # fmt: skip


class AlertKind(StrEnum):
    D_WINS = "D wins"
    MODE_COLLAPSE = "mode collapse"
    DIVERGENCE = "divergence"


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    step: int
    detail: str  # what was seen, in a sentence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(AlertKind(data["kind"]), int(data["step"]), str(data["detail"]))


@dataclass(frozen=True)
class Progress:
    """Where a training run is, as a UI shows it: handed to the trainer's ``report`` after every
    step, and sent by the app's worker as one JSON line (``to_dict``, read back by ``from_dict``)."""

    run: str
    state: RunState
    epoch: int  # epochs completed
    epochs: int  # the run's epochs (with a time budget: the epochs expected to fit in it)
    step: int  # global step
    steps_per_epoch: int
    images_per_sec: float = 0.0
    eta_sec: float | None = None
    elapsed_sec: float = 0.0

    @property
    def fraction(self) -> float:
        total = self.epochs * self.steps_per_epoch
        return min(1.0, self.step / total) if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fraction": self.fraction}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in fields}
        return cls(**{**known, "state": RunState(data["state"])})


@dataclass(frozen=True)
class QualityPoint:
    """A line of ``quality.jsonl``: the live quick FID and its friends at one checkpoint, on
    ``samples`` samples against as many held-out real images, with the real-data floor at that
    count (``seconds``: what computing it cost the run)."""

    step: int
    epoch: int
    elapsed: float
    samples: int
    fid: float
    floor_fid: float
    precision: float
    recall: float
    classes_covered: int
    seconds: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityPoint:
        kinds = {"step": int, "epoch": int, "samples": int, "classes_covered": int}
        return cls(**{f.name: kinds.get(f.name, float)(data[f.name]) for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PointKind(StrEnum):
    """What a line of ``history.jsonl`` averages."""

    STEP = "step"  # the steps since the previous log point (every ``log_every`` steps)
    EPOCH = "epoch"  # the whole epoch, written at its end


# What the train step measures (GAN.train_step's metrics), in the order it reports them.
METRIC_NAMES = ("d_loss", "g_loss", "d_real", "d_fake", "acc_real", "acc_fake")


@dataclass(frozen=True)
class HistoryPoint:
    """A line of ``history.jsonl``: where the run was (``epoch`` is fractional: steps over steps
    per epoch; ``elapsed`` the trainer's seconds) and the means of its metrics over the steps the
    point covers. A run written by another loop (``ganlib.track``) may log some of the metrics
    (the others read as NaN) and numbers of its own (``other``, written beside them on the line)."""

    kind: PointKind
    step: int
    epoch: float
    elapsed: float
    images_per_sec: float
    d_loss: float
    g_loss: float
    d_real: float  # D's mean output on real images (a probability for BCE, a score otherwise)
    d_fake: float
    acc_real: float  # the share of real images D calls real
    acc_fake: float
    other: dict[str, float] = dataclasses.field(default_factory=dict)

    def metric(self, name: str) -> float:
        """One of ``METRIC_NAMES``, any other number the point holds (``step``, ``epoch``...) or
        one of ``other``; NaN for a metric this point did not log."""
        if name in self.other:
            return self.other[name]
        return getattr(self, name, math.nan)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryPoint:
        fields = dataclasses.fields(cls)
        floats = [f.name for f in fields if f.type in ("float", float)]  # by type, not place
        numbers = {name: float(data.get(name, math.nan)) for name in floats}
        known = {f.name for f in fields}
        other = {
            key: float(value)
            for key, value in data.items()
            if key not in known and isinstance(value, (int, float)) and not isinstance(value, bool)
        }
        return cls(PointKind(data["kind"]), int(data["step"]), **numbers, other=other)

    def to_dict(self) -> dict[str, Any]:
        """One flat JSON object (``other``'s numbers beside the rest); a metric not logged is left out."""
        point = {k: v for k, v in asdict(self).items() if k != "other" and v == v}  # NaN != NaN
        return {**point, **self.other}
