"""``eegaffect report RUN_DIR``: figures, one HTML page and a PDF from a live/demo or benchmark output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import Field

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.config import ConfigModel


class ReportConfig(ConfigModel):
    """Settings of ``eegaffect report``."""

    dpi: int = Field(100, ge=30, le=600, description="resolution of the PNG figures")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect report`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "report", help="PNG figures + HTML page + PDF from a live/demo or 'bench seed' output folder",
        description="Read a live session's folder (summary.json, updates.csv, frames.npz) or a benchmark's "
                    "(results.json / results.csv) and write figures, report.html and report.pdf.")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="output folder of live/demo or bench seed")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="report folder (default "
                        "RUN_DIR/report)")
    add_config_options(parser, None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect report`` with the parsed ``args``; return the exit code."""
    from eegaffect.viz.report import ReportError, make_report

    config = config_from_args(args, ReportConfig)
    try:
        paths = make_report(args.run_dir, args.out, dpi=config.dpi)
    except ReportError as exc:
        print(f"eegaffect report: {exc}")
        return 2
    print(f"report: {paths['html']}")
    print(f"pdf:    {paths['pdf']}")
    for fig in paths["figures"]:
        print(f"figure: {fig}")
    return 0
