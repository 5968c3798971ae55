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
- ``e2e-p99-62x200+physio``: as ``e2e-p99-62x200``, with the simulated person's ECG (256 Hz), BVP/PPG (64 Hz),
  EDA (4 Hz) and respiration (32 Hz) as four more outlets (each with its sample counter) and the session reading
  all of them (:mod:`eegaffect.live.physio_inputs`); the details add each device's samples and lost samples. Its
  model is a fused bundle of the demo's fused recipe (ECG/PPG and EDA fused, valence from the EEG pass: two passes
  per frame), so the case measures the path the demo runs.

The headset's process and the session's loop and inlets run in ``SCHED_FIFO`` where the OS permits it
(``realtime``, :mod:`eegaffect.acquisition.realtime`); the headset saves each chunk's push lateness, and the stage
block prints its p50/p99/max over the session as ``of which source`` under ``transport``.

Ratio > 1 means the target is met. Each case's details hold the session's summary, whose
``stage_percentiles_ms`` splits the latency by stage (:mod:`eegaffect.live.latency`); :func:`format_stages`
prints them, so a regression points at its stage.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from pydantic import Field, field_validator

from eegaffect.config import ConfigModel

__all__ = ["BenchLiveConfig", "RUNS", "PHYSIO_RUN", "CASES", "bench_bundle", "format_stages", "run_benchmark"]


#: (case, montage, sfreq)
RUNS = (("62x200", "seed62", 200.0), ("64x1000", "standard64", 1000.0))
#: (case, montage, sfreq, devices): the multimodal case, devices at their default rates
#: (:data:`~eegaffect.acquisition.sim.PHYSIO_DEVICES`: ECG 256 Hz, PPG 64 Hz, EDA 4 Hz, respiration 32 Hz)
PHYSIO_RUN = ("62x200+physio", "seed62", 200.0, ("ecg", "ppg", "eda", "resp"))
#: Every case, in report order.
CASES = ("e2e-p99-62x200", "e2e-p99-64x1000", "cpu-62x200", "e2e-p99-62x200+physio")


class BenchLiveConfig(ConfigModel):
    """Settings of ``eegaffect bench live``."""

    duration_s: float = Field(30.0, gt=0, description="seconds of live session per case")
    update_hz: float = Field(4.0, gt=0)
    seed: int = 0
    realtime: bool = Field(True, description="the session's and the simulated headset's threads in SCHED_FIFO "
                           "where permitted (live.realtime; eegaffect.acquisition.realtime)")
    cases: list[str] | None = Field(None, description="case names to run (null: all), e.g. "
                                    "[e2e-p99-62x200+physio] for the 10-minute zero-loss check")

    @field_validator("cases")
    @classmethod
    def _known_cases(cls, value: list[str] | None) -> list[str] | None:
        unknown = [c for c in value or () if c not in CASES]
        if unknown:
            raise ValueError(f"unknown case(s) {unknown}; expected some of {list(CASES)}")
        return value


