"""Respiration (belt, thermistor, or a derived respiration signal): causal cleaning, breath detection and rate.

Signal path, all causal (the band-pass is primed at the steady state of the first finite sample; gap policy in
:mod:`eegaffect.kernels._physio_dsp`):

- **cleaned** signal: 2nd-order Butterworth band-pass ``band`` (0.1-0.7 Hz by default, i.e. 6-42 breaths/min, the
  range of rest and mild activity; widen the upper edge for exercise), clipped to 0.4 * sfreq. NeuroKit2's
  ``rsp_clean(method="khodadad2018")`` uses the same filter type on 0.05-3 Hz, forwards and backwards.
- **breaths**: alternating troughs and peaks of the cleaned signal with hysteresis, the extremum rule of Khodadad
  et al. (2018, *Optimized breath detection algorithm in electrical impedance tomography*, Physiol. Meas. 39
  094001) made causal. Khodadad et al. drop extrema whose peak-to-trough amplitude is under 0.3 x the median one
  of the recording; here the threshold ``h`` is ``hysteresis`` (0.7) x the signal's running RMS (exponential
  average over ``rms_tau_s``, 10 s), which for a sinusoidal breath is 0.25 x its depth. A running peak (the
  highest sample since the last trough) becomes a breath when the signal has fallen ``h`` below it **and** the
  peak stands ``h`` above the last trough; troughs are decided the same way, mirrored, and a trough keeps
  following the signal down until the next peak. A candidate extremum older than ``max_decision_s`` is replaced
  by the best one of the last ``max_decision_s``, so every breath is decided at most ``max_decision_s`` after its
  peak (the decision delay). The threshold follows the depth with the RMS's time constant: when breathing turns
  suddenly much shallower, breaths go unseen until it has adapted (5x shallower at 12 breaths/min: two breaths).
- **rate** (breaths/min): 60 / the interval between the last two breaths, updated when a breath is decided, held
  until the next one; NaN before the second breath, after a flagged sample, and when no breath came for
  ``2 / band[0]`` seconds.

Each breath event: ``sample`` (its peak), ``trough_sample`` (the trough before it), ``interval`` (s since the
previous breath's peak, NaN for the first after a reset or a flagged stretch) and ``depth`` (peak - trough, in the
input's unit).
"""

from __future__ import annotations

import logging

import numpy as np
from eegaffect.kernels._checks import check_positive
from eegaffect.kernels._jit import jit
from eegaffect.kernels._physio_dsp import (
    check_fraction,
    clipped_cutoff,
    flagged_reason,
    nan_features,
    sos_prime,
    sos_sample,
    unit_zi,
)
from eegaffect.kernels.filter_design import design_bandpass
from eegaffect.kernels.physio_base import (
    REASON_FEW_BREATHS,
    REASON_SHORT_WINDOW,
    PhysioStage,
    SignalQuality,
    StageOutput,
    WindowFeatures,
)

__all__ = ["RespirationStage", "warmup"]

_log = logging.getLogger("eegaffect")

# integer state
_N, _PRIMED, _MODE, _CAND, _EXT, _LAST_BREATH = range(6)
# float state
_ACC, _WSUM, _CAND_V, _EXT_V, _RATE, _FLOOR = range(6)
#: Hysteresis floor relative to the level at priming: the band-pass output of a constant signal is rounding noise
#: of about 1e-16 x its level, which must not become breaths.
_FLOOR_REL = 1e-8
_SEEK_PEAK = 1
_SEEK_TROUGH = -1


@jit
def _best_since(ring, first, last, sign):  # pragma: no cover - compiled
    """Index in [first, last] of the largest (sign=1) or smallest (sign=-1) value of ``ring`` (absolute indices)."""
    size = ring.shape[0]
    best = first
    bv = sign * ring[first % size]
    for j in range(first + 1, last + 1):
        w = sign * ring[j % size]
        if w > bv:
            bv = w
            best = j
    return best


