"""``eegaffect bench physio``: the physiological stages beside NeuroKit2, in one process.

The cases and how each is measured: :mod:`eegaffect.perf.physio`. ``--quick`` takes 20 s of signal (a smoke run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.perf.physio import BenchPhysioConfig, run_benchmark

__all__ = ["BenchPhysioConfig", "run_benchmark", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench physio`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "physio", help="physiological stages (ECG, PPG, EDA) against NeuroKit2 (offline and streaming)",
        description="Time the physiological stages beside NeuroKit2 in one process and print the ratios "
                    "(> 1 means eegaffect is faster).")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the cases as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="20 s of signal instead of ten minutes, few reference calls (a smoke run)")
    add_config_options(parser, None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.perf import format_cases, write_bench_json

    config = config_from_args(args, BenchPhysioConfig)
    cases, details = run_benchmark(config, quick=args.quick)
    print(format_cases(cases))
    stream = details["ecg-stream-32x1000hz"]
    print(f"ecg-stream-32x1000hz: our step p50 {stream['ours_p50_us']:.1f} us, p99 {stream['ours_p99_us']:.1f} us"
          f" per 32-sample chunk (32 ms of signal)")
    if args.json is not None:
        write_bench_json(args.json, cases, extra={"details": details})
        print(f"wrote {args.json}")
    return 0
