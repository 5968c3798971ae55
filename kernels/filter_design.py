"""Butterworth and notch filter design, and the SOS format every filter of :mod:`eegaffect.kernels` takes.

Thin validated wrappers over :mod:`scipy.signal`: each returns second-order sections (``sos``, shape
``(n_sections, 6)``, ``a0 == 1``, C-contiguous float64) for :class:`~eegaffect.kernels.filtering.SOSFilter`,
:func:`~eegaffect.kernels.filtering.sosfilt` and the filter bank of :mod:`eegaffect.kernels.filterbank`. Design
runs once per stage (milliseconds), never per chunk; the stateful filtering itself is in
:mod:`eegaffect.kernels.filtering`, which re-exports these functions.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
from eegaffect.kernels._checks import check_int, check_positive

__all__ = ["design_bandpass", "design_highpass", "design_lowpass", "design_notch", "cascade"]


def design_bandpass(low_hz: float, high_hz: float, sfreq: float, order: int = 4) -> np.ndarray:
    """Design a Butterworth band-pass filter as second-order sections.

    Parameters
    ----------
    low_hz, high_hz : float
        Pass-band edges in Hz (-3 dB points), ``0 < low_hz < high_hz < sfreq / 2``.
    sfreq : float
        Sampling frequency in Hz.
    order : int
        Butterworth order of the low-pass prototype (the band-pass has ``2 * order`` poles, ``order`` sections).

    Returns
    -------
    sos : ndarray, shape (order, 6)
        Second-order sections, as ``scipy.signal.butter(order, [low_hz, high_hz], "bandpass", fs=sfreq,
        output="sos")``.
    """
    sfreq = check_positive(sfreq, "sfreq")
    order = check_int(order, "order")
    low_hz = _check_edge(low_hz, sfreq, "low_hz")
    high_hz = _check_edge(high_hz, sfreq, "high_hz")
    if low_hz >= high_hz:
        raise ValueError(f"expected low_hz < high_hz for a band-pass, got low_hz={low_hz} >= high_hz={high_hz}")
    return _butter(order, [low_hz, high_hz], "bandpass", sfreq)


def design_highpass(cutoff_hz: float, sfreq: float, order: int = 4) -> np.ndarray:
    """Design a Butterworth high-pass filter as second-order sections.

    Parameters
    ----------
    cutoff_hz : float
        Cut-off (-3 dB) in Hz, ``0 < cutoff_hz < sfreq / 2``.
    sfreq : float
        Sampling frequency in Hz.
    order : int
        Filter order.

    Returns
    -------
    sos : ndarray, shape (ceil(order / 2), 6)
        Second-order sections.
    """
    sfreq = check_positive(sfreq, "sfreq")
    return _butter(check_int(order, "order"), _check_edge(cutoff_hz, sfreq, "cutoff_hz"), "highpass", sfreq)


def design_lowpass(cutoff_hz: float, sfreq: float, order: int = 4) -> np.ndarray:
    """Design a Butterworth low-pass filter as second-order sections.

    Parameters
    ----------
    cutoff_hz : float
        Cut-off (-3 dB) in Hz, ``0 < cutoff_hz < sfreq / 2``.
    sfreq : float
        Sampling frequency in Hz.
    order : int
        Filter order.

    Returns
    -------
    sos : ndarray, shape (ceil(order / 2), 6)
        Second-order sections.
    """
    sfreq = check_positive(sfreq, "sfreq")
    return _butter(check_int(order, "order"), _check_edge(cutoff_hz, sfreq, "cutoff_hz"), "lowpass", sfreq)


def design_notch(line_hz: float, sfreq: float, harmonics: int = 1, q: float = 30.0) -> np.ndarray:
    """Design a notch at the line frequency and its harmonics (one :func:`scipy.signal.iirnotch` each).

    Harmonics at or above Nyquist are skipped; the fundamental itself must lie below Nyquist.

    Parameters
    ----------
    line_hz : float
        Line frequency in Hz (50 or 60).
    sfreq : float
        Sampling frequency in Hz.
    harmonics : int
        Number of frequencies notched: ``line_hz * k`` for ``k = 1 .. harmonics`` (those below Nyquist).
    q : float
        Quality factor of each notch (centre frequency / -3 dB bandwidth).

    Returns
    -------
    sos : ndarray, shape (n_notches, 6)
        One second-order section per notched frequency.
    """
    sfreq = check_positive(sfreq, "sfreq")
    line_hz = _check_edge(line_hz, sfreq, "line_hz")
    q = check_positive(q, "q")
    return _notch_sections(line_hz, sfreq, check_int(harmonics, "harmonics"), q)


def cascade(*sos_arrays: np.ndarray) -> np.ndarray:
    """Chain SOS filters into one (the sections are applied in the order given).

    Parameters
    ----------
    *sos_arrays : ndarray, shape (n_sections_i, 6)
        Filters to chain, e.g. ``cascade(design_bandpass(...), design_notch(...))``.

    Returns
    -------
    sos : ndarray, shape (sum of n_sections_i, 6)
        The combined filter.
    """
    if not sos_arrays:
        raise ValueError("cascade() needs at least one sos array, got none")
    return np.ascontiguousarray(np.concatenate([_validate_sos(s, f"sos_arrays[{i}]")
                                                for i, s in enumerate(sos_arrays)], axis=0))


def _butter(order: int, wn, btype: str, sfreq: float) -> np.ndarray:
    return np.ascontiguousarray(scipy.signal.butter(order, wn, btype=btype, fs=sfreq, output="sos"))


def _notch_sections(line_hz: float, sfreq: float, harmonics: int, q: float) -> np.ndarray:
    nyquist = sfreq / 2
    rows = []
    for k in range(1, harmonics + 1):
        freq = k * line_hz
        if freq >= nyquist:
            break
        b, a = scipy.signal.iirnotch(freq, q, fs=sfreq)
        rows.append(np.concatenate([b / a[0], a / a[0]]))
    return np.ascontiguousarray(np.vstack(rows))


def _check_edge(freq, sfreq: float, name: str) -> float:
    freq = check_positive(freq, name)
    if freq >= sfreq / 2:
        raise ValueError(f"expected {name} below Nyquist ({sfreq / 2:g} Hz for sfreq={sfreq:g}), got {freq:g} Hz")
    return freq


def _validate_sos(sos, name: str = "sos") -> np.ndarray:
    arr = np.asarray(sos)
    if arr.ndim != 2 or arr.shape[1] != 6 or arr.shape[0] < 1:
        raise ValueError(f"expected {name} of shape (n_sections, 6) with n_sections >= 1, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"expected {name} to hold real numbers, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64, order="C", copy=True)
    if not np.isfinite(arr).all():
        raise ValueError(f"expected {name} to be finite, got non-finite coefficients in sections "
                         f"{sorted(set(np.nonzero(~np.isfinite(arr))[0].tolist()))}")
    if not np.all(arr[:, 3] == 1.0):
        bad = np.nonzero(arr[:, 3] != 1.0)[0].tolist()
        raise ValueError(f"expected {name}[:, 3] (a0 of every section) to be 1 as in scipy's sos format, "
                         f"got {arr[bad, 3].tolist()} in sections {bad}")
    return arr