@jit
def _resp_kernel(x, flags, sos, zi, z, ring, ist, fst, delay, alpha, hyst, stale, sfreq, out, ev_peak, ev_trough,
                 ev_interval, ev_depth):  # pragma: no cover - compiled
    """Band-pass, detect breaths and track the rate over one chunk; returns the number of breaths written.

    x (n,) f8; flags (n,) u1; ring (delay + 1,) the last cleaned values by absolute index modulo its size;
    ist (6,) i8 and fst (6,) f8 state (see the module constants); out (n, 2) f8 (cleaned, rate).
    """
    n0 = ist[_N]
    size = ring.shape[0]
    k = 0
    for t in range(x.shape[0]):
        i = n0 + t
        v = x[t]
        if np.isfinite(v):
            if ist[_PRIMED] == 0:
                sos_prime(zi, z, v)
                ist[_PRIMED] = 1
                fst[_FLOOR] = _FLOOR_REL * abs(v)
            y = sos_sample(sos, z, v)
        else:
            ist[_PRIMED] = 0
            y = np.nan
        out[t, 0] = y
        ring[i % size] = y
        if flags[t] != 0 or not np.isfinite(y):
            ist[_MODE] = _SEEK_TROUGH
            ist[_CAND] = -1
            ist[_EXT] = -1
            ist[_LAST_BREATH] = -1
            fst[_RATE] = np.nan
            out[t, 1] = np.nan
            continue
        fst[_ACC] = (1.0 - alpha) * fst[_ACC] + alpha * y * y
        fst[_WSUM] = (1.0 - alpha) * fst[_WSUM] + alpha
        h = hyst * np.sqrt(fst[_ACC] / fst[_WSUM])
        sign = ist[_MODE]  # +1: the candidate is a peak (largest), -1: a trough (smallest)
        if ist[_CAND] < 0 or sign * y > sign * fst[_CAND_V]:
            ist[_CAND] = i
            fst[_CAND_V] = y
        elif i - ist[_CAND] > delay:
            c = _best_since(ring, ist[_CAND] + 1, i, sign)
            ist[_CAND] = c
            fst[_CAND_V] = ring[c % size]
        cv = fst[_CAND_V]
        fell = h > fst[_FLOOR] and sign * (cv - y) >= h  # a silent signal decides nothing
        if sign == _SEEK_PEAK:
            # a trough confirmed earlier keeps following the signal down (it was decided on a rise of h only)
            if y < fst[_EXT_V]:
                ist[_EXT] = i
                fst[_EXT_V] = y
                ist[_CAND] = i
                fst[_CAND_V] = y
                fell = False
            if fell and cv - fst[_EXT_V] >= h:
                c = ist[_CAND]
                ev_peak[k] = c
                ev_trough[k] = ist[_EXT]
                ev_depth[k] = cv - fst[_EXT_V]
                if ist[_LAST_BREATH] >= 0:
                    interval = (c - ist[_LAST_BREATH]) / sfreq
                    ev_interval[k] = interval
                    fst[_RATE] = 60.0 / interval
                else:
                    ev_interval[k] = np.nan
                k += 1
                ist[_LAST_BREATH] = c
                ist[_MODE] = _SEEK_TROUGH
                ist[_EXT] = c
                fst[_EXT_V] = cv
                b = _best_since(ring, c + 1, i, -1)
                ist[_CAND] = b
                fst[_CAND_V] = ring[b % size]
        elif fell and (ist[_EXT] < 0 or fst[_EXT_V] - cv >= h):
            c = ist[_CAND]
            ist[_MODE] = _SEEK_PEAK
            ist[_EXT] = c
            fst[_EXT_V] = cv
            b = _best_since(ring, c + 1, i, 1)
            ist[_CAND] = b
            fst[_CAND_V] = ring[b % size]
        if ist[_LAST_BREATH] >= 0 and i - ist[_LAST_BREATH] > stale:
            fst[_RATE] = np.nan
        out[t, 1] = fst[_RATE]
    ist[_N] = n0 + x.shape[0]
    return k


