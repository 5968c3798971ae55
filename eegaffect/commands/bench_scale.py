"""``eegaffect bench scale``: the dataset benchmark run one unit at a time vs. on a local Ray with 2 workers.

The cases and what they compare are described in :mod:`eegaffect.perf.scale`, where the logic lives.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args, plain_text
from eegaffect.perf.scale import BenchScaleConfig, run_bench, summary_lines

__all__ = ["BenchScaleConfig", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench scale`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("scale", help="bench seed on one process vs. --workers 2 on a local Ray",
                                   description=plain_text(__doc__.split("\n\n")[0]))
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the cases as JSON")
    parser.add_argument("--units", default=None,
                        help="comma-separated unit counts, multiples of 4 (default: config, 8,16,32)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of each unit's fit (default: config, 20)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="windows per optimiser step (default: config, 64)")
    parser.add_argument("--trial-seconds", type=float, default=None,
                        help="length of every synthetic trial (default: config, 6)")
    parser.add_argument("--sequential-threads", default=None, metavar="LIST",
                        help="comma-separated torch threads of the sequential reference runs, 'default' for "
                             "torch's default; the fastest is the reference (default: config, default,1)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timings of each run, the fastest counts (default: config, 1)")
    add_config_options(parser, "bench_scale")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect bench scale`` with the parsed ``args``; return the exit code."""
    from eegaffect.config import validate_update
    from eegaffect.errors import UserInputError
    from eegaffect.perf import format_cases, write_bench_json

    units = threads = None
    if args.units is not None:
        try:
            units = [int(v) for v in args.units.split(",") if v.strip()]
        except ValueError:
            raise UserInputError(f"--units: expected comma-separated integers, got {args.units!r}") from None
    if args.sequential_threads is not None:
        try:
            threads = [None if v.strip() == "default" else int(v) for v in args.sequential_threads.split(",")
                       if v.strip()]
        except ValueError:
            raise UserInputError(f"--sequential-threads: expected comma-separated integers or 'default', got "
                                 f"{args.sequential_threads!r}") from None
    config = validate_update(config_from_args(args, BenchScaleConfig),
                             {"units": units, "epochs": args.epochs, "batch_size": args.batch_size,
                              "trial_seconds": args.trial_seconds, "repeat": args.repeat,
                              "sequential_threads": threads},
                             {"units": "--units", "epochs": "--epochs", "batch_size": "--batch-size",
                              "trial_seconds": "--trial-seconds", "repeat": "--repeat",
                              "sequential_threads": "--sequential-threads"})
    cases, extra = run_bench(config.units, epochs=config.epochs, batch_size=config.batch_size,
                             trial_seconds=config.trial_seconds, repeat=config.repeat,
                             sequential_threads=config.sequential_threads)
    print(format_cases(cases))
    for line in summary_lines(extra):
        print(line)
    if args.json is not None:
        write_bench_json(args.json, cases, {"details": extra})
        print(f"wrote {args.json}")
    return 0
