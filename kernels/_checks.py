"""Input validation shared by every kernel module (filtering, resampling, features, standardisation, smoothing).

The ``@jit`` bodies do no validation; the public classes and functions call these helpers first so that a bad
input fails with a message saying what was expected and what was got, before any state is touched. Two policies
for data blocks: :func:`check_chunk` converts (dtype, contiguity) and checks finiteness up front; the hot
streaming paths (SOS filter, resampler) use :func:`check_block`, which never copies, and leave the finiteness
check to the kernel (:func:`raise_nonfinite` words its error).
"""

from __future__ import annotations

import numbers

import numpy as np

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, which must be float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from err
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def check_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int, which must be an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_positive(value, name: str) -> float:
    """Return ``value`` as a float, which must be finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def check_option(value, name: str, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def check_bands(bands, sfreq: float) -> np.ndarray:
    """Validate frequency bands and return them as an array of shape (n_bands, 2).

    Parameters
    ----------
    bands : sequence of (float, float)
        ``(low_hz, high_hz)`` pairs with ``0 < low_hz < high_hz < sfreq / 2``.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    bands : ndarray, shape (n_bands, 2)
        The bands as float64.
    """
    try:
        arr = np.asarray(bands, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"bands must be a sequence of (low_hz, high_hz) pairs, got {bands!r}") from err
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"bands must be a non-empty sequence of (low_hz, high_hz) pairs, got shape {arr.shape}")
    nyq = sfreq / 2
    for k, (low, high) in enumerate(arr):
        if not (np.isfinite(low) and np.isfinite(high) and 0 < low < high < nyq):
            raise ValueError(f"band {k} must satisfy 0 < low_hz < high_hz < Nyquist ({nyq} Hz), "
                             f"got ({low}, {high})")
    return arr


def check_chunk(x, n_chans: int, dtype: np.dtype, name: str = "x", allow_nan: bool = False,
                columns: str = "channels") -> np.ndarray:
    """Validate a ``(n_times, n_chans)`` chunk and return it C-contiguous in ``dtype``.

    Parameters
    ----------
    x : array-like, shape (n_times, n_chans)
        Float32 or float64 samples (other dtypes are rejected, not silently cast).
    n_chans : int
        Expected number of channels.
    dtype : numpy.dtype
        Dtype of the returned array (a copy is made only when the input differs or is not C-contiguous).
    name : str
        Name used in error messages.
    allow_nan : bool
        Let NaN through (inf is always rejected).
    columns : str
        What the columns are, for error messages (``"channels"``, ``"features"``).

    Returns
    -------
    x : ndarray, shape (n_times, n_chans)
        C-contiguous array of ``dtype``.
    """
    arr = np.asarray(x)
    if arr.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_times, {columns}) with {n_chans} {columns}, got shape {arr.shape}")
    if arr.shape[1] != n_chans:
        raise ValueError(f"{name} must have {n_chans} {columns} (shape (n_times, {n_chans})), got shape {arr.shape}")
    check_finite(arr, name, allow_nan=allow_nan)
    return np.ascontiguousarray(arr, dtype=dtype)


def check_finite(arr: np.ndarray, name: str, allow_nan: bool = False) -> None:
    """Raise ``ValueError`` naming the first non-finite sample of a 2-D array (NaN passes if ``allow_nan``)."""
    if arr.size == 0:
        return
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        t, c = np.argwhere(bad)[0][:2] if arr.ndim >= 2 else (np.argwhere(bad)[0][0], 0)
        what = "inf" if allow_nan else "NaN or inf"
        raise ValueError(f"{name} must be finite ({what} is not accepted): found {arr[tuple(np.argwhere(bad)[0])]} "
                         f"at sample {t}, column {c} ({int(bad.sum())} bad values in all)")


def check_block(x, name: str, n_chans: int | None) -> np.ndarray:
    """Validate a ``(n_times, n_chans)`` block without copying it: a C-contiguous float32/float64 ndarray.

    Parameters
    ----------
    x : ndarray, shape (n_times, n_chans)
        The block.
    name : str
        Name used in error messages.
    n_chans : int | None
        Expected number of channels; None accepts any.

    Returns
    -------
    x : ndarray, shape (n_times, n_chans)
        ``x`` itself.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"expected {name} to be a numpy ndarray of shape (n_times, n_chans), got {type(x).__name__}")
    if x.ndim != 2:
        hint = " (a single channel needs shape (n_times, 1): use x[:, None])" if x.ndim == 1 else ""
        raise ValueError(f"expected {name} of shape (n_times, n_chans), got {x.ndim}-D shape {x.shape}{hint}")
    if n_chans is not None and x.shape[1] != n_chans:
        raise ValueError(f"expected {name} with {n_chans} channels (shape (n_times, {n_chans})), "
                         f"got shape {x.shape}")
    if x.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"expected {name} of dtype float32 or float64, got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError(f"expected {name} to be C-contiguous (n_times, n_chans) with channels adjacent in "
                         f"memory, got strides {x.strides}; pass np.ascontiguousarray({name})")
    if not x.flags.aligned:
        raise ValueError(f"expected {name} aligned to its {x.dtype.itemsize}-byte items, got a misaligned view "
                         f"(e.g. from np.frombuffer at an odd offset); pass {name}.copy()")
    return x


def raise_nonfinite(x: np.ndarray, flat: int, name: str, offset: int, what: str) -> None:
    """Raise the ``ValueError`` of a streaming kernel that found a non-finite value at flat index ``flat`` of
    ``x`` (sample ``offset + row`` of the stream) and left the state of ``what`` unchanged.
    """
    t, c = divmod(flat, x.shape[1])
    raise ValueError(f"expected finite values in {name}, got {float(x[t, c])!r} at sample {t + offset} "
                     f"(row {t} of this block), channel {c}; the {what} state is unchanged "
                     "(clean the data first, or pass check_finite=False to let it propagate)")