class RespirationStage(PhysioStage):
    """Causal respiration stage: cleaned signal, instantaneous rate and breath events (see the module docstring).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    band : (float, float)
        Band-pass edges in Hz (2nd-order Butterworth); the upper edge is clipped to 0.4 * sfreq.
    hysteresis : float
        Hysteresis of the extremum detector, in units of the cleaned signal's running RMS.
    rms_tau_s : float
        Time constant of the running RMS.
    max_decision_s : float
        Longest time from a breath's peak to its decision (the decision delay).
    flat_s, flat_eps : float
        A run of at least ``flat_s`` seconds with sample-to-sample changes <= ``flat_eps`` is flagged flat (a
        loose belt or a dead sensor; a breath hold still carries the sensor's noise).
    low, high : float or None
        The sensor's range, if known (samples at or beyond it are flagged clipped).
    max_flagged : float
        Largest fraction of flagged samples a window may hold and still get features.

    Attributes
    ----------
    decision_delay : int
        ``round(max_decision_s * sfreq)`` samples.
    """

    kind = "resp"
    continuous_names = ("resp_clean", "resp_rate")
    event_dtype = np.dtype([("sample", np.int64), ("trough_sample", np.int64), ("interval", np.float64),
                            ("depth", np.float64)])
    event_type = "breath"
    feature_names = ("resp_rate", "resp_depth", "breath_interval_sd")

    def __init__(self, sfreq: float, band: tuple = (0.1, 0.7), hysteresis: float = 0.7, rms_tau_s: float = 10.0,
                 max_decision_s: float = 2.0, flat_s: float = 5.0, flat_eps: float = 0.0, low: float | None = None,
                 high: float | None = None, max_flagged: float = 0.1):
        super().__init__(sfreq)
        try:
            low_hz, high_hz = (float(f) for f in band)
        except (TypeError, ValueError) as err:
            raise TypeError(f"band must be a (low_hz, high_hz) pair, got {band!r}") from err
        low_hz = check_positive(low_hz, "band[0]")
        high_hz = clipped_cutoff(check_positive(high_hz, "band[1]"), self.sfreq)
        if not low_hz < high_hz:
            raise ValueError(f"expected band[0] < band[1] (after clipping band[1] to 0.4 * sfreq = "
                             f"{0.4 * self.sfreq:g} Hz), got {band!r}")
        self.band = (low_hz, high_hz)
        self.hysteresis = check_positive(hysteresis, "hysteresis")
        self._alpha = min(1.0, 1.0 / (check_positive(rms_tau_s, "rms_tau_s") * self.sfreq))
        self._delay = max(1, int(round(check_positive(max_decision_s, "max_decision_s") * self.sfreq)))
        self._stale = int(round(2.0 / low_hz * self.sfreq))
        self.max_flagged = check_fraction(max_flagged, "max_flagged")
        self.quality = SignalQuality(self.sfreq, flat_s=flat_s, eps=flat_eps, low=low, high=high)
        self._sos = design_bandpass(low_hz, high_hz, self.sfreq, order=2)
        self._zi = unit_zi(self._sos)
        self._z = np.zeros_like(self._zi)
        self._ring = np.empty(self._delay + 1)
        self._ist = np.zeros(6, dtype=np.int64)
        self._fst = np.zeros(6)
        self.reset()

    @property
    def decision_delay(self) -> int:
        """Most samples from a breath's peak to its decision (``max_decision_s`` in samples)."""
        return self._delay

    @property
    def min_window_s(self) -> float:
        """Shortest window with features: two cycles of the band's lower edge."""
        return 2.0 / self.band[0]

    def reset(self) -> "RespirationStage":
        """Forget all state (the next sample is sample 0)."""
        self.quality.reset()
        self._ring[:] = np.nan
        self._ist[:] = (0, 0, _SEEK_TROUGH, -1, -1, -1)
        self._fst[:] = (0.0, 0.0, np.nan, np.nan, np.nan, 0.0)
        return self

    def _step(self, x: np.ndarray) -> StageOutput:
        flags = self.quality.step(x)
        n = x.shape[0]
        out = np.empty((n, 2))
        peak = np.empty(n, dtype=np.int64)
        trough = np.empty(n, dtype=np.int64)
        interval = np.empty(n)
        depth = np.empty(n)
        k = _resp_kernel(x, flags, self._sos, self._zi, self._z, self._ring, self._ist, self._fst, self._delay,
                         self._alpha, self.hysteresis, self._stale, self.sfreq, out, peak, trough, interval, depth)
        events = np.empty(k, dtype=self.event_dtype)
        events["sample"] = peak[:k]
        events["trough_sample"] = trough[:k]
        events["interval"] = interval[:k]
        events["depth"] = depth[:k]
        return StageOutput(out, events, flags)

    def window_features(self, events: np.ndarray, continuous: np.ndarray, quality: np.ndarray,
                        start: int, stop: int) -> WindowFeatures:
        """Respiration rate (breaths/min), mean depth and SD of breath intervals (s) of ``[start, stop)``.

        The rate is (n - 1) breaths over the time from the first to the last breath of the window. NaN with a
        reason when more than ``max_flagged`` of the window is flagged, when the window is shorter than two cycles
        of the band's lower edge (:attr:`min_window_s`), with fewer than 2 breaths, and (interval SD only) with
        fewer than 3.
        """
        reason = flagged_reason(quality, self.max_flagged)
        if reason is not None:
            return nan_features(len(self.feature_names), reason)
        duration = (stop - start) / self.sfreq
        if duration < self.min_window_s:
            _log.debug("respiration: a %g s window holds fewer than two cycles of %g Hz (%g s needed)", duration,
                       self.band[0], self.min_window_s)
            return nan_features(len(self.feature_names), REASON_SHORT_WINDOW)
        n = len(events)
        if n < 2:
            return nan_features(len(self.feature_names), REASON_FEW_BREATHS)
        samples = np.sort(events["sample"])
        intervals = np.diff(samples) / self.sfreq
        values = np.full(3, np.nan)
        reasons: list = [None, None, None]
        values[0] = 60.0 * (n - 1) / ((samples[-1] - samples[0]) / self.sfreq)
        values[1] = float(np.mean(events["depth"]))
        if n >= 3:
            values[2] = float(np.std(intervals, ddof=1))
        else:
            reasons[2] = REASON_FEW_BREATHS
        return WindowFeatures(values, tuple(reasons))


def warmup() -> None:
    """Compile the respiration kernel."""
    t = np.arange(200) / 10.0
    x = np.sin(2 * np.pi * 0.3 * t)
    x[150] = np.nan
    RespirationStage(10.0).process(x)
