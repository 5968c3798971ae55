"""``eegaffect streams``: list the LSL streams visible from this machine."""

from __future__ import annotations

import argparse
import json

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect streams`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("streams", help="list the LSL streams visible from this machine",
                                   description="Resolve every LSL stream for a while and print name, type, "
                                               "channels, rate, format and source_id.")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds to listen (default: lsl.resolve_timeout_s of the config, at most 2)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    add_config_options(parser, "acquisition")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect streams`` with the parsed ``args``; return the exit code."""
    from eegaffect.acquisition.lsl import list_streams
    from eegaffect.acquisition_config import AcquisitionConfig

    config = config_from_args(args, AcquisitionConfig)
    timeout = args.timeout if args.timeout is not None else min(2.0, config.lsl.resolve_timeout_s)
    found = list_streams(timeout=timeout)
    if args.json:
        print(json.dumps([{"name": d.name, "type": d.type, "n_chans": d.n_chans, "sfreq": d.sfreq,
                           "channel_format": d.channel_format, "source_id": d.source_id,
                           "hostname": d.hostname} for d in found], indent=2))
        return 0
    if not found:
        print(f"no LSL streams visible (listened {timeout:g} s)")
        return 0
    header = ("name", "type", "channels", "rate", "format", "source_id", "host")
    rows = [(d.name, d.type, str(d.n_chans), f"{d.sfreq:g} Hz" if d.sfreq > 0 else "irregular",
             d.channel_format, d.source_id, d.hostname) for d in found]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return 0
