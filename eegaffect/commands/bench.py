"""``eegaffect bench ...``: speed benchmarks and the dataset benchmark, one sub-subcommand each.

Each entry of :data:`BENCH_MODULES` is a module exposing ``register(subparsers)`` for its bench.
"""

from __future__ import annotations

import argparse
import importlib

#: bench name -> module that registers it.
BENCH_MODULES: dict[str, str] = {
    "live": "eegaffect.commands.bench_live",
    "seed": "eegaffect.commands.bench_seed",
    "acquisition": "eegaffect.commands.bench_acquisition",
    "kernels": "eegaffect.commands.bench_kernels",
    "model": "eegaffect.commands.bench_model",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks: speed against references, and datasets")
    benches = parser.add_subparsers(dest="bench", metavar="BENCH")
    for module_name in BENCH_MODULES.values():
        importlib.import_module(module_name).register(benches)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
