"""Causal heart-beat detection for ECG (R peaks) and PPG/BVP (systolic peaks): the stages :class:`ECGStage` and
:class:`PPGStage`.

Each decided beat goes through the interval rule of :mod:`eegaffect.kernels.ibi` (inter-beat intervals, artefact
correction, instantaneous heart rate); the window features are the HRV features of :mod:`eegaffect.kernels.hrv`.
Their public names (beat flags, :data:`BEAT_DTYPE`, :data:`HRV_FEATURES`, :func:`hrv_features`) are importable
from here as well.

Both stages follow :class:`~eegaffect.kernels.physio_base.PhysioStage`: ``step(chunk)`` with carried state,
``process(x)`` the same code, identical outputs on any chunking. Per call, the quality check runs, then one
compiled kernel takes every sample through hold-last-good-value, the filters and the detector. The filters are
designed with :mod:`eegaffect.kernels.filtering` (Butterworth sections) and run in the kernel as scalar
direct-form II transposed biquads, the recursion of :func:`scipy.signal.sosfilt`, started in the steady state of
the first sample (:func:`scipy.signal.sosfilt_zi`); :class:`~eegaffect.kernels.filtering.SOSFilter` itself is
built for many channels and would pad a single one to a full vector of lanes.

Detectors
---------
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

PPG (:class:`PPGStage`), after Elgendi et al. (2013), made causal: Butterworth band-pass 0.5-8 Hz, negative
part clipped, squared; two moving averages over 111 ms (peak) and 667 ms (beat), aligned on their common centre;
a block of interest is where the peak average exceeds the beat average plus ``beta`` times the running mean of the
squared signal (exponential, 10 s); a block at least 111 ms long holds one beat, at the maximum of the raw PPG
(no filter phase lag) in the block, widened ``search_s`` earlier for the band-pass delay. A block is closed at
most ``max_block_s`` after its start. Beats closer than ``refractory_s`` to the last one are dropped.

Decision delay
--------------
Fixed per stage, in samples (:attr:`HeartStage.decision_delay`): the detector's own bound (ECG:
``hold_s + search_s`` + the R-peak shift; PPG: half the beat average + ``max_block_s`` + ``search_s``) plus the
artefact rule's look-ahead ``lookahead_s`` (:mod:`eegaffect.kernels.ibi`). A beat is emitted at the latest
``decision_delay`` samples after its own sample.

Signal quality (NaN, flat, clipping)
-------------------------------------
:class:`~eegaffect.kernels.physio_base.SignalQuality` flags every sample. Flagged samples are held at the last
good value for the filters (NaN never enters a filter state), no beat is detected within ``settle_s`` after a
flagged sample or the start (filter transients; a candidate whose search window reaches back before the start
counts as touching it) and no candidate containing one is accepted, the instantaneous heart rate is
NaN on flagged samples and ``hr_hold_s`` after the last beat, and the first beat afterwards starts a new interval
series (:data:`FLAG_GAP`). A disconnected lead (flat line) therefore gives no beats and a NaN heart rate.
"""

from __future__ import annotations

import logging

import numpy as np

from ._jit import jit
from .filtering import design_bandpass, design_highpass, design_lowpass
from .hrv import HRV_FEATURES, hrv_features
from .ibi import (_F_CAND_VAL, _F_HOLD, _F_HR, _F_MAXSEEN, _F_NEXT_CORR, _F_NPKI, _F_PREV, _F_PSUM, _F_SPKI, _F_SUM,
                  _F_ZBAR, _F_ZCOUNT, _I_BLOCK, _I_CAND, _I_HR_TIME, _I_LAST_BAD, _I_LAST_CAND_BEAT, _I_LAST_PEAK,
                  _I_N, _I_NHIST, _I_PEND, _I_PREV_BEAT, _NF, _NI, _NP, _P_BETA, _P_DELAY, _P_EMA, _P_HOLDN,
                  _P_HR_HOLD, _P_LOOK, _P_MAXBLOCK, _P_REFR, _P_SEARCH, _P_SETTLE, _P_SFREQ, _P_TAU, _P_RSHIFT,
                  _P_W1, _P_W2, BEAT_DTYPE, FLAG_CORRECTED, FLAG_ECTOPIC, FLAG_EXTRA, FLAG_GAP, FLAG_INSERTED,
                  FLAG_LONG, FLAG_NAMES, FLAG_SHORT, FLAG_SPLIT, _after_sample, _median, _on_beat, beat_events)
