"""The numba signal kernels beside their SciPy/NumPy references, in one process (``eegaffect bench kernels``).

Cases (``ratio > 1`` means eegaffect is faster):

- ``offline-62x720000`` (one hour at 200 Hz) and ``offline-64x600000`` (ten minutes at 1 kHz): a Butterworth
  band-pass + line notch cascade over a whole float64 recording, :func:`eegaffect.kernels.filtering.sosfilt`
  (validation and finiteness check included) against ``scipy.signal.sosfilt(sos, x, axis=0)``; throughput in
  Msamples*ch/s, best of ``repeats`` runs each, the two sides alternating.
- ``stream-10x62``, ``stream-32x64``, ``stream-50x256``: per-call latency of
  :meth:`~eegaffect.kernels.filtering.SOSFilter.step` (allocating its output, checking finiteness) against
  ``scipy.signal.sosfilt(sos, chunk, axis=0, zi=zi)`` with the state carried; median us/call over
  ``min_time_s`` of calls each, timed in alternating rounds.
- ``de-session`` and ``de-session-scipy``: differential-entropy features of a SEED-length session, against
  TorchEEG's per-window loop and against the fair vectorised SciPy computation (see :func:`de_session`).

Each case first checks that both sides give the same numbers. ``quick=True`` shrinks the arrays (the case names
then carry the smaller shapes) for smoke tests.
"""

from __future__ import annotations

from typing import Callable

from pydantic import Field, model_validator

from eegaffect.config import ConfigModel

__all__ = ["BenchKernelsConfig", "BenchFilterConfig", "CASE_FUNCTIONS", "run_benchmark", "interleaved_best",
           "filtering_offline", "filtering_stream", "de_session"]


class BenchFilterConfig(ConfigModel):
    """The filter cascade timed by the filtering cases (designed at each case's sampling rate)."""

    low_hz: float = Field(1.0, gt=0, description="band-pass low edge in Hz")
    high_hz: float = Field(50.0, gt=0, description="band-pass high edge in Hz (below Nyquist of 200 Hz)")
    order: int = Field(4, ge=1, le=12, description="Butterworth order")
    line_hz: float = Field(50.0, gt=0, description="notch frequency in Hz")
    notch_harmonics: int = Field(1, ge=1, le=10, description="notched harmonics (those below Nyquist)")

    @model_validator(mode="after")
    def _ordered(self) -> "BenchFilterConfig":
        if self.low_hz >= self.high_hz:
            raise ValueError(f"low_hz must be below high_hz, got {self.low_hz} >= {self.high_hz}")
        if self.high_hz >= 100.0 or self.line_hz >= 100.0:
            raise ValueError(f"high_hz and line_hz must be below 100 Hz (Nyquist of the 200 Hz cases), got "
                             f"high_hz={self.high_hz}, line_hz={self.line_hz}")
        return self


class BenchKernelsConfig(ConfigModel):
    """Settings of ``eegaffect bench kernels``."""

    repeats: int = Field(3, ge=1, le=20, description="offline cases: best of this many runs per side")
    min_time_s: float = Field(1.0, gt=0, le=60, description="streaming cases: seconds of calls timed per side")
    seed: int = Field(0, ge=0, description="seed of the random test signals")
    filter: BenchFilterConfig = Field(default_factory=BenchFilterConfig)


def run_benchmark(config: BenchKernelsConfig, quick: bool = False) -> tuple[list, dict]:
    """Run every case of :data:`CASE_FUNCTIONS`.

    Parameters
    ----------
    config : BenchKernelsConfig
        Repeats, timing length, seed and filter.
    quick : bool
        Small arrays and short timings.

    Returns
    -------
    cases : list of BenchCase
        One row per case.
    details : dict
        Per-group settings and the agreement checks (max abs difference against the reference).
    """
    from eegaffect._progress import progress

    cases: list = []
    details: dict = {"quick": bool(quick), "config": config.model_dump()}
    for case_fn in progress(CASE_FUNCTIONS, desc="bench kernels", unit="group"):
        new_cases, info = case_fn(config, quick)
        cases.extend(new_cases)
        details[case_fn.__name__] = info
    return cases, details


