"""``eegaffect bench live``: end-to-end latency and CPU share of a live session against the project's targets.

For each case a simulated headset runs in a child process (:class:`~eegaffect.live.headset.HeadsetProcess`,
real-time pace, a sample counter channel so losses are exact) and a :class:`~eegaffect.live.session.LiveSession`
runs in this process for ``duration_s`` with 4 Hz updates. The model is a bundle with the demo model's
architecture, trained briefly on simulated EEG of the case's montage (latency and CPU do not depend on how well
it is trained); a 1 kHz stream is resampled by the predictor to the model's 200 Hz.

- ``e2e-p99-62x200`` / ``e2e-p99-64x1000``: p99 over updates of the time from the LSL timestamp of the newest
  sample used to the push of the prediction (ms); reference = the target, 10 ms; ratio = target / ours.
- ``cpu-62x200``: CPU time of this process (all threads: acquisition worker, liblsl, session loop; the headset's
  process is not counted) over wall time while the session runs, in % of one core; reference = the target, 30 %.

Ratio > 1 means the target is met.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from pydantic import Field

from eegaffect.commands import add_config_options, config_from_args, plain_text
from eegaffect.config import ConfigModel


class BenchLiveConfig(ConfigModel):
    """Settings of ``eegaffect bench live``."""

    duration_s: float = Field(30.0, gt=0, description="seconds of live session per case")
    update_hz: float = Field(4.0, gt=0)
    seed: int = 0


#: (case, montage, sfreq)
_RUNS = (("62x200", "seed62", 200.0), ("64x1000", "standard64", 1000.0))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "live", help="end-to-end latency and CPU share of a live session (simulator -> prediction outlet)",
        description=plain_text(__doc__.split("\n\n")[0]))
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the cases as JSON")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="seconds per case (default 30; 600 for the 10-minute zero-loss check)")
    add_config_options(parser, None)
    parser.set_defaults(func=run)


def bench_bundle(ch_names, out: str | Path, seed: int = 0) -> Path:
    """A bundle with the demo model's architecture, briefly trained on simulated EEG of ``ch_names`` at 200 Hz.

    Parameters
    ----------
    ch_names : sequence of str
        Channels (each needs a template position).
    out : str | Path
        Bundle directory.
    seed : int
        Seed.

    Returns
    -------
    out : Path
    """
    import numpy as np

    from eegaffect.acquisition.simulator import SimulatedEEG
    from eegaffect.models.bundle import save_bundle
    from eegaffect.models.training import Sequences, demo_config, fit_chain
    from eegaffect.pipeline import SignalPipeline
    from eegaffect.targets import frame_targets, sample_times

    sfreq = 200.0
    config = demo_config(seed)
    config.vqvae.steps, config.transformer.pretrain_steps, config.transformer.finetune_steps = 20, 10, 20
    config.sac.total_steps, config.sac.learning_starts = 150, 50
    sim = SimulatedEEG(list(ch_names), sfreq, seed=seed)
    feats, vas = [], []
    for _ in range(3):
        eeg, va = sim.generate(int(40 * sfreq))
        pipe = SignalPipeline(config.pipeline, n_chans=len(ch_names), sfreq_in=sfreq)
        f = pipe.process(eeg)
        feats.append(np.asarray(f))
        vas.append(frame_targets(pipe.frame_times(len(f)), sample_times(len(va), sfreq), va))
    chain, report = fit_chain(Sequences(feats, vas), config, progress_bar=False)
    return save_bundle(out, chain, config=config, ch_names=list(ch_names), sfreq=sfreq, report=report)


def run(args: argparse.Namespace) -> int:
    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.live.headset import HeadsetProcess
    from eegaffect.live.session import LiveConfig, LiveSession
    from eegaffect.perf import BenchCase, format_cases, write_bench_json

    config = config_from_args(args, BenchLiveConfig)
    if args.duration is not None:
        config.duration_s = args.duration
    cases, details = [], {}
    with tempfile.TemporaryDirectory(prefix="eegaffect-bench-live-") as tmp:
        for label, montage, sfreq in _RUNS:
            print(f"case {label}: training a bench model for {montage} ...", flush=True)
            bundle = bench_bundle(CHANNEL_SETS[montage], Path(tmp) / montage, seed=config.seed)
            name = f"eegaffect-bench-{label}-{os.getpid()}"
            live = LiveConfig(update_hz=config.update_hz, truth=False)
            with HeadsetProcess(name, montage=montage, sfreq=sfreq, seed=config.seed + 1, index_channel=True):
                session = LiveSession(name, bundle, live)
                print(f"case {label}: live session for {config.duration_s:g} s ...", flush=True)
                summary = session.run(duration=config.duration_s)
            cpu = 100.0 * session.details["cpu_s"] / max(session.details["wall_s"], 1e-9)
            details[label] = {**summary, "cpu_percent": cpu}
            p99 = summary["latency_ms"]["p99"]
            if p99 is None:
                raise RuntimeError(f"case {label}: the live session made no updates; is the machine overloaded?")
            cases.append(BenchCase.duration(f"e2e-p99-{label}", "ms", p99, 10.0, "target (10 ms)"))
            if label == "62x200":
                cases.append(BenchCase.duration("cpu-62x200", "% of one core", cpu, 30.0, "target (30 %)"))
    order = {"e2e-p99-62x200": 0, "e2e-p99-64x1000": 1, "cpu-62x200": 2}
    cases.sort(key=lambda c: order[c.name])
    print(format_cases(cases))
    for label, d in details.items():
        lat = d["latency_ms"]
        print(f"{label}: {d['updates']} updates, p50 {lat['p50']:.2f} ms, max {lat['max']:.2f} ms, "
              f"{d['samples_received']} samples received, {d['samples_lost']} lost, CPU {d['cpu_percent']:.1f} %")
    if args.json is not None:
        write_bench_json(args.json, cases, extra={"details": details, "duration_s": config.duration_s})
        print(f"wrote {args.json}")
    return 0
