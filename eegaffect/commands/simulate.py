"""``eegaffect simulate``: a simulated headset on LSL (synthetic EEG plus its valence/arousal ground truth)."""

from __future__ import annotations

import argparse
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
    add_allow_duplicate_option(parser)
    add_config_options(parser, "acquisition")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect simulate`` with the parsed ``args``; return the exit code."""
    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.acquisition.simulate import SimulatedHeadset
    from eegaffect.acquisition.simulator import SimulatedEEG, trajectory_from_csv
    from eegaffect.acquisition_config import AcquisitionConfig
    from eegaffect.commands._signals import sigterm_as_interrupt

    from eegaffect.config import validate_update

    config = config_from_args(args, AcquisitionConfig)
    sim = validate_update(config.simulate, {
        "montage": args.montage, "sfreq": args.sfreq, "duration_s": args.duration, "name": args.name,
        "seed": args.seed, "index_channel": args.index_channel,
        "trajectory": None if args.trajectory is None else str(args.trajectory),
    }, {"montage": "--montage", "sfreq": "--sfreq", "duration_s": "--duration", "name": "--name", "seed": "--seed",
        "index_channel": "--index-channel", "trajectory": "--trajectory"})
    trajectory = trajectory_from_csv(sim.trajectory) if sim.trajectory else None
    refuse_names_in_use([sim.name, f"{sim.name}-truth"], args, config.lsl.resolve_timeout_s)
    source = SimulatedEEG(CHANNEL_SETS[sim.montage], sim.sfreq, seed=sim.seed, trajectory=trajectory, unit="uV",
                          line_hz=sim.line_hz)
    headset = SimulatedHeadset(source, name=sim.name, chunk_size=sim.chunk_size, index_channel=sim.index_channel,
                               source_id=args.source_id, duration=sim.duration_s)
    print(f"simulating {len(source.ch_names)} channels ({sim.montage}) at {sim.sfreq:g} Hz: EEG stream "
          f"{headset.name!r} (source_id {headset.source_id!r}), ground truth {headset.truth_outlet.name!r} "
          f"(type AffectTruth); {'Ctrl-C to stop' if sim.duration_s is None else f'{sim.duration_s:g} s'}",
          flush=True)
    t0 = time.perf_counter()
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
    print(f"pushed {headset.n_pushed} samples ({headset.n_pushed / sim.sfreq:.1f} s of signal) in "
          f"{time.perf_counter() - t0:.1f} s")
    return 0