from .physio_base import REASON_FLAGGED, PhysioStage, SignalQuality, StageOutput, WindowFeatures

__all__ = ["FLAG_INSERTED", "FLAG_EXTRA", "FLAG_ECTOPIC", "FLAG_SHORT", "FLAG_LONG", "FLAG_GAP", "FLAG_SPLIT",
           "FLAG_NAMES", "FLAG_CORRECTED", "BEAT_DTYPE", "HRV_FEATURES", "HeartStage", "ECGStage", "PPGStage",
           "hrv_features", "warmup"]

_log = logging.getLogger("eegaffect")


# ----------------------------------------------------------------------------------------------------------------
# kernels
# ----------------------------------------------------------------------------------------------------------------
@jit(inline="always")
def _biquads(sos, z, v):  # pragma: no cover - compiled
    """One sample through a cascade of biquads (scipy's DF-II-T recursion); ``z`` (n_sections, 2) is updated."""
    for s in range(sos.shape[0]):
        y = sos[s, 0] * v + z[s, 0]
        z[s, 0] = sos[s, 1] * v - sos[s, 4] * y + z[s, 1]
        z[s, 1] = sos[s, 2] * v - sos[s, 5] * y
        v = y
    return v


@jit(inline="always")
def _held(fs, x, q):  # pragma: no cover - compiled
    """The sample, or the last good one while the quality check flags samples (0 before any)."""
    if q == 0:
        fs[_F_HOLD] = x
    return fs[_F_HOLD]


@jit
def _ecg_kernel(p, fs, st, x, quality, sos_bp, z_bp, sos_cl, z_cl, ring_e, ring_c, out, ev_i,
                ev_f):  # pragma: no cover - compiled
    """Pan-Tompkins-style detection over one chunk; ``out[:, 0]`` the cleaned ECG, ``out[:, 1]`` the heart rate;
    returns the number of events written."""
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


@jit
def _ppg_kernel(p, fs, st, x, quality, sos_bp, z_bp, ring_z, ring_r, out, ev_i, ev_f):  # pragma: no cover - compiled
    """Elgendi-style detection over one chunk; ``out[:, 0]`` the band-passed PPG, ``out[:, 1]`` the heart rate;
    returns the number of events written."""
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


# ----------------------------------------------------------------------------------------------------------------
# stages
# ----------------------------------------------------------------------------------------------------------------
def _peak_delay(sos: np.ndarray, sfreq: float, at_hz: float = 15.0) -> int:
    """Samples by which a cascade delays an R peak: its group delay at ``at_hz``, the QRS complex's main energy."""
    import scipy.signal

    _, delay = scipy.signal.group_delay(scipy.signal.zpk2tf(*scipy.signal.sos2zpk(sos)), w=[at_hz], fs=sfreq)
    return max(0, int(round(float(delay[0]))))


class _Cascade:
    """Coefficients and state of a single-channel biquad cascade run inside a kernel (see :func:`_biquads`)."""

    def __init__(self, sos: np.ndarray):
        import scipy.signal

        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self.zi_unit = scipy.signal.sosfilt_zi(self.sos)
        self.z = np.zeros((self.sos.shape[0], 2))

    def prime(self, value: float) -> None:
        """Steady state for a signal constant at ``value`` (scipy's ``sosfilt_zi * value``)."""
        self.z[:] = self.zi_unit * value


