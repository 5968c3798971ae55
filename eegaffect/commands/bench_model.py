"""``eegaffect bench model``: live step latency and training time of the continuous emotion model.

The cases and how each is measured: :mod:`eegaffect.perf.model`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args, plain_text
from eegaffect.perf.model import BenchModelConfig, run_bench

__all__ = ["BenchModelConfig", "run_bench", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench model`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("model", help="continuous emotion model: live step latency and training time",
                                   description=plain_text(__doc__.split("\n\n")[0]))
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the cases as JSON")
    parser.add_argument("--trial-seconds", type=float, default=None,
                        help="length of each synthetic trial for the training case (default: config, 60)")
    parser.add_argument("--updates", type=int, default=None, help="timed live updates (default: config, 300)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the synthetic data and training")
    add_config_options(parser, "bench_model")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.config import validate_update
    from eegaffect.perf import format_cases, write_bench_json

    config = validate_update(config_from_args(args, BenchModelConfig),
                             {"trial_seconds": args.trial_seconds, "updates": args.updates, "seed": args.seed},
                             {"trial_seconds": "--trial-seconds", "updates": "--updates", "seed": "--seed"})
    cases, extra = run_bench(trial_seconds=config.trial_seconds, updates=config.updates, seed=config.seed)
    print(format_cases(cases))
    for key, value in extra.items():
        print(f"{key}: {value}")
    if args.json is not None:
        write_bench_json(args.json, cases, {"details": extra})
        print(f"wrote {args.json}")
    return 0
