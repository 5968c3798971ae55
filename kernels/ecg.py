"""Causal ECG R-peak detection: the kernel and the stage :class:`ECGStage` (shared base
:class:`~eegaffect.kernels.heart_base.HeartStage`; see :mod:`eegaffect.kernels.heart_base` for the decision
delay and the signal-quality rules).

ECG (:class:`ECGStage`), after Pan & Tompkins (1985) and Hamilton (2002): causal Butterworth band-pass 5-15 Hz,
first difference, squaring, moving-window integration over ``integration_s`` (150 ms). A candidate is the largest
integrated value since the last decision (candidates start ``refractory_s`` after the last beat); it is decided
``hold_s`` after it (no larger value in between). It is a beat when it exceeds
``NPKI + 0.25 (SPKI - NPKI)`` (signal and noise peak levels, running averages with weight 1/8), halved when no
beat came for 1.66 median intervals (Pan-Tompkins' search-back threshold, applied to the current candidate since a
causal detector cannot revisit the past); a candidate within 360 ms of the last beat needs half the signal level
(T-wave rule). Before the first beat, the threshold is 30 % of the largest integrated value seen. The R peak is the
maximum of the cleaned ECG (causal 0.5 Hz high-pass and 45 Hz low-pass, order 2) within ``search_s`` before the
candidate, moved back by the cleaning filters' group delay at 15 Hz (6 ms at 250 Hz and above, 0 at 100 Hz), so it
sits on the R peak of the recorded signal.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .filter_design import design_bandpass, design_highpass, design_lowpass
from .heart_base import HeartStage, _biquads, _Cascade, _held
from .ibi import (
    _F_CAND_VAL,
    _F_MAXSEEN,
    _F_NPKI,
    _F_PREV,
    _F_SPKI,
    _F_SUM,
    _I_CAND,
    _I_LAST_BAD,
    _I_LAST_CAND_BEAT,
    _I_N,
    _I_NHIST,
    _I_PREV_BEAT,
    _P_HOLDN,
    _P_REFR,
    _P_RSHIFT,
    _P_SEARCH,
    _P_SETTLE,
    _P_SFREQ,
    _after_sample,
    _median,
    _on_beat,
    beat_events,
)
from .physio_base import StageOutput

__all__ = ["ECGStage"]


@jit
def _ecg_kernel(p, fs, st, x, quality, sos_bp, z_bp, sos_cl, z_cl, ring_e, ring_c, out, ev_i,
                ev_f):  # pragma: no cover - compiled
    """Pan-Tompkins-style detection over one chunk; ``out[:, 0]`` the cleaned ECG, ``out[:, 1]`` the heart rate;
    returns the number of events written.
    """
    n_ev = 0
    w_int = ring_e.shape[0]
    n_ring = ring_c.shape[0]
    refr = int(p[_P_REFR])
    hold = int(p[_P_HOLDN])
    search = int(p[_P_SEARCH])
    settle = int(p[_P_SETTLE])
    shift = int(p[_P_RSHIFT])
    sf = p[_P_SFREQ]
    hr = out[:, 1]
    for i in range(x.shape[0]):
        n = st[_I_N]
        q = quality[i]
        if q != 0:
            st[_I_LAST_BAD] = n
        v = _held(fs, x[i], q)
        bp = _biquads(sos_bp, z_bp, v)
        clean = _biquads(sos_cl, z_cl, v)
        out[i, 0] = clean
        d = bp - fs[_F_PREV]
        fs[_F_PREV] = bp
        e = d * d
        k = n % w_int
        fs[_F_SUM] += e - ring_e[k]
        ring_e[k] = e
        mwi = fs[_F_SUM] / w_int
        if mwi < 0.0:  # rounding of the running sum
            mwi = 0.0
        ring_c[n % n_ring] = clean
        if mwi > fs[_F_MAXSEEN]:
            fs[_F_MAXSEEN] = mwi
        if n - st[_I_LAST_CAND_BEAT] >= refr and (st[_I_CAND] < 0 or mwi > fs[_F_CAND_VAL]):
            st[_I_CAND] = n
            fs[_F_CAND_VAL] = mwi
        cand = st[_I_CAND]
        if cand >= 0 and n - cand >= hold:
            val = fs[_F_CAND_VAL]
            st[_I_CAND] = -1
            fs[_F_CAND_VAL] = -1.0
            if st[_I_LAST_BAD] < cand - search - settle:
                spki = fs[_F_SPKI]
                npki = fs[_F_NPKI]
                since = cand - st[_I_LAST_CAND_BEAT]
                if spki <= 0.0:
                    beat = val > 0.0 and val >= 0.3 * fs[_F_MAXSEEN]
                else:
                    th = npki + 0.25 * (spki - npki)
                    n_hist = st[_I_NHIST]
                    rr = _median(fs, n_hist) * sf if n_hist >= 3 else 1.5 * sf
                    if since > 1.66 * rr:
                        th *= 0.5
                    if since < 0.36 * sf and val < 0.5 * spki:
                        beat = False
                    else:
                        beat = val > th
                    if since > 3.0 * rr:  # a long silence: the signal level has dropped, follow it down
                        fs[_F_SPKI] = 0.5 * spki
                if beat:
                    lo = cand - search
                    if st[_I_PREV_BEAT] >= 0 and lo < st[_I_PREV_BEAT] + shift + refr // 2:
                        lo = st[_I_PREV_BEAT] + shift + refr // 2
                    if lo > cand:
                        lo = cand
                    best = lo
                    bv = ring_c[lo % n_ring]
                    for j in range(lo + 1, cand + 1):
                        v = ring_c[j % n_ring]
                        if v > bv:
                            bv = v
                            best = j
                    fs[_F_SPKI] = val if spki <= 0.0 else 0.125 * val + 0.875 * spki
                    st[_I_LAST_CAND_BEAT] = cand
                    at = best - shift if best >= shift else 0  # back to the raw R peak (filter delay)
                    n_ev = _on_beat(fs, st, p, at, bv, ev_i, ev_f, n_ev)
                else:
                    fs[_F_NPKI] = 0.125 * val + 0.875 * npki
        n_ev = _after_sample(fs, st, p, q, hr, i, ev_i, ev_f, n_ev)
        st[_I_N] = n + 1
    return n_ev


def _peak_delay(sos: np.ndarray, sfreq: float, at_hz: float = 15.0) -> int:
    """Samples by which a cascade delays an R peak: its group delay at ``at_hz``, the QRS complex's main energy."""
    import scipy.signal

    _, delay = scipy.signal.group_delay(scipy.signal.zpk2tf(*scipy.signal.sos2zpk(sos)), w=[at_hz], fs=sfreq)
    return max(0, int(round(float(delay[0]))))


