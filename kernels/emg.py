"""Surface EMG (e.g. zygomaticus major, corrugator supercilii, upper trapezius): causal high-pass and RMS envelope.

Signal path, causal (gap policy in :mod:`eegaffect.kernels._physio_dsp`):

- **filtered**: 4th-order Butterworth high-pass at ``highpass_hz`` (20 Hz, the usual lower edge of surface EMG,
  which removes movement artefacts and the ECG's main energy; SENIAM and Fridlund & Cacioppo, 1986, *Guidelines for
  human electromyographic research*, Psychophysiology 23:567), clipped to 0.4 * sfreq for low rates, primed at the
  steady state of the first finite sample (so an electrode offset gives no start-up transient).
- **envelope**: RMS of the filtered signal over the last ``rms_window_s`` seconds (0.2 s; a moving window, the
  "RMS envelope" of facial-EMG studies), NaN while that window holds a non-finite sample. The running sum of squares
  is recomputed exactly from its window every ``rms_window_s`` samples so rounding never accumulates.

Window features: ``emg_rms``, the RMS of the filtered signal over the window's valid samples (the EMG level), and
``emg_envelope_mean``, the mean of the envelope. NaN with a reason when more than ``max_flagged`` of the window is
flagged (a flat line is a detached electrode; clipping is amplifier saturation).
"""

from __future__ import annotations

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
from eegaffect.kernels.filter_design import design_highpass
from eegaffect.kernels.physio_base import (
    REASON_FEW_SAMPLES,
    REASON_SHORT_WINDOW,
    PhysioStage,
    SignalQuality,
    StageOutput,
    WindowFeatures,
)

__all__ = ["EMGStage", "warmup"]

# integer state: absolute sample count, filter primed (0/1), non-finite samples in the RMS window
_N, _PRIMED, _N_BAD = range(3)


@jit
def _emg_kernel(x, sos, zi, z, ring, ist, acc, out):  # pragma: no cover - compiled
    """High-pass and RMS envelope over one chunk.

    x (n,) f8; ring (w,) the squares of the last w filtered samples by absolute index modulo w (0 for non-finite
    ones, counted in ``ist[_N_BAD]``); acc (1,) f8 their running sum; out (n, 2) f8 (filtered, envelope).
    """
    w = ring.shape[0]
    n0 = ist[_N]
    for t in range(x.shape[0]):
        i = n0 + t
        v = x[t]
        if np.isfinite(v):
            if ist[_PRIMED] == 0:
                sos_prime(zi, z, v)
                ist[_PRIMED] = 1
            y = sos_sample(sos, z, v)
        else:
            ist[_PRIMED] = 0
            y = np.nan
        out[t, 0] = y
        slot = i % w
        old = ring[slot]
        if np.isnan(old):  # the slot held a non-finite sample
            ist[_N_BAD] -= 1
            old = 0.0
        if np.isfinite(y):
            sq = y * y
            ring[slot] = sq
            acc[0] += sq - old
        else:
            ring[slot] = np.nan
            ist[_N_BAD] += 1
            acc[0] -= old
        if slot == w - 1:  # refresh the running sum exactly once per window length
            total = 0.0
            for j in range(w):
                if not np.isnan(ring[j]):
                    total += ring[j]
            acc[0] = total
        if i + 1 < w or ist[_N_BAD] > 0:
            out[t, 1] = np.nan
        else:
            out[t, 1] = np.sqrt(max(acc[0], 0.0) / w)
    ist[_N] = n0 + x.shape[0]


class EMGStage(PhysioStage):
    """Causal EMG stage: high-passed signal and its RMS envelope; window RMS level (see the module docstring).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    highpass_hz : float
        Cut-off of the high-pass (4th-order Butterworth), clipped to 0.4 * sfreq.
    rms_window_s : float
        Length of the moving RMS window (at least one sample). The envelope is NaN for the first window after a
        reset (too few samples yet) and while the window holds a non-finite sample.
    flat_s, flat_eps : float
        A run of at least ``flat_s`` seconds with sample-to-sample changes <= ``flat_eps`` is flagged flat (a
        detached electrode: real EMG, with its noise floor, never repeats a value for long).
    low, high : float or None
        The amplifier's range, if known (samples at or beyond it are flagged clipped).
    max_flagged : float
        Largest fraction of flagged samples a window may hold and still get features.
    """

    kind = "emg"
    continuous_names = ("emg_filtered", "emg_envelope")
    event_dtype = np.dtype([("sample", np.int64)])
    event_type = "none"
    feature_names = ("emg_rms", "emg_envelope_mean")

    def __init__(self, sfreq: float, highpass_hz: float = 20.0, rms_window_s: float = 0.2, flat_s: float = 0.5,
                 flat_eps: float = 0.0, low: float | None = None, high: float | None = None,
                 max_flagged: float = 0.1):
        super().__init__(sfreq)
        self.highpass_hz = clipped_cutoff(check_positive(highpass_hz, "highpass_hz"), self.sfreq)
        self.rms_window = max(1, int(round(check_positive(rms_window_s, "rms_window_s") * self.sfreq)))
        self.max_flagged = check_fraction(max_flagged, "max_flagged")
        self.quality = SignalQuality(self.sfreq, flat_s=flat_s, eps=flat_eps, low=low, high=high)
        self._sos = design_highpass(self.highpass_hz, self.sfreq, order=4)
        self._zi = unit_zi(self._sos)
        self._z = np.zeros_like(self._zi)
        self._ring = np.empty(self.rms_window)
        self._ist = np.zeros(3, dtype=np.int64)
        self._acc = np.zeros(1)
        self.reset()

    def reset(self) -> "EMGStage":
        """Forget all state (the next sample is sample 0)."""
        self.quality.reset()
        self._ring[:] = 0.0
        self._ist[:] = 0
        self._acc[0] = 0.0
        return self

    def _step(self, x: np.ndarray) -> StageOutput:
        flags = self.quality.step(x)
        out = np.empty((x.shape[0], 2))
        _emg_kernel(x, self._sos, self._zi, self._z, self._ring, self._ist, self._acc, out)
        return StageOutput(out, np.empty(0, dtype=self.event_dtype), flags)

    def window_features(self, events: np.ndarray, continuous: np.ndarray, quality: np.ndarray,
                        start: int, stop: int) -> WindowFeatures:
        """RMS of the filtered signal and mean envelope over the valid samples of ``[start, stop)``."""
        reason = flagged_reason(quality, self.max_flagged)
        if reason is not None:
            return nan_features(len(self.feature_names), reason)
        ok = quality == 0
        filtered = continuous[ok & np.isfinite(continuous[:, 0]), 0]
        envelope = continuous[ok & np.isfinite(continuous[:, 1]), 1]
        values = np.full(2, np.nan)
        reasons: list = [None, None]
        if filtered.size:
            values[0] = float(np.sqrt(np.mean(filtered * filtered)))
        else:
            reasons[0] = REASON_FEW_SAMPLES
        if envelope.size:
            values[1] = float(np.mean(envelope))
        else:
            reasons[1] = REASON_SHORT_WINDOW
        return WindowFeatures(values, tuple(reasons))


def warmup() -> None:
    """Compile the EMG kernel."""
    EMGStage(100.0, rms_window_s=0.05).process(np.array([0.0, 1.0, -1.0, 0.5, np.nan, 0.2, 0.1, -0.3]))
