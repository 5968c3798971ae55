"""The options that say where a benchmark's or a search's units run, shared by ``bench seed``, ``bench run`` and
``tune``: ``--workers N``, ``--address HOST:PORT|ray://...`` and ``--cache DIR``.
"""

from __future__ import annotations

import argparse

__all__ = ["add_execution_options", "execution_from_args", "execution_lines"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_execution_options(parser: argparse.ArgumentParser, *, cache: bool = True, workers_default: int = 1,
                          workers_help: str | None = None, cache_help: str | None = None) -> None:
    """Add ``--workers``, ``--address`` and (with ``cache``) ``--cache``/``--cache-dir`` to a command's parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    cache : bool
        Also add ``--cache DIR`` (dest ``cache_dir``), the feature cache folder.
    workers_default : int
        Default of ``--workers``.
    workers_help : str | None
        Help of ``--workers``; None gives the benchmark's meaning (1 = one after the other in this process).
    cache_help : str | None
        Help of ``--cache``; None gives ``bench seed``'s meaning (the feature cache, shared on a cluster).
    """
    group = parser.add_argument_group("where the units run (Ray)")
    group.add_argument("--workers", type=_positive_int, default=workers_default, metavar="N",
                       help=workers_help or "1 (default): one after the other in this process; N > 1: N units "
                                            "at a time on a local Ray instance that the command starts and stops")
    group.add_argument("--address", default=None, metavar="HOST:PORT",
                       help="run on an existing Ray cluster (the head's HOST:PORT, or ray://HOST:10001); the "
                            "dataset must be readable at the same path on every node")
    if cache:
        group.add_argument("--cache", "--cache-dir", dest="cache_dir", default=None, metavar="DIR",
                           help=cache_help or "feature cache folder (default: the user cache folder). On a "
                                              "cluster give a folder every node can read; without it the features "
                                              "are shipped to the workers through Ray's object store")


def execution_from_args(args: argparse.Namespace):
    """The :class:`~eegaffect.benchmark.execution.Execution` the parsed options ask for.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments of a parser given :func:`add_execution_options`.

    Returns
    -------
    execution : Execution
        Workers, address and whether the cache folder is shared.
    """
    from eegaffect.benchmark.execution import Execution
    from eegaffect.errors import UserInputError

    address = args.address.strip() if args.address else None
    if args.address is not None and not address:
        raise UserInputError("--address: expected HOST:PORT or ray://HOST:PORT, got an empty string")
    return Execution(workers=args.workers, address=address,
                     shared_cache=getattr(args, "cache_dir", None) is not None)


def execution_lines(result, execution, rerun_hint: str = "") -> list[str]:
    """What a run's summary says about where its units ran and which failed (one line each, maybe none).

    Parameters
    ----------
    result
        The run's result (``executor``, ``startup_s``, ``failed``: list of dicts with ``model`` and ``fold``).
    execution : Execution
        What :func:`execution_from_args` gave.
    rerun_hint : str
        Appended to the failure line's parenthesis (e.g. ``"; a rerun retries them"``).

    Returns
    -------
    lines : list of str
    """
    lines = []
    if result.executor == "ray":
        lines.append(f"ran on Ray ({execution.address or f'local, {execution.workers} workers'}); "
                     f"start-up {result.startup_s:.1f} s")
    if result.failed:
        lines.append(f"{len(result.failed)} unit(s) failed (tracebacks in the log{rerun_hint}): "
                     + ", ".join(f"{f['model']}/{f['fold']}" for f in result.failed))
    return lines
