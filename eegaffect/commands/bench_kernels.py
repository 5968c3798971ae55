"""``eegaffect bench kernels``: the numba signal kernels beside their SciPy/NumPy references, in one process.

The cases and how each is measured: :mod:`eegaffect.perf.kernels`. ``--quick`` shrinks the arrays (the case names
then carry the smaller shapes) for smoke tests.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.perf.kernels import BenchFilterConfig, BenchKernelsConfig, run_benchmark

__all__ = ["BenchKernelsConfig", "BenchFilterConfig", "run_benchmark", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench kernels`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "kernels", help="signal kernels against scipy/numpy references (throughput, per-call latency)",
        description="Time the numba kernels beside their references in one process and print the ratios "
                    "(> 1 means eegaffect is faster).")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the cases as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="small arrays and short timings (a smoke run; case names carry the smaller shapes)")
    add_config_options(parser, "bench_kernels")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.perf import format_cases, write_bench_json

    config = config_from_args(args, BenchKernelsConfig)
    cases, details = run_benchmark(config, quick=args.quick)
    print(format_cases(cases))
    if args.json is not None:
        write_bench_json(args.json, cases, extra={"details": details})
        print(f"wrote {args.json}")
    return 0
