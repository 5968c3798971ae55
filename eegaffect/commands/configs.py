"""``eegaffect configs``: list the packaged configs or print one, as a starting point for your own."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("configs", help="list packaged YAML configs or print one")
    parser.add_argument("name", nargs="?", help="config to print (omit to list them)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.config import packaged_config_names, packaged_config_text

    if args.name is None:
        for name in packaged_config_names():
            print(name)
    else:
        print(packaged_config_text(args.name), end="")
    return 0
