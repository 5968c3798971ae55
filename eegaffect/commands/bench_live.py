"""``eegaffect bench live``: end-to-end latency and CPU share of a live session against the project's targets.

The cases and how each is measured: :mod:`eegaffect.perf.live`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args, plain_text
from eegaffect.perf.live import CASES, BenchLiveConfig, bench_bundle

__all__ = ["BenchLiveConfig", "bench_bundle", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench live`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "live", help="end-to-end latency and CPU share of a live session (simulator -> prediction outlet)",
        description=plain_text(__doc__.split("\n\n")[0]))
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the cases as JSON")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds per case (default 30; 600 for the 10-minute zero-loss check)")
    parser.add_argument("--case", action="append", default=None, metavar="NAME", dest="cases",
                        help=f"run only this case (repeatable; default all: {', '.join(CASES)})")
    add_config_options(parser, None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.config import validate_update
    from eegaffect.perf import format_cases, write_bench_json
    from eegaffect.perf.live import format_stages, run_benchmark

    config = config_from_args(args, BenchLiveConfig)
    if args.duration is not None:
        config.duration_s = args.duration
    if args.cases is not None:
        config = validate_update(config, {"cases": args.cases}, {"cases": "--case"})
    cases, details = run_benchmark(config, report=lambda message: print(message, flush=True))
    print(format_cases(cases))
    for label, d in details.items():
        lat = d["latency_ms"]
        print(f"{label}: {d['updates']} updates, p50 {lat['p50']:.2f} ms, max {lat['max']:.2f} ms, "
              f"{d['samples_received']} samples received, {d['samples_lost']} lost, CPU {d['cpu_percent']:.1f} %"
              + ("" if d.get("steal_ms") is None else f", hypervisor steal {d['steal_ms']:.0f} ms"))
        for name, dev in (d.get("devices") or {}).items():
            print(f"  {dev['type']} {name!r} ({dev['sfreq']:g} Hz): {dev['samples']} samples, {dev['lost']} lost, "
                  f"{dev['gaps']} gaps, {dev['nan_filled']} NaN-filled, {dev['late_dropped']} late")
    print(format_stages(details))
    if args.json is not None:
        write_bench_json(args.json, cases, extra={"details": details, "duration_s": config.duration_s})
        print(f"wrote {args.json}")
    return 0
