"""Stateful second-order-section (SOS) IIR filtering: :class:`SOSFilter` (streaming) and :func:`sosfilt` (offline,
the same object over the whole array).

Filters are designed in :mod:`eegaffect.kernels.filter_design` (Butterworth band/high/low-pass, line notch,
:func:`cascade`), whose functions are re-exported here.

The filter is a cascade of biquads in direct form II transposed, the same recursion as
:func:`scipy.signal.sosfilt`, applied to ``(n_times, n_chans)`` C-contiguous blocks. The kernel walks the rows
(time) and, inside each row, runs every section over all channels with the channel loop innermost, so LLVM
vectorises it across channels (SIMD). The per-channel state is padded to a multiple of
:data:`CHANNEL_PAD` so the vector loop has no scalar remainder.

Numerics
    Coefficients and state are always float64 and every sample is computed in float64, whatever the input or
    output dtype (float32 input is widened on read; float32 output is rounded once on write). Results equal
    ``scipy.signal.sosfilt`` to rounding: same recursion, with multiply-adds fused where the CPU has FMA and one
    sum regrouped so that each state update is two fused multiply-adds (about 1e-14 relative difference; never
    more than 1e-10).
NaN / inf policy
    Non-finite input is rejected: :func:`sosfilt` and :meth:`SOSFilter.step` raise :class:`ValueError` naming
    the first bad sample and channel, and leave the filter state as it was before the call. The check costs
    O(n_chans) per call, not a pass over the data: nan/inf entering a biquad leaves its state non-finite for
    good, so the kernel tests the first section's state after the block (and only then scans the input to name
    the culprit). ``check_finite=False`` skips it; non-finite values then propagate into the output and the
    state, as in scipy.
Initial state
    ``init="zeros"`` starts from rest. ``init="steady"`` uses :func:`scipy.signal.sosfilt_zi` scaled per channel
    by the first sample seen (the first call with at least one row), i.e. the filter starts as if the signal had
    been constant at that value forever, which removes the start-up transient of a DC offset.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.signal
from eegaffect.kernels._checks import (
    _FLOAT_DTYPES,
    check_block,
    check_dtype,
    check_int,
    check_option,
    raise_nonfinite,
)
from eegaffect.kernels._jit import entry_point, jit, prefetch_read, prefetch_write, use_full_vector_width
from eegaffect.kernels.filter_design import (
    _validate_sos,
    cascade,
    design_bandpass,
    design_highpass,
    design_lowpass,
    design_notch,
)

__all__ = [
    "CHANNEL_PAD",
    "design_bandpass",
    "design_highpass",
    "design_lowpass",
    "design_notch",
    "cascade",
    "SOSFilter",
    "sosfilt",
    "warmup",
]

#: The state of every channel row is padded to a multiple of this many values (one 512-bit vector of float64
#: times two), so the vectorised channel loop runs without a scalar remainder.
CHANNEL_PAD = 16

_INITS = ("zeros", "steady")


# ----------------------------------------------------------------------------------------------------------------
# the kernel
# ----------------------------------------------------------------------------------------------------------------
#: Result codes of :func:`_sos_kernel` besides a flat index (>= 0) of the first non-finite input value.
_OK = -1
_STATE_NOT_FINITE = -2


#: Rows ahead of the current pair that the kernel prefetches on large blocks (see :func:`_sos_kernel`).
PREFETCH_ROWS = 8
#: Blocks of at least this many values (rows x channels) are prefetched; smaller ones are already in cache.
PREFETCH_MIN_VALUES = 1 << 16


@jit(fastmath={"contract"})  # fused multiply-adds only: same rounding class as scipy
def _sos_kernel(sos, state, row0, row1, x, y, check_finite):  # pragma: no cover - compiled
    """Run the DF-II-T cascade over the rows of ``x`` into ``y``.

    sos (n_sections, 6) f8; state (2, n_sections, 2, n_pad) f8: ``state[0]`` the filter state (updated),
    ``state[1]`` scratch for a copy of it; row0, row1 (n_pad,) f8 scratch, the working rows;
    x (n_times, n_chans) f4/f8; y (n_times, n_chans) f4/f8. (The working rows are separate arrays, not views of
    one workspace: LLVM then proves the channel loops contiguous and non-overlapping and vectorises them. The two
    halves of ``state`` share one array because every array argument costs ~70 ns of dispatch per call.)

    Each biquad step is scipy's recursion ``v = b0*u + z0; z0 = b1*u - a1*v + z1; z1 = b2*u - a2*v``, with the
    first state update summed as ``(b1*u + z1) - a1*v`` so that it is two fused multiply-adds instead of a
    multiply, a fused multiply-add and an add (five floating-point operations per sample and section instead of
    six; results differ from scipy by rounding only, ~1e-14 relative).

    Rows are taken two at a time: each section's state is loaded once, stepped through both samples in
    registers and stored once (the same recursion in the same order, so the result does not depend on the
    blocking), which saves a third of the memory traffic; an odd last row runs alone. The kernel is compiled
    with the CPU's full vector width (:func:`~eegaffect.kernels._jit.use_full_vector_width`: 8 channels per
    instruction on AVX-512), and on blocks of at least :data:`PREFETCH_MIN_VALUES` values it prefetches the input
    and output rows :data:`PREFETCH_ROWS` ahead: the arithmetic per row is long enough that the hardware
    prefetcher alone leaves the loads and the read-for-ownership of fresh output lines exposed (about 40 % of the
    in-cache rate lost on a one-hour recording).

    Finiteness costs O(n_chans), not O(n_times * n_chans): a nan/inf entering a biquad makes both of its state
    values non-finite (``nan * 0`` is nan, ``inf - inf`` is nan) and they never become finite again, so the input
    was finite iff the first section's state is finite after the block. Returns ``_OK``; else the state is
    restored to its value on entry (``y`` is then undefined) and the result is the flat index of the first
    non-finite value of ``x``, or ``_STATE_NOT_FINITE`` when the input was finite (overflow, or a state already
    non-finite from an unchecked call).
    """
    use_full_vector_width()
    n_times, n_chans = x.shape
    n_sections = sos.shape[0]
    n_pad = state.shape[3]
    z = state[0]
    saved = state[1]
    if check_finite:
        for s in range(n_sections):  # explicit loops: a vectorised copy (``saved[...] = z`` is not)
            for k in range(2):
                src = z[s, k]
                dst = saved[s, k]
                for c in range(n_pad):
                    dst[c] = src[c]
    prefetch_until = n_times - PREFETCH_ROWS - 1 if n_times * n_chans >= PREFETCH_MIN_VALUES else 0
    x_line = max(1, 64 // x.itemsize)  # values per 64-byte cache line
    y_line = max(1, 64 // y.itemsize)
    # the rows' and the state's padded lanes start at zero and stay zero (b * 0 + 0), so they need no reset
    t = 0
    while t + 1 < n_times:
        if t < prefetch_until:
            ahead = t + PREFETCH_ROWS
            for c in range(0, n_chans, x_line):
                prefetch_read(x, ahead, c)
                prefetch_read(x, ahead + 1, c)
            for c in range(0, n_chans, y_line):
                prefetch_write(y, ahead, c)
                prefetch_write(y, ahead + 1, c)
        xa = x[t]
        xb = x[t + 1]
        for c in range(n_chans):
            row0[c] = xa[c]
            row1[c] = xb[c]
        for s in range(n_sections):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            z0 = z[s, 0]
            z1 = z[s, 1]
            for c in range(n_pad):
                u0 = row0[c]
                u1 = row1[c]
                v0 = b0 * u0 + z0[c]
                s0 = b1 * u0 + z1[c] - a1 * v0
                s1 = b2 * u0 - a2 * v0
                v1 = b0 * u1 + s0
                z0[c] = b1 * u1 + s1 - a1 * v1
                z1[c] = b2 * u1 - a2 * v1
                row0[c] = v0
                row1[c] = v1
        ya = y[t]
        yb = y[t + 1]
        for c in range(n_chans):
            ya[c] = row0[c]
            yb[c] = row1[c]
        t += 2
    if t < n_times:
        xa = x[t]
        for c in range(n_chans):
            row0[c] = xa[c]
        for s in range(n_sections):
            b0 = sos[s, 0]
            b1 = sos[s, 1]
            b2 = sos[s, 2]
            a1 = sos[s, 4]
            a2 = sos[s, 5]
            z0 = z[s, 0]
            z1 = z[s, 1]
            for c in range(n_pad):
                u0 = row0[c]
                v0 = b0 * u0 + z0[c]
                z0[c] = b1 * u0 + z1[c] - a1 * v0
                z1[c] = b2 * u0 - a2 * v0
                row0[c] = v0
        ya = y[t]
        for c in range(n_chans):
            ya[c] = row0[c]
    if check_finite:
        first0 = z[0, 0]
        first1 = z[0, 1]
        nonfinite = False
        for c in range(n_chans):  # no early exit, so the loop vectorises
            d = (first0[c] + first1[c]) * 0.0  # 0 when finite, nan when either is nan or inf
            nonfinite |= d != d
        if nonfinite:
            z[...] = saved
            for t in range(n_times):
                for k in range(n_chans):
                    if not np.isfinite(x[t, k]):
                        return t * n_chans + k
            return _STATE_NOT_FINITE
    return _OK


def _quiet_when_interpreted(kernel):
    """Under ``NUMBA_DISABLE_JIT=1`` kernels run as plain Python on NumPy scalars, which warn on ``inf - inf``
    where compiled code computes nan silently (the NaN policy above handles the result); silence that there.
    """
    if not numba.config.DISABLE_JIT:
        return kernel

    def quiet(*args):
        with np.errstate(all="ignore"):
            return kernel(*args)

    return quiet


def _padded(n_chans: int) -> int:
    return -(-n_chans // CHANNEL_PAD) * CHANNEL_PAD


def _aligned_zeros(shape: tuple, align: int = 64) -> np.ndarray:
    """float64 zeros whose first element sits on an ``align``-byte boundary (vector loads/stores of the padded
    channel rows then never straddle a cache line).
    """
    n = int(np.prod(shape))
    raw = np.zeros(n + align // 8)
    start = (-raw.ctypes.data % align) // 8
    return raw[start: start + n].reshape(shape)


# ----------------------------------------------------------------------------------------------------------------
# public stateful filter and offline function
# ----------------------------------------------------------------------------------------------------------------
class SOSFilter:
    """A causal IIR filter (cascade of biquads) with state carried across calls, for live and offline use.

    Feeding a recording chunk by chunk through :meth:`step` gives the same output as one call on the whole
    recording, and as ``scipy.signal.sosfilt`` (float64: to rounding).

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections in scipy's format (``a0 == 1``), e.g. from :func:`design_bandpass` and
        :func:`cascade`.
    n_chans : int
        Number of channels (columns) of every chunk.
    dtype : float32 | float64
        dtype of the output chunks. Input chunks may be float32 or float64 either way; the computation is always
        float64.
    init : {"zeros", "steady"}
        Initial state: rest, or :func:`scipy.signal.sosfilt_zi` scaled per channel by the first sample seen.

    Attributes
    ----------
    sos : ndarray, shape (n_sections, 6)
        The coefficients (float64, read-only).
    n_chans : int
    dtype : numpy.dtype
    init : str
    n_samples_seen : int
        Rows processed since construction or the last :meth:`reset`.

    Examples
    --------
    >>> sos = cascade(design_bandpass(1.0, 50.0, 200.0), design_notch(50.0, 200.0))
    >>> filt = SOSFilter(sos, n_chans=62, init="steady")
    >>> y = filt.step(chunk)  # chunk: (n_times, 62) float32/float64, C-contiguous  # doctest: +SKIP
    """

    def __init__(self, sos: np.ndarray, n_chans: int, dtype=np.float64, init: str = "zeros"):
        self._sos = _validate_sos(sos)
        self._sos.flags.writeable = False
        self.n_chans = check_int(n_chans, "n_chans")
        self.dtype = check_dtype(dtype)
        self.init = check_option(init, "init", _INITS)
        n_sections = self._sos.shape[0]
        n_pad = _padded(self.n_chans)
        self._state = _aligned_zeros((2, n_sections, 2, n_pad))  # the state, and the kernel's copy of it
        self._z = self._state[0]
        self._row0 = _aligned_zeros((n_pad,))
        self._row1 = _aligned_zeros((n_pad,))
        self._kernels = {}  # input dtype -> the kernel compiled for (that dtype in, self.dtype out)
        self._zi_unit = scipy.signal.sosfilt_zi(self._sos)[:, :, None] if self.init == "steady" else None
        self._primed = self.init == "zeros"
        self.n_samples_seen = 0

    @property
    def sos(self) -> np.ndarray:
        """The coefficients, shape (n_sections, 6), float64, read-only."""
        return self._sos

    @property
    def n_sections(self) -> int:
        """Number of second-order sections."""
        return self._sos.shape[0]

    @property
    def state(self) -> np.ndarray:
        """Copy of the filter state, shape (n_sections, 2, n_chans), in the layout of ``sosfilt(..., zi=)`` with
        ``axis=0``. Before a ``"steady"`` filter has seen its first sample this is all zeros.
        """
        return self._z[:, :, : self.n_chans].copy()

    @state.setter
    def state(self, zi: np.ndarray) -> None:
        zi = np.asarray(zi)
        expected = (self.n_sections, 2, self.n_chans)
        if zi.shape != expected:
            raise ValueError(f"expected state of shape {expected} (n_sections, 2, n_chans), got {zi.shape}")
        if not np.isfinite(zi).all():
            raise ValueError("expected a finite state, got non-finite values")
        self._z[:, :, : self.n_chans] = zi
        self._primed = True

    def reset(self) -> "SOSFilter":
        """Return to the initial state (a ``"steady"`` filter re-initialises on the next sample). Returns self."""
        self._z[...] = 0.0
        self._primed = self.init == "zeros"
        self.n_samples_seen = 0
        return self

    def step(self, x: np.ndarray, out: np.ndarray | None = None, check_finite: bool = True) -> np.ndarray:
        """Filter the next chunk, carrying the state.

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            C-contiguous float32 or float64; ``n_times`` may be 0.
        out : ndarray, shape (n_times, n_chans) | None
            C-contiguous array of the filter's ``dtype`` to write into (may be ``x`` itself when dtypes match);
            allocated when None.
        check_finite : bool
            Reject nan/inf with a :class:`ValueError` naming the first bad sample and channel (state unchanged).

        Returns
        -------
        y : ndarray, shape (n_times, n_chans)
            Filtered chunk, dtype ``self.dtype``.
        """
        # fast path: one combined check; the detailed checks only run on a miss, to build an error message
        flags = x.flags if type(x) is np.ndarray else None
        if not (flags is not None and flags.c_contiguous and flags.aligned and x.ndim == 2
                and x.shape[1] == self.n_chans):
            check_block(x, "x", self.n_chans)
        kernel = self._kernels.get(x.dtype)
        if kernel is None:
            kernel = self._kernel_for(x)
        if out is None:
            out = np.empty(x.shape, self.dtype)
        elif not (type(out) is np.ndarray and out.shape == x.shape and out.dtype == self.dtype
                  and out.flags.c_contiguous and out.flags.aligned and out.flags.writeable):
            raise ValueError(f"expected out to be a writeable C-contiguous {self.dtype} array of shape {x.shape}, "
                             f"got {getattr(out, 'dtype', type(out).__name__)} "
                             f"of shape {getattr(out, 'shape', None)}")
        if not self._primed:
            if x.shape[0] == 0:
                return out
            with np.errstate(invalid="ignore", over="ignore"):  # a non-finite x[0] is reported by the kernel
                self._z[:, :, : self.n_chans] = self._zi_unit * x[0].astype(np.float64)
        bad = kernel(self._sos, self._state, self._row0, self._row1, x, out, bool(check_finite))
        if bad != _OK:
            self._raise_rejected(x, bad)
        self._primed = True
        self.n_samples_seen += x.shape[0]
        return out

    def _kernel_for(self, x: np.ndarray):
        """Validate the dtype of ``x`` and return the compiled kernel for it (see :func:`entry_point`: the checks
        in :meth:`step` are what make calling it without numba's dispatch safe).
        """
        check_block(x, "x", self.n_chans)
        example = (self._sos, self._state, self._row0, self._row1, np.empty((0, self.n_chans), x.dtype),
                   np.empty((0, self.n_chans), self.dtype), True)
        kernel = _quiet_when_interpreted(entry_point(_sos_kernel, example))
        self._kernels[x.dtype] = kernel
        return kernel

    def _raise_rejected(self, x: np.ndarray, bad: int) -> None:
        """Raise the error for a kernel result other than ``_OK`` (the kernel has restored the state; a
        ``"steady"`` filter that was priming goes back to waiting for its first sample).
        """
        if not self._primed:
            self._z[...] = 0.0
        if bad == _STATE_NOT_FINITE:
            raise ValueError("expected a finite filter state, got nan/inf after filtering finite input (the "
                             "input overflowed float64, or earlier non-finite input was let through with "
                             "check_finite=False); the state is unchanged: call reset()")
        raise_nonfinite(x, bad, "x", self.n_samples_seen, "filter")

    def __repr__(self) -> str:
        return (f"SOSFilter(n_sections={self.n_sections}, n_chans={self.n_chans}, dtype={self.dtype.name}, "
                f"init={self.init!r}, n_samples_seen={self.n_samples_seen})")


def sosfilt(sos: np.ndarray, x: np.ndarray, init: str = "zeros", check_finite: bool = True) -> np.ndarray:
    """Filter a whole recording with the same kernel as :class:`SOSFilter` (causal, one pass).

    Parameters
    ----------
    sos : ndarray, shape (n_sections, 6)
        Second-order sections (``a0 == 1``).
    x : ndarray, shape (n_times, n_chans)
        C-contiguous float32 or float64.
    init : {"zeros", "steady"}
        Initial state (see :class:`SOSFilter`).
    check_finite : bool
        Reject nan/inf with a :class:`ValueError` naming the first bad sample and channel.

    Returns
    -------
    y : ndarray, shape (n_times, n_chans)
        Filtered data, same dtype as ``x`` (computed in float64). Equals
        ``scipy.signal.sosfilt(sos, x, axis=0)`` (with ``zi=sosfilt_zi(sos)[:, :, None] * x[0]`` for
        ``init="steady"``).
    """
    check_block(x, "x", None)
    filt = SOSFilter(sos, x.shape[1], dtype=x.dtype, init=check_option(init, "init", _INITS))
    return filt.step(x, check_finite=check_finite)


def warmup() -> None:
    """Compile the filtering kernel for float32 and float64 input/output on tiny arrays."""
    sos = design_lowpass(10.0, 100.0, order=2)
    for dt_in in _FLOAT_DTYPES:
        for dt_out in _FLOAT_DTYPES:
            filt = SOSFilter(sos, 2, dtype=dt_out)
            filt.step(np.zeros((2, 2), dt_in))
            filt.step(np.zeros((2, 2), dt_in), check_finite=False)
