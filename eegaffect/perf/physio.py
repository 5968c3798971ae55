"""The physiological stages beside NeuroKit2, in one process (``eegaffect bench physio``).

Cases (``ratio > 1`` means eegaffect is faster; signals from NeuroKit2's simulators, seeded):

- ``ecg-offline-10min-1000hz``, ``ppg-offline-10min-64hz``, ``eda-offline-10min-32hz``: ten minutes of signal
  through our stage's ``process`` (quality flags, causal filters, events, continuous outputs) against
  NeuroKit2's ``ecg_process`` / ``ppg_process`` / ``eda_process`` (cleaning, peaks, rate, quality); seconds,
  best of ``repeats`` each (:func:`offline_case`). The EDA signal has a small linear drift (0.01 uS/s), so it stays
  a positive conductance over ten minutes (NeuroKit2's default drift turns it negative).
- ``ecg-stream-32x1000hz``: 32-sample chunks of a 1 kHz ECG: our ``step`` (median us/call; its p99 and maximum go
  into the details) against what one would do without a streaming detector: NeuroKit2's ``ecg_process`` on the
  last 10 s at every chunk (:func:`ecg_stream_case`).

NeuroKit2 is a development dependency (``pip install neurokit2``); it is the reference, never the live path.
``quick=True`` takes 20 s of signal and few reference calls (the case names keep their labels; the details say
``quick``) for smoke tests.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from pydantic import Field

from eegaffect.config import ConfigModel
from eegaffect.errors import UserInputError

__all__ = ["BenchPhysioConfig", "OFFLINE_CASES", "run_benchmark", "offline_case", "ecg_stream_case",
           "simulate", "neurokit"]

#: Offline cases: (kind, sampling rate in Hz, NeuroKit2 function of the reference).
OFFLINE_CASES = (("ecg", 1000.0, "ecg_process"), ("ppg", 64.0, "ppg_process"), ("eda", 32.0, "eda_process"))


class BenchPhysioConfig(ConfigModel):
    """Settings of ``eegaffect bench physio``."""

    repeats: int = Field(3, ge=1, le=20, description="offline cases: best of this many runs per side")


def neurokit():
    """NeuroKit2, or a :class:`~eegaffect.errors.UserInputError` saying how to install it."""
    try:
        import neurokit2
    except ImportError:
        raise UserInputError("eegaffect bench physio needs NeuroKit2, its reference: pip install neurokit2 "
                             "(part of eegaffect's dev extra)") from None
    return neurokit2


def simulate(kind: str, duration_s: float, sfreq: float, seed: int) -> np.ndarray:
    """A seeded NeuroKit2-simulated signal of ``kind`` (``ecg``, ``ppg`` or ``eda``).

    Parameters
    ----------
    kind : str
        ``"ecg"`` (70 bpm, light noise), ``"ppg"`` (70 bpm) or ``"eda"`` (one SCR per 20 s, drift 0.01 uS/s).
    duration_s : float
        Length in seconds.
    sfreq : float
        Sampling rate in Hz.
    seed : int
        NeuroKit2's ``random_state``.

    Returns
    -------
    x : ndarray, shape (n_times,)
        float64, C-contiguous.
    """
    nk = neurokit()
    duration, rate = int(duration_s), int(sfreq)
    if kind == "ecg":
        x = nk.ecg_simulate(duration=duration, sampling_rate=rate, heart_rate=70, method="simple", noise=0.05,
                            random_state=seed)
    elif kind == "ppg":
        x = nk.ppg_simulate(duration=duration, sampling_rate=rate, heart_rate=70, random_state=seed)
    elif kind == "eda":
        x = nk.eda_simulate(duration=duration, sampling_rate=rate, scr_number=max(1, duration // 20), drift=0.01,
                            random_state=seed)
    else:
        raise ValueError(f"no simulator for kind {kind!r}; expected one of ['ecg', 'ppg', 'eda']")
    return np.ascontiguousarray(x, dtype=np.float64)


def offline_case(kind: str, sfreq: float, reference_name: str, duration_s: float, repeats: int, seed: int = 1):
    """One offline case: our stage's ``process`` against NeuroKit2's ``*_process`` on the same signal.

    Parameters
    ----------
    kind : str
        Signal kind of :data:`OFFLINE_CASES`.
    sfreq : float
        Sampling rate in Hz.
    reference_name : str
        NeuroKit2 function, e.g. ``"ecg_process"``.
    duration_s : float
        Seconds of signal.
    repeats : int
        Best of this many runs per side.
    seed : int
        Seed of the simulated signal.

    Returns
    -------
    case : BenchCase
        Named ``{kind}-offline-10min-{sfreq}hz``, seconds.
    info : dict
        Samples, our event count, both timings.
    """
    from eegaffect.perf import BenchCase, best_of
    from eegaffect.physio import load_stage_class

    nk = neurokit()
    name = f"{kind}-offline-10min-{int(sfreq)}hz"
    x = simulate(kind, duration_s, sfreq, seed)
    stage = load_stage_class(kind)(sfreq)
    stage.process(x[: int(10 * sfreq)])  # compile / load the kernels first
    ours = best_of(lambda: stage.process(x), repeats)
    reference = getattr(nk, reference_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NeuroKit2's own notices are not the benchmark's subject
        ref = best_of(lambda: reference(x, sampling_rate=int(sfreq)), repeats)
    n_events = len(stage.process(x).events)
    case = BenchCase.duration(name, "s", ours, ref, f"neurokit2.{reference_name}")
    return case, {"n_samples": len(x), "our_events": n_events, "ours_s": ours, "reference_s": ref}


def ecg_stream_case(quick: bool = False, chunk: int = 32, window_s: float = 10.0, seed: int = 4):
    """``ecg-stream-32x1000hz``: :meth:`ECGStage.step` per chunk against NeuroKit2 on a sliding window.

    Parameters
    ----------
    quick : bool
        20 s of signal and 5 reference calls (else 70 s and 40).
    chunk : int
        Samples per call.
    window_s : float
        The reference's sliding window (and our stage's warm-up before timing).
    seed : int
        Seed of the simulated ECG.

    Returns
    -------
    case : BenchCase
        Median us per call of each side.
    info : dict
        Our p50, p99 and maximum us per call, the reference's median, call counts.
    """
    from eegaffect.kernels.heart import ECGStage
    from eegaffect.perf import BenchCase

    nk = neurokit()
    sfreq = 1000.0
    window = int(window_s * sfreq)
    x = simulate("ecg", 20 if quick else 70, sfreq, seed)
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
        for k in range(min(len(chunks), 5 if quick else 40)):
            end = window + (k + 1) * chunk
            t0 = time.perf_counter()
            nk.ecg_process(x[end - window: end], sampling_rate=int(sfreq))
            ref_times.append(time.perf_counter() - t0)
    ours_us = float(np.median(times) * 1e6)
    ref_us = float(np.median(ref_times) * 1e6)
    info = {"chunks": len(chunks), "ours_p50_us": ours_us, "ours_p99_us": float(np.percentile(times, 99) * 1e6),
            "ours_max_us": float(times.max() * 1e6), "reference_p50_us": ref_us, "reference_calls": len(ref_times)}
    case = BenchCase.duration(f"ecg-stream-{chunk}x{int(sfreq)}hz", "us/call", ours_us, ref_us,
                              f"neurokit2.ecg_process on the last {window_s:g} s")
    return case, info


def run_benchmark(config: BenchPhysioConfig | None = None, quick: bool = False) -> tuple[list, dict]:
    """Run every case.

    Parameters
    ----------
    config : BenchPhysioConfig | None
        Repeats (None: the defaults).
    quick : bool
        20 s of signal instead of ten minutes and few reference calls.

    Returns
    -------
    cases : list of BenchCase
        The offline cases of :data:`OFFLINE_CASES`, then ``ecg-stream-32x1000hz``.
    details : dict
        Per-case settings and numbers (our event counts, stream percentiles).
    """
    config = BenchPhysioConfig() if config is None else config
    neurokit()  # fail early, in one line, without NeuroKit2
    duration = 20 if quick else 600
    cases, details = [], {"quick": bool(quick), "duration_s": duration, "repeats": config.repeats}
    for seed, (kind, sfreq, reference_name) in enumerate(OFFLINE_CASES, start=1):
        case, info = offline_case(kind, sfreq, reference_name, duration, config.repeats, seed=seed)
        cases.append(case)
        details[case.name] = info
    case, info = ecg_stream_case(quick)
    cases.append(case)
    details[case.name] = info
    return cases, details
