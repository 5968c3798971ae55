"""Electrodermal activity (EDA): causal cleaning, tonic/phasic split and skin-conductance responses (SCRs).

Input is skin conductance in microsiemens (uS), or skin resistance in Ohm with ``unit="ohm"`` (converted sample by
sample: conductance [uS] = 1e6 / resistance [Ohm]; a resistance <= 0 gives a conductance <= 0 or inf, flagged).

Signal path, all causal (every filter primed at the steady state of the first finite sample, see
:mod:`eegaffect.kernels._physio_dsp` for the gap policy):

- **cleaned** conductance: 4th-order Butterworth low-pass at ``lowpass_hz`` (3 Hz, NeuroKit2's ``eda_clean``
  default, run forwards only). Where the cut-off is above 0.4 * sfreq (rates below 7.5 Hz, such as a wrist band's
  4 Hz) the signal is not low-passed, as NeuroKit2 does at 6 Hz and below: a low-pass that close to Nyquist only
  rings on fast rises, which the detector would count as extra responses.
- **tonic**: 2nd-order Butterworth low-pass of the cleaned signal at ``tonic_hz`` (0.05 Hz); **phasic** = cleaned -
  tonic. This is the high-pass decomposition of Biopac's AcqKnowledge and NeuroKit2's ``eda_phasic(method=
  "highpass")`` (cut-off 0.05 Hz), made causal: one forward pass instead of a zero-phase one, so the tonic lags a
  rising level by a few seconds.
- **SCRs** by the trough-to-peak rule (Boucsein et al., 2012, *Publication recommendations for electrodermal
  measurements*, Psychophysiology 49:1017) on the cleaned signal, with a fixed decision delay. A sample ``c`` is an
  SCR peak when

  1. it is a local maximum that *stands*: higher than every sample of the following ``confirm_s`` seconds
     (this is the decision delay: the SCR peaking at ``c`` is decided when sample ``c + decision_delay`` arrives);
  2. its trough is the lowest sample between the peak and the nearest earlier point that is higher than the
     peak, the previous SCR's peak, or ``max_rise_s`` before the peak, whichever is latest (so an SCR riding on
     the recovery of a larger one gets the trough between them); its onset is the last sample before the peak
     still within 5 % of the amplitude above the trough (where the rise begins, also when a drifting level puts
     the lowest point earlier);
  3. its amplitude, cleaned[peak] - cleaned[trough], is at least ``amplitude_min`` (0.01 uS, the customary
     minimum amplitude of the field; raise it to 0.02-0.05 uS for noisy recordings) **and** at least
     ``relative_min`` (10 %) of the largest SCR decided in the previous ``relative_memory_s`` (60 s). The second
     rule is the causal counterpart of NeuroKit2's default, which keeps peaks of at least 10 % of the largest
     one in the whole recording: small noise bumps after a real response are not counted, while a quiet stretch
     (no large SCR for a minute) falls back to the absolute minimum;
  4. at least half of its rise, and at least ``amplitude_min``, is phasic (phasic[peak] - phasic[trough]), so a
     drifting level, which the tonic follows, is not a response (the 0.05 Hz tonic takes up less than a third of
     a typical 1-3 s rise). The tonic settles in about 1 / tonic_hz (20 s) after a reset or a gap; until then a
     steep drift can still pass for a small SCR.

  Rise time is (peak - onset) / sfreq. No SCR is decided whose trough-to-decision span holds a flagged sample.

NeuroKit2's rule needs the whole recording (the largest peak may come last); ours sees only the past minute, so
the first SCRs of a recording, or of a quiet stretch, face the absolute minimum alone. On NeuroKit2's simulated EDA
the counts agree within 15 % (tests/test_kernels_eda.py).
"""

from __future__ import annotations

import logging

import numpy as np
from eegaffect.kernels._checks import check_option, check_positive
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
from eegaffect.kernels.filter_design import design_lowpass
from eegaffect.kernels.physio_base import (
    REASON_FEW_SAMPLES,
    REASON_SHORT_WINDOW,
    PhysioStage,
    SignalQuality,
    StageOutput,
    WindowFeatures,
)

__all__ = ["EDAStage", "warmup"]

_log = logging.getLogger("eegaffect")

_UNITS = ("uS", "ohm")

# integer state: absolute sample count, filters primed (0/1), last flagged sample, last SCR peak, SCRs so far
_N, _PRIMED, _LAST_BAD, _LAST_PEAK, _COUNT = range(5)
#: SCRs remembered for the relative amplitude rule (the rule sees at most this many of the last
#: ``relative_memory_s``; with the defaults at most 60 fit, SCRs being at least ``confirm_s`` apart).
_HISTORY = 128
#: A pass-through biquad (the cleaning filter at rates too low for it).
_IDENTITY = np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
#: An SCR's onset is the last sample before its peak still within this fraction of its amplitude above the trough.
_ONSET_FRACTION = 0.05


