"""``eegaffect simulate``: a simulated headset on LSL (synthetic EEG plus its valence/arousal ground truth)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.commands._outlet_names import add_allow_duplicate_option, refuse_names_in_use


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect simulate`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "simulate", help="stream synthetic EEG and its valence/arousal ground truth over LSL",
        description="Start a simulated headset: an EEG outlet whose band powers follow a valence/arousal "
                    "trajectory, and an 'AffectTruth' outlet ({name}-truth) with that trajectory. Runs until "
                    "--duration or Ctrl-C.")
    parser.add_argument("--montage", choices=["seed62", "standard32", "standard64"], default=None,
                        help="channel set (default seed62)")
    parser.add_argument("--sfreq", type=float, default=None, help="sampling rate in Hz (default 200)")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="seconds to stream")
    parser.add_argument("--name", default=None,
                        help="EEG stream name (default eegaffect-sim); refused when a stream of that name or "
                             "NAME-truth is already visible")
    parser.add_argument("--seed", type=int, default=None, help="seed of signal, subject and trajectory")
    parser.add_argument("--trajectory", type=Path, default=None, metavar="CSV",
                        help="valence/arousal trajectory (columns time_s, valence, arousal); default a seeded "
                             "random walk")
    parser.add_argument("--index-channel", action="store_true", default=None,
                        help="append a sample_index channel (exact loss detection downstream)")
    parser.add_argument("--source-id", default=None, help="source_id of the EEG outlet (default: unique)")
    parser.add_argument("--physio", default=None, metavar="KINDS",
                        help="physiological devices, comma-separated or 'all': ecg, ppg, eda, resp, temp; each its "
                             "own outlet NAME-KIND (types ECG, PPG, EDA, RESP, TEMP; source_id SOURCE_ID-KIND)")
    parser.add_argument("--physio-sfreq", action="append", default=[], metavar="KIND=HZ",
                        help="a device's rate (default ecg=256 ppg=64 eda=4 resp=32 temp=4); repeatable")
    parser.add_argument("--clock-offset", action="append", default=[], metavar="KIND=S",
                        help="a device's clock offset from this machine's in seconds; repeatable")
    parser.add_argument("--clock-drift", action="append", default=[], metavar="KIND=PPM",
                        help="a device's clock drift in parts per million; repeatable")
    parser.add_argument("--drop", action="append", default=[], metavar="KIND=START:DURATION",
                        help="a device sends nothing from START for DURATION seconds of signal; repeatable")
    add_allow_duplicate_option(parser)
    add_config_options(parser, "acquisition")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect simulate`` with the parsed ``args``; return the exit code."""
    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.acquisition.sim.devices import PHYSIO_DEVICES, SimulatedPerson
    from eegaffect.acquisition.simulate import SimulatedHeadset
    from eegaffect.acquisition.simulator import SimulatedEEG, trajectory_from_csv
    from eegaffect.acquisition_config import AcquisitionConfig
    from eegaffect.commands._signals import sigterm_as_interrupt
    from eegaffect.config import validate_update

    config = config_from_args(args, AcquisitionConfig)
    cfg = config.simulate
    physio = None if args.physio is None else _kinds(args.physio, list(PHYSIO_DEVICES))
    sim = validate_update(cfg, {
        "montage": args.montage, "sfreq": args.sfreq, "duration_s": args.duration, "name": args.name,
        "seed": args.seed, "index_channel": args.index_channel,
        "trajectory": None if args.trajectory is None else str(args.trajectory), "physio": physio,
        "physio_sfreq": _merged(cfg.physio_sfreq, args.physio_sfreq, "--physio-sfreq", float),
        "clock_offset_s": _merged(cfg.clock_offset_s, args.clock_offset, "--clock-offset", float),
        "clock_drift_ppm": _merged(cfg.clock_drift_ppm, args.clock_drift, "--clock-drift", float),
        "drop": _merged(cfg.drop, args.drop, "--drop", _span, append=True),
    }, {"montage": "--montage", "sfreq": "--sfreq", "duration_s": "--duration", "name": "--name", "seed": "--seed",
        "index_channel": "--index-channel", "trajectory": "--trajectory", "physio": "--physio",
        "physio_sfreq": "--physio-sfreq", "clock_offset_s": "--clock-offset", "clock_drift_ppm": "--clock-drift",
        "drop": "--drop"})
    devices = _device_specs(sim)
    trajectory = trajectory_from_csv(sim.trajectory) if sim.trajectory else None
    refuse_names_in_use([sim.name, f"{sim.name}-truth", *(f"{sim.name}-{d.kind}" for d in devices)], args,
                        config.lsl.resolve_timeout_s)
    source = SimulatedEEG(CHANNEL_SETS[sim.montage], sim.sfreq, seed=sim.seed, trajectory=trajectory, unit="uV",
                          line_hz=sim.line_hz)
    if devices:
        headset = SimulatedPerson(source, devices, name=sim.name, chunk_size=sim.chunk_size,
                                  index_channel=sim.index_channel, source_id=args.source_id,
                                  duration=sim.duration_s, seed=sim.seed)
    else:
        headset = SimulatedHeadset(source, name=sim.name, chunk_size=sim.chunk_size,
                                   index_channel=sim.index_channel, source_id=args.source_id,
                                   duration=sim.duration_s)
    print(f"simulating {len(source.ch_names)} channels ({sim.montage}) at {sim.sfreq:g} Hz: EEG stream "
          f"{headset.name!r} (source_id {headset.source_id!r}), ground truth {headset.truth_outlet.name!r} "
          f"(type AffectTruth); {'Ctrl-C to stop' if sim.duration_s is None else f'{sim.duration_s:g} s'}",
          flush=True)
    for d in devices:
        clock = (f", clock {d.clock_offset_s:+g} s {d.clock_drift_ppm:+g} ppm"
                 if d.clock_offset_s or d.clock_drift_ppm else "")
        drops = "".join(f", silent {a:g}-{a + b:g} s" for a, b in d.drops)
        print(f"  {d.type} stream {sim.name}-{d.kind!s} at {d.sfreq:g} Hz{clock}{drops}", flush=True)
    t0 = time.perf_counter()
    sys.setswitchinterval(0.0005)  # pushes wait less for the lock while chunks are prepared ahead (see PacedPusher)
    with sigterm_as_interrupt():
        try:
            headset.start()
            headset.join()
        except KeyboardInterrupt:
            pass
        finally:
            headset.close()
    if headset.error is not None:
        raise headset.error
    for kind, counts in getattr(headset, "device_counts", dict)().items():
        print(f"  {kind}: pushed {counts['pushed']} samples, withheld {counts['dropped']} (drops)")
    print(f"pushed {headset.n_pushed} samples ({headset.n_pushed / sim.sfreq:.1f} s of signal) in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


def _kinds(text: str, known: list[str]) -> list[str]:
    from eegaffect.errors import UserInputError

    if text.strip().lower() == "all":
        return list(known)
    kinds = [k.strip().lower() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in known]
    if unknown or not kinds:
        raise UserInputError(f"--physio {text!r}: expected 'all' or a comma-separated list of {known}, "
                             f"got {unknown or 'nothing'}")
    return list(dict.fromkeys(kinds))


def _span(text: str) -> tuple[float, float]:
    start, sep, length = text.partition(":")
    if not sep:
        raise ValueError(f"expected START:DURATION in seconds, got {text!r}")
    return float(start), float(length)


def _merged(base: dict, items: list[str], option: str, parse, append: bool = False) -> dict | None:
    """``base`` updated with ``KIND=VALUE`` items (None when there are none: the config stays)."""
    from eegaffect.errors import UserInputError

    if not items:
        return None
    out = {k: (list(v) if append else v) for k, v in base.items()}
    for item in items:
        kind, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError("no '='")
            parsed = parse(value)
        except ValueError as exc:
            raise UserInputError(f"{option} {item!r}: expected KIND=VALUE ({exc})") from None
        kind = kind.strip().lower()
        if append:
            out.setdefault(kind, []).append(parsed)
        else:
            out[kind] = parsed
    return out


def _device_specs(sim) -> list:
    from eegaffect.acquisition.sim.devices import DeviceSpec
    from eegaffect.errors import UserInputError

    specs = []
    for kind in sim.physio:
        try:
            specs.append(DeviceSpec(kind, sim.physio_sfreq.get(kind), sim.clock_offset_s.get(kind, 0.0),
                                    sim.clock_drift_ppm.get(kind, 0.0), tuple(sim.drop.get(kind, ()))))
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
    return specs
