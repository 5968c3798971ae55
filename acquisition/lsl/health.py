"""Health and gap accounting of one stream: plain logic, no LSL, so that it can be tested without streams.

:func:`gap_limit` is the one rule that decides what is a gap: a step between consecutive timestamps larger than
``1 / sfreq + max(0.5 / sfreq, jitter_tolerance_s)``. :class:`~eegaffect.acquisition.lsl.Stream` hands it to the
compiled :class:`~eegaffect.kernels.timestamps.TimestampTracker`, and the live session splits its chunks at the
same steps.

:class:`HealthMonitor` keeps a stream's counters and its event queue: the acquisition worker reports what it saw
(samples received, lost samples per position, a reconnect, a stall, an overrun) and the monitor counts them,
records :class:`GapRecord` entries, queues :class:`StreamEvent` entries and logs them (overruns at most every 5 s).
Consumers read :meth:`HealthMonitor.snapshot` (a :class:`StreamHealth`) from another thread: the counters are
plain integers written by one thread only. The counters:

- ``n_received``: samples pulled from LSL;
- ``n_lost``: samples missing from the stream. Exact when the stream has a sample-counter channel
  (``index_channel``); otherwise estimated from the raw timestamps: a step between consecutive samples larger
  than :func:`gap_limit` counts ``round(step * sfreq) - 1`` lost samples;
- ``n_overrun``: samples overwritten in the ring buffer before :meth:`Stream.read_new` returned them;
- ``n_reconnects``: the outlet went away and came back with the same source_id; liblsl reconnects the inlet by
  itself (``recover=True``) and the gap is reported in samples and seconds;
- ``n_stalls``: no data for ``stall_timeout_s`` while a regular stream was expected to deliver.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["StreamEvent", "GapRecord", "StreamHealth", "HealthMonitor", "gap_limit", "counted_exactly"]

logger = logging.getLogger("eegaffect.acquisition.lsl")

#: Seconds between two log lines about overruns (a stalled consumer overruns on every chunk).
_OVERRUN_LOG_INTERVAL_S = 5.0


def gap_limit(sfreq: float, jitter_tolerance_s: float) -> float:
    """The largest step between consecutive timestamps of a regular stream that is not a gap.

    ``1 / sfreq + max(0.5 / sfreq, jitter_tolerance_s)``: half a period more than one period, or the jitter
    tolerance when that is larger. A larger step counts ``round(step * sfreq) - 1`` lost samples.

    Parameters
    ----------
    sfreq : float
        Nominal rate in Hz (> 0).
    jitter_tolerance_s : float
        Timestamp jitter that is not a gap, in seconds (>= 0).

    Returns
    -------
    limit : float
        Seconds.
    """
    if not sfreq > 0:
        raise ValueError(f"expected a nominal rate sfreq > 0 Hz, got {sfreq}")
    if not jitter_tolerance_s >= 0:
        raise ValueError(f"expected jitter_tolerance_s >= 0 seconds, got {jitter_tolerance_s}")
    return 1.0 / sfreq + max(0.5 / sfreq, float(jitter_tolerance_s))


@dataclass(frozen=True)
class StreamEvent:
    """One health event.

    Attributes
    ----------
    kind : str
        ``"loss"``, ``"reconnect"``, ``"overrun"``, ``"stall"``, ``"resume"`` or ``"error"``.
    time : float
        :func:`pylsl.local_clock` when the worker noticed it.
    n_samples : int
        Samples concerned (lost, overwritten); 0 when not applicable.
    seconds : float
        Duration of the gap or stall in seconds; 0 when not applicable.
    timestamp : float
        Stream time (raw LSL timestamp) where it happened; NaN when unknown.
    exact : bool
        Whether ``n_samples`` was counted exactly (sample-counter channel) rather than estimated from timestamps.
    message : str
        Human-readable description.
    """

    kind: str
    time: float
    n_samples: int = 0
    seconds: float = 0.0
    timestamp: float = float("nan")
    exact: bool = False
    message: str = ""


@dataclass(frozen=True)
class GapRecord:
    """A gap in a stream: ``n_samples`` missing (``seconds`` long) just before stream time ``timestamp``."""

    timestamp: float
    n_samples: int
    seconds: float
    reconnect: bool


@dataclass(frozen=True)
class StreamHealth:
    """A snapshot of a :class:`Stream`'s health counters (their meaning: this module's docstring)."""

    n_received: int
    n_lost: int
    n_overrun: int
    n_reconnects: int
    n_stalls: int
    n_gaps: int
    last_timestamp: float
    worker_cpu_s: float
    worker_wall_s: float

    @property
    def cpu_share(self) -> float:
        """Acquisition worker CPU time over its wall time (fraction of one core)."""
        return self.worker_cpu_s / self.worker_wall_s if self.worker_wall_s > 0 else 0.0



class HealthMonitor:
    """Counters, gap records and the event queue of one stream.

    Parameters
    ----------
    name, source_id : str
        The stream's identity, for messages.
    sfreq : float
        Nominal rate in Hz (0 for irregular streams, which have no gaps).
    clock : callable
        Returns the current time in seconds; events are stamped with it (:func:`pylsl.local_clock` for a
        :class:`~eegaffect.acquisition.lsl.Stream`).
    max_events : int
        Events kept until :meth:`get_events` drains them (the oldest go first).

    Attributes
    ----------
    n_received, n_lost, n_reconnects, n_stalls : int
        See :class:`StreamHealth`.
    last_timestamp : float
        Raw timestamp of the last sample received (NaN before the first).
    """

    def __init__(self, name: str = "", source_id: str = "", sfreq: float = 0.0, *, clock: Callable[[], float],
                 max_events: int = 10_000):
        if sfreq < 0:
            raise ValueError(f"expected sfreq >= 0 Hz (0: irregular), got {sfreq}")
        self.name, self.source_id, self.sfreq = name, source_id, float(sfreq)
        self._clock = clock
        self._events: collections.deque[StreamEvent] = collections.deque(maxlen=int(max_events))
        self._gaps: list[GapRecord] = []
        self.n_received = 0
        self.n_lost = 0
        self.n_reconnects = 0
        self.n_stalls = 0
        self.last_timestamp = float("nan")
        self._last_overrun_log = -float("inf")

    # -- what the worker reports ---------------------------------------------------------------------------
    def received(self, n: int, last_timestamp: float) -> None:
        """``n`` samples arrived, the last stamped ``last_timestamp`` (raw LSL time)."""
        self.n_received += int(n)
        self.last_timestamp = float(last_timestamp)

    def losses(self, timestamps: np.ndarray, lost: np.ndarray, exact: np.ndarray | bool = False) -> int:
        """Record the samples lost before each sample of a chunk.

        Parameters
        ----------
        timestamps : ndarray, shape (n_times,)
            The chunk's raw timestamps.
        lost : ndarray of int, shape (n_times,)
            Samples lost just before each sample (0: none), as
            :meth:`~eegaffect.kernels.timestamps.TimestampTracker.update` returns them.
        exact : bool | ndarray of bool, shape (n_times,)
            Whether each count came from a sample counter rather than from the timestamps.

        Returns
        -------
        n_lost : int
            Samples lost in this chunk.
        """
        if not self.sfreq > 0:
            raise ValueError("an irregular stream (sfreq 0) has no lost samples to count")
        exact = np.broadcast_to(np.asarray(exact, dtype=bool), np.shape(lost))
        total = 0
        for pos in np.flatnonzero(lost):
            k = int(lost[pos])
            total += k
            self.n_lost += k
            self._record_gap(float(timestamps[pos]), k, k / self.sfreq, False, bool(exact[pos]))
        return total

    def reconnect(self, first_timestamp: float) -> GapRecord:
        """The outlet came back and its first sample is stamped ``first_timestamp``: count and record the gap
        since the last sample received (from timestamps only, a sample counter restarts with the outlet).

        Returns
        -------
        gap : GapRecord
            The recorded gap (``reconnect=True``).
        """
        if not self.sfreq > 0:
            raise ValueError("an irregular stream (sfreq 0) has no gaps to count")
        step = float(first_timestamp) - self.last_timestamp
        n_gap = max(int(round(step * self.sfreq)) - 1, 0) if np.isfinite(step) else 0
        self.n_reconnects += 1
        self.n_lost += n_gap
        return self._record_gap(float(first_timestamp), n_gap, max(step - 1.0 / self.sfreq, 0.0)
                                if np.isfinite(step) else 0.0, True, False)

    def stall(self, seconds: float) -> None:
        """No data came for ``seconds`` while a regular stream was expected to deliver."""
        self.n_stalls += 1
        self.emit("stall", seconds=seconds, message=f"no data for {seconds:.1f} s (outlet gone or paused)")

    def resume(self, seconds: float) -> None:
        """Data flow again after a stall of ``seconds``."""
        self.emit("resume", seconds=seconds, message=f"data flow again after {seconds:.1f} s")

    def overrun(self, n_samples: int, timestamp: float) -> None:
        """``n_samples`` unread samples were overwritten in the ring buffer (the consumer is too slow)."""
        self.emit("overrun", n_samples=int(n_samples), timestamp=float(timestamp), exact=True,
                  message=f"consumer too slow: {n_samples} unread samples overwritten in the ring buffer")

    def error(self, message: str) -> None:
        """The worker hit an error it keeps running through."""
        self.emit("error", message=message)

    def emit(self, kind: str, **fields) -> StreamEvent:
        """Queue and log one event (overruns are logged at most every 5 s, and always queued)."""
        event = StreamEvent(kind=kind, time=float(self._clock()), **fields)
        self._events.append(event)
        if kind == "overrun":
            if event.time - self._last_overrun_log < _OVERRUN_LOG_INTERVAL_S:
                return event
            self._last_overrun_log = event.time
        level = logging.INFO if kind == "resume" else logging.WARNING
        logger.log(level, "stream %r: %s", self.name, event.message or kind)
        return event

    # -- what consumers read -------------------------------------------------------------------------------
    @property
    def gaps(self) -> list[GapRecord]:
        """Every gap recorded so far (losses and reconnects), oldest first (a copy)."""
        return list(self._gaps)

    @property
    def n_gaps(self) -> int:
        """Number of gaps recorded so far."""
        return len(self._gaps)

    def get_events(self) -> list[StreamEvent]:
        """Drain and return the queued events, oldest first."""
        out = []
        while True:
            try:
                out.append(self._events.popleft())
            except IndexError:
                return out

    def snapshot(self, n_overrun: int = 0, worker_cpu_s: float = 0.0, worker_wall_s: float = 0.0) -> StreamHealth:
        """The counters now, with the ring buffer's overrun count and the worker's times."""
        return StreamHealth(n_received=self.n_received, n_lost=self.n_lost, n_overrun=int(n_overrun),
                            n_reconnects=self.n_reconnects, n_stalls=self.n_stalls, n_gaps=len(self._gaps),
                            last_timestamp=self.last_timestamp, worker_cpu_s=float(worker_cpu_s),
                            worker_wall_s=float(worker_wall_s))

    def _record_gap(self, timestamp: float, n_samples: int, seconds: float, reconnect: bool,
                    exact: bool) -> GapRecord:
        gap = GapRecord(timestamp, n_samples, seconds, reconnect)
        self._gaps.append(gap)
        if reconnect:
            self.emit("reconnect", n_samples=n_samples, seconds=seconds, timestamp=timestamp, exact=exact,
                      message=f"outlet {self.source_id!r} came back after a gap of {seconds:.3f} s "
                              f"({n_samples} samples)")
        else:
            self.emit("loss", n_samples=n_samples, seconds=seconds, timestamp=timestamp, exact=exact,
                      message=f"{n_samples} samples lost ({seconds:.3f} s) before t={timestamp:.4f}"
                              f"{' (counted from the sample counter)' if exact else ' (from timestamps)'}")
        return gap


def counted_exactly(data: np.ndarray, lost: np.ndarray, index: int | None, prev_counter: int | None) -> np.ndarray:
    """Which loss counts of a chunk came from its sample-counter column rather than from its timestamps.

    A counter that went forwards counts exactly; where it went backwards (the device restarted it) the tracker fell
    back on the timestamps.

    Parameters
    ----------
    data : ndarray, shape (n_times, n_chans)
        The chunk.
    lost : ndarray of int, shape (n_times,)
        Samples lost before each sample.
    index : int | None
        Counter column (None: no counter, nothing is exact).
    prev_counter : int | None
        Counter of the sample before the chunk (None at a stream's start).

    Returns
    -------
    exact : ndarray of bool, shape (n_times,)
        True where ``lost`` was counted from the counter.
    """
    exact = np.zeros(len(lost), dtype=bool)
    if index is None:
        return exact
    for pos in np.flatnonzero(lost):
        before = prev_counter if pos == 0 else int(data[pos - 1, index])
        exact[pos] = before is None or int(data[pos, index]) - before - 1 >= 0
    return exact
