"""``eegaffect distil``: train a face student against a frozen prototype grid (CE / KD / Proto-KD / D-Geo)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect distil`` and its options to ``subparsers``."""
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
    """Run ``eegaffect distil`` with the parsed ``args``; return the exit code."""
    import json
    import sys

    from eegaffect.distill.prototypes import PrototypeFileError
    from eegaffect.distill.student import DistilConfig, run_distillation

    config = config_from_args(args, DistilConfig)
    _warn_if_dgeo_never_starts(config)
    try:
        metrics = run_distillation(args.faces, args.prototypes, args.out, config)
    except (PrototypeFileError, FileNotFoundError) as exc:
        print(f"eegaffect distil: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: metrics[k] for k in ("8way", "present_only", "seed")}, indent=2))
    return 0


def _warn_if_dgeo_never_starts(config) -> None:
    """Warn when D-Geo is enabled but training ends before its ramp gives it any weight."""
    from eegaffect._logging import logger
    from eegaffect.distill.student import dgeo_ramp

    dgeo, epochs = config.losses.dgeo, config.train.epochs
    if dgeo.enabled and not any(dgeo_ramp(e, dgeo.ramp_start, dgeo.ramp_end) > 0 for e in range(epochs)):
        logger.warning("D-Geo is enabled but never acts: train.epochs=%d ends before its ramp starts "
                       "(losses.dgeo.ramp_start=%d, ramp_end=%d; weight 0 through epoch %d); lower the ramp, e.g. "
                       "--set losses.dgeo.ramp_start=0 --set losses.dgeo.ramp_end=%d", epochs, dgeo.ramp_start,
                       dgeo.ramp_end, dgeo.ramp_start, max(1, epochs // 2))


def register_synth_faces(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect datasets synth-faces OUT`` (registered in :data:`eegaffect.commands.datasets`)."""
    parser = subparsers.add_parser(
        "synth-faces", help="draw synthetic expressive faces (8 FERPlus emotions) as class folders + manifest",
        description="Draw grey faces whose mouth curvature follows valence, mouth and eye opening follow arousal "
                    "and brows follow valence plus a per-class cue; write OUT/{emotion}/*.png and "
                    "OUT/manifest.csv (path, label, split). Flags override the 'synth_faces' section of the "
                    "distil config.")
    parser.add_argument("out", type=Path, help="folder to create")
    parser.add_argument("--n-per-class", type=int, default=None, metavar="N", help="images per emotion (config: 100)")
    parser.add_argument("--image-size", type=int, default=None, metavar="PX", help="image side (config: 48)")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="generator seed (config: 0)")
    add_config_options(parser, "distil")
    parser.set_defaults(func=run_synth_faces)


def run_synth_faces(args: argparse.Namespace) -> int:
    """Run ``eegaffect distil synth-faces`` with the parsed ``args``; return the exit code."""
    from eegaffect.distill.faces import write_synth_faces
    from eegaffect.distill.student import DistilConfig

    for name in ("n_per_class", "image_size", "seed"):
        if getattr(args, name) is not None:
            args.overrides.append(f"synth_faces.{name}={getattr(args, name)}")
    sc = config_from_args(args, DistilConfig).synth_faces
    manifest = write_synth_faces(args.out, sc.n_per_class, image_size=sc.image_size, seed=sc.seed,
                                 test_fraction=sc.test_fraction)
    print(f"wrote {8 * sc.n_per_class} synthetic faces ({sc.image_size}x{sc.image_size}) to {args.out}; "
          f"manifest {manifest}")
    return 0
