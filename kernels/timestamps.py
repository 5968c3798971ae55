"""Timestamp kernels for live acquisition: lost-sample accounting and the dejitter line, in one pass per chunk.

An acquisition worker runs :meth:`TimestampTracker.update` on every chunk it pulls (32 samples every 32 ms at
1 kHz, say), between the moment liblsl hands the samples over and the moment a consumer can read them, so it sits
on the latency path. As a dozen NumPy expressions the same work took ~20 us per chunk with warm caches and
100-200 us in a live worker that wakes once per chunk (each small array operation cold); as one compiled loop
it takes a few microseconds either way.

Lost samples
    Before every sample, how many samples are missing. With a sample-counter column the count is exact: a jump
    of the counter by ``j > 1`` means ``j - 1`` lost samples. Where the counter goes backwards (the device
    restarted it) and for streams without a counter, the timestamps decide: a step larger than ``tolerance``
    seconds counts ``round(step * sfreq) - 1`` lost samples (round half to even, as :func:`numpy.round`).
    The first sample of a stream (or of a segment after :meth:`TimestampTracker.restart`) has none before it.
Dejitter line
    A regular stream's raw timestamps are replaced by ``t_k = b + k / sfreq``, where ``k`` counts samples
    (received and lost) since the segment started, and ``b`` is an exponentially weighted mean of
    ``raw_t_k - k / sfreq``: each chunk's mean residual moves ``b`` by the weight ``1 - 0.5 ** (n / h)`` for a
    chunk of ``n`` samples and a half-life of ``h`` samples; the first chunk of a segment sets ``b``.

Timestamps must be finite and increasing (liblsl's ``proc_monotonize`` guarantees it); the tracker trusts them.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int, check_positive
from ._jit import jit

__all__ = ["TimestampTracker", "warmup"]

# slots of the tracker's state arrays (one float64 and one int64 array: two arguments instead of six)
_PREV_TS, _OFFSET = 0, 1
_PREV_COUNTER, _NEXT_K, _STARTED = 0, 1, 2


@jit(nogil=False)  # a few microseconds: releasing the interpreter lock would hand it to another thread of an
# acquisition worker's process and make the worker wait to get it back (see eegaffect.acquisition.ringbuffer)
def _track_kernel(timestamps, data, counter_col, sfreq, tolerance, dejitter, halflife_samples, state_f, state_i,
                  lost, line):  # pragma: no cover - compiled
    """Fill ``lost`` and (with ``dejitter``) ``line`` for one chunk, update the state; return the number of
    samples with a loss before them. ``counter_col < 0``: no counter column.
    """
    n = timestamps.shape[0]
    if n == 0:
        return 0
    started = state_i[_STARTED] != 0
    previous_t = state_f[_PREV_TS] if started else timestamps[0] - 1.0 / sfreq
    previous_c = np.int64(0)
    if counter_col >= 0:
        previous_c = state_i[_PREV_COUNTER] if started else np.int64(data[0, counter_col]) - 1
    n_lossy = 0
    for i in range(n):
        t = timestamps[i]
        k = np.int64(0)
        by_time = True
        if counter_col >= 0:
            c = np.int64(data[i, counter_col])
            jump = c - previous_c - 1
            previous_c = c
            if jump >= 0:
                k = jump
                by_time = False
        if by_time and t - previous_t > tolerance:
            k = max(np.int64(np.round((t - previous_t) * sfreq)) - 1, 0)
        previous_t = t
        lost[i] = k
        if k > 0:
            n_lossy += 1
    state_f[_PREV_TS] = previous_t
    state_i[_PREV_COUNTER] = previous_c
    state_i[_STARTED] = 1
    if dejitter:
        first_k = state_i[_NEXT_K]
        missing = 0
        residual_sum = 0.0
        for i in range(n):
            missing += lost[i]
            residual_sum += timestamps[i] - (first_k + i + missing) / sfreq
        mean = residual_sum / n
        offset = state_f[_OFFSET]
        if np.isnan(offset):
            offset = mean
        else:
            offset += (1.0 - 0.5 ** (n / halflife_samples)) * (mean - offset)
        missing = 0
        for i in range(n):
            missing += lost[i]
            line[i] = offset + (first_k + i + missing) / sfreq
        state_f[_OFFSET] = offset
        state_i[_NEXT_K] = first_k + n + missing
    return n_lossy


class TimestampTracker:
    """Per-chunk lost-sample counts and (optionally) dejittered timestamps of one regular stream.

    The lost counts do not depend on how the stream is cut into chunks. The dejittered line does, by design: its
    offset moves once per chunk, by a weight that grows with the chunk's length.

    Parameters
    ----------
    sfreq : float
        Nominal rate in Hz.
    tolerance : float
        A timestamp step up to this many seconds is not a gap (e.g. ``1 / sfreq + max(0.5 / sfreq, 0.010)``).
    counter_col : int | None
        Column of the chunks holding a sample counter (values truncated to integers), or None.
    dejitter : bool
        Also compute the dejitter line.
    halflife_samples : float
        Half-life of the dejitter offset, in samples.
    capacity : int
        Largest chunk :meth:`update` accepts (its output arrays are preallocated).

    Attributes
    ----------
    last_timestamp : float
        Raw timestamp of the last sample seen (nan before the first).
    last_counter : int | None
        Counter value of the last sample seen (None without a counter column or before the first sample).
    """

    def __init__(self, sfreq: float, tolerance: float, counter_col: int | None = None, dejitter: bool = True,
                 halflife_samples: float = 10_000.0, capacity: int = 4096):
        self.sfreq = check_positive(sfreq, "sfreq")
        self.tolerance = check_positive(tolerance, "tolerance")
        self.counter_col = -1 if counter_col is None else check_int(counter_col, "counter_col", minimum=0)
        self.dejitter = bool(dejitter)
        self.halflife_samples = check_positive(halflife_samples, "halflife_samples")
        self.capacity = check_int(capacity, "capacity", minimum=1)
        self._state_f = np.array([np.nan, np.nan])
        self._state_i = np.zeros(3, np.int64)
        self._lost = np.zeros(self.capacity, np.int64)
        self._line = np.zeros(self.capacity)
        self._no_counter = np.zeros((self.capacity, 1))

    @property
    def last_timestamp(self) -> float:
        """Timestamp of the last sample seen (NaN before the first sample)."""
        return float(self._state_f[_PREV_TS]) if self._state_i[_STARTED] else float("nan")

    @property
    def last_counter(self) -> int | None:
        """Counter value of the last sample seen (None without a counter column or before the first sample)."""
        if self.counter_col < 0 or not self._state_i[_STARTED]:
            return None
        return int(self._state_i[_PREV_COUNTER])

    def restart(self) -> None:
        """Start a new segment (e.g. after a reconnect): the next sample has no loss before it, the counter and
        the dejitter line start afresh.
        """
        self._state_f[:] = np.nan
        self._state_i[:] = 0

    def update(self, timestamps: np.ndarray, data: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Account for the next chunk.

        Parameters
        ----------
        timestamps : ndarray, shape (n,)
            float64 raw timestamps, increasing, ``n <= capacity``.
        data : ndarray, shape (n, n_chans) | None
            The chunk; needed when there is a counter column.

        Returns
        -------
        lost : ndarray, shape (n,) int64
            Samples missing before each sample (a view, valid until the next call).
        line : ndarray, shape (n,) float64
            Dejittered timestamps (a view, valid until the next call); ``timestamps`` itself without dejitter.
        n_lossy : int
            How many entries of ``lost`` are positive.
        """
        n = timestamps.shape[0]
        if not (timestamps.dtype == np.float64 and timestamps.ndim == 1 and n <= self.capacity):
            raise ValueError(f"expected at most {self.capacity} float64 timestamps of shape (n,), got "
                             f"{timestamps.dtype} of shape {timestamps.shape}")
        if self.counter_col >= 0:
            if data is None or data.ndim != 2 or data.shape[0] != n or data.shape[1] <= self.counter_col:
                raise ValueError(f"expected the chunk's data, shape ({n}, > {self.counter_col}) with the counter "
                                 f"column, got {None if data is None else data.shape}")
        else:
            data = self._no_counter
        lost, line = self._lost[:n], self._line[:n]
        n_lossy = _track_kernel(timestamps, data, self.counter_col, self.sfreq, self.tolerance, self.dejitter,
                                self.halflife_samples, self._state_f, self._state_i, lost, line)
        return lost, (line if self.dejitter else timestamps), n_lossy


def warmup() -> None:
    """Compile the kernel for float32 and float64 chunks with a counter column, and without one."""
    ts = np.arange(4) / 100.0
    for dtype in (np.float32, np.float64):
        TimestampTracker(100.0, 0.015, counter_col=0).update(ts, np.arange(8, dtype=dtype).reshape(4, 2))
    TimestampTracker(100.0, 0.015).update(ts)
