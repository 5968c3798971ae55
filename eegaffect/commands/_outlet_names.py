"""The stream-name check shared by the commands that open LSL outlets (``play``, ``simulate``).

Two outlets of one name make every inlet that resolves by name get an arbitrary one of them (a silent data
mix-up), so these commands refuse a name that a visible stream already serves, unless the user passes
``--allow-duplicate-name``.
"""

from __future__ import annotations

import argparse
from typing import Sequence

#: Longest the check listens for streams (seconds); ``lsl.resolve_timeout_s`` when that is shorter.
MAX_CHECK_S = 1.0


def add_allow_duplicate_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-duplicate-name`` (publish even when a visible stream has the name) to a command's parser."""
    parser.add_argument("--allow-duplicate-name", action="store_true",
                        help="publish even when a visible stream already has the name (inlets that resolve by "
                             "name then get either stream)")


def refuse_names_in_use(names: Sequence[str], args: argparse.Namespace, resolve_timeout_s: float) -> None:
    """Raise a one-line user error when a visible LSL stream already serves one of ``names``.

    Parameters
    ----------
    names : sequence of str
        Every stream name the command is about to publish (before opening its outlets).
    args : argparse.Namespace
        The command's arguments; ``args.allow_duplicate_name`` skips the check.
    resolve_timeout_s : float
        The config's ``lsl.resolve_timeout_s``; the check listens ``min(MAX_CHECK_S, resolve_timeout_s)`` seconds.

    Raises
    ------
    eegaffect.errors.UserInputError
        A name is taken; the message names each such stream and who serves it, and the options that help.
    """
    if args.allow_duplicate_name:
        return
    from eegaffect.acquisition.outlet import StreamNameInUseError, check_names_free
    from eegaffect.errors import UserInputError

    try:
        check_names_free(names, timeout=min(MAX_CHECK_S, resolve_timeout_s))
    except StreamNameInUseError as exc:
        raise UserInputError(f"{exc}; pass --name NEW to publish under another name (or --allow-duplicate-name "
                             "to publish anyway)") from exc
