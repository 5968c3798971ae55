"""HRV features of a window of beats: mean heart rate, SDNN, RMSSD, pNN50, LF and HF power and LF/HF
(Lomb-Scargle), SD1/SD2 (Poincare), on the corrected intervals of :mod:`eegaffect.kernels.ibi`.

A feature the window cannot support is NaN with a stable reason from
:data:`~eegaffect.kernels.physio_base.NAN_REASONS` (too few beats; a band below two cycles of its low edge in the
window; intervals without variation; no HF power); the numbers behind it go to the debug log.
"""

from __future__ import annotations

import logging

import numpy as np

from .ibi import BEAT_DTYPE, FLAG_EXTRA
from .physio_base import REASON_FEW_BEATS, REASON_NO_HF_POWER, REASON_NO_VARIATION, REASON_SHORT_WINDOW

__all__ = ["HRV_FEATURES", "LF_BAND", "HF_BAND", "hrv_features", "warmup"]

_log = logging.getLogger("eegaffect")

#: HRV features of one window, in order (units in the names).
HRV_FEATURES = ("hr_mean_bpm", "sdnn_ms", "rmssd_ms", "pnn50_pct", "lf_ms2", "hf_ms2", "lf_hf", "sd1_ms", "sd2_ms")

#: Frequency bands (Hz) of the HRV spectrum.
LF_BAND = (0.04, 0.15)
HF_BAND = (0.15, 0.40)


def hrv_features(events: np.ndarray, sfreq: float, window_s: float, min_beats: int = 3) -> tuple[np.ndarray, tuple]:
    """HRV features of the beats of one window.

    Parameters
    ----------
    events : ndarray, shape (n_events,)
        Beats (:data:`BEAT_DTYPE`) of the window; removed detections (:data:`FLAG_EXTRA`) and beats without an
        interval (:data:`FLAG_GAP`) are skipped, corrected intervals are used.
    sfreq : float
        Sampling rate of ``events["sample"]``.
    window_s : float
        Window length in seconds (a spectral band needs two cycles of its low edge in it).
    min_beats : int
        Fewest intervals for any feature (mean HR, SDNN, ...); successive differences need ``min_beats - 1``.

    Returns
    -------
    values : ndarray, shape (9,)
        :data:`HRV_FEATURES`: mean HR (bpm), SDNN, RMSSD (ms), pNN50 (%), LF and HF power (ms^2, Lomb-Scargle on
        the intervals at the beat times, scaled so the spectrum integrates to the interval variance), LF/HF, SD1,
        SD2 (ms, Poincare). NaN where not computable.
    reasons : tuple of (str or None)
        Why each NaN value is NaN (one of :data:`~eegaffect.kernels.physio_base.NAN_REASONS`).

    Notes
    -----
    Definitions as NeuroKit2's ``hrv_time`` / ``hrv_nonlinear``: SDNN uses ``ddof=1``; RMSSD is the root mean
    square of successive differences; pNN50 divides by the number of intervals (as NeuroKit2); SD1 and SD2 are the
    ``ddof=1`` standard deviations of ``(RR_n -/+ RR_n+1) / sqrt(2)`` (Brennan 2001); successive pairs are taken
    only within one unbroken run of intervals (no gap).
    """
    ev = events[(events["flag"] & FLAG_EXTRA) == 0]
    ibi = ev["ibi_s"] * 1000.0
    ok = np.isfinite(ibi)
    rr = ibi[ok]
    # successive differences within runs without a gap (a NaN interval breaks the run)
    pair = np.isfinite(ibi[:-1]) & np.isfinite(ibi[1:])
    rr_n, rr_next = ibi[:-1][pair], ibi[1:][pair]
    diffs = rr_next - rr_n
    values = np.full(len(HRV_FEATURES), np.nan)
    reasons = [None] * len(HRV_FEATURES)
    n = rr.size
    if n < min_beats:
        _log.debug("HRV: %d intervals in the window, %d needed", n, min_beats)
        return values, (REASON_FEW_BEATS,) * len(HRV_FEATURES)
    values[0] = 60000.0 / rr.mean()
    sdnn = rr.std(ddof=1)
    values[1] = sdnn
    if diffs.size < max(2, min_beats - 1):
        _log.debug("HRV: %d successive differences in the window, %d needed", diffs.size, max(2, min_beats - 1))
        for k in (2, 3, 7, 8):
            reasons[k] = REASON_FEW_BEATS
    else:
        values[2] = np.sqrt(np.mean(diffs ** 2))
        values[3] = 100.0 * np.count_nonzero(np.abs(diffs) > 50.0) / (diffs.size + 1)
        values[7] = np.std((rr_n - rr_next) / np.sqrt(2.0), ddof=1)
        values[8] = np.std((rr_n + rr_next) / np.sqrt(2.0), ddof=1)
    _spectral(ev["sample"][ok] / sfreq, rr, window_s, values, reasons)
    return values, tuple(reasons)


def _spectral(times: np.ndarray, rr: np.ndarray, window_s: float, values: np.ndarray, reasons: list) -> None:
    import scipy.signal

    lf_short = 2.0 / LF_BAND[0] > window_s
    hf_short = 2.0 / HF_BAND[0] > window_s
    if lf_short or hf_short:
        _log.debug("HRV: a %g s window holds fewer than two cycles of %g Hz", window_s,
                   LF_BAND[0] if lf_short else HF_BAND[0])
        reasons[6] = REASON_SHORT_WINDOW
    if lf_short:
        reasons[4] = REASON_SHORT_WINDOW
    if hf_short:
        reasons[5] = REASON_SHORT_WINDOW
    if lf_short and hf_short:
        return
    if rr.size < 8:
        _log.debug("HRV: %d intervals in the window, 8 needed for a spectrum", rr.size)
        for k in (4, 5, 6):
            reasons[k] = reasons[k] or REASON_FEW_BEATS
        return
    freqs = np.arange(0.005, 0.5, 0.005)
    centred = rr - rr.mean()
    pgram = scipy.signal.lombscargle(times, centred, 2 * np.pi * freqs)
    total = np.trapezoid(pgram, freqs) if hasattr(np, "trapezoid") else np.trapz(pgram, freqs)
    if not total > 0:
        for k in (4, 5, 6):
            reasons[k] = reasons[k] or REASON_NO_VARIATION
        return
    psd = pgram * (centred.var() / total)

    def band(lo, hi):
        sel = (freqs >= lo) & (freqs < hi)
        f, p = freqs[sel], psd[sel]
        return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(f)))

    if not lf_short:
        values[4] = band(*LF_BAND)
    if not hf_short:
        values[5] = band(*HF_BAND)
    if not (lf_short or hf_short):
        if values[5] > 0:
            values[6] = values[4] / values[5]
        else:
            reasons[6] = REASON_NO_HF_POWER



def warmup() -> None:
    """Run the HRV features once (imports scipy's Lomb-Scargle)."""
    beats = np.zeros(40, BEAT_DTYPE)
    beats["sample"] = np.arange(40) * 80
    beats["ibi_s"] = 0.8 + 0.02 * np.sin(np.arange(40))
    hrv_features(beats, 100.0, 60.0)
