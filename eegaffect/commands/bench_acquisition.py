"""``eegaffect bench acquisition``: inlet latency and CPU cost against mne-lsl's ``StreamLSL`` on the same outlet.

The cases and how each is measured: :mod:`eegaffect.perf.acquisition`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench acquisition`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "acquisition", help="LSL inlet latency and CPU share against mne-lsl's StreamLSL",
        description="Measure push-to-read_new latency (median, p99) for 64 ch and 256 ch at 1 kHz and the "
                    "acquisition CPU share at 64 ch / 1 kHz, side by side with mne-lsl reading the same outlet.")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds measured per phase (default: bench.duration_s of the config, 10)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the cases as JSON")
    add_config_options(parser, "acquisition")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect bench acquisition`` with the parsed ``args``; return the exit code."""
    from eegaffect.acquisition_config import AcquisitionConfig
    from eegaffect.perf import format_cases, write_bench_json
    from eegaffect.perf.acquisition import run_benchmark

    config = config_from_args(args, AcquisitionConfig)
    if "LSLAPICFG" not in os.environ:  # keep the benchmark's streams on this machine, in a private session
        from eegaffect.acquisition.lsl_config import use_local_lsl

        use_local_lsl()
    duration = args.duration if args.duration is not None else config.bench.duration_s
    cases, details = run_benchmark(duration, config.bench.chunk_size)
    print(format_cases(cases))
    for line in details["notes"]:
        print(line)
    if args.json is not None:
        write_bench_json(args.json, cases, extra={"details": details})
        print(f"wrote {args.json}")
    return 0