@jit
def _eda_kernel(g, flags, sos_c, zi_c, zc, sos_t, zi_t, zt, ring, ring_p, ist, delay, max_rise, amp_min, rel_min,
                memory, onset_frac, hist_s, hist_a, sfreq, out, ev_peak, ev_onset, ev_amp,
                ev_rise):  # pragma: no cover - compiled
    """Clean, split and detect SCRs over one chunk; returns the number of events written to the ``ev_*`` arrays.

    g (n,) conductance f8; flags (n,) u1; zc, zt filter states; ring, ring_p (R,) the last R cleaned and phasic
    values by absolute index modulo R (R >= max_rise + delay + 2); ist (5,) i8 state; hist_s (H,) i8, hist_a (H,)
    f8: peak sample and amplitude of the last H SCRs (circular, slot ``count % H``; samples -1 when empty);
    out (n, 3) f8 (cleaned, tonic, phasic).
    """
    n0 = ist[_N]
    primed = ist[_PRIMED]
    last_bad = ist[_LAST_BAD]
    last_peak = ist[_LAST_PEAK]
    size = ring.shape[0]
    k = 0
    for t in range(g.shape[0]):
        i = n0 + t
        v = g[t]
        if np.isfinite(v):
            if primed == 0:
                sos_prime(zi_c, zc, v)
                sos_prime(zi_t, zt, v)
                primed = 1
            y = sos_sample(sos_c, zc, v)
            tonic = sos_sample(sos_t, zt, y)
        else:
            primed = 0
            y = np.nan
            tonic = np.nan
        out[t, 0] = y
        out[t, 1] = tonic
        out[t, 2] = y - tonic
        ring[i % size] = y
        ring_p[i % size] = y - tonic
        if flags[t] != 0 or not np.isfinite(y):
            last_bad = i
        c = i - delay
        if c - 1 <= last_bad or c <= last_peak:
            continue
        yc = ring[c % size]
        if not (yc >= ring[(c - 1) % size] and yc > ring[(c + 1) % size]):
            continue
        stands = True
        for j in range(c + 2, i + 1):
            if ring[j % size] >= yc:
                stands = False
                break
        if not stands:
            continue
        lo = max(last_peak + 1, last_bad + 1, c - max_rise)
        trough = c
        vmin = yc
        for j in range(c - 1, lo - 1, -1):
            w = ring[j % size]
            if w > yc:
                break
            if w < vmin:
                vmin = w
                trough = j
        amp = yc - vmin
        if trough >= c or amp < amp_min:
            continue
        rise_p = ring_p[c % size] - ring_p[trough % size]
        if rise_p < amp_min or rise_p < 0.5 * amp:  # mostly a drift of the level, which the tonic follows
            continue
        onset = c - 1
        level = vmin + onset_frac * amp
        while onset > trough and ring[onset % size] > level:
            onset -= 1
        if rel_min > 0.0:
            largest = 0.0
            for h in range(hist_s.shape[0]):
                if hist_s[h] >= 0 and hist_s[h] > c - memory and hist_a[h] > largest:
                    largest = hist_a[h]
            if amp < rel_min * largest:
                continue
        ev_peak[k] = c
        ev_onset[k] = onset
        ev_amp[k] = amp
        ev_rise[k] = (c - onset) / sfreq
        k += 1
        last_peak = c
        slot = ist[_COUNT] % hist_s.shape[0]
        hist_s[slot] = c
        hist_a[slot] = amp
        ist[_COUNT] += 1
    ist[_N] = n0 + g.shape[0]
    ist[_PRIMED] = primed
    ist[_LAST_BAD] = last_bad
    ist[_LAST_PEAK] = last_peak
    return k


