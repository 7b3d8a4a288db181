"""A benchmark's variant as text: a name, then "+SETTING=VALUE" options for any other setting of
``TrainConfig`` (e.g. "hinge+ema+lr_d=2e-4", "constant+beta_1=0"), so a screen names its levers
on the command line."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ganlib.config import setting_type
from ganlib.config.settings import MAX_RUN_NAME


def split(variant: str) -> tuple[str, list[str], dict[str, Any]]:
    """``variant``'s name, its bare flags ("ema", "sn", ...) and its settings, typed."""
    name, *options = variant.split("+")
    flags = [option for option in options if "=" not in option]
    given = dict(option.split("=", 1) for option in options if "=" in option)
    return name, flags, {setting: setting_type(setting)(value) for setting, value in given.items()}


def run_name(variant: str) -> str:
    """``variant`` as a run's name: a long one is cut, with a digest that keeps it unique."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", variant.replace("+", "_").replace("=", "."))  # a path's "/"
    if len(name) <= MAX_RUN_NAME:
        return name
    return f"{name[: MAX_RUN_NAME - 9]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
