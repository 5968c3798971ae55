"""Exponential moving standardisation, streaming, equal to braindecode's ``exponential_moving_standardize``.

For each channel, with ``alpha = factor_new`` and sample index ``t`` counted from the start of the stream::

    m_t = sum_i (1 - alpha)^i x_{t-i} / sum_i (1 - alpha)^i               (exponential moving mean)
    v_t = sum_i (1 - alpha)^i (x_{t-i} - m_{t-i})^2 / sum_i (1 - alpha)^i   (exponential moving variance)
    y_t = (x_t - m_t) / max(sqrt(v_t), eps)

computed with the recursions ``N_t = x_t + (1 - alpha) N_{t-1}``, ``D_t = 1 + (1 - alpha) D_{t-1}``,
``m_t = N_t / D_t`` (and likewise for the variance), which are exactly what braindecode evaluates with
``scipy.signal.lfilter``. Layout here is ``(n_times, n_chans)``; braindecode's is ``(n_chans, n_times)``.

Initial block (``init_block_size``): braindecode replaces the first ``init_block_size`` outputs by a plain
standardisation with the mean and (population) standard deviation of those samples. That needs samples from the
"future" of the block, so the streaming object handles it causally by **buffering**: while fewer than
``init_block_size`` samples have arrived, ``step`` returns no rows (shape ``(0, n_chans)``); the call that
completes the block returns the whole standardised block followed by the rest of its chunk, and every later call
returns one row per input row. Output is therefore delayed by up to ``init_block_size`` samples at the start of
a stream, and never afterwards. :meth:`ExponentialMovingStandardizer.flush` emits a still-incomplete block
standardised with the samples seen so far (what braindecode does on a recording shorter than the block).

NaN policy: inputs must be finite; NaN or inf is rejected with a ``ValueError`` before any state changes (a
NaN would otherwise stay in the moving mean forever). Outputs are float64.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_chunk, check_int
from ._jit import jit

__all__ = ["ExponentialMovingStandardizer", "exponential_moving_standardize", "warmup"]


@jit
def _ems_kernel(x, inv_alpha, eps, num, num_sq, den, out):  # pragma: no cover - compiled
    """Run the moving mean/variance recursions over ``x`` (n_times, n_chans); returns the new denominator."""
    n_times, n_chans = x.shape
    for t in range(n_times):
        den = 1.0 + inv_alpha * den
        row = out[t]
        for c in range(n_chans):
            xi = np.float64(x[t, c])
            num[c] = xi + inv_alpha * num[c]
            demeaned = xi - num[c] / den
            num_sq[c] = demeaned * demeaned + inv_alpha * num_sq[c]
            row[c] = demeaned / max(eps, np.sqrt(num_sq[c] / den))
    return den


def _block_standardize(block: np.ndarray, eps: float) -> np.ndarray:
    """Standardise ``block`` (n_times, n_chans) with its own mean and population std (braindecode's init block)."""
    mean = block.mean(axis=0, keepdims=True)
    std = block.std(axis=0, keepdims=True)
    return (block - mean) / np.maximum(eps, std)


def _check_factor_new(factor_new) -> float:
    if isinstance(factor_new, bool) or not isinstance(factor_new, numbers.Real) or not 0 < factor_new <= 1:
        raise ValueError(f"factor_new must be a number in (0, 1], got {factor_new!r}")
    return float(factor_new)


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    return float(eps)


class ExponentialMovingStandardizer:
    """Streaming exponential moving standardisation (braindecode's ``exponential_moving_standardize``).

    Parameters
    ----------
    n_chans : int
        Number of channels.
    factor_new : float
        Weight of the newest sample in the moving mean and variance, in ``(0, 1]``.
    init_block_size : int | None
        Number of first samples standardised with their own plain mean and std (buffered; see the module
        docstring), or ``None`` for none.
    eps : float
        Lower bound of the standard deviation used as divisor.
    """

    def __init__(self, n_chans, factor_new=1e-3, init_block_size=None, eps=1e-4):
        self.n_chans = check_int(n_chans, "n_chans")
        self.factor_new = _check_factor_new(factor_new)
        self.init_block_size = None if init_block_size is None else check_int(init_block_size, "init_block_size")
        self.eps = _check_eps(eps)
        self.reset()

    def reset(self) -> "ExponentialMovingStandardizer":
        """Start a new stream (forget moving statistics and any buffered block); returns ``self``."""
        self._num = np.zeros(self.n_chans)
        self._num_sq = np.zeros(self.n_chans)
        self._den = 0.0
        self._pending = []  # raw chunks of the incomplete initial block
        self._n_pending = 0
        self._block_done = self.init_block_size is None
        return self

    @property
    def n_pending(self) -> int:
        """Samples received but not yet returned (only while the initial block is incomplete)."""
        return self._n_pending

    def step(self, x) -> np.ndarray:
        """Standardise the next chunk.

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            Float32 or float64 samples, finite.

        Returns
        -------
        y : ndarray, shape (n_out, n_chans)
            Float64 standardised samples; ``n_out == n_times`` once the initial block is complete (see the module
            docstring for the rows held back before that).
        """
        x = check_chunk(x, self.n_chans, np.float64)
        moving = np.empty_like(x)
        if x.shape[0]:
            self._den = float(_ems_kernel(x, 1.0 - self.factor_new, self.eps, self._num, self._num_sq, self._den,
                                          moving))
        if self._block_done:
            return moving
        need = self.init_block_size - self._n_pending
        if x.shape[0] < need:
            self._pending.append(x.copy())
            self._n_pending += x.shape[0]
            return np.empty((0, self.n_chans))
        block = np.concatenate([*self._pending, x[:need]])
        self._pending, self._n_pending, self._block_done = [], 0, True
        return np.concatenate([_block_standardize(block, self.eps), moving[need:]])

    def flush(self) -> np.ndarray:
        """Return the still-buffered start of the stream, standardised with its own mean and std.

        Returns
        -------
        y : ndarray, shape (n_pending, n_chans)
            Empty once the initial block has been emitted. Later samples continue the same stream.
        """
        if self._block_done or not self._n_pending:
            return np.empty((0, self.n_chans))
        block = np.concatenate(self._pending)
        self._pending, self._n_pending = [], 0
        # the block is now incomplete for good: later samples are standardised by the moving statistics
        self._block_done = True
        return _block_standardize(block, self.eps)


def exponential_moving_standardize(x, factor_new=1e-3, init_block_size=None, eps=1e-4) -> np.ndarray:
    """Exponential moving standardisation of a whole recording (the streaming object run in one call).

    Parameters
    ----------
    x : ndarray, shape (n_times, n_chans)
        Float32 or float64 samples, finite.
    factor_new : float
        Weight of the newest sample, in ``(0, 1]``.
    init_block_size : int | None
        Number of first samples standardised with their own mean and std.
    eps : float
        Lower bound of the standard deviation.

    Returns
    -------
    y : ndarray, shape (n_times, n_chans)
        Float64; equals ``braindecode.preprocessing.exponential_moving_standardize(x.T, ...).T``.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n_times, n_chans), got shape {x.shape}")
    ems = ExponentialMovingStandardizer(x.shape[1], factor_new=factor_new, init_block_size=init_block_size, eps=eps)
    y = ems.step(x)
    # a recording shorter than the initial block is standardised as one block, like braindecode
    return y if y.shape[0] == x.shape[0] else ems.flush()


def warmup() -> None:
    """Compile the standardisation kernel on a tiny input."""
    ExponentialMovingStandardizer(2, factor_new=0.1).step(np.zeros((4, 2)))
