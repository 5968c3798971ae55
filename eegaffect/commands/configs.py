"""``eegaffect configs``: list the packaged configs or print one, as a starting point for your own."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect configs`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("configs", help="list packaged YAML configs (and the commands using them) or "
                                                   "print one")
    parser.add_argument("name", nargs="?", help="config to print (omit to list them)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect configs`` with the parsed ``args``; return the exit code."""
    from eegaffect.config import packaged_config_names, packaged_config_text

    if args.name is not None:
        print(packaged_config_text(args.name), end="")
        return 0
    users = config_users()
    names = packaged_config_names()
    width = max(len(n) for n in names)
    for name in names:
        used_by = ", ".join(users.get(name, [])) or "(shared settings, not a command's --config default)"
        print(f"{name:<{width}}  {used_by}")
    without = users.get(None, [])
    if without:
        print(f"\nwithout a packaged config (built-in defaults; --config/--set still apply): {', '.join(without)}")
    return 0


def config_users() -> dict[str | None, list[str]]:
    """Which commands load which packaged config by default.

    Returns
    -------
    users : dict
        Config name (``None``: the command has no packaged config) -> command paths, e.g.
        ``{"live": ["eegaffect live"], ...}``.
    """
    from eegaffect.cli import build_parser

    users: dict[str | None, list[str]] = {}

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    if any(a.dest == "overrides" for a in sub._actions):
                        users.setdefault(sub.get_default("config_default"), []).append(sub.prog)
                    walk(sub)

    walk(build_parser())
    return users