def bench_bundle(ch_names, out: str | Path, seed: int = 0, physio: tuple[str, ...] = ()) -> Path:
    """A bundle with the demo model's architecture, briefly trained on simulated EEG of ``ch_names`` at 200 Hz.

    With ``physio``, a fused bundle of the demo's fused recipe (:func:`eegaffect.models.demo.demo_config`: the kinds
    of ``physio`` it fuses, its look-backs, valence from the EEG pass) trained on the simulated person's sessions, so
    the case runs the fused path the demo runs (both passes of every frame).

    Parameters
    ----------
    ch_names : sequence of str
        Channels (each needs a template position).
    out : str | Path
        Bundle directory.
    seed : int
        Seed.
    physio : tuple of str
        The session's devices (none: an EEG-only bundle).

    Returns
    -------
    out : Path
    """
    import numpy as np

    from eegaffect.acquisition.simulator import SimulatedEEG
    from eegaffect.models.bundle import save_bundle
    from eegaffect.models.demo import DEMO_FUSED_KINDS
    from eegaffect.models.fused_data import simulated_sequences
    from eegaffect.models.training import Sequences, demo_config, fit_chain
    from eegaffect.pipeline import SignalPipeline
    from eegaffect.targets import frame_targets, sample_times

    sfreq = 200.0
    fused = [k for k in physio if k in DEMO_FUSED_KINDS]
    config = demo_config(seed, fused)
    config.vqvae.steps, config.transformer.pretrain_steps, config.transformer.finetune_steps = 20, 10, 20
    config.sac.total_steps, config.sac.learning_starts = 150, 50
    if fused:
        train = simulated_sequences([seed, seed + 1000, seed + 2000], seed, config, kinds=fused,
                                    ch_names=list(ch_names), sfreq=sfreq, session_s=40.0, trial_s=40.0)
        chain, report = fit_chain(train, config, progress_bar=False)
        return save_bundle(out, chain, config=config, ch_names=list(ch_names), sfreq=sfreq, report=report)
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
    """Run the cases of :data:`CASES` (``config.cases``; all by default): per montage a bench bundle, per run a live
    session on a simulated headset (:data:`RUNS`) or person (:data:`PHYSIO_RUN`).

    Parameters
    ----------
    config : BenchLiveConfig
        Session length, update rate and seed.
    report : callable | None
        Called with a one-line progress message before each phase (the command prints them).

    Returns
    -------
    cases : list of BenchCase
        Those of :data:`CASES` that ``config.cases`` selects, in that order, against the fixed targets.
    details : dict
        Per case label: the session's summary and ``cpu_percent``.

    Raises
    ------
    RuntimeError
        A session made no updates (an overloaded machine).
    """
    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.perf import BenchCase

    report = report or (lambda message: None)
    wanted = list(CASES) if config.cases is None else list(config.cases)
    cases, details, bundles = [], {}, {}

    def bundle_for(label, montage, tmp, physio=()):
        key = (montage, tuple(physio))
        if key not in bundles:
            what = (f"a fused bench model ({montage} + {', '.join(physio)})" if physio
                    else f"a bench model for {montage}")
            report(f"case {label}: training {what} ...")
            bundles[key] = bench_bundle(CHANNEL_SETS[montage], Path(tmp) / "-".join(key[:1] + key[1]),
                                        seed=config.seed, physio=tuple(physio))
        return bundles[key]

    with tempfile.TemporaryDirectory(prefix="eegaffect-bench-live-") as tmp:
        for label, montage, sfreq in RUNS:
            if f"e2e-p99-{label}" not in wanted and f"cpu-{label}" not in wanted:
                continue
            p99, cpu = _run_session_case(config, label, montage, sfreq, bundle_for(label, montage, tmp), details,
                                         report)
            if f"e2e-p99-{label}" in wanted:
                cases.append(BenchCase.duration(f"e2e-p99-{label}", "ms", p99, 10.0, "target (10 ms)"))
            if label == "62x200" and "cpu-62x200" in wanted:
                cases.append(BenchCase.duration("cpu-62x200", "% of one core", cpu, 30.0, "target (30 %)"))
        if f"e2e-p99-{PHYSIO_RUN[0]}" in wanted:
            label, montage, sfreq, kinds = PHYSIO_RUN
            bundle = bundle_for(label, montage, tmp, kinds)
            p99, _ = _run_session_case(config, label, montage, sfreq, bundle, details, report, physio=kinds)
            details[label]["model"] = _bundle_modalities(bundle)
            cases.append(BenchCase.duration(f"e2e-p99-{label}", "ms", p99, 10.0, "target (10 ms)"))
    order = {name: k for k, name in enumerate(CASES)}
    cases.sort(key=lambda c: order[c.name])
    return cases, details


