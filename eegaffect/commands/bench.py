"""``eegaffect bench ...``: speed benchmarks and the dataset benchmark, one sub-subcommand each.

Each entry of :data:`BENCH_MODULES` is a module exposing ``register(subparsers)`` for its bench (see
:func:`eegaffect.commands.register_group`).
"""

from __future__ import annotations

import argparse

from eegaffect.commands import register_group

#: bench name -> module that registers it.
BENCH_MODULES: dict[str, str] = {
    "live": "eegaffect.commands.bench_live",
    "seed": "eegaffect.commands.bench_seed",
    "run": "eegaffect.commands.bench_run",
    "ablation": "eegaffect.commands.bench_ablation",
    "fusion": "eegaffect.commands.bench_fusion",
    "acquisition": "eegaffect.commands.bench_acquisition",
    "kernels": "eegaffect.commands.bench_kernels",
    "model": "eegaffect.commands.bench_model",
    "physio": "eegaffect.commands.bench_physio",
    "scale": "eegaffect.commands.bench_scale",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eegaffect bench`` group and its sub-subcommands (``BENCH_MODULES``) to ``subparsers``."""
    register_group(subparsers, "bench", "benchmarks: speed against references, and datasets", "bench", "BENCH",
                   BENCH_MODULES)
