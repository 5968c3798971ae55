"""``eegaffect prototypes export``: the frozen valence x arousal prototype grid of a teacher (HDF5 / .npz)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect prototypes export`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("prototypes", help="valence x arousal prototype grid (export)")
    actions = parser.add_subparsers(dest="prototypes_action", metavar="ACTION")
    export = actions.add_parser("export", help="embed held-out trials with a teacher and export the grid",
                                description="Embed the trials of --data that the teacher was not trained on, "
                                            "consolidate them into the grid (settings: the 'prototypes' section "
                                            "of the teacher config; the reader from its 'dataset' key; features "
                                            "and grid always as the teacher was trained) and write it as HDF5 "
                                            "(and .npz).")
    export.add_argument("--teacher", required=True, type=Path, metavar="TEACHER", help="teacher bundle folder")
    export.add_argument("--data", required=True, type=Path, metavar="DIR", help="dataset folder")
    export.add_argument("--out", required=True, type=Path, metavar="FILE.h5", help="HDF5 file to create")
    export.add_argument("--npz", type=Path, default=None, metavar="FILE.npz", help="also write a NumPy archive")
    export.add_argument("--overwrite", action="store_true", help="replace existing files (they are frozen "
                                                                 "artefacts otherwise)")
    add_config_options(export, "teacher")
    export.set_defaults(func=run_export)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_export(args: argparse.Namespace) -> int:
    """Run ``eegaffect prototypes export`` with the parsed ``args``; return the exit code."""
    import sys

    from eegaffect.datasets import load_dataset
    from eegaffect.distill.prototypes import save_prototypes
    from eegaffect.distill.teacher import TeacherConfig, load_teacher, teacher_prototypes

    config = config_from_args(args, TeacherConfig)
    for target in (args.out, args.npz):
        if target is not None and target.exists() and not args.overwrite:
            print(f"eegaffect prototypes export: {target} exists; prototype files are frozen (use --overwrite to "
                  "replace it)", file=sys.stderr)
            return 1
    bundle = load_teacher(args.teacher)
    dataset = load_dataset(args.data, None if config.dataset == "auto" else config.dataset)
    grid = teacher_prototypes(bundle, dataset, config.prototypes)
    try:
        save_prototypes(grid, args.out, npz=args.npz, overwrite=args.overwrite)
    except FileExistsError as exc:
        print(f"eegaffect prototypes export: {exc}", file=sys.stderr)
        return 1
    filled = int((grid.counts < grid.attrs["min_count"]).sum())
    print(f"prototypes {grid.prototypes.shape} written to {args.out}" + (f" and {args.npz}" if args.npz else "")
          + f" ({int(grid.counts.sum())} windows, {filled} sparse cells filled from neighbours)")
    return 0
