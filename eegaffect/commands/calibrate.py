"""``eegaffect calibrate``: adapt a bundle to one person from a few minutes of labelled EEG (live or recorded).

Example::

    eegaffect simulate --montage seed62 --duration 600 &
    eegaffect calibrate --stream eegaffect-sim --model BUNDLE --labels truth --duration 120 --out user-bundle/
    eegaffect calibrate --recording session.h5 --model BUNDLE --out user-bundle/          # its recorded truth
    eegaffect calibrate --recording session.edf --labels stimuli.csv --model BUNDLE --out user-bundle/
    eegaffect simulate --montage seed62 --physio ecg,eda --duration 600 &                    # a fused bundle: + devices
    eegaffect calibrate --stream eegaffect-sim --model FUSED_BUNDLE --duration 120 --out user-bundle/
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``calibrate`` subcommand."""
    parser = subparsers.add_parser(
        "calibrate", help="adapt a bundle to one person from labelled calibration EEG (live or a recording)",
        description="Collect labelled EEG (a live stream for --duration seconds, or a recording), recompute the "
                    "model's normalisation statistics on it and fit its valence/arousal readout (every network "
                    "weight with --full), and write a NEW bundle to --out recording what it was calibrated on. "
                    "Labels: 'truth' (the stream NAME-truth live, the recording's ground-truth stream offline), "
                    "a CSV time_s,valence,arousal (seconds from the first calibration sample), or the name of an "
                    "AffectTruth stream.")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--stream", metavar="NAME", help="live EEG stream to calibrate on")
    src.add_argument("--recording", type=Path, metavar="FILE", help="recording to calibrate on (HDF5, XDF, EDF, ...)")
    parser.add_argument("--model", required=True, type=Path, metavar="BUNDLE", help="bundle to calibrate")
    parser.add_argument("--labels", default="truth", metavar="SOURCE",
                        help="'truth' (default), FILE.csv (time_s,valence,arousal) or an AffectTruth stream name")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds of calibration EEG (required with --stream; a recording: its first S s)")
    parser.add_argument("--out", required=True, type=Path, metavar="USER_BUNDLE",
                        help="folder of the calibrated bundle (must not exist, or be empty)")
    parser.add_argument("--full", action="store_true", default=None,
                        help="fine-tune every network weight, not only the readout")
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="gradient steps (default: 30 for the readout, 100 with --full; 0: normalisation "
                             "statistics only)")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="seed (config: 0)")
    parser.add_argument("--interpolate", type=int, default=None, metavar="N",
                        help="interpolate up to N model channels missing from the data, 0 <= N <= 8 (config: 0)")
    parser.add_argument("--ignore-channel", action="append", default=None, metavar="NAME",
                        help="data channel to drop (repeatable)")
    parser.add_argument("--unit", default=None, metavar="UNIT",
                        help="unit of the samples when the stream/file does not say (volts, microvolts, ...)")
    parser.add_argument("--physio", action="append", default=None, metavar="NAME",
                        help="a fused bundle's device stream (content type ECG, PPG/BVP, EDA, RESP or TEMP), one per "
                             "kind it expects, repeatable (default: STREAM-KIND, e.g. eegaffect-sim-ecg); a "
                             "recording's device streams are found by their content type")
    parser.add_argument("--rename", type=Path, default=None, metavar="FILE",
                        help="explicit channel mapping, data name -> model name (YAML mapping or CSV 'stream,model')")
    add_config_options(parser, "calibrate")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect calibrate``: collect labelled frames, calibrate, write the new bundle, print what changed."""
    from eegaffect.calibration import (
        MIN_FRAMES,
        CalibrateConfig,
        CalibrationError,
        calibrate_bundle,
        check_out,
        collect_live,
        collect_recording,
    )
    from eegaffect.config import validate_update
    from eegaffect.live.channels import read_rename_file

    cfg = validate_update(config_from_args(args, CalibrateConfig), {
        "full": args.full, "steps": args.steps, "seed": args.seed, "interpolate": args.interpolate,
        "ignore_channels": args.ignore_channel, "unit": args.unit,
        "rename": None if args.rename is None else read_rename_file(args.rename),
    }, {"full": "--full", "steps": "--steps", "seed": "--seed", "interpolate": "--interpolate",
        "ignore_channels": "--ignore-channel", "unit": "--unit", "rename": "--rename"})
    if args.duration is not None and not args.duration > 0:
        raise CalibrationError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.stream is not None and args.duration is None:
        raise CalibrationError("--stream needs --duration S (seconds of calibration EEG to collect)")
    if not (args.model / "bundle.json").is_file():
        raise FileNotFoundError(f"bundle {args.model} not found (expected {args.model / 'bundle.json'})")
    check_out(args.out, args.model)  # before collecting anything: a taken --out must not waste a session
    if args.stream is not None:
        print(f"calibrate: collecting {args.duration:g} s of {args.stream!r} with labels from {args.labels}",
              flush=True)
        data = collect_live(args.model, args.stream, args.labels, args.duration, interpolate=cfg.interpolate,
                            ignore=cfg.ignore_channels, unit=cfg.unit, timeout=cfg.timeout_s, rename=cfg.rename,
                            physio=args.physio)
    else:
        if args.physio:
            raise CalibrationError("--physio names live device streams (with --stream); a recording's device "
                                   "streams are found by their content type")
        labels = None if args.labels == "truth" else Path(args.labels)
        data = collect_recording(args.model, args.recording, labels, duration=args.duration,
                                 interpolate=cfg.interpolate, ignore=cfg.ignore_channels, unit=cfg.unit,
                                 rename=cfg.rename)
    out = calibrate_bundle(args.model, args.out, data, full=cfg.full, steps=cfg.steps, seed=cfg.seed, lr=cfg.lr,
                           anchor=cfg.anchor, match_rate=cfg.match_rate, rescale=cfg.rescale,
                           physio_rescale=cfg.physio_rescale)
    from eegaffect.models.predictor import Predictor

    rec = Predictor.load(out).meta["calibration"]
    print(f"calibrated on {rec['n_frames']} frames ({rec['duration_s']:.0f} s of {rec['source']}, labels "
          f"{rec['labels']}); adapted: {', '.join(rec['adapted'])}")
    for axis in ("valence", "arousal"):
        b, a = rec["before"][f"{axis}_ccc"], rec["after"][f"{axis}_ccc"]
        print(f"  {axis} CCC on the calibration data: {_fmt(b)} -> {_fmt(a)} (in-sample; test on new data)")
    sm = rec.get("smoother")
    if sm:
        print(f"  output smoother x{sm['factor']:g}: {sm['smooth_s']:.2g} s level, {sm['trend_s']:.2g} s trend "
              f"(output rate {_rates(sm['output_rate_per_s'])} vs labels {_rates(sm['labels_rate_per_s'])} per s)")
    for kind, names in (rec.get("physio_normalisation") or {}).items():
        print(f"  {kind}: normalisation of {len(names)} feature(s) from the calibration data" if names else
              f"  {kind}: too few finite frames (fewer than {MIN_FRAMES} per feature); the parent's normalisation "
              "kept")
    print(f"wrote {out}")
    return 0


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _rates(r) -> str:
    return "/".join(f"{v:.3f}" for v in r)
