"""Shared part of the heart-beat stages of :mod:`eegaffect.kernels.ecg` (ECG R peaks) and
:mod:`eegaffect.kernels.ppg` (PPG/BVP systolic peaks): :class:`HeartStage`, the single-channel biquad
cascade run inside the detector kernels and the hold-last-good-value step.

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

import abc
import logging

import numpy as np

from ._jit import jit
from .hrv import HRV_FEATURES, hrv_features
from .ibi import (
    _F_CAND_VAL,
    _F_HOLD,
    _F_HR,
    _F_NEXT_CORR,
    _I_BLOCK,
    _I_CAND,
    _I_HR_TIME,
    _I_LAST_BAD,
    _I_LAST_CAND_BEAT,
    _I_LAST_PEAK,
    _I_N,
    _I_PEND,
    _I_PREV_BEAT,
    _NF,
    _NI,
    _NP,
    _P_DELAY,
    _P_HR_HOLD,
    _P_LOOK,
    _P_REFR,
    _P_SETTLE,
    _P_SFREQ,
    _P_TAU,
    BEAT_DTYPE,
)
from .physio_base import REASON_FLAGGED, PhysioStage, SignalQuality, WindowFeatures

__all__ = ["HeartStage"]

_log = logging.getLogger("eegaffect")


# ----------------------------------------------------------------------------------------------------------------
# kernel helpers (inlined into the detector kernels)
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


# ----------------------------------------------------------------------------------------------------------------
# stage base
# ----------------------------------------------------------------------------------------------------------------
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

    @abc.abstractmethod
    def _detector_delay(self) -> int:
        """Samples the detector itself needs after a beat before it decides it (ECG and PPG differ)."""

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
