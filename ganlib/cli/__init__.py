"""``python -m ganlib``: train, sample, evaluate, export, list runs and manage datasets without the app.

One module per group of commands (``train``, ``evaluate``, ``runs``), each registering its
commands' arguments and handlers; ``args`` holds what they share.
"""

from __future__ import annotations

import sys

from ganlib import GanlibError
from ganlib.cli import args, evaluate, runs, train


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    given = parser.parse_args(argv)
    try:
        return given.handler(given) or 0
    except GanlibError as exc:
        print(f"ganlib: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganlib: interrupted", file=sys.stderr)
        return 130


def build_parser() -> args.ArgumentParser:
    parser = args.ArgumentParser(prog="python -m ganlib", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=args.ArgumentParser)
    for group in (train, evaluate, runs):
        group.register(commands)
    return parser
