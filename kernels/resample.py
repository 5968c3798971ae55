"""Streaming rational resampling (polyphase FIR), matching :func:`scipy.signal.resample_poly`.

The rate change ``sfreq_out / sfreq_in`` is reduced to ``up / down`` (e.g. 1000 -> 200 Hz is 1/5, 256 -> 200 Hz is
25/32). The anti-aliasing filter is scipy's default for ``resample_poly``: a ``firwin`` low-pass of
``2 * half_len + 1`` taps, ``half_len = 10 * max(up, down)``, cut-off ``1 / max(up, down)`` of Nyquist, Kaiser
window (beta 5), gain ``up``. It is applied in polyphase form: each output sample is ``ceil(n_taps / up)``
multiply-adds per channel over the most recent input rows, with the channel loop innermost (SIMD).

Delay and edges
    scipy's filter is centred (zero phase), so each of its outputs uses ``half_len / up`` input samples from the
    future. The streaming resampler is causal: it emits the same samples ``delay_samples = ceil(half_len / down)``
    output samples later. Writing ``y_stream`` for everything :meth:`StreamingResampler.step` returned after
    ``n`` input samples (always ``ceil(n * up / down)`` rows) and ``y_ref = resample_poly(x, up, down, axis=0)``::

        y_stream[delay_samples + i] == y_ref[i]     (to rounding)

    for every ``i`` whose scipy output does not reach beyond the samples seen so far, i.e. all but the last
    ``delay_samples`` of ``y_ref``: output ``k`` of the stream estimates the signal at time
    ``(k - delay_samples) / sfreq_out`` after the first input sample. The state starts at zero, like scipy's
    zero padding, so the left edge matches too; the first ``delay_samples`` stream outputs are the filter's
    run-in (scipy's outputs at negative times, which it drops). The offline :func:`resample` runs the same kernel,
    flushes it with zeros (scipy's right-edge padding) and drops the run-in, so it equals ``resample_poly``
    everywhere, edges included.
Numerics
    Taps and accumulation are float64 whatever the input dtype; output is the resampler's ``dtype``.
NaN / inf policy
    Non-finite input is rejected with a :class:`ValueError` naming the first bad sample and channel; the state is
    unchanged. ``check_finite=False`` skips the check (non-finite values then spread over ``n_taps / up`` inputs'
    worth of output).
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np
import scipy.signal
from eegaffect.kernels._checks import (
    _FLOAT_DTYPES,
    check_block,
    check_dtype,
    check_int,
    check_positive,
    raise_nonfinite,
)
from eegaffect.kernels._jit import jit
from eegaffect.kernels.filtering import _aligned_zeros, _padded, _quiet_when_interpreted

__all__ = ["StreamingResampler", "resample", "rational_ratio", "design_resample_filter", "warmup"]

#: Largest ``up`` or ``down`` accepted (the filter has ``20 * max(up, down) + 1`` taps).
MAX_FACTOR = 1000


def rational_ratio(sfreq_in: float, sfreq_out: float) -> tuple[int, int]:
    """Reduce ``sfreq_out / sfreq_in`` to ``(up, down)`` with no common factor.

    Parameters
    ----------
    sfreq_in, sfreq_out : float
        Input and output sampling frequencies in Hz.

    Returns
    -------
    up, down : int
        ``sfreq_out / sfreq_in == up / down`` (to 1e-9 relative), both ``<= MAX_FACTOR``.
    """
    sfreq_in = check_positive(sfreq_in, "sfreq_in")
    sfreq_out = check_positive(sfreq_out, "sfreq_out")
    return _ratio(sfreq_in, sfreq_out)


def design_resample_filter(up: int, down: int) -> np.ndarray:
    """The anti-aliasing FIR of ``scipy.signal.resample_poly(x, up, down)`` (default Kaiser window), gain ``up``.

    Parameters
    ----------
    up, down : int
        Reduced rate-change factors.

    Returns
    -------
    h : ndarray, shape (20 * max(up, down) + 1,)
        Filter taps at the up-sampled rate (``[1.0]`` when ``up == down == 1``).
    """
    for name, value in (("up", up), ("down", down)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= MAX_FACTOR:
            raise ValueError(f"expected {name} to be an integer in [1, {MAX_FACTOR}], got {value!r}")
    if math.gcd(int(up), int(down)) != 1:
        raise ValueError(f"expected up and down without a common factor, got up={up}, down={down}")
    return _design(int(up), int(down))


def _ratio(sfreq_in: float, sfreq_out: float) -> tuple[int, int]:
    frac = (Fraction(sfreq_out).limit_denominator(10**6) / Fraction(sfreq_in).limit_denominator(10**6))
    frac = frac.limit_denominator(MAX_FACTOR)
    up, down = frac.numerator, frac.denominator
    if up > MAX_FACTOR or abs(sfreq_in * up / down - sfreq_out) > 1e-9 * sfreq_out:
        raise ValueError(f"expected sfreq_out / sfreq_in to be a ratio up/down of integers <= {MAX_FACTOR}, got "
                         f"{sfreq_out:g} / {sfreq_in:g} (closest: {up}/{down})")
    return up, down


def _design(up: int, down: int) -> np.ndarray:
    if up == down == 1:
        return np.ones(1)
    max_rate = max(up, down)
    half_len = 10 * max_rate
    h = scipy.signal.firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    return h * up


@jit
def _resample_kernel(taps, down, ring, counters, x, y, buf, check_finite):  # pragma: no cover - compiled
    """Polyphase resampling of the rows of ``x`` into ``y``; return -1, or the flat index of the first non-finite
    value of ``x`` (then nothing was changed).

    taps (up, n_phase_taps) f8: taps[r, m] multiplies the input m rows back for an output at phase r;
    ring (n_phase_taps, n_pad) f8: the most recent input rows; counters int64[2]: ring row of the newest input,
    and the phase (in up-sampled samples after the next input) of the next output; y must have exactly as many
    rows as outputs are due; buf (1, n_pad) f8 scratch.
    """
    n_times, n_chans = x.shape
    up, n_taps = taps.shape
    n_pad = ring.shape[1]
    acc = buf[0]
    if check_finite:
        for c in range(n_pad):
            acc[c] = 0.0
        for t in range(n_times):
            xr = x[t]
            for c in range(n_chans):
                acc[c] += np.float64(xr[c]) * 0.0
        for c in range(n_chans):
            if acc[c] != 0.0:
                for t in range(n_times):
                    for k in range(n_chans):
                        if not np.isfinite(x[t, k]):
                            return t * n_chans + k
    pos = counters[0]
    phase = counters[1]
    out = 0
    for t in range(n_times):
        pos += 1
        if pos == n_taps:
            pos = 0
        newest = ring[pos]
        xr = x[t]
        for c in range(n_chans):
            newest[c] = xr[c]
        while phase < up:
            for c in range(n_pad):
                acc[c] = 0.0
            row = pos
            for m in range(n_taps):
                tap = taps[phase, m]
                hist = ring[row]
                for c in range(n_pad):
                    acc[c] += tap * hist[c]
                row -= 1
                if row < 0:
                    row = n_taps - 1
            yr = y[out]
            for c in range(n_chans):
                yr[c] = acc[c]
            out += 1
            phase += down
        phase -= up
    counters[0] = pos
    counters[1] = phase
    return -1


_resample_kernel_call = _quiet_when_interpreted(_resample_kernel)


class StreamingResampler:
    """Causal rational resampler with carried state: ``step(chunk)`` returns every output sample now due.

    Parameters
    ----------
    sfreq_in : float
        Input sampling frequency in Hz.
    sfreq_out : float
        Output sampling frequency in Hz; ``sfreq_out / sfreq_in`` must reduce to ``up / down`` with both
        ``<= MAX_FACTOR`` (e.g. 1000 -> 200, 500 -> 250, 256 -> 200 = 25/32).
    n_chans : int
        Number of channels (columns) of every chunk.
    dtype : float32 | float64
        dtype of the output chunks (input may be either; computation is float64).

    Attributes
    ----------
    up, down : int
        Reduced rate-change factors.
    delay_samples : int
        Causal delay in output samples relative to ``scipy.signal.resample_poly`` / :func:`resample`
        (``ceil(10 * max(up, down) / down)``; 0 when the rates are equal). See the module notes.
    n_taps : int
        Length of the anti-aliasing FIR at the up-sampled rate.
    n_samples_in, n_samples_out : int
        Samples consumed and produced since construction or :meth:`reset`; always
        ``n_samples_out == ceil(n_samples_in * up / down)``.
    """

    def __init__(self, sfreq_in: float, sfreq_out: float, n_chans: int, dtype=np.float64):
        self.sfreq_in = check_positive(sfreq_in, "sfreq_in")
        self.sfreq_out = check_positive(sfreq_out, "sfreq_out")
        self.n_chans = check_int(n_chans, "n_chans")
        self.dtype = check_dtype(dtype)
        self.up, self.down = _ratio(self.sfreq_in, self.sfreq_out)
        h = _design(self.up, self.down)
        self.n_taps = h.size
        half_len = (h.size - 1) // 2
        self.delay_samples = -(-half_len // self.down)
        # causal filter: scipy's centred filter preceded by zeros so the centre lands on an output sample
        g = np.concatenate([np.zeros(self.delay_samples * self.down - half_len), h])
        n_phase_taps = -(-g.size // self.up)
        g = np.concatenate([g, np.zeros(n_phase_taps * self.up - g.size)])
        self._taps = np.ascontiguousarray(g.reshape(n_phase_taps, self.up).T)  # taps[r, m] = g[r + m * up]
        n_pad = _padded(self.n_chans)
        self._ring = _aligned_zeros((n_phase_taps, n_pad))
        self._buf = _aligned_zeros((1, n_pad))
        self._counters = np.zeros(2, dtype=np.int64)
        self.n_samples_in = 0
        self.n_samples_out = 0

    def n_out_for(self, n_times: int) -> int:
        """Number of output rows the next ``step`` on ``n_times`` input rows will return."""
        total = self.n_samples_in + int(n_times)
        return -(-total * self.up // self.down) - self.n_samples_out

    def reset(self) -> "StreamingResampler":
        """Return to the zero initial state. Returns self."""
        self._ring[...] = 0.0
        self._counters[:] = 0
        self.n_samples_in = 0
        self.n_samples_out = 0
        return self

    def step(self, x: np.ndarray, check_finite: bool = True) -> np.ndarray:
        """Consume the next input chunk and return the output samples now due.

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            C-contiguous float32 or float64; ``n_times`` may be 0.
        check_finite : bool
            Reject nan/inf with a :class:`ValueError` naming the first bad sample and channel (state unchanged).

        Returns
        -------
        y : ndarray, shape (n_out, n_chans)
            ``n_out = ceil((n_in_total + n_times) * up / down) - n_out_total`` rows of dtype ``self.dtype``.
        """
        if not (type(x) is np.ndarray and x.ndim == 2 and x.shape[1] == self.n_chans
                and x.dtype in _FLOAT_DTYPES and x.flags.c_contiguous):
            check_block(x, "x", self.n_chans)
        n_times = x.shape[0]
        n_out = self.n_out_for(n_times)
        out = np.empty((n_out, self.n_chans), self.dtype)
        if n_times == 0:
            return out
        bad = _resample_kernel_call(self._taps, self.down, self._ring, self._counters, x, out, self._buf,
                               bool(check_finite))
        if bad >= 0:
            raise_nonfinite(x, bad, "x", self.n_samples_in, "resampler")
        self.n_samples_in += n_times
        self.n_samples_out += n_out
        return out

    def __repr__(self) -> str:
        return (f"StreamingResampler({self.sfreq_in:g} -> {self.sfreq_out:g} Hz, up={self.up}, down={self.down}, "
                f"n_chans={self.n_chans}, delay_samples={self.delay_samples})")


def resample(x: np.ndarray, sfreq_in: float, sfreq_out: float, check_finite: bool = True) -> np.ndarray:
    """Resample a whole recording; equals ``scipy.signal.resample_poly(x, up, down, axis=0)`` to rounding.

    Runs the :class:`StreamingResampler` kernel over ``x``, flushes it with zeros (scipy's zero padding at the
    end) and drops its first ``delay_samples`` outputs (the run-in), so edges match scipy too.

    Parameters
    ----------
    x : ndarray, shape (n_times, n_chans)
        C-contiguous float32 or float64.
    sfreq_in, sfreq_out : float
        Input and output sampling frequencies in Hz.
    check_finite : bool
        Reject nan/inf with a :class:`ValueError` naming the first bad sample and channel.

    Returns
    -------
    y : ndarray, shape (ceil(n_times * up / down), n_chans)
        Resampled data, same dtype as ``x``.
    """
    check_block(x, "x", None)
    rs = StreamingResampler(sfreq_in, sfreq_out, x.shape[1], dtype=np.float64)
    n_times = x.shape[0]
    n_out = -(-n_times * rs.up // rs.down)
    if n_times == 0:
        return np.empty((0, x.shape[1]), x.dtype)
    head = rs.step(x, check_finite=check_finite)
    # the fewest zeros after which all of scipy's n_out outputs (delayed by delay_samples) have been emitted
    needed = rs.delay_samples + n_out
    n_flush = max(0, (needed - 1) * rs.down // rs.up + 1 - n_times)
    tail = rs.step(np.zeros((n_flush, x.shape[1])), check_finite=False)
    y = np.concatenate([head, tail])[rs.delay_samples: needed]
    return y.astype(x.dtype, copy=False)


def warmup() -> None:
    """Compile the resampling kernel for float32 and float64 input/output on tiny arrays."""
    for dt_in in (np.float32, np.float64):
        for dt_out in (np.float32, np.float64):
            rs = StreamingResampler(2.0, 1.0, 2, dtype=dt_out)
            rs.step(np.zeros((3, 2), dt_in))
            rs.step(np.zeros((3, 2), dt_in), check_finite=False)
