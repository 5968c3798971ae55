"""``eegaffect demo``: the simulated headset, a demo model and the live dashboard in one command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect demo`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "demo", help="start here: simulated headset -> model -> live valence/arousal dashboard",
        description="Start a simulated person (EEG headset, ECG, EDA and respiration devices, each its own LSL "
                    "stream) in a subprocess, get the demo model (trained on simulated data on first use and "
                    "cached), run a live session on it, show the dashboard with the physiology panels (a window "
                    "when a display exists, otherwise OUT/dashboard.png) and print the summary. Needs no dataset "
                    "and no network.")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="seconds (default 60)")
    parser.add_argument("--headless", action="store_true", help="no window; save the dashboard as PNG")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="output folder (default: a new ./eegaffect-demo-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out DIR (refused "
                        "otherwise)")
    parser.add_argument("--model", type=Path, default=None, metavar="BUNDLE",
                        help="use this bundle instead of the demo model")
    parser.add_argument("--recipe", choices=("eeg", "fused"), default=None,
                        help="the demo model: 'fused' (default; EEG, heart rate and skin conductance in one "
                             "model, valence from its EEG pass; without such a device: 'eeg') or 'eeg' (EEG only, "
                             "the devices are read, shown and counted)")
    parser.add_argument("--calibrate", type=float, default=None, metavar="S",
                        help="first calibrate the model on S >= 25 s of the headset with its ground truth, run the "
                             "session on the calibrated bundle and print both bundles' CCC on the session "
                             "(config: calibrate_s, default 30; 0 skips the calibration phase)")
    parser.add_argument("--physio", default=None, metavar="KINDS",
                        help="physiological devices of the simulated person, comma-separated (ecg, ppg, eda, resp, "
                             "temp), each its own stream read by the session (default: config physio, ecg,eda,resp; "
                             "'none' for the EEG alone)")
    add_config_options(parser, "demo")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect demo`` with the parsed ``args``; return the exit code."""
    from eegaffect._files import output_dir
    from eegaffect.commands._signals import sigterm_as_interrupt
    from eegaffect.commands.live import LIVE_OUTPUTS, format_summary, user_errors
    from eegaffect.config import validate_update
    from eegaffect.live.demo import DemoConfig, run_demo

    config = validate_update(config_from_args(args, DemoConfig), {"duration_s": args.duration},
                             {"duration_s": "--duration"})
    if args.model is not None:
        config.bundle = str(args.model)
    if args.physio is not None:
        kinds = [] if args.physio.strip().lower() == "none" else [k.strip() for k in args.physio.split(",")
                                                                  if k.strip()]
        config = validate_update(config, {"physio": kinds}, {"physio": "--physio"})
    if args.recipe is not None:
        config = validate_update(config, {"recipe": args.recipe}, {"recipe": "--recipe"})
    if args.calibrate is not None:
        config = validate_update(config, {"calibrate_s": args.calibrate}, {"calibrate_s": "--calibrate"})
    out = output_dir(args.out, LIVE_OUTPUTS, overwrite=args.overwrite, default_prefix="eegaffect-demo")
    signals = "EEG" + "".join(f" + {k.upper()}" for k in config.physio)
    print(f"eegaffect demo: {config.duration_s:g} s of the simulated person's {signals} through the live pipeline "
          f"({'window' if not args.headless else 'headless'}); Ctrl-C stops early", flush=True)
    try:
        with sigterm_as_interrupt():
            summary = run_demo(config, out_dir=out, show=False if args.headless else None)
    except user_errors() as exc:
        print(f"eegaffect demo: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    model = summary.get("demo_model") or {}
    if model.get("recipe"):
        used = "+".join(model["modalities"])
        unused = ", ".join(d["kind"] for d in (summary.get("devices") or {}).values()
                           if d["kind"] not in model["modalities"])
        print(f"model: the demo's {model['recipe']} recipe, predicting from {used}"
              + (f" (the devices {unused} are read, shown and counted, not used by this model)" if unused else ""))
    cal = summary.get("calibration")
    if cal:
        print(f"calibration: {cal['seconds']:.0f} s ({cal['frames']} frames) -> {cal['bundle']}")
        for label in ("uncalibrated", "calibrated"):
            s = cal[label]
            print(f"  {label:>12}: valence CCC {_fmt(s['valence_ccc'])}, arousal CCC {_fmt(s['arousal_ccc'])} "
                  f"(this session's recording, {s['n_frames']} frames)")
    return 0


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
