"""``eegaffect datasets synth-deap | synth-amigos | synth-wesad DIR``: synthetic multimodal datasets in the providers'
layouts (see :mod:`eegaffect.datasets.synth_multimodal`). Flags override the config (``--config`` / ``--set``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def _common(parser: argparse.ArgumentParser, subjects_help: str) -> None:
    parser.add_argument("out", type=Path, help="dataset folder to create (must be new or empty)")
    parser.add_argument("--subjects", type=int, default=None, metavar="N", help=subjects_help)
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="dataset seed (default 0)")
    parser.add_argument("--effect-scale", type=float, default=None, metavar="X",
                        help="factor on the EEG and physiological affect effects; 0 = a null control (default 1)")
    add_config_options(parser, None)


def register_synth_deap(subparsers: argparse._SubParsersAction) -> None:
    """Add ``synth-deap OUT``."""
    parser = subparsers.add_parser(
        "synth-deap", help="write a synthetic dataset in DEAP's layout (EEG + 8 peripheral channels)",
        description="Write data_preprocessed_python/sXX.dat (protocol-2 pickles of {data (trials, 40, 128 Hz), "
                    "labels (trials, 4)}) and participant_ratings.csv, from the simulated headset and the "
                    "physiology simulator driven by one valence/arousal trajectory per trial.")
    _common(parser, "number of subjects (default 3)")
    parser.add_argument("--trials", type=int, default=None, metavar="N", help="trials per subject (default 40)")
    parser.add_argument("--trial-seconds", type=float, default=None, metavar="S",
                        help="stimulus length after the 3-s baseline (default 60)")
    parser.set_defaults(func=_run_deap)


def register_synth_amigos(subparsers: argparse._SubParsersAction) -> None:
    """Add ``synth-amigos OUT``."""
    parser = subparsers.add_parser(
        "synth-amigos", help="write a synthetic dataset in AMIGOS' layout (EEG, ECG, GSR)",
        description="Write Data_Preprocessed_PXX.mat (MAT v5: VideoIDs, joined_data, labels_selfassessment, "
                    "labels_ext_annotation as 1x20 cells) from the simulators.")
    _common(parser, "number of participants (default 3)")
    parser.add_argument("--short-seconds", type=float, default=None, metavar="S",
                        help="length of the 16 short videos (default 40)")
    parser.add_argument("--long-seconds", type=float, default=None, metavar="S",
                        help="length of the 4 long videos (default 120)")
    parser.add_argument("--missing-long", type=int, default=None, metavar="N",
                        help="leave the last N long-video cells of the last participant empty, as in AMIGOS")
    parser.set_defaults(func=_run_amigos)


def register_synth_wesad(subparsers: argparse._SubParsersAction) -> None:
    """Add ``synth-wesad OUT``."""
    parser = subparsers.add_parser(
        "synth-wesad", help="write a synthetic dataset in WESAD's layout (chest + wrist physiology)",
        description="Write S<k>/S<k>.pkl (protocol-2 pickles: chest 700 Hz, wrist 64/32/4 Hz, 700-Hz condition "
                    "labels), S<k>_quest.csv and S<k>_readme.txt from the physiology simulator.")
    _common(parser, "number of subjects (S2, S3, ...; default 3, at most 15)")
    parser.add_argument("--condition-seconds", type=float, nargs=4, default=None,
                        metavar=("BASE", "STRESS", "FUN", "MEDI"),
                        help="lengths of baseline, stress, amusement and each meditation (default 120 90 60 60)")
    parser.set_defaults(func=_run_wesad)


def _config(args: argparse.Namespace, schema, flags: dict):
    for key, value in flags.items():
        if value is not None:
            args.overrides.append(f"{key}={value}")
    return config_from_args(args, schema)


def _report(name: str, summary) -> int:
    print(f"wrote {len(summary.files)} {name} subject file(s) ({summary.seconds / 3600:.2f} h of recording) to "
          f"{summary.root}")
    for path in summary.files[:3]:
        print(f"  {path.relative_to(summary.root)}")
    return 0


def _run_deap(args: argparse.Namespace) -> int:
    from eegaffect.datasets.synth_multimodal import SynthDeapConfig, write_synthetic_deap

    c = _config(args, SynthDeapConfig, {"subjects": args.subjects, "trials": args.trials,
                                        "trial_seconds": args.trial_seconds, "seed": args.seed,
                                        "effect_scale": args.effect_scale})
    return _report("DEAP", write_synthetic_deap(args.out, c.subjects, c.trials, c.trial_seconds, c.seed,
                                                effect_scale=c.effect_scale))


def _run_amigos(args: argparse.Namespace) -> int:
    from eegaffect.datasets.synth_multimodal import SynthAmigosConfig, write_synthetic_amigos

    c = _config(args, SynthAmigosConfig, {"subjects": args.subjects, "short_seconds": args.short_seconds,
                                          "long_seconds": args.long_seconds, "seed": args.seed,
                                          "effect_scale": args.effect_scale, "missing_long": args.missing_long})
    return _report("AMIGOS", write_synthetic_amigos(args.out, c.subjects, c.short_seconds, c.long_seconds, c.seed,
                                                    effect_scale=c.effect_scale, missing_long=c.missing_long))


def _run_wesad(args: argparse.Namespace) -> int:
    from eegaffect.datasets.synth_multimodal import SynthWesadConfig, write_synthetic_wesad

    lengths = dict(zip(("baseline_seconds", "stress_seconds", "amusement_seconds", "meditation_seconds"),
                       args.condition_seconds or (None,) * 4))
    c = _config(args, SynthWesadConfig, {"subjects": args.subjects, "seed": args.seed,
                                         "effect_scale": args.effect_scale, **lengths})
    return _report("WESAD", write_synthetic_wesad(args.out, c.subjects, c.baseline_seconds, c.stress_seconds,
                                                  c.amusement_seconds, c.meditation_seconds, c.seed,
                                                  effect_scale=c.effect_scale))
