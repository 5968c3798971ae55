"""Causal PPG/BVP systolic-peak detection: the kernel and the stage :class:`PPGStage` (shared base
:class:`~eegaffect.kernels.heart_base.HeartStage`; see :mod:`eegaffect.kernels.heart_base` for the decision
delay and the signal-quality rules).

PPG (:class:`PPGStage`), after Elgendi et al. (2013), made causal: Butterworth band-pass 0.5-8 Hz, negative
part clipped, squared; two moving averages over 111 ms (peak) and 667 ms (beat), aligned on their common centre;
a block of interest is where the peak average exceeds the beat average plus ``beta`` times the running mean of the
squared signal (exponential, 10 s); a block at least 111 ms long holds one beat, at the maximum of the raw PPG
(no filter phase lag) in the block, widened ``search_s`` earlier for the band-pass delay. A block is closed at
most ``max_block_s`` after its start. Beats closer than ``refractory_s`` to the last one are dropped.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .filter_design import design_bandpass
from .heart_base import HeartStage, _biquads, _Cascade, _held
from .ibi import (
    _F_PSUM,
    _F_SUM,
    _F_ZBAR,
    _F_ZCOUNT,
    _I_BLOCK,
    _I_LAST_BAD,
    _I_LAST_PEAK,
    _I_N,
    _P_BETA,
    _P_EMA,
    _P_MAXBLOCK,
    _P_REFR,
    _P_SEARCH,
    _P_SETTLE,
    _P_W1,
    _P_W2,
    _after_sample,
    _on_beat,
    beat_events,
)
from .physio_base import StageOutput

__all__ = ["PPGStage"]


@jit
def _ppg_kernel(p, fs, st, x, quality, sos_bp, z_bp, ring_z, ring_r, out, ev_i, ev_f):  # pragma: no cover - compiled
    """Elgendi-style detection over one chunk; ``out[:, 0]`` the band-passed PPG, ``out[:, 1]`` the heart rate;
    returns the number of events written.
    """
    n_ev = 0
    nz = ring_z.shape[0]
    n_ring = ring_r.shape[0]
    w1 = int(p[_P_W1])
    w2 = int(p[_P_W2])
    off = (w2 - w1) // 2
    centre = w2 // 2
    max_block = int(p[_P_MAXBLOCK])
    search = int(p[_P_SEARCH])
    refr = int(p[_P_REFR])
    settle = int(p[_P_SETTLE])
    beta = p[_P_BETA]
    ema_n = p[_P_EMA]
    hr = out[:, 1]
    for i in range(x.shape[0]):
        n = st[_I_N]
        q = quality[i]
        if q != 0:
            st[_I_LAST_BAD] = n
        v = _held(fs, x[i], q)
        y = _biquads(sos_bp, z_bp, v)
        out[i, 0] = y
        z = y * y if y > 0.0 else 0.0
        ring_z[n % nz] = z
        ring_r[n % n_ring] = v
        old_beat = ring_z[(n - w2) % nz] if n >= w2 else 0.0
        fs[_F_SUM] += z - old_beat
        enter = ring_z[(n - off) % nz] if n >= off else 0.0
        leave = ring_z[(n - off - w1) % nz] if n >= off + w1 else 0.0
        fs[_F_PSUM] += enter - leave
        cnt = fs[_F_ZCOUNT] + 1.0
        fs[_F_ZCOUNT] = cnt
        a = 1.0 / cnt if cnt < ema_n else 1.0 / ema_n
        fs[_F_ZBAR] += a * (z - fs[_F_ZBAR])
        ma_peak = fs[_F_PSUM] / w1
        ma_beat = fs[_F_SUM] / w2
        inblock = ma_peak > ma_beat + beta * fs[_F_ZBAR] and n >= w2
        m = n - centre
        start = st[_I_BLOCK]
        if start == -1 and inblock:
            st[_I_BLOCK] = m
        elif start == -2 and not inblock:
            st[_I_BLOCK] = -1
        elif start >= 0 and (not inblock or m - start >= max_block):
            st[_I_BLOCK] = -2 if inblock else -1
            if m - start >= w1 and st[_I_LAST_BAD] < start - search - settle:
                lo = start - search
                best = lo
                bv = ring_r[lo % n_ring]
                for j in range(lo + 1, m + 1):
                    v = ring_r[j % n_ring]
                    if v > bv:
                        bv = v
                        best = j
                if st[_I_LAST_PEAK] < 0 or best - st[_I_LAST_PEAK] >= refr:
                    st[_I_LAST_PEAK] = best
                    n_ev = _on_beat(fs, st, p, best, bv, ev_i, ev_f, n_ev)
        n_ev = _after_sample(fs, st, p, q, hr, i, ev_i, ev_f, n_ev)
        st[_I_N] = n + 1
    return n_ev


class PPGStage(HeartStage):
    """Causal PPG/BVP systolic-peak detection (Elgendi et al. 2013, causal), intervals, heart rate.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz (at least 20).
    band_hz : (float, float)
        Band-pass of the detection branch (Elgendi: 0.5-8 Hz).
    peak_s, beat_s : float
        Lengths of the peak and beat moving averages (111 ms, 667 ms).
    beta : float
        Offset of the threshold, times the running mean of the squared signal (0.02).
    max_block_s : float
        A block of interest is closed at most this long after its start.
    search_s : float
        The peak is searched from this long before the block (band-pass delay) to its end.
    refractory_s : float
        Shortest interval between beats (0.3 s).
    **kwargs
        Shared options of :class:`HeartStage`.
    """

    kind = "ppg"
    continuous_names = ("filtered", "hr_bpm")

    def __init__(self, sfreq: float, band_hz=(0.5, 8.0), peak_s: float = 0.111, beat_s: float = 0.667,
                 beta: float = 0.02, max_block_s: float = 0.6, search_s: float = 0.1, refractory_s: float = 0.3,
                 **kwargs):
        super().__init__(sfreq, **kwargs)
        if self.sfreq < 20:
            raise ValueError(f"PPG needs sfreq >= 20 Hz, got {self.sfreq:g}")
        lo, hi = (float(v) for v in band_hz)
        hi = min(hi, 0.45 * self.sfreq)
        self._bp = _Cascade(design_bandpass(lo, hi, self.sfreq, order=2))
        w1 = max(1, round(peak_s * self.sfreq))
        w2 = max(w1 + 1, round(beat_s * self.sfreq))
        self._p[_P_W1] = w1
        self._p[_P_W2] = w2
        self._p[_P_MAXBLOCK] = max(w1, round(max_block_s * self.sfreq))
        self._p[_P_SEARCH] = round(search_s * self.sfreq)
        self._p[_P_REFR] = max(1, round(refractory_s * self.sfreq))
        self._p[_P_BETA] = float(beta)
        self._p[_P_EMA] = 10.0 * self.sfreq
        self._ring_z = np.zeros(w2 + 1)
        self._ring_r = np.zeros(self._detector_delay() + 2)
        self._finish_params()
        self.reset()

    def _detector_delay(self) -> int:
        return int(self._p[_P_W2]) // 2 + int(self._p[_P_MAXBLOCK]) + int(self._p[_P_SEARCH])

    def reset(self) -> "PPGStage":
        """Forget all state (filters, rings, detector); return self."""
        self._reset_common()
        self._ring_z[:] = 0.0
        self._ring_r[:] = 0.0
        return self

    def _step(self, x: np.ndarray) -> StageOutput:
        n = x.shape[0]
        quality = self._quality.step(x)
        self._prime(x, quality, self._bp)
        out = np.empty((n, 2))
        ev_i, ev_f = self._buffers(n)
        k = _ppg_kernel(self._p, self._fs, self._st, x, quality, self._bp.sos, self._bp.z, self._ring_z,
                        self._ring_r, out, ev_i, ev_f)
        return StageOutput(out, beat_events(ev_i, ev_f, k), quality)