class ECGStage(HeartStage):
    """Causal ECG R-peak detection (Pan-Tompkins / Hamilton style), intervals, heart rate (see module docstring).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (at least 50).
    band_hz : (float, float)
        Band-pass of the detection branch (Pan-Tompkins: 5-15 Hz).
    integration_s : float
        Moving-window integration length (150 ms).
    refractory_s : float
        Shortest interval between beats (0.25 s: up to 240 bpm).
    hold_s : float
        A candidate is decided this long after it, if nothing larger came.
    search_s : float
        Look-back from the candidate for the R peak in the cleaned ECG.
    **kwargs
        Shared options of :class:`HeartStage`.
    """

    kind = "ecg"

    def __init__(self, sfreq: float, band_hz=(5.0, 15.0), integration_s: float = 0.15, refractory_s: float = 0.25,
                 hold_s: float = 0.2, search_s: float = 0.2, **kwargs):
        super().__init__(sfreq, **kwargs)
        if self.sfreq < 50:
            raise ValueError(f"ECG needs sfreq >= 50 Hz, got {self.sfreq:g}")
        lo, hi = (float(v) for v in band_hz)
        hi = min(hi, 0.45 * self.sfreq)
        self._bp = _Cascade(design_bandpass(lo, hi, self.sfreq, order=2))
        clean = [design_highpass(0.5, self.sfreq, order=2)]
        if 45.0 < 0.45 * self.sfreq:
            clean.append(design_lowpass(45.0, self.sfreq, order=2))
        self._clean = _Cascade(np.concatenate(clean))
        self._p[_P_REFR] = max(1, round(refractory_s * self.sfreq))
        self._p[_P_HOLDN] = max(1, round(hold_s * self.sfreq))
        self._p[_P_SEARCH] = max(1, round(search_s * self.sfreq))
        self._p[_P_RSHIFT] = _peak_delay(self._clean.sos, self.sfreq)
        self._ring_e = np.zeros(max(1, round(integration_s * self.sfreq)))
        self._ring_c = np.zeros(int(self._p[_P_HOLDN] + self._p[_P_SEARCH]) + 2)
        self._finish_params()
        self.reset()

    def _detector_delay(self) -> int:
        return int(self._p[_P_HOLDN] + self._p[_P_SEARCH] + self._p[_P_RSHIFT])

    def reset(self) -> "ECGStage":
        """Forget all state (filters, rings, detector); return self."""
        self._reset_common()
        self._ring_e[:] = 0.0
        self._ring_c[:] = 0.0
        return self

    def _step(self, x: np.ndarray) -> StageOutput:
        n = x.shape[0]
        quality = self._quality.step(x)
        self._prime(x, quality, self._bp, self._clean)
        out = np.empty((n, 2))
        ev_i, ev_f = self._buffers(n)
        k = _ecg_kernel(self._p, self._fs, self._st, x, quality, self._bp.sos, self._bp.z, self._clean.sos,
                        self._clean.z, self._ring_e, self._ring_c, out, ev_i, ev_f)
        return StageOutput(out, beat_events(ev_i, ev_f, k), quality)
