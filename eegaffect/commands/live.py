"""``eegaffect live``: run a trained bundle on a live LSL stream and publish valence/arousal as an LSL stream."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args

#: What a live session (and the demo) writes into its output folder; a folder holding any of them holds a run.
LIVE_OUTPUTS = ("summary.json", "updates.csv", "frames.npz", "session.h5", "dashboard.png")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect live`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "live", help="estimate valence/arousal live from an LSL EEG stream",
        description="Read an EEG stream, match its channels to the model's by name, run the model at the update "
                    "rate and publish predictions on an LSL stream of type 'Affect' (valence, arousal, "
                    "confidence, code, status). Ends after --duration or on Ctrl-C and prints the summary "
                    "(also written to OUT/summary.json).")
    parser.add_argument("--stream", required=True, metavar="NAME", help="name of the EEG stream")
    parser.add_argument("--model", required=True, type=Path, metavar="BUNDLE", help="model bundle directory")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="write summary.json, updates.csv, the dashboard PNG (and session.h5 with --record); "
                             "--record without --out: a new dated folder sessions/YYYY-MM-DD_HHMMSS (config "
                             "sessions_dir)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out DIR (refused "
                        "otherwise)")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="seconds to run (default: "
                        "until Ctrl-C)")
    parser.add_argument("--headless", action="store_true", help="no dashboard window (the figure is saved to "
                        "OUT/dashboard.png)")
    parser.add_argument("--record", action="store_true", default=None,
                        help="record raw stream, ground truth and predictions to OUT/session.h5 (without --out: "
                             "into a new dated folder under sessions_dir, printed at start)")
    parser.add_argument("--interpolate", type=int, default=None, metavar="N",
                        help="interpolate up to N model channels missing from the stream, 0 <= N <= 8 (default 0: "
                             "a missing channel is an error)")
    parser.add_argument("--ignore-channel", action="append", default=None, metavar="NAME",
                        help="stream channel never to use (repeatable); channels the model does not know are "
                             "dropped anyway (and logged)")
    parser.add_argument("--rename", type=Path, default=None, metavar="FILE",
                        help="explicit channel mapping, stream name -> model name, for names that are not matched "
                             "automatically (case, padding dots, EEG/-REF decorations and T3->T7 style old names "
                             "are): YAML mapping or CSV 'stream,model'")
    parser.add_argument("--update-hz", type=float, default=None, metavar="HZ",
                        help="prediction updates per second, 0 < HZ <= 100 (default 4)")
    parser.add_argument("--physio", action="append", default=None, metavar="NAME",
                        help="a physiological stream (content type ECG, PPG/BVP, EDA, RESP or TEMP), repeatable")
    parser.add_argument("--physio-type", action="append", default=None, metavar="TYPE",
                        help="discover physiological streams by content type (e.g. ECG), repeatable")
    parser.add_argument("--clock-align", choices=["lsl", "arrival"], default=None,
                        help="device clocks: lsl (LSL's time_correction, default) or arrival (+ an offset/drift "
                             "estimate from arrival times, for devices stamping with their own clock)")
    parser.add_argument("--allow-missing-physio", action="store_true", default=None,
                        help="a fused model expecting a physiological kind without a device: run with that kind "
                             "missing throughout (default: stop with an error)")
    add_config_options(parser, "live")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect live`` with the parsed ``args``; return the exit code."""
    from eegaffect._files import new_session_dir, output_dir
    from eegaffect.config import validate_update
    from eegaffect.errors import UserInputError
    from eegaffect.live.channels import read_rename_file
    from eegaffect.live.session import LiveConfig

    config = validate_update(config_from_args(args, LiveConfig),
                             {"record": args.record, "interpolate": args.interpolate, "update_hz": args.update_hz,
                              "ignore_channels": args.ignore_channel,
                              "rename": None if args.rename is None else read_rename_file(args.rename),
                              "physio": args.physio, "physio_types": args.physio_type,
                              "clock_align": args.clock_align, "allow_missing_physio": args.allow_missing_physio},
                             {"record": "--record", "interpolate": "--interpolate", "update_hz": "--update-hz",
                              "ignore_channels": "--ignore-channel", "rename": "--rename", "physio": "--physio",
                              "physio_types": "--physio-type", "clock_align": "--clock-align",
                              "allow_missing_physio": "--allow-missing-physio"})
    if args.duration is not None and not args.duration > 0:
        raise UserInputError(f"--duration {args.duration:g}: expected a positive number of seconds (leave it out "
                             "to run until Ctrl-C)")
    out, dated = args.out, False
    if out is not None:
        output_dir(out, LIVE_OUTPUTS, overwrite=args.overwrite)
    elif config.record:  # a recorded session needs a folder: a new dated one, never an earlier session's
        out, dated = new_session_dir(config.sessions_dir), True
        print(f"live: recording to {out}", flush=True)
    png = None if out is None else out / "dashboard.png"
    try:
        return _run_session(args, config, out, png)
    finally:
        if dated and not any(out.iterdir()):  # failed before writing anything: leave no empty session behind
            out.rmdir()


