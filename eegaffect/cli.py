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
    "calibrate",
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
    "physio",
    "tune",
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
    _set_command_paths(parser)
    return parser


def _set_command_paths(parser: argparse.ArgumentParser) -> None:
    """Give every (sub-)subcommand's parser the default ``command_path``, e.g. ``"eegaffect bench seed"``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.set_defaults(command_path=sub.prog)
                _set_command_paths(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI.

    Parameters
    ----------
    argv : sequence of str | None
        Arguments without the program name; ``None`` reads :data:`sys.argv`.

    Returns
    -------
    code : int
        Process exit code (0 on success, 2 on a usage, configuration or input error, 130 on Ctrl-C).

    Notes
    -----
    Errors caused by the user's input (:func:`eegaffect.errors.user_error_types`: configs, dataset files, paths,
    bundles, streams) print one line ``eegaffect <command>: <message>`` to stderr, with the traceback only at
    ``--log-level debug``; any other exception propagates with its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    set_log_level(args.log_level)
    from eegaffect.acquisition.lsl_config import quiet_lsl_logging

    quiet_lsl_logging(verbose=args.log_level == "debug")  # before any LSL call: liblsl's INFO lines only in debug
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        logger.warning("interrupted")
        return 130
    except Exception as exc:
        from eegaffect.errors import user_error_types

        if not isinstance(exc, user_error_types()):
            raise  # a bug: keep the traceback
        _report_user_error(getattr(args, "command_path", f"eegaffect {args.command}"), exc,
                           traceback=args.log_level == "debug")
        return 2


def _report_user_error(command: str, exc: BaseException, traceback: bool) -> None:
    """Print ``"eegaffect <command>: <message>"`` to stderr (and the traceback at ``--log-level debug``)."""
    from eegaffect.config import ConfigError

    if traceback:
        import traceback as tb

        tb.print_exception(exc, file=sys.stderr)
    message = str(exc)
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.strerror}: {exc.filename}"  # errno-style errors: str() would add "[Errno 2]"
    if isinstance(exc, ConfigError):
        sep = "\n" if "\n" in message else " "
        message = f"configuration error:{sep}{message}"
    print(f"{command}: {message or type(exc).__name__}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