class EDAStage(PhysioStage):
    """Causal EDA stage: cleaned conductance, tonic, phasic, and SCR events (see the module docstring).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    unit : {"uS", "ohm"}
        Unit of the input: skin conductance in microsiemens, or skin resistance in Ohm (converted to
        conductance, uS = 1e6 / Ohm). Every output is in uS.
    lowpass_hz : float
        Cut-off of the cleaning low-pass (4th-order Butterworth); no cleaning where it is above 0.4 * sfreq.
    tonic_hz : float
        Cut-off of the tonic low-pass (2nd-order Butterworth), clipped to 0.4 * sfreq.
    amplitude_min : float
        Smallest SCR amplitude (trough to peak, uS).
    relative_min : float
        An SCR must also reach this fraction of the largest SCR decided in the previous ``relative_memory_s``
        seconds (0 disables the rule).
    relative_memory_s : float
        Memory of the relative rule.
    confirm_s : float
        How long a peak must stay the highest value before it is an SCR: the decision delay (at least 1 sample).
    max_rise_s : float
        Longest rise time searched for an SCR's onset.
    scr_window_min_s : float
        Shortest window for SCR rate and summed amplitude (shorter windows give NaN with a reason).
    flat_s, flat_eps : float
        A run of at least ``flat_s`` seconds with sample-to-sample changes <= ``flat_eps`` uS is flagged flat (a
        detached electrode); see :class:`~eegaffect.kernels.physio_base.SignalQuality`.
    low, high : float or None
        Valid conductance range in uS: samples at or beyond it are flagged clipped (conductance <= 0 is not
        physical; ``high`` is the amplifier's ceiling, if known).
    max_flagged : float
        Largest fraction of flagged samples a window may hold and still get features.
    slope : bool
        Add a fourth feature, ``scl_slope``: the least-squares slope of the tonic level over the window's good
        samples (uS/s; NaN with fewer than two). The level follows a change of sympathetic drive with a time
        constant of seconds (and the tonic filter's own lag); its slope reacts at once, so a model can undo the
        level's delay (``docs/fusion.md``, "The demo"). Off: the three features as before.

    Attributes
    ----------
    decision_delay : int
        ``round(confirm_s * sfreq)`` samples (at least 1).
    feature_names : tuple of str
        ``scl, scr_rate, scr_amplitude_sum`` (and ``scl_slope`` with ``slope``).

    Notes
    -----
    One event per SCR, at its peak (``event_type`` ``"scr_peak"``); its ``onset_sample`` is where an events table
    puts the matching ``"scr_onset"`` row.
    """

    kind = "eda"
    continuous_names = ("eda_clean", "eda_tonic", "eda_phasic")
    event_dtype = np.dtype([("sample", np.int64), ("onset_sample", np.int64), ("amplitude", np.float64),
                            ("rise_time", np.float64)])
    event_type = "scr_peak"
    feature_names = ("scl", "scr_rate", "scr_amplitude_sum")

    def __init__(self, sfreq: float, unit: str = "uS", lowpass_hz: float = 3.0, tonic_hz: float = 0.05,
                 amplitude_min: float = 0.01, relative_min: float = 0.1, relative_memory_s: float = 60.0,
                 confirm_s: float = 1.0, max_rise_s: float = 5.0,
                 scr_window_min_s: float = 10.0, flat_s: float = 5.0, flat_eps: float = 0.0,
                 low: float | None = 0.0, high: float | None = None, max_flagged: float = 0.1,
                 slope: bool = False):
        super().__init__(sfreq)
        if not isinstance(slope, bool):
            raise ValueError(f"slope must be true or false, got {slope!r}")
        self.slope = slope
        if slope:
            self.feature_names = (*EDAStage.feature_names, "scl_slope")
        self.unit = check_option(unit, "unit", _UNITS)
        lowpass_hz = check_positive(lowpass_hz, "lowpass_hz")
        #: Cleaning cut-off in Hz, or None where the rate is too low for it (no cleaning low-pass then).
        self.lowpass_hz = lowpass_hz if clipped_cutoff(lowpass_hz, self.sfreq) == lowpass_hz else None
        self.tonic_hz = clipped_cutoff(check_positive(tonic_hz, "tonic_hz"), self.sfreq)
        self.amplitude_min = check_positive(amplitude_min, "amplitude_min")
        self.relative_min = check_fraction(relative_min, "relative_min")
        self._memory = max(1, int(round(check_positive(relative_memory_s, "relative_memory_s") * self.sfreq)))
        self._delay = max(1, int(round(check_positive(confirm_s, "confirm_s") * self.sfreq)))
        self._max_rise = max(1, int(round(check_positive(max_rise_s, "max_rise_s") * self.sfreq)))
        self.scr_window_min_s = check_positive(scr_window_min_s, "scr_window_min_s")
        self.max_flagged = check_fraction(max_flagged, "max_flagged")
        self.quality = SignalQuality(self.sfreq, flat_s=flat_s, eps=flat_eps, low=low, high=high)
        self._sos_clean = (_IDENTITY.copy() if self.lowpass_hz is None
                           else design_lowpass(self.lowpass_hz, self.sfreq, order=4))
        self._sos_tonic = design_lowpass(self.tonic_hz, self.sfreq, order=2)
        self._zi_clean = unit_zi(self._sos_clean)
        self._zi_tonic = unit_zi(self._sos_tonic)
        self._z_clean = np.zeros_like(self._zi_clean)
        self._z_tonic = np.zeros_like(self._zi_tonic)
        self._ring = np.empty(self._max_rise + self._delay + 2)
        self._ring_p = np.empty_like(self._ring)
        self._ist = np.zeros(5, dtype=np.int64)
        self._hist_s = np.empty(_HISTORY, dtype=np.int64)
        self._hist_a = np.empty(_HISTORY)
        self.reset()

    @property
    def decision_delay(self) -> int:
        """Samples from an SCR's peak to its decision (``confirm_s`` in samples)."""
        return self._delay

    def reset(self) -> "EDAStage":
        """Forget all state (the next sample is sample 0)."""
        self.quality.reset()
        self._ring[:] = np.nan
        self._ring_p[:] = np.nan
        self._ist[:] = (0, 0, -1, -1, 0)
        self._hist_s[:] = -1
        self._hist_a[:] = 0.0
        return self

    def to_conductance(self, x: np.ndarray) -> np.ndarray:
        """The input in uS (a copy converted from Ohm when ``unit="ohm"``; non-positive resistance -> <= 0 or inf)."""
        if self.unit == "uS":
            return x
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1e6 / x

    def _step(self, x: np.ndarray) -> StageOutput:
        g = np.ascontiguousarray(self.to_conductance(x))
        flags = self.quality.step(g)
        n = g.shape[0]
        out = np.empty((n, 3))
        peak = np.empty(n, dtype=np.int64)
        onset = np.empty(n, dtype=np.int64)
        amp = np.empty(n)
        rise = np.empty(n)
        k = _eda_kernel(g, flags, self._sos_clean, self._zi_clean, self._z_clean, self._sos_tonic, self._zi_tonic,
                        self._z_tonic, self._ring, self._ring_p, self._ist, self._delay, self._max_rise,
                        self.amplitude_min, self.relative_min, self._memory, _ONSET_FRACTION, self._hist_s,
                        self._hist_a, self.sfreq, out, peak, onset, amp, rise)
        events = np.empty(k, dtype=self.event_dtype)
        events["sample"] = peak[:k]
        events["onset_sample"] = onset[:k]
        events["amplitude"] = amp[:k]
        events["rise_time"] = rise[:k]
        return StageOutput(out, events, flags)

    def window_features(self, events: np.ndarray, continuous: np.ndarray, quality: np.ndarray,
                        start: int, stop: int) -> WindowFeatures:
        """SCL (mean tonic, uS), SCR rate (per minute) and summed SCR amplitude (uS) of ``[start, stop)`` (and
        with ``slope`` the tonic level's slope, uS/s).

        All NaN when more than ``max_flagged`` of the window is flagged; SCR rate and summed amplitude NaN when
        the window is shorter than ``scr_window_min_s``.
        """
        n_feat = len(self.feature_names)
        reason = flagged_reason(quality, self.max_flagged)
        if reason is not None:
            return nan_features(n_feat, reason)
        good = (quality == 0) & np.isfinite(continuous[:, 1])
        values = np.full(n_feat, np.nan)
        reasons: list = [None] * n_feat
        if good.any():
            values[0] = float(np.mean(continuous[good, 1]))
        else:
            reasons[0] = REASON_FEW_SAMPLES
        if self.slope:
            t = np.flatnonzero(good) / self.sfreq
            if len(t) >= 2 and np.ptp(t) > 0:
                level = continuous[good, 1]
                tc = t - t.mean()
                values[3] = float(np.dot(tc, level - level.mean()) / np.dot(tc, tc))
            else:
                reasons[3] = REASON_FEW_SAMPLES
        duration = (stop - start) / self.sfreq
        if duration < self.scr_window_min_s:
            _log.debug("EDA: a %g s window is shorter than the %g s SCR rate needs", duration, self.scr_window_min_s)
            reasons[1] = reasons[2] = REASON_SHORT_WINDOW
        else:
            values[1] = len(events) / (duration / 60.0)
            values[2] = float(np.sum(events["amplitude"])) if len(events) else 0.0
        return WindowFeatures(values, tuple(reasons))


def warmup() -> None:
    """Compile the EDA kernel."""
    stage = EDAStage(8.0, confirm_s=0.25, max_rise_s=0.5)
    stage.process(np.array([1.0, 1.0, 1.2, 1.5, 1.3, 1.2, 1.1, np.nan, 1.0]))
