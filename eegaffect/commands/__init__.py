"""One module per CLI subcommand; each exposes ``register(subparsers)``. Shared option helpers live here."""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path
from typing import TypeVar

from eegaffect.config import ConfigModel, load_config

T = TypeVar("T", bound=ConfigModel)


def add_config_options(parser: argparse.ArgumentParser, default: str | None, example: str | None = None) -> None:
    """Add ``--config FILE`` and repeatable ``--set KEY=VALUE`` to a command's parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    default : str | None
        Name of the packaged config (``configs/{default}.yaml``) used when ``--config`` is not given.
    example : str | None
        A valid ``KEY=VALUE`` for this command's help; ``None`` takes the first key of the packaged config with
        its packaged value (no example when there is no packaged config).
    """
    hint = f" (default: the packaged configs/{default}.yaml)" if default else ""
    if example is None and default is not None:
        example = _first_key_example(default)
    shown = f", e.g. --set {example}" if example else ""
    keys = f"; see 'eegaffect configs {default}' for the keys" if default else ""
    parser.add_argument("--config", type=Path, default=None, metavar="FILE", help=f"YAML config file{hint}")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override one config key{shown} (repeatable{keys})")
    parser.set_defaults(config_default=default)


def _first_key_example(name: str) -> str | None:
    """``"dotted.key=value"`` for the first scalar key of the packaged config ``name`` (valid by construction)."""
    import yaml

    from eegaffect.config import packaged_config_text

    data = yaml.safe_load(packaged_config_text(name)) or {}
    keys: list[str] = []
    node = data
    while isinstance(node, dict) and node:
        key, node = next(iter(node.items()))
        keys.append(str(key))
    if not keys or isinstance(node, (dict, list)):
        return None
    value = "null" if node is None else str(node).lower() if isinstance(node, bool) else str(node)
    return f"{'.'.join(keys)}={value}"


def plain_text(rst: str) -> str:
    """Docstring text as plain text for ``--help``: ````x```` -> ``x``, ``:role:`x``` -> ``x``.

    Parameters
    ----------
    rst : str
        reStructuredText, e.g. a module docstring's first paragraph.

    Returns
    -------
    text : str
        The same text without inline markup.
    """
    text = re.sub(r":[\w:]+:`~?([^`]+)`", r"\1", rst)
    return re.sub(r"``([^`]+)``", r"\1", text)


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


def register_group(subparsers: argparse._SubParsersAction, name: str, help: str, dest: str, metavar: str,
                   targets: dict[str, str]) -> None:
    """Add a command group (``eegaffect bench ...``, ``eegaffect datasets ...``) whose members register themselves.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The top-level subcommands.
    name, help, dest, metavar : str
        The group's command name, help line, attribute holding the chosen member, and placeholder in usage.
    targets : dict of str to str
        Member name -> ``"module:function"`` adding the member's parser, or ``"module"`` exposing ``register``.
    """
    parser = subparsers.add_parser(name, help=help)
    members = parser.add_subparsers(dest=dest, metavar=metavar)
    for target in targets.values():
        module_name, _, func_name = target.partition(":")
        getattr(importlib.import_module(module_name), func_name or "register")(members)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
