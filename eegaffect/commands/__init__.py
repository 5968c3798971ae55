"""One module per CLI subcommand; each exposes ``register(subparsers)``. Shared option helpers live here."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeVar

from eegaffect.config import ConfigModel, load_config

T = TypeVar("T", bound=ConfigModel)


def add_config_options(parser: argparse.ArgumentParser, default: str | None) -> None:
    """Add ``--config FILE`` and repeatable ``--set KEY=VALUE`` to a command's parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    default : str | None
        Name of the packaged config (``configs/{default}.yaml``) used when ``--config`` is not given.
    """
    hint = f" (default: the packaged configs/{default}.yaml)" if default else ""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help=f"YAML config file{hint}")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one config key, e.g. --set features.window_s=2 (repeatable)")
    parser.set_defaults(config_default=default)


def config_from_args(args: argparse.Namespace, schema: type[T]) -> T:
    """Load the command's config from ``--config``/``--set`` (see :func:`add_config_options`).

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments.
    schema : type of ConfigModel
        The command's config schema.

    Returns
    -------
    config : ConfigModel
        The validated config.
    """
    return load_config(schema, args.config, args.overrides, default=args.config_default)
