"""``eegaffect distil``: train a face student against a frozen prototype grid (CE / KD / Proto-KD / D-Geo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("distil", help="distil EEG prototypes into a face-expression student",
                                   description="Train a ResNet face student with CE, logit KD, Proto-KD and "
                                               "D-Geo against a prototype file; write metrics.json, "
                                               "confusion_matrix.png, the weights and an ONNX export.")
    parser.add_argument("--faces", required=True, type=Path, metavar="DIR_OR_CSV",
                        help="FERPlus folder (fer2013.csv + fer2013new.csv), folder per class, or CSV manifest")
    parser.add_argument("--prototypes", required=True, type=Path, metavar="FILE.h5",
                        help="prototype file from 'eegaffect prototypes export' (read only)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder")
    add_config_options(parser, "distil")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from eegaffect.distill.student import DistilConfig, run_distillation

    config = config_from_args(args, DistilConfig)
    metrics = run_distillation(args.faces, args.prototypes, args.out, config)
    print(json.dumps({k: metrics[k] for k in ("8way", "present_only", "seed")}, indent=2))
    return 0