def _run_session(args: argparse.Namespace, config, out: Path | None, png: Path | None) -> int:
    from eegaffect.commands._signals import sigterm_as_interrupt
    from eegaffect.live.dashboard_worker import make_dashboard
    from eegaffect.live.session import LiveSession

    try:
        session = LiveSession(args.stream, args.model, config, out_dir=out)
        print(f"live: stream {args.stream!r} -> model {args.model} -> LSL stream {session.outlet_name!r} (type "
              f"Affect) at {config.update_hz:g} Hz; "
              f"{'Ctrl-C to stop' if args.duration is None else f'{args.duration:g} s'}", flush=True)
        session.dashboard = make_dashboard(png, show=False if args.headless else None)
        with sigterm_as_interrupt():
            summary = session.run(duration=args.duration)
    except user_errors() as exc:
        print(f"eegaffect live: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    if out is not None:
        print(f"outputs: {out}")
    return 0


def user_errors() -> tuple[type[Exception], ...]:
    """Errors caused by the user's inputs (stream, model, channels), reported without a traceback."""
    from eegaffect.acquisition.lsl import StreamMismatchError, StreamNotFoundError
    from eegaffect.live.channels import ChannelMismatchError
    from eegaffect.models.bundle import BundleError

    return (StreamNotFoundError, StreamMismatchError, ChannelMismatchError, BundleError)


def format_summary(summary: dict) -> str:
    """The summary as a few human-readable lines plus its JSON."""
    lat = summary["latency_ms"]
    lines = [f"updates: {summary['updates']} in {summary['duration_s']:.1f} s"]
    if lat["p50"] is not None:
        lines.append(f"latency (newest sample -> push): p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, "
                     f"max {lat['max']:.2f} ms")
        stages = summary.get("stage_percentiles_ms") or {}
        p99 = ", ".join(f"{name} {st['p99']:.2f}" for name, st in stages.items() if st.get("p99") is not None)
        if p99:
            lines.append(f"latency p99 by stage (ms; the after-push work, predict_cpu beside it): {p99}")
    lines.append(f"samples: {summary['samples_received']} received, {summary['samples_lost']} lost, "
                 f"{summary['gaps']} gaps, {summary['reconnects']} reconnects")
    if summary.get("source_changes"):
        lines.append(f"the stream changed source {summary['source_changes']} time(s): "
                     f"{summary['seconds_unknown_loss']:.1f} s of gap with an unknown number of lost samples (not in "
                     "'lost': a new source counts from scratch)")
    if summary.get("stalls"):
        lines.append(f"stream stalled {summary['stalls']} time(s): {summary['seconds_without_data']:.1f} s without "
                     "data (a stall still going on at the end counts as a gap)")
    if summary.get("invalid_updates"):
        lines.append(f"updates without a valid estimate (gap/invalid): {summary['invalid_updates']} of "
                     f"{summary['updates']}")
    gt = summary.get("ground_truth")
    if gt:
        lines.append(f"vs ground truth: valence CCC {_fmt(gt['valence_ccc'])}, RMSE {gt['valence_rmse']:.3f}; "
                     f"arousal CCC {_fmt(gt['arousal_ccc'])}, RMSE {gt['arousal_rmse']:.3f}")
    jit = summary.get("jitter_per_s") or {}
    if jit.get("valence") is not None:
        truth = (f" (truth {_fmt(jit['truth_valence'])} / {_fmt(jit['truth_arousal'])})"
                 if jit.get("truth_valence") is not None else "")
        lines.append(f"jitter (mean |change| per s): valence {_fmt(jit['valence'])} / arousal "
                     f"{_fmt(jit['arousal'])}{truth}")
    for name, dev in (summary.get("devices") or {}).items():
        lines.append(f"{dev['type']} {name!r}: {dev['samples']} samples, {dev['lost']} lost, {dev['gaps']} gaps, "
                     f"{dev['frames_valid']}/{dev['frames']} frames with features")
    if summary.get("dashboard"):
        lines.append(f"dashboard: {summary['dashboard']}")
    return "\n".join(lines) + "\n" + json.dumps(summary, indent=2)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
