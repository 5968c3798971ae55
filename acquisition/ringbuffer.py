"""A preallocated ring buffer of samples with their timestamps, written by one thread and read by another.

The buffer keeps the last ``n_samples`` samples, shape ``(n_samples, n_chans)``, and their float64 timestamps.
It tracks how many samples were written in total and how many the reader has consumed, so a reader that falls
behind is told exactly how many unread samples were overwritten (an *overrun*) instead of silently losing them.
One lock protects the state and is held only while copying.

The copies of numeric samples into and out of the buffer hold the interpreter lock (one small compiled loop,
:func:`_copy_rows`): NumPy releases it while it copies 500 elements or more (a 32-sample chunk of 16+
channels), and in a process where an acquisition worker writes while another thread polls the buffer, each such
release handed the interpreter lock to the poller and the worker waited to get it back (or for the buffer's lock
the poller then held): the write of a 256-channel chunk took 0.04 ms at the median and 0.2 ms at p99 that way
(``docs/latency.md``). A copy of 32 x 256 float32 takes a few microseconds, so nothing is gained by releasing it.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from eegaffect.kernels._jit import jit

__all__ = ["RingBuffer"]


@jit(nogil=False)
def _copy_rows(src, src_ts, src_start, dst, dst_ts, dst_start, n):  # pragma: no cover - compiled
    """Copy ``n`` rows (and timestamps) from row ``src_start`` of ``src`` to row ``dst_start`` of ``dst``, each side's
    row index wrapping at its own length: into the ring (``dst``) or out of it (``src``) with one loop.
    """
    i, j = src_start, dst_start
    for _ in range(n):
        dst_ts[j] = src_ts[i]
        for c in range(src.shape[1]):
            dst[j, c] = src[i, c]
        i += 1
        if i == src.shape[0]:
            i = 0
        j += 1
        if j == dst.shape[0]:
            j = 0


class RingBuffer:
    """Fixed-capacity ring buffer of ``(n_samples, n_chans)`` samples plus timestamps.

    Parameters
    ----------
    n_samples : int
        Capacity in samples (> 0).
    n_chans : int
        Number of channels (> 0).
    dtype : numpy dtype
        Sample dtype (numeric, or ``object`` for string streams).

    Notes
    -----
    ``write`` never blocks on the reader: when the reader is more than ``n_samples`` behind, the oldest unread
    samples are overwritten and counted in :attr:`n_overrun` (exactly, sample by sample).
    """

    def __init__(self, n_samples: int, n_chans: int, dtype=np.float32):
        n_samples, n_chans = int(n_samples), int(n_chans)
        if n_samples <= 0 or n_chans <= 0:
            raise ValueError(f"expected n_samples > 0 and n_chans > 0, got n_samples={n_samples}, "
                             f"n_chans={n_chans}")
        self._data = np.zeros((n_samples, n_chans), dtype=dtype)
        if self._data.dtype == object:
            self._data[:] = ""
        self._ts = np.zeros(n_samples, dtype=np.float64)
        # numeric samples are copied by the compiled loop (compiled or loaded from numba's cache here, not on the
        # first write); object samples, and runs with NUMBA_DISABLE_JIT, by NumPy
        self._compiled = self._data.dtype != object and not numba.config.DISABLE_JIT
        if self._compiled:
            self._take_range(0, 0)
        self._n_written = 0
        self._n_read = 0
        self._n_overrun = 0
        self._lock = threading.Lock()

    # -- properties --------------------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        """Number of samples the buffer holds."""
        return self._data.shape[0]

    @property
    def n_chans(self) -> int:
        """Number of channels."""
        return self._data.shape[1]

    @property
    def dtype(self) -> np.dtype:
        """Sample dtype."""
        return self._data.dtype

    @property
    def n_written(self) -> int:
        """Samples written since creation (or the last :meth:`clear`)."""
        return self._n_written

    @property
    def n_new(self) -> int:
        """Unread samples currently held (at most :attr:`capacity`)."""
        with self._lock:
            return self._n_written - self._n_read

    @property
    def n_overrun(self) -> int:
        """Unread samples overwritten because the reader fell more than :attr:`capacity` behind."""
        return self._n_overrun

    # -- writing -----------------------------------------------------------------------------------------
    def write(self, data: np.ndarray, timestamps: np.ndarray) -> int:
        """Append samples.

        Parameters
        ----------
        data : ndarray, shape (n, n_chans)
            Samples (cast to the buffer's dtype).
        timestamps : ndarray, shape (n,)
            One timestamp per sample.

        Returns
        -------
        n_overrun : int
            Unread samples lost by this write (0 when the reader keeps up).
        """
        data = np.asarray(data)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.n_chans:
            raise ValueError(f"expected data of shape (n, {self.n_chans}), got {data.shape}")
        if timestamps.shape != (data.shape[0],):
            raise ValueError(f"expected {data.shape[0]} timestamps, got shape {timestamps.shape}")
        return self._write(data, timestamps)

    def _write(self, data: np.ndarray, timestamps: np.ndarray) -> int:
        n = data.shape[0]
        if n == 0:
            return 0
        cap = self.capacity
        with self._lock:
            unread = self._n_written - self._n_read
            lost = max(0, unread + n - cap)
            if n > cap:  # only the newest `cap` samples of this write can be kept
                data, timestamps = data[n - cap:], timestamps[n - cap:]
            m = data.shape[0]
            start = (self._n_written + (n - m)) % cap
            if self._compiled and data.dtype == self._data.dtype and data.flags.c_contiguous \
                    and timestamps.flags.c_contiguous:
                _copy_rows(data, timestamps, 0, self._data, self._ts, start, m)
            else:
                first = min(m, cap - start)
                self._data[start:start + first] = data[:first]
                self._ts[start:start + first] = timestamps[:first]
                if first < m:
                    self._data[:m - first] = data[first:]
                    self._ts[:m - first] = timestamps[first:]
            self._n_written += n
            if lost:
                self._n_read = self._n_written - cap
                self._n_overrun += lost
        return lost

    # -- reading -----------------------------------------------------------------------------------------
    def read_new(self, max_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (a copy of) the unread samples, oldest first, and mark them read.

        Parameters
        ----------
        max_samples : int | None
            Return at most this many (the oldest unread ones); ``None`` returns all.

        Returns
        -------
        data : ndarray, shape (n, n_chans)
            The samples.
        timestamps : ndarray, shape (n,)
            Their timestamps.
        """
        with self._lock:
            n = self._n_written - self._n_read
            if max_samples is not None:
                n = min(n, max(0, int(max_samples)))
            data, ts = self._copy_range(self._n_read, n)
            self._n_read += n
        return data, ts

    def get_window(self, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (a copy of) the latest ``n_samples`` samples without marking anything read.

        Parameters
        ----------
        n_samples : int
            Window length; fewer are returned while the buffer holds fewer.

        Returns
        -------
        data : ndarray, shape (n, n_chans)
            The samples, oldest first.
        timestamps : ndarray, shape (n,)
            Their timestamps.
        """
        n_samples = int(n_samples)
        if n_samples < 0 or n_samples > self.capacity:
            raise ValueError(f"expected 0 <= n_samples <= capacity ({self.capacity}), got {n_samples}")
        with self._lock:
            n = min(n_samples, self._n_written)
            return self._copy_range(self._n_written - n, n)

    def _copy_range(self, first: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._compiled:
            return self._take_range(first % self.capacity, n)
        cap = self.capacity
        start = first % cap
        idx_end = start + n
        if idx_end <= cap:
            return self._data[start:idx_end].copy(), self._ts[start:idx_end].copy()
        k = cap - start
        data = np.concatenate([self._data[start:], self._data[:n - k]])
        ts = np.concatenate([self._ts[start:], self._ts[:n - k]])
        return data, ts

    def _take_range(self, start: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        data = np.empty((n, self._data.shape[1]), dtype=self._data.dtype)
        ts = np.empty(n, dtype=np.float64)
        _copy_rows(self._data, self._ts, start, data, ts, 0, n)
        return data, ts

    def clear(self) -> None:
        """Forget every sample and reset the counters."""
        with self._lock:
            self._n_written = self._n_read = self._n_overrun = 0
