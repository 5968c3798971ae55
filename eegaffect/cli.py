"""The ``eegaffect`` command-line interface.

Each subcommand lives in its own module under :mod:`eegaffect.commands` and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (called with the parsed
arguments, returning an exit code). Adding a command means adding one module and one line to
:data:`COMMAND_MODULES`; modules are imported lazily enough that ``eegaffect --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from eegaffect import __version__
from eegaffect._logging import logger, set_log_level

#: Modules of :mod:`eegaffect.commands` that register a subcommand, in help order.
COMMAND_MODULES: list[str] = [
    "demo",
    "live",
    "report",
    "bench",
    "configs",
    "datasets",
    "teacher",
    "prototypes",
    "distil",
    "streams",
    "simulate",
    "play",
    "record",
    "train",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser; ``parser.parse_args(argv).func(args)`` runs a command.
    """
    parser = argparse.ArgumentParser(
        prog="eegaffect",
        description="Continuous valence/arousal estimation from EEG, live over LSL or offline from datasets.",
    )
    parser.add_argument("--version", action="version", version=f"eegaffect {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="verbosity of the package logger (default: info)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"eegaffect.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI.

    Parameters
    ----------
    argv : sequence of str | None
        Arguments without the program name; ``None`` reads :data:`sys.argv`.

    Returns
    -------
    code : int
        Process exit code (0 on success, 2 on a usage or configuration error, 130 on Ctrl-C).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    set_log_level(args.log_level)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from eegaffect.config import ConfigError

    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"eegaffect {args.command}: configuration error:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        logger.warning("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
