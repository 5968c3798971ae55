"""End-to-end latency and CPU share of a live session against the project's targets (``eegaffect bench live``).

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

import os
import tempfile
from pathlib import Path
from typing import Callable

from pydantic import Field

from eegaffect.config import ConfigModel

__all__ = ["BenchLiveConfig", "RUNS", "bench_bundle", "run_benchmark"]


class BenchLiveConfig(ConfigModel):
    """Settings of ``eegaffect bench live``."""

    duration_s: float = Field(30.0, gt=0, description="seconds of live session per case")
    update_hz: float = Field(4.0, gt=0)
    seed: int = 0


#: (case, montage, sfreq)
RUNS = (("62x200", "seed62", 200.0), ("64x1000", "standard64", 1000.0))


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


def run_benchmark(config: BenchLiveConfig,
                  report: Callable[[str], None] | None = None) -> tuple[list, dict]:
    """Run every case of :data:`RUNS`: train a bench bundle, then a live session on a simulated headset.

    Parameters
    ----------
    config : BenchLiveConfig
        Session length, update rate and seed.
    report : callable | None
        Called with a one-line progress message before each phase (the command prints them).

    Returns
    -------
    cases : list of BenchCase
        ``e2e-p99-62x200``, ``e2e-p99-64x1000``, ``cpu-62x200``, against the fixed targets.
    details : dict
        Per case label: the session's summary and ``cpu_percent``.

    Raises
    ------
    RuntimeError
        A session made no updates (an overloaded machine).
    """
    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.live.headset import HeadsetProcess
    from eegaffect.live.session import LiveConfig, LiveSession
    from eegaffect.perf import BenchCase

    report = report or (lambda message: None)
    cases, details = [], {}
    with tempfile.TemporaryDirectory(prefix="eegaffect-bench-live-") as tmp:
        for label, montage, sfreq in RUNS:
            report(f"case {label}: training a bench model for {montage} ...")
            bundle = bench_bundle(CHANNEL_SETS[montage], Path(tmp) / montage, seed=config.seed)
            name = f"eegaffect-bench-{label}-{os.getpid()}"
            live = LiveConfig(update_hz=config.update_hz, truth=False)
            with HeadsetProcess(name, montage=montage, sfreq=sfreq, seed=config.seed + 1, index_channel=True):
                session = LiveSession(name, bundle, live)
                report(f"case {label}: live session for {config.duration_s:g} s ...")
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
    return cases, details