def _run_session_case(config: BenchLiveConfig, label: str, montage: str, sfreq: float, bundle: Path, details: dict,
                      report, physio: tuple[str, ...] = ()) -> tuple[float, float]:
    """One case's live session: the simulated headset (and the devices ``physio``, each its own outlet with its
    sample counter) for ``config.duration_s``; the session's summary goes to ``details[label]``, with the
    hypervisor's steal over the session (``steal_ms``; :func:`~eegaffect.perf.acquisition.steal_seconds`, None
    where not reported): a virtual core paused for ~100 ms delays every stage of the updates it spans, and with
    ~120 updates a case's p99 is its second-worst.

    Returns
    -------
    p99_ms, cpu_percent : float
        The session's e2e p99 and its process's CPU share (% of one core).
    """
    from eegaffect.live.headset import HeadsetProcess
    from eegaffect.live.session import LiveConfig, LiveSession
    from eegaffect.perf.acquisition import steal_seconds

    name = f"eegaffect-bench-{'physio' if physio else label}-{os.getpid()}"
    live = LiveConfig(update_hz=config.update_hz, truth=False, physio=[f"{name}-{k}" for k in physio],
                      realtime=config.realtime)
    with tempfile.TemporaryDirectory(prefix="eegaffect-bench-headset-") as tmp:
        headset = HeadsetProcess(name, montage=montage, sfreq=sfreq, seed=config.seed + 1, index_channel=True,
                                 physio=list(physio), realtime=config.realtime,
                                 lateness_file=Path(tmp) / "lateness.npy")
        with headset:
            session = LiveSession(name, bundle, live)
            with_devices = f" with {', '.join(physio)}" if physio else ""
            report(f"case {label}: live session{with_devices} for {config.duration_s:g} s ...")
            steal0 = steal_seconds()
            summary = session.run(duration=config.duration_s)
            steal1 = steal_seconds()
        lateness = headset.push_lateness()
    cpu = 100.0 * session.details["cpu_s"] / max(session.details["wall_s"], 1e-9)
    details[label] = {**summary, "cpu_percent": cpu,
                      "source_late_ms": _source_late(lateness, session.details["loop_span"]),
                      "steal_ms": None if steal0 is None or steal1 is None else 1e3 * (steal1 - steal0)}
    p99 = summary["latency_ms"]["p99"]
    if p99 is None:
        raise RuntimeError(f"case {label}: the live session made no updates; is the machine overloaded?")
    return p99, cpu


def _source_late(lateness, span) -> dict:
    """p50/p99/max (ms) of the headset's push lateness over the chunks whose last sample falls in ``span``
    (``None`` values without any).
    """
    from eegaffect.live.latency import percentiles_ms

    if lateness is None or len(lateness) == 0:
        return percentiles_ms([])
    inside = (lateness[:, 0] >= span[0]) & (lateness[:, 0] <= span[1])
    return percentiles_ms(lateness[inside, 1])


def format_stages(details: dict) -> str:
    """Per case, p50/p99/max of each latency stage and of the loop's after-push work, as text lines.

    Parameters
    ----------
    details : dict
        Per case label: a live session's summary (with ``stage_percentiles_ms``); others are skipped.

    Returns
    -------
    text : str
        One block per case: a header, then one line per stage measured (``after push`` marks the loop's work
        after the push, not in the latency; ``predict_cpu`` the CPU time of the predict stage).
    """
    from eegaffect.live.latency import AFTER_STAGES, STAGES

    lines = []
    for label, d in details.items():
        stats = d.get("stage_percentiles_ms") if isinstance(d, dict) else None
        if not stats:
            continue
        lines.append(f"{label} stages (ms)       p50      p99      max")
        for name, st in stats.items():
            if st.get("p99") is None:
                continue
            where = "" if name in STAGES else " (after push)" if name in AFTER_STAGES else " (diagnostic)"
            lines.append(f"  {name + where:<22} {st['p50']:7.3f}  {st['p99']:7.3f}  {st['max']:7.3f}")
            if name == "transport" and (d.get("source_late_ms") or {}).get("p99") is not None:
                late = d["source_late_ms"]
                lines.append(f"    {'of which source':<20} {late['p50']:7.3f}  {late['p99']:7.3f}  {late['max']:7.3f}"
                             "  (headset's push lateness, every chunk)")
    return "\n".join(lines)


def _bundle_modalities(bundle: Path) -> dict:
    """What a bench bundle fuses: ``{"physio": [kinds], "eeg_pass_outputs": [outputs]}`` (empty lists: EEG-only)."""
    from eegaffect.models.bundle import read_bundle

    doc = read_bundle(bundle).get("modalities") or {}
    return {"physio": [m["kind"] for m in doc.get("physio", [])],
            "eeg_pass_outputs": list(doc.get("eeg_pass_outputs", []))}
