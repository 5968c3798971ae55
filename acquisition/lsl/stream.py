"""Read one LSL stream through a background acquisition worker into a ring buffer.

:class:`Stream` opens an inlet on one stream and runs one worker thread that pulls chunks into a preallocated
array (waiting with a timeout, never spinning) and copies them into a
:class:`~eegaffect.acquisition.ringbuffer.RingBuffer` under one lock. Its counters and events are kept by a
:class:`~eegaffect.acquisition.lsl.health.HealthMonitor`.

Timestamps
----------
Inlets are opened with liblsl's ``proc_clocksync | proc_monotonize | proc_threadsafe`` post-processing, so raw
timestamps are already mapped to this machine's :func:`pylsl.local_clock` and never go backwards. Dejittering is
done here rather than by liblsl (``proc_dejitter``), because liblsl's dejitter smears a gap over hundreds of
samples and would hide lost data: with ``dejitter=True`` (default) a regular stream's timestamps are replaced by the
line ``t_k = b + k / sfreq`` where ``k`` counts samples (received and lost) since the stream (re)started and ``b``
is an exponentially weighted mean of ``raw_t_k - k / sfreq`` (half-life ``dejitter_halflife_s``). Gaps and
reconnects are detected on the raw timestamps before dejittering, with the rule of
:func:`~eegaffect.acquisition.lsl.health.gap_limit`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Sequence

import numpy as np
import pylsl
from eegaffect.acquisition.lsl._binding import NUMPY_DTYPES, ChunkPuller, local_clock, open_inlet, was_clock_reset
from eegaffect.acquisition.lsl.discovery import (
    StreamDescription,
    _find_index_channel,
    _restarted_uid,
    _validate_channels,
    _validate_description,
    read_channel_info,
    resolve_streams,
)
from eegaffect.acquisition.lsl.errors import StreamMismatchError, StreamNotFoundError
from eegaffect.acquisition.lsl.health import (
    GapRecord,
    HealthMonitor,
    StreamEvent,
    StreamHealth,
    counted_exactly,
    gap_limit,
)
from eegaffect.acquisition.realtime import realtime_scope, set_realtime
from eegaffect.acquisition.ringbuffer import RingBuffer
from eegaffect.kernels.timestamps import TimestampTracker

__all__ = ["Stream"]

logger = logging.getLogger("eegaffect.acquisition.lsl")


class Stream:
    """One LSL stream read by a background worker into a ring buffer.

    Parameters
    ----------
    name, type, source_id : str | None
        Which stream (at least one; all given must match; exactly one stream must match).
    bufsize : float
        Ring buffer length in seconds (irregular streams: ``100 * bufsize`` samples).
    timeout : float
        Seconds to wait when resolving and opening the stream.
    n_chans : int | None
        Expected channel count (validated on connect).
    ch_names : sequence of str | None
        Expected channel names, e.g. a montage (compared case-insensitively, in order; an index channel is
        ignored).
    sfreq : float | None
        Expected nominal rate in Hz (validated to ``sfreq_tolerance``).
    require_regular : bool
        Refuse streams without a nominal rate.
    index_channel : str | int | None
        Sample-counter channel used to count losses exactly: a channel name, an index, ``"auto"`` (use
        :data:`INDEX_CHANNEL_NAME` when present) or ``None``.
    dejitter : bool
        Replace raw timestamps of regular streams by the dejittered line (see module docstring). The line
        assumes the stream delivers at its nominal rate: turn it off for replays faster than real time, and
        for recordings (which keep raw timestamps plus clock offsets).
    dejitter_halflife_s : float
        Half-life of the dejitter offset estimate.
    jitter_tolerance_s : float
        Timestamp steps up to ``1 / sfreq + max(0.5 / sfreq, jitter_tolerance_s)`` are not gaps.
    stall_timeout_s : float
        A regular stream silent for this long is reported as stalled.
    max_chunk : int | None
        Most samples pulled per call (default: 1/10 of the buffer, at least 64).
    poll_timeout_s : float
        How long one pull waits for data before the worker checks whether it should stop.
    sfreq_tolerance : float
        Relative tolerance of the nominal-rate check.
    reresolve_after_s : float | None
        After this many seconds without data from a regular stream, look for a stream of the same name and type
        under another source_id (a device, bridge or simulator restarted without a fixed source_id gets a new one,
        and liblsl only recovers a stream that keeps its source_id) and switch to it when it has the same channels,
        rate and format; the new source's identity is logged and the gap counted as a reconnect whose lost samples
        are unknown (:attr:`StreamHealth.unknown_loss_s <eegaffect.acquisition.lsl.StreamHealth>`). None (default):
        stay with the stream that was connected.
    log_events : bool
        Log losses, reconnects and stalls as warnings; False keeps them at debug level (they are still counted
        and queued), for a second inlet on a stream another one already reports on, so each is logged once.
    realtime : bool
        Run the acquisition worker and liblsl's receiver threads of the inlet in ``SCHED_FIFO`` where the OS
        allows it (:mod:`eegaffect.acquisition.realtime`), for a consumer whose latency counts (normal priority
        where not permitted). Give every stream of a process the same setting: the threads share the
        interpreter lock.

    Notes
    -----
    Use as a context manager or call :meth:`connect` / :meth:`disconnect`. :meth:`read_new` returns the samples
    that arrived since the previous call with their timestamps (clock-synchronised to :func:`pylsl.local_clock`,
    monotonic, dejittered when ``dejitter``); :meth:`get_window` the latest window without consuming it.
    """

    def __init__(self, name: str | None = None, type: str | None = None, source_id: str | None = None, *,
                 bufsize: float = 10.0, timeout: float = 5.0, n_chans: int | None = None,
                 ch_names: Sequence[str] | None = None, sfreq: float | None = None, require_regular: bool = False,
                 index_channel: str | int | None = "auto", dejitter: bool = True,
                 dejitter_halflife_s: float = 10.0, jitter_tolerance_s: float = 0.010,
                 stall_timeout_s: float = 2.0, max_chunk: int | None = None, poll_timeout_s: float = 0.1,
                 sfreq_tolerance: float = 1e-6, reresolve_after_s: float | None = None, log_events: bool = True,
                 realtime: bool = False):
        if name is None and type is None and source_id is None:
            raise ValueError("give at least one of name, type or source_id to choose a stream")
        for label, value in (("bufsize", bufsize), ("timeout", timeout), ("dejitter_halflife_s",
                             dejitter_halflife_s), ("stall_timeout_s", stall_timeout_s),
                             ("poll_timeout_s", poll_timeout_s)):
            if not value > 0:
                raise ValueError(f"{label} must be > 0, got {value}")
        if jitter_tolerance_s < 0:
            raise ValueError(f"jitter_tolerance_s must be >= 0, got {jitter_tolerance_s}")
        if reresolve_after_s is not None and not reresolve_after_s > 0:
            raise ValueError(f"reresolve_after_s must be > 0 seconds or None, got {reresolve_after_s}")
        if max_chunk is not None and int(max_chunk) < 1:
            raise ValueError(f"max_chunk must be >= 1, got {max_chunk}")
        self._query = {"name": name, "type": type, "source_id": source_id}
        self._bufsize = float(bufsize)
        self._timeout = float(timeout)
        self._expect = {"n_chans": n_chans, "ch_names": None if ch_names is None else list(ch_names),
                        "sfreq": sfreq, "require_regular": bool(require_regular)}
        self._index_request = index_channel
        self._dejitter = bool(dejitter)
        self._halflife = float(dejitter_halflife_s)
        self._jitter_tol = float(jitter_tolerance_s)
        self._stall_timeout = float(stall_timeout_s)
        self._max_chunk_request = max_chunk
        self._poll_timeout = float(poll_timeout_s)
        self._sfreq_tol = float(sfreq_tolerance)
        self._log_events = bool(log_events)
        self._realtime = bool(realtime)
        self._reresolve = None if reresolve_after_s is None else float(reresolve_after_s)
        self._switched: tuple[str, str] | None = None  # (old, new) source until the new one's first sample
        self._refused: set[str] = set()  # uids of same-named streams already found unfit (said once)
        self._inlet: pylsl.StreamInlet | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._new_data = threading.Condition()
        self._monitor = HealthMonitor(clock=pylsl.local_clock)  # replaced by the stream's own on connect
        self._clock_offsets: list[tuple[float, float]] = []
        self._written_at = float("nan")
        self._description: StreamDescription | None = None
        self._buffer: RingBuffer | None = None
        self._tracker: TimestampTracker | None = None  # regular streams: lost samples and the dejitter line
        self._reset_counters()

    # -- lifecycle ---------------------------------------------------------------------------------------
    def connect(self) -> "Stream":
        """Resolve the stream, open the inlet, validate it and start the acquisition worker.

        Returns
        -------
        self : Stream
            Connected.

        Raises
        ------
        StreamNotFoundError
            When no stream matches (visible streams are listed).
        StreamMismatchError
            When the stream does not match the expected channels / rate / regularity.
        """
        if self.connected:
            return self
        found = resolve_streams(**self._query, timeout=self._timeout)
        if len(found) > 1:
            listing = "\n".join(f"  - {d.summary()}" for d in found)
            raise StreamMismatchError(f"expected exactly one stream matching {self._query_text()}, found "
                                      f"{len(found)}:\n{listing}\ngive source_id to choose one")
        self._open(found[0])
        return self

    def disconnect(self) -> None:
        """Stop the worker and close the inlet (the ring buffer and counters stay readable)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 10 * self._poll_timeout))
            self._thread = None
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            finally:
                self._inlet = None

    def __enter__(self) -> "Stream":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.disconnect()

    def __del__(self):
        try:
            self._stop.set()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        if self._description is None:
            return f"<Stream {self._query_text()} (not connected)>"
        state = "connected" if self.connected else "disconnected"
        return f"<Stream {self._description.summary()} {state}>"

    # -- metadata ----------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether the acquisition worker is running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def description(self) -> StreamDescription:
        """The resolved stream's description."""
        self._check_opened()
        return self._description

    @property
    def name(self) -> str:
        """Stream name as advertised by the outlet."""
        return self.description.name

    @property
    def type(self) -> str:
        """Stream content type (``EEG``, ``Markers`` ...) as advertised by the outlet."""
        return self.description.type

    @property
    def source_id(self) -> str:
        """Source id of the outlet (empty when the outlet set none)."""
        return self.description.source_id

    @property
    def sfreq(self) -> float:
        """Nominal rate in Hz (0 for irregular streams)."""
        return self.description.sfreq

    @property
    def n_chans(self) -> int:
        """Number of channels per sample."""
        return self.description.n_chans

    @property
    def dtype(self) -> np.dtype:
        """Sample dtype (``object`` holding ``str`` for string streams)."""
        return np.dtype(NUMPY_DTYPES[self.description.channel_format])

    @property
    def ch_names(self) -> list[str]:
        """Channel names (a copy; the stream must be open)."""
        self._check_opened()
        return list(self._ch_names)

    @property
    def ch_types(self) -> list[str]:
        """Channel types (a copy; the stream must be open)."""
        self._check_opened()
        return list(self._ch_types)

    @property
    def ch_units(self) -> list[str]:
        """Channel units (a copy; the stream must be open)."""
        self._check_opened()
        return list(self._ch_units)

    @property
    def index_channel(self) -> int | None:
        """Position of the sample-counter channel, or None."""
        return self._index

    @property
    def buffer_size(self) -> int:
        """Ring buffer capacity in samples."""
        self._check_opened()
        return self._buffer.capacity

    # -- data --------------------------------------------------------------------------------------------
    def read_new(self, max_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Samples that arrived since the previous call, oldest first.

        Parameters
        ----------
        max_samples : int | None
            Return at most this many (the oldest unread); ``None`` returns all.

        Returns
        -------
        data : ndarray, shape (n_times, n_chans)
            The samples in the stream's dtype (copies).
        timestamps : ndarray, shape (n_times,)
            LSL timestamps in this machine's :func:`pylsl.local_clock` domain: clock-synchronised, monotonic,
            and dejittered for regular streams when ``dejitter=True``.
        """
        self._check_opened()
        return self._buffer.read_new(max_samples)

    def get_window(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """The latest ``seconds`` of data (does not mark anything read).

        Parameters
        ----------
        seconds : float
            Window length; for irregular streams, the samples whose timestamps fall within it.

        Returns
        -------
        data : ndarray, shape (n_times, n_chans)
            At most ``round(seconds * sfreq)`` samples (fewer while the buffer fills).
        timestamps : ndarray, shape (n_times,)
            Their timestamps.
        """
        self._check_opened()
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, got {seconds}")
        if self.sfreq > 0:
            n = int(round(seconds * self.sfreq))
            if n > self._buffer.capacity:
                raise ValueError(f"a {seconds:g} s window needs {n} samples, more than the ring buffer holds "
                                 f"({self._buffer.capacity} samples = {self._bufsize:g} s); raise bufsize")
            return self._buffer.get_window(n)
        data, ts = self._buffer.get_window(self._buffer.capacity)
        keep = ts >= (ts[-1] - seconds) if len(ts) else np.zeros(0, bool)
        return data[keep], ts[keep]

    @property
    def written_at(self) -> float:
        """:func:`pylsl.local_clock` when the acquisition worker last wrote samples to the ring buffer (NaN before
        any): with the newest sample's timestamp it splits a consumer's latency into the transport up to the
        buffer and the consumer's own wake-up.
        """
        return self._written_at

    @property
    def n_new_samples(self) -> int:
        """Samples waiting for :meth:`read_new`."""
        self._check_opened()
        return self._buffer.n_new

    def wait(self, timeout: float | None = None, n_samples: int = 1) -> bool:
        """Block until at least ``n_samples`` unread samples are available (or ``timeout`` passes).

        Returns
        -------
        ready : bool
            Whether the samples are there.
        """
        self._check_opened()
        with self._new_data:
            return self._new_data.wait_for(lambda: self._buffer.n_new >= n_samples, timeout=timeout)

    def skip_start_burst(self, max_wait_s: float = 1.0, settle_s: float = 0.1) -> bool:
        """Drop what a freshly connected stream holds, so that the first sample read after it comes from a new
        push.

        liblsl starts a new inlet's data flow a few hundred milliseconds after it connects and then delivers
        every sample pushed since, in one burst, at a moment unrelated to the outlet's pushes: the newest sample
        of that burst is anywhere up to one chunk period old (40+ ms with the simulated headset), which a
        consumer that measures latency from the newest sample would report. This waits up to ``max_wait_s`` for
        the flow to start, lets the burst finish (``settle_s``), and drops everything unread. A silent outlet
        only delays the return by ``max_wait_s``. (A recorder wants those samples: it does not call this.)

        Parameters
        ----------
        max_wait_s : float
            Longest wait for data (0: just drop what is there).
        settle_s : float
            Pause after the first data arrived, for the rest of the burst.

        Returns
        -------
        flowing : bool
            Whether data arrived within ``max_wait_s``.
        """
        self._check_opened()
        self.read_new()
        flowing = max_wait_s > 0 and self.wait(timeout=max_wait_s, n_samples=1)
        if flowing:
            time.sleep(settle_s)
        self.read_new()
        return bool(flowing)

    # -- health ------------------------------------------------------------------------------------------
    @property
    def health(self) -> StreamHealth:
        """A snapshot of the health counters."""
        overrun = self._buffer.n_overrun if self._buffer is not None else 0
        wall = (self._worker_wall_end or time.perf_counter()) - self._worker_wall0 if self._worker_wall0 else 0.0
        return self._monitor.snapshot(overrun, self._worker_cpu, wall)

    def get_events(self) -> list[StreamEvent]:
        """Drain and return the queued health events, oldest first (the queue keeps the last 10000)."""
        return self._monitor.get_events()

    @property
    def gaps(self) -> list[GapRecord]:
        """Every gap detected so far (losses and reconnects), oldest first."""
        return self._monitor.gaps

    @property
    def clock_offsets(self) -> list[tuple[float, float]]:
        """``(local_clock, offset)`` pairs: liblsl's clock correction, sampled every 5 s by the worker."""
        return list(self._clock_offsets)

    # -- internals: opening and validation ---------------------------------------------------------------
    def _query_text(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._query.items() if v is not None)

    def _check_opened(self) -> None:
        if self._description is None:
            raise RuntimeError(f"stream {self._query_text()} is not connected; call connect() first "
                               "(or use it as a context manager)")

    def _reset_counters(self) -> None:
        self._worker_cpu = 0.0
        self._worker_wall0 = 0.0
        self._worker_wall_end = 0.0

    def _open(self, desc: StreamDescription) -> None:
        _validate_description(desc, self._expect, self._sfreq_tol)
        inlet = open_inlet(desc._info, max_buflen=max(1, int(np.ceil(self._bufsize)), 30))
        try:
            full = inlet.info(timeout=self._timeout)
        except Exception as exc:
            raise StreamNotFoundError(f"could not open stream {desc.summary()}: {exc}") from None
        names, types, units = read_channel_info(full)
        index = _find_index_channel(self._index_request, names)
        _validate_channels(desc, names, index, self._expect)
        # everything the worker needs is made before the data connection opens (the ring buffer's compiled copies
        # load from numba's cache here, ~0.4 s in a new process): from then on the outlet sends and the worker pulls
        dtype = NUMPY_DTYPES[desc.channel_format]
        capacity = int(round(self._bufsize * desc.sfreq)) if desc.sfreq > 0 else int(round(100 * self._bufsize))
        capacity = max(capacity, 1)
        buffer = RingBuffer(capacity, desc.n_chans, dtype)
        max_chunk = int(min(self._max_chunk_request or max(64, capacity // 10), capacity))
        puller = None if dtype is object else ChunkPuller(inlet, max_chunk, self._poll_timeout)
        tracker = None
        if desc.sfreq > 0:
            tracker = TimestampTracker(
                desc.sfreq, gap_limit(desc.sfreq, self._jitter_tol), counter_col=index,
                dejitter=self._dejitter, halflife_samples=self._halflife * desc.sfreq, capacity=max_chunk)
        try:
            with realtime_scope(self._realtime, inherit=True):  # liblsl's receiver threads start here
                inlet.open_stream(timeout=self._timeout)
        except Exception as exc:
            raise StreamNotFoundError(f"could not open stream {desc.summary()}: {exc}") from None
        self._description = desc
        self._ch_names, self._ch_types, self._ch_units = names, types, units
        self._index = index
        self._buffer, self._max_chunk, self._puller, self._tracker = buffer, max_chunk, puller, tracker
        self._inlet = inlet
        self._uid = desc.uid
        inlet.was_clock_reset()  # clear the flag; from now on it signals a reconnect
        self._reset_counters()
        self._monitor = HealthMonitor(desc.name, desc.source_id, desc.sfreq, clock=pylsl.local_clock,
                                      log_events=self._log_events)
        self._clock_offsets.clear()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"eegaffect-lsl-{desc.name}", daemon=True)
        self._thread.start()

    # -- internals: the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        inlet, puller, regular = self._inlet, self._puller, self._description.sfreq > 0
        if self._realtime:
            set_realtime()
        cpu0 = time.thread_time()
        self._worker_wall0 = time.perf_counter()
        self._worker_wall_end = 0.0
        last_data = time.perf_counter()
        stalled = False
        next_offset = 0.0
        next_search = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if puller is not None:
                        n = puller.pull()
                        data, ts = puller.data[:n], puller.timestamps[:n]
                    else:  # string streams: pylsl decodes them
                        data, ts = inlet.pull_chunk(timeout=self._poll_timeout, max_samples=self._max_chunk,
                                                    min_samples=1, as_numpy=True)
                except Exception as exc:  # LostError only happens without recovery; keep reporting
                    # (a TimeoutError is liblsl's clock synchronisation: it waited 5 s in the pull for the offset of
                    # a source that left before it was estimated, and the next pull of its samples would too; the
                    # checks below still run, so that the silence is seen and another source looked for)
                    self._monitor.error(f"pull failed: {exc}")
                    self._stop.wait(self._poll_timeout)
                    data = ts = ()
                now = time.perf_counter()
                if len(ts):
                    resumed = stalled
                    if stalled:
                        stalled = False
                        self._monitor.resume(now - last_data)
                    last_data = now
                    self._ingest(data, ts, resumed)
                elif regular and not stalled and now - last_data > self._stall_timeout:
                    stalled = True
                    self._monitor.stall(now - last_data)
                if (not len(ts) and regular and self._reresolve is not None and now - last_data > self._reresolve
                        and now >= next_search):
                    next_search = now + self._reresolve
                    if self._switch_source(now - last_data):
                        inlet, puller = self._inlet, self._puller
                if now >= next_offset:
                    next_offset = now + 5.0
                    self._sample_clock_offset()
                self._worker_cpu = time.thread_time() - cpu0
        finally:
            self._worker_cpu = time.thread_time() - cpu0
            self._worker_wall_end = time.perf_counter()

    def _sample_clock_offset(self) -> None:
        try:
            offset = self._inlet.time_correction(timeout=0.0 if self._clock_offsets else 1.0)
        except Exception:  # no estimate yet (timeout) or the outlet is gone; try again later
            return
        self._clock_offsets.append((pylsl.local_clock(), float(offset)))

    def _ingest(self, data: np.ndarray, ts: np.ndarray, resumed: bool = False) -> None:
        n = len(ts)
        if data.dtype == object:
            data = np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(data)
        out_ts = ts = np.asarray(ts, dtype=np.float64)
        monitor = self._monitor
        if self._tracker is not None and self._switched is not None:
            # the first sample of the source switched to: an unknown loss, then a new segment
            monitor.source_changed(float(ts[0]), *self._switched)
            self._switched = None
            self._inlet.was_clock_reset()
            self._tracker.restart()
            out_ts = self._account_gaps(data, ts)
        elif self._tracker is not None:
            # liblsl flags a recovered connection through was_clock_reset(), but its own clock-sync
            # post-processing may consume that flag first; after a silence, ask the network whether the
            # outlet behind our source_id is a new one (a restart keeps source_id but gets a new uid).
            reconnect = was_clock_reset(self._inlet)
            if not reconnect and monitor.n_received and (resumed or ts[0] - monitor.last_timestamp > 0.25):
                reconnect = self._outlet_restarted()
            if reconnect and monitor.n_received:
                # the new outlet's first sample starts this chunk: the gap since the old outlet's last sample
                # ends a segment (the dejitter line and a sample counter restart with the outlet)
                monitor.reconnect(float(ts[0]))
                self._tracker.restart()
            out_ts = self._account_gaps(data, ts)
        monitor.received(n, float(ts[-1]))
        with self._new_data:
            overrun = self._buffer._write(data, out_ts)
            self._written_at = local_clock()
            self._new_data.notify_all()
        if overrun:
            monitor.overrun(overrun, float(ts[0]))

    def _switch_source(self, silent_s: float) -> bool:
        """Look for the stream under another source (same name, type, channels, rate and format) and switch the
        inlet to it; True when switched. Runs in the worker, while the current source is silent.
        """
        desc = self._description
        try:
            found = resolve_streams(name=desc.name, type=desc.type or None, timeout=min(1.0, self._reresolve))
        except StreamNotFoundError:
            return False
        others = [d for d in found if d.uid != self._uid and d.uid not in self._refused
                  and not (desc.source_id and d.source_id == desc.source_id)]  # same source_id: liblsl recovers
        fit = [d for d in others if (d.n_chans, d.sfreq, d.channel_format) == (desc.n_chans, desc.sfreq,
                                                                                desc.channel_format)]
        for d in others:
            if d not in fit:
                self._refused.add(d.uid)
                logger.warning("stream %r: %s is visible while %s is silent, but differs (%d ch, %g Hz, %s instead "
                               "of %d ch, %g Hz, %s): not switching to it", desc.name, _identity(d), _identity(desc),
                               d.n_chans, d.sfreq, d.channel_format, desc.n_chans, desc.sfreq, desc.channel_format)
        if len(fit) != 1:
            if len(fit) > 1:
                logger.warning("stream %r: %d other sources fit (%s); not choosing one", desc.name, len(fit),
                               ", ".join(_identity(d) for d in fit))
            return False
        new = fit[0]
        try:
            inlet = open_inlet(new._info, max_buflen=max(1, int(np.ceil(self._bufsize)), 30))
            inlet.open_stream(timeout=1.0)
            names = read_channel_info(inlet.info(timeout=1.0))[0]
        except Exception as exc:  # gone again, or not answering: try later
            logger.info("stream %r: could not open %s (%s); will look again", desc.name, _identity(new), exc)
            return False
        if names != self._ch_names:
            inlet.close_stream()
            self._refused.add(new.uid)
            logger.warning("stream %r: %s has other channels (%s...) than %s; not switching to it", desc.name,
                           _identity(new), names[:3], _identity(desc))
            return False
        old, self._inlet = self._inlet, inlet
        self._puller = None if self._puller is None else ChunkPuller(inlet, self._max_chunk, self._poll_timeout)
        self._switched = (_identity(desc), _identity(new))
        self._description, self._uid = new, new.uid
        self._monitor.source_id = new.source_id
        try:
            old.close_stream()
        except Exception:  # pragma: no cover - the old outlet is gone anyway
            pass
        logger.warning("stream %r: no data for %.1f s from %s; switching to %s", desc.name, silent_s,
                       _identity(desc), _identity(new))
        return True

    def _outlet_restarted(self) -> bool:
        uid = _restarted_uid(self._description, self._uid)
        if uid is not None:
            self._uid = uid
        return uid is not None

    def _account_gaps(self, data: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Count and report the samples lost before each sample of a chunk (one compiled pass, see
        :class:`~eegaffect.kernels.timestamps.TimestampTracker`); return the chunk's timestamps, dejittered
        when asked.
        """
        prev_counter = self._tracker.last_counter if self._index is not None else None
        lost, out_ts, n_lossy = self._tracker.update(ts, data)
        if n_lossy:
            self._monitor.losses(ts, lost, counted_exactly(data, lost, self._index, prev_counter))
        return out_ts


def _identity(desc: StreamDescription) -> str:
    """``source_id 'X' (host H, uid U)``: how a source is named in messages."""
    return f"source_id {desc.source_id!r} (host {desc.hostname!r}, uid {desc.uid!r})"
