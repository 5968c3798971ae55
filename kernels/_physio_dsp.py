"""Single-channel building blocks shared by the EDA, respiration, temperature and EMG stages.

- A one-sample biquad-cascade step (:func:`sos_sample`), the recursion of :func:`scipy.signal.sosfilt` (direct
  form II transposed), and its priming to the steady state of a constant input (:func:`sos_prime`, scipy's
  :func:`~scipy.signal.sosfilt_zi` scaled by the value).
- Filter design with the cut-off clipped below Nyquist (:func:`clipped_cutoff`), for stages that accept any rate.
- Window-feature helpers: the quality gate every stage applies first (:func:`flagged_reason`) and the all-NaN
  result (:func:`nan_features`).

Gap policy of the physiological filters (documented once here, used by every stage in this family): a non-finite
input sample gives a NaN output and leaves the filter state untouched; the next finite sample re-primes the filter
at that value's steady state, exactly like the first sample after a reset. So a dropped stretch never sends NaN
into the recursion (which would poison it for good) and never rings the filter with a jump from the old level.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.signal

from eegaffect.kernels._jit import jit
from eegaffect.kernels.physio_base import QUALITY_NAMES, REASON_FLAGGED, WindowFeatures

__all__ = ["sos_sample", "sos_prime", "clipped_cutoff", "unit_zi", "flagged_reason", "nan_features",
           "check_fraction"]

_log = logging.getLogger("eegaffect")

#: Highest cut-off, as a fraction of the sampling rate, a stage uses when its nominal cut-off is at or above
#: Nyquist (0.4 * sfreq = 80 % of Nyquist keeps the Butterworth design well conditioned).
NYQUIST_FRACTION = 0.4


@jit
def sos_sample(sos, z, v):  # pragma: no cover - compiled
    """Filter one sample ``v`` through the cascade ``sos`` (n_sections, 6) with state ``z`` (n_sections, 2)."""
    u = v
    for s in range(sos.shape[0]):
        y = sos[s, 0] * u + z[s, 0]
        z[s, 0] = sos[s, 1] * u - sos[s, 4] * y + z[s, 1]
        z[s, 1] = sos[s, 2] * u - sos[s, 5] * y
        u = y
    return u


@jit
def sos_prime(zi, z, v):  # pragma: no cover - compiled
    """Set the state ``z`` to the steady state of a constant input ``v`` (``zi``: sosfilt_zi of the filter)."""
    for s in range(zi.shape[0]):
        z[s, 0] = zi[s, 0] * v
        z[s, 1] = zi[s, 1] * v


def unit_zi(sos: np.ndarray) -> np.ndarray:
    """:func:`scipy.signal.sosfilt_zi` of ``sos`` as a C-contiguous float64 array of shape (n_sections, 2)."""
    return np.ascontiguousarray(scipy.signal.sosfilt_zi(sos), dtype=np.float64)


def clipped_cutoff(cutoff_hz: float, sfreq: float) -> float:
    """``cutoff_hz``, or ``NYQUIST_FRACTION * sfreq`` where that is lower (a cut-off at or above Nyquist cannot be
    designed; such a filter would pass everything the rate can carry anyway)."""
    return min(float(cutoff_hz), NYQUIST_FRACTION * sfreq)


def check_fraction(value, name: str) -> float:
    """Return ``value`` as a float in [0, 1]."""
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
    return value


def flagged_reason(quality: np.ndarray, max_flagged: float) -> str | None:
    """Why a window is too poor for any feature, or ``None`` when it is fine.

    A window is rejected (:data:`~eegaffect.kernels.physio_base.REASON_FLAGGED`) when it is empty or when more
    than ``max_flagged`` of its samples carry a quality flag; which flags, and how much of the window, go to the
    debug log.
    """
    n = quality.shape[0]
    if n == 0:
        _log.debug("empty feature window")
        return REASON_FLAGGED
    bad = quality != 0
    fraction = float(np.count_nonzero(bad)) / n
    if fraction > max_flagged:
        if _log.isEnabledFor(logging.DEBUG):
            present = int(np.bitwise_or.reduce(quality[bad]))
            names = ", ".join(name for bit, name in QUALITY_NAMES.items() if present & bit)
            _log.debug("signal flagged (%s) in %.0f%% of a %d-sample window", names, 100 * fraction, n)
        return REASON_FLAGGED
    return None


def nan_features(n_features: int, reason: str) -> WindowFeatures:
    """All features NaN, each with ``reason``."""
    return WindowFeatures(np.full(n_features, np.nan), (reason,) * n_features)
