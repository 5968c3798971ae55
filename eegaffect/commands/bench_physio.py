"""``eegaffect bench physio``: the physiological stages beside NeuroKit2, in one process.

Cases (``ratio > 1`` means eegaffect is faster; signals from NeuroKit2's simulators, seeded):

- ``ecg-offline-10min-1000hz``, ``ppg-offline-10min-64hz``, ``eda-offline-10min-32hz``: ten minutes of signal
  through our stage's ``process`` (quality flags, causal filters, events, continuous outputs) against
  NeuroKit2's ``ecg_process`` / ``ppg_process`` / ``eda_process`` (cleaning, peaks, rate, quality); seconds,
  best of ``repeats`` (``--set repeats=N``, default 3) each. The EDA case is skipped, with a line saying so,
  when the EDA stage (``kernels/eda.py``) is not part of the installation.
- ``ecg-stream-32x1000hz``: 32-sample chunks of a 1 kHz ECG: our ``step`` (median us/call; its p99 is printed
  and written in the JSON details) against what one would do without a streaming detector: NeuroKit2's
  ``ecg_process`` on the last 10 s at every chunk.

NeuroKit2 is a development dependency (``pip install neurokit2``); it is the reference, never the live path.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from pydantic import Field

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.config import ConfigModel
from eegaffect.errors import UserInputError

__all__ = ["BenchPhysioConfig", "run_benchmark", "register"]


class BenchPhysioConfig(ConfigModel):
    """Settings of ``eegaffect bench physio``."""

    repeats: int = Field(3, ge=1, le=20, description="offline cases: best of this many runs per side")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "physio", help="physiological stages (ECG, PPG, EDA) against NeuroKit2 (offline and streaming)",
        description="Time the physiological stages beside NeuroKit2 in one process and print the ratios "
                    "(> 1 means eegaffect is faster).")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the cases as JSON")
    parser.add_argument("--quick", action="store_true",
                        help="20 s of signal instead of ten minutes, few reference calls (a smoke run)")
    add_config_options(parser, None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from eegaffect.perf import format_cases, write_bench_json

    config = config_from_args(args, BenchPhysioConfig)
    cases, details = run_benchmark(repeats=config.repeats, quick=args.quick, report=print)
    print(format_cases(cases))
    stream = details.get("ecg-stream-32x1000hz")
    if stream:
        print(f"ecg-stream-32x1000hz: our step p50 {stream['ours_p50_us']:.1f} us, p99 {stream['ours_p99_us']:.1f} us"
              f" per 32-sample chunk (32 ms of signal)")
    if args.json is not None:
        write_bench_json(args.json, cases, extra={"details": details})
        print(f"wrote {args.json}")
    return 0


def _neurokit():
    try:
        import neurokit2
    except ImportError:
        raise UserInputError("eegaffect bench physio needs NeuroKit2, its reference: pip install neurokit2 "
                             "(part of eegaffect's dev extra)") from None
    return neurokit2


def run_benchmark(repeats: int = 3, quick: bool = False, report=None) -> tuple[list, dict]:
    """Run every case.

    Parameters
    ----------
    repeats : int
        Offline cases: best of this many runs per side.
    quick : bool
        20 s of signal instead of ten minutes and few reference calls (case names keep their labels, the details
        say ``quick``).
    report : callable | None
        Called with a line of text for skipped cases.

    Returns
    -------
    cases : list of BenchCase
    details : dict
        Per-case settings and numbers (event counts of both sides, stream percentiles).
    """
    import warnings

    from eegaffect.perf import BenchCase, best_of

    nk = _neurokit()
    from eegaffect.physio import StageUnavailableError, load_stage_class

    duration = 20 if quick else 600
    cases, details = [], {"quick": bool(quick), "duration_s": duration, "repeats": repeats}
    offline = (("ecg", 1000.0, "ecg_process", lambda: nk.ecg_simulate(duration=duration, sampling_rate=1000,
                                                                       heart_rate=70, method="simple",
                                                                       noise=0.05, random_state=1)),
               ("ppg", 64.0, "ppg_process", lambda: nk.ppg_simulate(duration=duration, sampling_rate=64,
                                                                     heart_rate=70, random_state=2)),
               ("eda", 32.0, "eda_process", lambda: nk.eda_simulate(duration=duration, sampling_rate=32,
                                                                     scr_number=duration // 20, drift=0.01,
                                                                     random_state=3)))
    for kind, sfreq, ref_name, simulate in offline:
        name = f"{kind}-offline-10min-{int(sfreq)}hz"
        try:
            cls = load_stage_class(kind)
        except StageUnavailableError as exc:
            if report is not None:
                report(f"{name}: skipped ({exc})")
            details[name] = {"skipped": str(exc)}
            continue
        x = np.ascontiguousarray(simulate(), dtype=np.float64)
        stage = cls(sfreq)
        stage.process(x[: int(10 * sfreq)])  # compile / load the kernels first
        ours = best_of(lambda: stage.process(x), repeats)
        reference = getattr(nk, ref_name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NeuroKit2's own notices are not the benchmark's subject
            ref = best_of(lambda: reference(x, sampling_rate=int(sfreq)), repeats)
        n_events = len(stage.process(x).events)
        cases.append(BenchCase.duration(name, "s", ours, ref, f"neurokit2.{ref_name}"))
        details[name] = {"n_samples": len(x), "our_events": n_events, "ours_s": ours, "reference_s": ref}
    cases_stream, info = _stream_case(nk, quick)
    cases.extend(cases_stream)
    details["ecg-stream-32x1000hz"] = info
    return cases, details


def _stream_case(nk, quick: bool) -> tuple[list, dict]:
    import time
    import warnings

    from eegaffect.kernels.heart import ECGStage
    from eegaffect.perf import BenchCase

    sfreq, chunk, window = 1000.0, 32, 10_000
    x = np.ascontiguousarray(nk.ecg_simulate(duration=20 if quick else 70, sampling_rate=1000, heart_rate=70,
                                             method="simple", noise=0.05, random_state=4), dtype=np.float64)
    stage = ECGStage(sfreq)
    stage.step(x[:window])
    chunks = [x[i: i + chunk] for i in range(window, len(x) - chunk + 1, chunk)]
    times = np.empty(len(chunks))
    for k, c in enumerate(chunks):
        t0 = time.perf_counter()
        stage.step(c)
        times[k] = time.perf_counter() - t0
    ref_times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(0, min(len(chunks), 5 if quick else 40)):
            end = window + (k + 1) * chunk
            t0 = time.perf_counter()
            nk.ecg_process(x[end - window: end], sampling_rate=int(sfreq))
            ref_times.append(time.perf_counter() - t0)
    ours_us = float(np.median(times) * 1e6)
    ref_us = float(np.median(ref_times) * 1e6)
    info = {"chunks": len(chunks), "ours_p50_us": ours_us, "ours_p99_us": float(np.percentile(times, 99) * 1e6),
            "ours_max_us": float(times.max() * 1e6), "reference_p50_us": ref_us, "reference_calls": len(ref_times)}
    case = BenchCase.duration("ecg-stream-32x1000hz", "us/call", ours_us, ref_us,
                              "neurokit2.ecg_process on the last 10 s")
    return [case], info
