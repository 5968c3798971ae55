"""Skin temperature: a causal smoothed level, and the level and slope of each window.

The smoothed level is a 2nd-order Butterworth low-pass at ``smooth_hz`` (0.1 Hz, clipped to 0.4 * sfreq), run
forwards and primed at the steady state of the first finite sample (gap policy in
:mod:`eegaffect.kernels._physio_dsp`). Skin temperature moves over tens of seconds to minutes (peripheral
vasoconstriction under stress cools the fingers by a fraction of a degree per minute), so the filter's lag, about
2 s, does not matter; it removes the quantisation steps of wearable sensors (0.02-0.1 degC).

Window features: the level (mean of the smoothed signal, degC) and the slope (degC/min), the least-squares line
through the smoothed samples of the window against time. Flagged samples are left out of both; a window more
than ``max_flagged`` flagged, or with less than ``slope_window_min_s`` of valid samples, gives NaN with a reason.

Quality: samples outside ``[low, high]`` (15-45 degC: not a skin temperature, e.g. a probe off the skin for long,
or a sensor reporting Kelvin or Fahrenheit) are flagged clipped; a value unchanged for ``flat_s`` (120 s) is
flagged flat (a stuck sensor; real skin temperature at 0.01 degC resolution is never constant that long).
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
from eegaffect.kernels.filter_design import design_lowpass
from eegaffect.kernels.physio_base import (
    REASON_FEW_SAMPLES,
    REASON_SHORT_WINDOW,
    PhysioStage,
    SignalQuality,
    StageOutput,
    WindowFeatures,
)

__all__ = ["TemperatureStage", "warmup"]

_log = logging.getLogger("eegaffect")


@jit
def _smooth_kernel(x, sos, zi, z, primed, out):  # pragma: no cover - compiled
    """Causal low-pass of ``x`` (n,) into ``out`` (n,), NaN through as NaN; primed (1,) i8 state."""
    for t in range(x.shape[0]):
        v = x[t]
        if np.isfinite(v):
            if primed[0] == 0:
                sos_prime(zi, z, v)
                primed[0] = 1
            out[t] = sos_sample(sos, z, v)
        else:
            primed[0] = 0
            out[t] = np.nan


class TemperatureStage(PhysioStage):
    """Causal skin-temperature stage: smoothed level; window level and slope (see the module docstring).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    smooth_hz : float
        Cut-off of the smoothing low-pass (2nd-order Butterworth), clipped to 0.4 * sfreq.
    slope_window_min_s : float
        Least time spanned by a window's valid samples for a level and a slope.
    flat_s, flat_eps : float
        A run of at least ``flat_s`` seconds with sample-to-sample changes <= ``flat_eps`` degC is flagged flat.
    low, high : float or None
        Plausible skin-temperature range in degC; samples at or beyond it are flagged clipped.
    max_flagged : float
        Largest fraction of flagged samples a window may hold and still get features.
    """

    kind = "temp"
    continuous_names = ("temp_smooth",)
    event_dtype = np.dtype([("sample", np.int64)])
    event_type = "none"
    feature_names = ("temp_level", "temp_slope")

    def __init__(self, sfreq: float, smooth_hz: float = 0.1, slope_window_min_s: float = 10.0,
                 flat_s: float = 120.0, flat_eps: float = 0.0, low: float | None = 15.0, high: float | None = 45.0,
                 max_flagged: float = 0.1):
        super().__init__(sfreq)
        self.smooth_hz = clipped_cutoff(check_positive(smooth_hz, "smooth_hz"), self.sfreq)
        self.slope_window_min_s = check_positive(slope_window_min_s, "slope_window_min_s")
        self.max_flagged = check_fraction(max_flagged, "max_flagged")
        self.quality = SignalQuality(self.sfreq, flat_s=flat_s, eps=flat_eps, low=low, high=high)
        self._sos = design_lowpass(self.smooth_hz, self.sfreq, order=2)
        self._zi = unit_zi(self._sos)
        self._z = np.zeros_like(self._zi)
        self._primed = np.zeros(1, dtype=np.int64)
        self.reset()

    def reset(self) -> "TemperatureStage":
        """Forget all state (the next sample is sample 0)."""
        self.quality.reset()
        self._primed[0] = 0
        return self

    def _step(self, x: np.ndarray) -> StageOutput:
        flags = self.quality.step(x)
        out = np.empty((x.shape[0], 1))
        _smooth_kernel(x, self._sos, self._zi, self._z, self._primed, out[:, 0])
        return StageOutput(out, np.empty(0, dtype=self.event_dtype), flags)

    def window_features(self, events: np.ndarray, continuous: np.ndarray, quality: np.ndarray,
                        start: int, stop: int) -> WindowFeatures:
        """Level (degC) and slope (degC/min) of the smoothed temperature in ``[start, stop)``."""
        reason = flagged_reason(quality, self.max_flagged)
        if reason is not None:
            return nan_features(len(self.feature_names), reason)
        level = continuous[:, 0]
        good = (quality == 0) & np.isfinite(level)
        idx = np.flatnonzero(good)
        span = (idx[-1] - idx[0] + 1) / self.sfreq if idx.size >= 2 else 0.0  # the time its samples cover
        if span < self.slope_window_min_s:
            _log.debug("temperature: valid samples span %g s, %g s needed for a slope", span,
                       self.slope_window_min_s)
            short = (stop - start) / self.sfreq < self.slope_window_min_s
            return nan_features(len(self.feature_names), REASON_SHORT_WINDOW if short else REASON_FEW_SAMPLES)
        return WindowFeatures(np.array([float(np.mean(level[idx])), _slope(idx / self.sfreq, level[idx]) * 60.0]),
                              (None, None))


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` against ``t`` (centred, so it is exact for long windows too)."""
    tc = t - t.mean()
    return float(np.dot(tc, y - y.mean()) / np.dot(tc, tc))


def warmup() -> None:
    """Compile the smoothing kernel."""
    TemperatureStage(4.0).process(np.array([33.0, 33.1, np.nan, 33.0]))