#: Timing rounds per side in the streaming cases, alternated between eegaffect and the reference.
_ROUNDS = 5


def interleaved_best(ours: Callable[[], object], reference: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` seconds of two one-shot jobs, run alternately (fair under background load).

    Parameters
    ----------
    ours, reference : callable
        Zero-argument jobs.
    repeats : int
        Runs of each.

    Returns
    -------
    t_ours, t_reference : float
        The fastest run of each, in seconds.
    """
    import time

    best_ours = best_ref = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        reference()
        t2 = time.perf_counter()
        best_ours = min(best_ours, t1 - t0)
        best_ref = min(best_ref, t2 - t1)
    return best_ours, best_ref


def _cascade(config: BenchKernelsConfig, sfreq: float):
    from eegaffect.kernels.filtering import cascade, design_bandpass, design_notch

    f = config.filter
    return cascade(design_bandpass(f.low_hz, f.high_hz, sfreq, order=f.order),
                   design_notch(f.line_hz, sfreq, harmonics=f.notch_harmonics))


def filtering_offline(config: BenchKernelsConfig, quick: bool) -> tuple[list, dict]:
    """offline-62x720000 and offline-64x600000: whole-recording band-pass + notch vs scipy.signal.sosfilt."""
    import numpy as np
    import scipy.signal

    from eegaffect.kernels import filtering
    from eegaffect.perf import BenchCase

    filtering.warmup()
    rng = np.random.default_rng(config.seed)
    shapes = [(720000, 62, 200.0), (600000, 64, 1000.0)]
    if quick:
        shapes = [(4000, 62, 200.0), (4000, 64, 1000.0)]
    repeats = 1 if quick else config.repeats
    cases, info = [], {}
    for n_times, n_chans, sfreq in shapes:
        sos = _cascade(config, sfreq)
        x = rng.standard_normal((n_times, n_chans)) * 20.0
        ours_y = filtering.sosfilt(sos, x)
        ref_y = scipy.signal.sosfilt(sos, x, axis=0)
        max_diff = float(np.max(np.abs(ours_y - ref_y)))
        del ours_y, ref_y
        # default arguments bind this iteration's sos and x (ruff B023); both sides are timed the same way
        t_ours, t_ref = interleaved_best(lambda sos=sos, x=x: filtering.sosfilt(sos, x),
                                          lambda sos=sos, x=x: scipy.signal.sosfilt(sos, x, axis=0), repeats)
        mega = n_times * n_chans / 1e6
        name = f"offline-{n_chans}x{n_times}"
        cases.append(BenchCase.throughput(name, "Msamples*ch/s", mega / t_ours, mega / t_ref,
                                          "scipy.signal.sosfilt"))
        info[name] = {"sfreq": sfreq, "n_sections": int(sos.shape[0]), "seconds_ours": t_ours,
                      "seconds_reference": t_ref, "max_abs_diff": max_diff}
    return cases, info


def filtering_stream(config: BenchKernelsConfig, quick: bool) -> tuple[list, dict]:
    """stream-10x62, stream-32x64, stream-50x256: SOSFilter.step vs sosfilt(..., zi=zi) per call."""
    import itertools

    import numpy as np
    import scipy.signal

    from eegaffect.kernels import filtering
    from eegaffect.perf import BenchCase, time_per_call

    filtering.warmup()
    rng = np.random.default_rng(config.seed + 1)
    min_time = 0.02 if quick else config.min_time_s
    cases, info = [], {}
    for n_times, n_chans, sfreq in [(10, 62, 200.0), (32, 64, 1000.0), (50, 256, 1000.0)]:
        sos = _cascade(config, sfreq)
        chunks = [rng.standard_normal((n_times, n_chans)) * 20.0 for _ in range(16)]
        # agreement with the state carried over several calls
        filt = filtering.SOSFilter(sos, n_chans)
        zi = np.zeros((sos.shape[0], 2, n_chans))
        max_diff = 0.0
        for chunk in chunks:
            ref, zi = scipy.signal.sosfilt(sos, chunk, axis=0, zi=zi)
            max_diff = max(max_diff, float(np.max(np.abs(filt.step(chunk) - ref))))

        # the same cycle of chunks on both sides; the harness per call is one next() (~30 ns), not a dict update
        ours_chunks, ref_chunks = itertools.cycle(chunks), itertools.cycle(chunks)
        step = filt.step
        ref_state = [np.zeros((sos.shape[0], 2, n_chans))]

        # default arguments bind this iteration's objects (ruff B023); both sides read them as locals
        def ours(step=step, ours_chunks=ours_chunks):
            step(next(ours_chunks))

        def reference(sos=sos, ref_chunks=ref_chunks, ref_state=ref_state):
            _, ref_state[0] = scipy.signal.sosfilt(sos, next(ref_chunks), axis=0, zi=ref_state[0])

        # alternate short timing rounds so both sides see the same background load on a shared machine
        ours_calls, ref_calls = [], []
        for _ in range(_ROUNDS):
            ours_calls.append(time_per_call(ours, min_time=min_time / _ROUNDS))
            ref_calls.append(time_per_call(reference, min_time=min_time / _ROUNDS))
        t_ours = float(np.median(np.concatenate(ours_calls))) * 1e6
        t_ref = float(np.median(np.concatenate(ref_calls))) * 1e6
        name = f"stream-{n_times}x{n_chans}"
        cases.append(BenchCase.duration(name, "us/call", t_ours, t_ref, "scipy.signal.sosfilt(zi=...)"))
        info[name] = {"sfreq": sfreq, "n_sections": int(sos.shape[0]), "max_abs_diff": max_diff}
    return cases, info


def de_session(config: BenchKernelsConfig, quick: bool) -> tuple[list, dict]:
    """de-session, de-session-scipy: DE features of a SEED-length session (62 ch, 3394 s at 200 Hz, five bands).

    Ours: :func:`eegaffect.kernels.features.band_features` (one fused pass: 5th-order Butterworth band-pass per
    band, carried state, DE per 1-s window) over the whole session. Two references, one case each:

    - ``de-session``: the loop of TorchEEG's ``BandDifferentialEntropy`` (for every 1-s window, band and channel:
      ``scipy.signal.butter`` of order 5, ``scipy.signal.lfilter``, ``0.5 * log2(2 pi e var)``), timed on a
      subset of windows and extrapolated to the session (the loop costs minutes). This is what a user of that
      library runs, but its filter restarts at every window, so its values differ from ours.
    - ``de-session-scipy``: the fair vectorised SciPy computation of the same numbers as ours
      (``scipy.signal.sosfilt`` of each band's pre-designed filter over the whole session, then the variance of
      each 1-s window), best of ``repeats``, alternating with ours.

    Our values are checked against the second reference.

    Parameters
    ----------
    config : BenchKernelsConfig
        Repeats and seed.
    quick : bool
        20 s instead of 3394 s; the case names then carry the shape.

    Returns
    -------
    cases : list of BenchCase
        ``de-session`` and ``de-session-scipy`` (s/session, ratio = reference / ours).
    info : dict
        Per case: shape, timings, and the agreement with the SciPy reference.
    """
    import time

    import numpy as np
    import scipy.signal

    from eegaffect.kernels import features
    from eegaffect.perf import BenchCase

    features.warmup()
    sfreq, n_chans, order = 200.0, 62, 5
    bands = [(1.0, 4.0), (4.0, 8.0), (8.0, 14.0), (14.0, 31.0), (31.0, 50.0)]
    n_seconds, n_ref_windows = (20, 2) if quick else (3394, 20)
    window = int(sfreq)
    n_times = n_seconds * window
    rng = np.random.default_rng(config.seed + 2)
    x = rng.standard_normal((n_times, n_chans)) * 20.0
    band_sos = [scipy.signal.butter(order, [low, high], "bandpass", fs=sfreq, output="sos") for low, high in bands]

    def ours_de():
        return features.band_features(x, bands, sfreq, window, window, kind="de", order=order)

    def scipy_de():
        # the same numbers as ours, vectorised: one sosfilt per band over the session, then the window variance
        out = np.empty((n_seconds, n_chans, len(bands)))
        for b, sos in enumerate(band_sos):
            y = scipy.signal.sosfilt(sos, x, axis=0).reshape(n_seconds, window, n_chans)
            out[:, :, b] = 0.5 * np.log(2 * np.pi * np.e * y.var(axis=1))
        return out

    max_diff = float(np.max(np.abs(ours_de() - scipy_de())))
    t_ours, t_scipy = interleaved_best(ours_de, scipy_de, 1 if quick else config.repeats)

    def torcheeg_window(eeg, design_each_time=True):
        # eeg: (n_chans, window), TorchEEG's layout
        nyq = 0.5 * sfreq
        out = np.empty((eeg.shape[0], len(bands)))
        coeffs = None if design_each_time else [scipy.signal.butter(order, [lo / nyq, hi / nyq], btype="band")
                                                for lo, hi in bands]
        for k, (low, high) in enumerate(bands):
            for c in range(eeg.shape[0]):
                b_, a_ = (scipy.signal.butter(order, [low / nyq, high / nyq], btype="band") if design_each_time
                          else coeffs[k])
                out[c, k] = 0.5 * np.log2(2 * np.pi * np.e * np.var(scipy.signal.lfilter(b_, a_, eeg[c])))
        return out

    starts = np.linspace(0, n_seconds - 1, n_ref_windows).astype(int) * window
    t0 = time.perf_counter()
    for s in starts:
        torcheeg_window(x[s: s + window].T)
    t_ref = (time.perf_counter() - t0) / n_ref_windows * n_seconds
    t0 = time.perf_counter()
    for s in starts:
        torcheeg_window(x[s: s + window].T, design_each_time=False)
    t_ref_hoisted = (time.perf_counter() - t0) / n_ref_windows * n_seconds

    shape = "" if not quick else f"-{n_chans}x{n_times}"
    name, name_scipy = f"de-session{shape}", f"de-session-scipy{shape}"
    cases = [
        BenchCase.duration(name, "s/session", t_ours, t_ref,
                           f"TorchEEG BandDifferentialEntropy loop (butter+lfilter per window/channel/band; "
                           f"{n_ref_windows} windows timed, extrapolated)"),
        BenchCase.duration(name_scipy, "s/session", t_ours, t_scipy,
                           "scipy.signal.sosfilt per band over the session + window variance (vectorised)"),
    ]
    common = {"sfreq": sfreq, "n_chans": n_chans, "n_times": n_times, "n_windows": n_seconds, "order": order,
              "bands": bands, "seconds_ours": t_ours, "max_abs_diff_vs_numpy_reference": max_diff}
    info = {name: {**common, "reference_windows_timed": n_ref_windows,
                   "seconds_reference_extrapolated": t_ref,
                   "seconds_reference_design_hoisted_extrapolated": t_ref_hoisted,
                   "ratio_vs_design_hoisted": t_ref_hoisted / t_ours},
            name_scipy: {**common, "seconds_reference": t_scipy}}
    return cases, info


#: The case groups, in run order: each ``fn(config, quick) -> (cases, info)``.
CASE_FUNCTIONS: list[Callable[[BenchKernelsConfig, bool], tuple[list, dict]]] = [
    filtering_offline,
    filtering_stream,
    de_session,
]