class HeartStage(PhysioStage):
    """Shared part of :class:`ECGStage` and :class:`PPGStage` (state, events, HRV features).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    tau : float
        Relative tolerance of the interval rule (0.25: an interval 25 % off the running median is short/long).
    lookahead_s : float
        Longest wait for the next beat when classifying a short interval; part of the decision delay.
    settle_s : float
        No beat is accepted within this time after a flagged sample.
    hr_hold_s : float
        The instantaneous heart rate turns NaN when the last decided beat is older than this (plus the delay).
    flat_s, low, high : float, float or None, float or None
        Quality check (:class:`~eegaffect.kernels.physio_base.SignalQuality`): flat-line duration, sensor range.
    min_beats : int
        Fewest intervals for the time-domain HRV features of a window.
    """

    continuous_names = ("clean", "hr_bpm")
    event_dtype = BEAT_DTYPE
    event_type = "beat"
    feature_names = HRV_FEATURES

    def __init__(self, sfreq: float, tau: float = 0.25, lookahead_s: float = 1.5, settle_s: float = 0.3,
                 hr_hold_s: float = 3.0, flat_s: float = 0.5, low: float | None = None, high: float | None = None,
                 min_beats: int = 3):
        super().__init__(sfreq)
        if not 0.0 < tau < 0.5:
            raise ValueError(f"tau must lie in (0, 0.5), got {tau}")
        for name, value in (("lookahead_s", lookahead_s), ("settle_s", settle_s), ("hr_hold_s", hr_hold_s)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if int(min_beats) != min_beats or min_beats < 2:
            raise ValueError(f"min_beats must be an integer >= 2, got {min_beats}")
        self.tau = float(tau)
        self.lookahead_s = float(lookahead_s)
        self.min_beats = int(min_beats)
        self._quality = SignalQuality(sfreq, flat_s=flat_s, low=low, high=high)
        self._p = np.zeros(_NP)
        self._p[_P_SFREQ] = self.sfreq
        self._p[_P_TAU] = self.tau
        self._p[_P_LOOK] = self.lookahead_s
        self._p[_P_SETTLE] = round(settle_s * self.sfreq)
        self._hr_hold = round(hr_hold_s * self.sfreq)
        self._fs = np.zeros(_NF)
        self._st = np.zeros(_NI, dtype=np.int64)

    @property
    def decision_delay(self) -> int:
        """Samples after a beat by which it is emitted: the detector's bound plus ``lookahead_s``."""
        return self._detector_delay() + int(round(self.lookahead_s * self.sfreq))

    def _detector_delay(self) -> int:
        raise NotImplementedError

    def _finish_params(self) -> None:
        self._p[_P_DELAY] = self.decision_delay
        self._p[_P_HR_HOLD] = self._hr_hold + self.decision_delay

    def _reset_common(self) -> None:
        self._quality.reset()
        self._fs[:] = 0.0
        self._fs[_F_CAND_VAL] = -1.0
        self._fs[_F_HR] = np.nan
        self._fs[_F_NEXT_CORR] = np.nan
        self._st[:] = 0
        for k in (_I_CAND, _I_LAST_BAD, _I_PREV_BEAT, _I_PEND, _I_HR_TIME, _I_BLOCK, _I_LAST_PEAK):
            self._st[k] = -1
        self._st[_I_LAST_CAND_BEAT] = -(1 << 40)

    def _prime(self, x: np.ndarray, quality: np.ndarray, *cascades: _Cascade) -> None:
        """Before the first sample: start the filters in the steady state of the first (held) value."""
        if self._st[_I_N] == 0 and x.shape[0]:
            first = x[0] if quality[0] == 0 else self._fs[_F_HOLD]
            for cascade in cascades:
                cascade.prime(first)

    def _buffers(self, n: int):
        cap = 6 * (n // max(1, int(self._p[_P_REFR])) + 2) + 2
        return np.empty((cap, 2), np.int64), np.empty((cap, 3))

    def window_features(self, events, continuous, quality, start, stop) -> WindowFeatures:
        """HRV features of the beats in ``[start, stop)`` (see :func:`hrv_features`)."""
        values, reasons = hrv_features(events, self.sfreq, (stop - start) / self.sfreq, self.min_beats)
        n = max(1, len(quality))
        bad = float(np.count_nonzero(quality)) / n
        if bad > 0.5:
            _log.debug("%s window [%d, %d): %.0f%% of the samples flagged", self.kind, start, stop, 100 * bad)
            values = np.full(len(values), np.nan)
            reasons = (REASON_FLAGGED,) * len(values)
        return WindowFeatures(values, reasons)


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


def warmup() -> None:
    """Compile the ECG and PPG kernels on a short synthetic signal."""
    t = np.arange(400) / 100.0
    x = np.sin(2 * np.pi * 1.2 * t) ** 15
    x[50:60] = np.nan
    for cls in (ECGStage, PPGStage):
        stage = cls(100.0)
        stage.step(x[:200])
        stage.step(x[200:])
