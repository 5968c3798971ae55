"""``eegaffect report RUN_DIR``: figures, one HTML page and a PDF from a live/demo or benchmark output folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="PNG figures + HTML page + PDF from a live/demo or 'bench seed' output folder",
        description="Read a live session's folder (summary.json, updates.csv, frames.npz) or a benchmark's "
                    "(results.json / results.csv) and write figures, report.html and report.pdf.")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="output folder of live/demo or bench seed")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="report folder (default "
                        "RUN_DIR/report)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.viz.report import ReportError, make_report

    try:
        paths = make_report(args.run_dir, args.out)
    except ReportError as exc:
        print(f"eegaffect report: {exc}")
        return 2
    print(f"report: {paths['html']}")
    print(f"pdf:    {paths['pdf']}")
    for fig in paths["figures"]:
        print(f"figure: {fig}")
    return 0
