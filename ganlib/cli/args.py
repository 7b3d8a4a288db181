"""What every command's arguments share: the parser that fails in one line, the setting flags
written from ``config.SETTINGS``, and the small readers and printers of the commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganlib import GanlibError
from ganlib.config import (
    DEFAULT_PRESET,
    PRESETS,
    SETTINGS,
    TrainConfig,
    default_preset,
    setting_type,
    starting_point,
)
from ganlib.data import toys
from ganlib.runs.rundir import RunDir


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line, exit 2, as for every user error
        self.exit(2, f"{self.prog}: error: {message}\n")


class SettingsHelp(argparse.HelpFormatter):
    """Help for the setting flags, written from ``config.SETTINGS`` when help is shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        setting = SETTINGS.get(action.dest)
        if setting is None:
            return super()._get_help_string(action)
        default = getattr(PRESETS[DEFAULT_PRESET], action.dest)
        text = f"{setting.input_text()} (default: {'off' if default is False else default})"
        return text.replace("%", "%%")


def add_settings(parser: argparse.ArgumentParser) -> None:
    """--preset and a flag per TrainConfig setting."""
    parser.add_argument(
        "--preset",
        choices=PRESETS,
        default=None,
        help="start from a named configuration (quick-start, the default: the app's Train form; "
        "tutorial: the TF DCGAN tutorial as written; toy, the default for a toy:NAME dataset: "
        "the 2-D toys' MLPs); the flags below override it",
    )
    for name in SETTINGS:
        flag = "--" + name.replace("_", "-")
        kind = setting_type(name)
        # None = not given: the preset's (or the dataclass's) value stands. The help text comes
        # from SETTINGS when it is shown (_SettingsHelp), so other commands never import Keras.
        if kind is bool:  # --spectral-norm / --no-spectral-norm: a preset's True can be turned off
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help="(setting)")
        else:
            parser.add_argument(flag, type=kind, default=None, help="(setting)")


def configured(given) -> TrainConfig:
    """The preset (on the dataset asked for: ``starting_point``) with the setting flags given."""
    settings = {
        name: setting.from_input(getattr(given, name))
        for name, setting in SETTINGS.items()
        if getattr(given, name) is not None
    }
    dataset = settings.get("dataset")
    return starting_point(given.preset or default_preset(dataset), dataset).replace(**settings)


def add_runs_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        type=Path,
        default=None,
        help="runs directory (default: $GANLIB_RUNS_DIR or checkpoints/)",
    )


def print_table(columns: list[str], rows: list[dict]) -> None:
    table = [[str(row.get(c, "") if row.get(c) is not None else "") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    for line in [columns, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def parse_epochs(text: str, available: list[int]) -> list[int]:
    if text == "all":
        return available
    try:
        wanted = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GanlibError(f"--epochs takes 'all' or a comma list of numbers, got {text!r}") from None
    missing = [e for e in wanted if e not in available]
    if missing:
        raise GanlibError(f"no checkpoint for epoch(s) {missing} (saved: {available})")
    return wanted


def progress_bar(fraction: float, message: str) -> None:
    filled = int(fraction * 30)
    print(
        f"\r[{'#' * filled}{'.' * (30 - filled)}] {message}",
        end="\n" if fraction >= 1 else "",
        file=sys.stderr,
    )


def images_only(run: RunDir, command: str) -> None:
    """Refuse, in a sentence, a command that draws images for a 2-D toy run."""
    if toys.is_toy(run.config().dataset):
        raise GanlibError(
            f"{command} works on image runs; {run.name} is a 2-D toy ({run.config().dataset}): its points "
            "are drawn on each checkpoint's plane (epochs/NNNN/grid.png), and `evaluate` counts its modes"
        )
