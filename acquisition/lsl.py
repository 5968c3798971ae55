"""Streams in: find LSL streams and read one through a background acquisition worker.

:func:`resolve_streams` finds streams by name, type and/or source_id and, when nothing matches, says which
streams *are* visible. :class:`Stream` opens an inlet on one stream and runs one worker thread that pulls chunks
into a preallocated array (waiting with a timeout, never spinning) and copies them into a
:class:`~eegaffect.acquisition.ringbuffer.RingBuffer` under one lock.

Timestamps
----------
Inlets are opened with liblsl's ``proc_clocksync | proc_monotonize | proc_threadsafe`` post-processing, so raw
timestamps are already mapped to this machine's :func:`pylsl.local_clock` and never go backwards. Dejittering is
done here rather than by liblsl (``proc_dejitter``), because liblsl's dejitter smears a gap over hundreds of
samples and would hide lost data: with ``dejitter=True`` (default) a regular stream's timestamps are replaced by the
line ``t_k = b + k / sfreq`` where ``k`` counts samples (received and lost) since the stream (re)started and ``b``
is an exponentially weighted mean of ``raw_t_k - k / sfreq`` (half-life ``dejitter_halflife_s``). Gaps and
reconnects are detected on the raw timestamps before dejittering.

Health
------
Every :class:`Stream` keeps counters (:class:`StreamHealth`) and an event queue (:class:`StreamEvent`):

- ``n_received``: samples pulled from LSL;
- ``n_lost``: samples missing from the stream. Exact when the stream has a sample-counter channel
  (``index_channel``); otherwise estimated from the raw timestamps: a step between consecutive samples larger
  than ``1 / sfreq + max(0.5 / sfreq, jitter_tolerance_s)`` counts ``round(step * sfreq) - 1`` lost samples;
- ``n_overrun``: samples overwritten in the ring buffer before :meth:`Stream.read_new` returned them;
- ``n_reconnects``: the outlet went away and came back with the same source_id; liblsl reconnects the inlet by
  itself (``recover=True``) and the gap is reported in samples and seconds;
- ``n_stalls``: no data for ``stall_timeout_s`` while a regular stream was expected to deliver.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
import time
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pylsl

from eegaffect.acquisition.ringbuffer import RingBuffer
from eegaffect.kernels.timestamps import TimestampTracker

logger = logging.getLogger("eegaffect.acquisition.lsl")

__all__ = [
    "ChunkPuller",
    "StreamDescription",
    "StreamNotFoundError",
    "StreamMismatchError",
    "MetadataWarning",
    "StreamEvent",
    "StreamHealth",
    "GapRecord",
    "list_streams",
    "resolve_streams",
    "read_channel_info",
    "fill_channel_info",
    "Stream",
    "INDEX_CHANNEL_NAME",
]

#: Name of the sample-counter channel that players and the simulated headset add on request; a stream carrying
#: a channel of this name has its losses counted exactly (``index_channel="auto"``).
INDEX_CHANNEL_NAME = "sample_index"

_FORMAT_NAMES = {
    pylsl.cf_float32: "float32",
    pylsl.cf_double64: "float64",
    pylsl.cf_int8: "int8",
    pylsl.cf_int16: "int16",
    pylsl.cf_int32: "int32",
    pylsl.cf_int64: "int64",
    pylsl.cf_string: "string",
}
_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64, "int8": np.int8, "int16": np.int16,
                 "int32": np.int32, "int64": np.int64, "string": object}
_PROCESSING = pylsl.proc_clocksync | pylsl.proc_monotonize | pylsl.proc_threadsafe


class StreamNotFoundError(LookupError):
    """No visible LSL stream matches the request; the message lists the streams that are visible."""


class StreamMismatchError(ValueError):
    """A stream does not match what the caller expects (channels, rate, regularity); the message names both."""


class MetadataWarning(UserWarning):
    """A stream lacks channel metadata; documented defaults are used instead."""


@dataclass(frozen=True)
class StreamDescription:
    """What the resolver knows about one visible stream (no channel metadata: that needs an inlet).

    Attributes
    ----------
    name, type, source_id, hostname, uid : str
        LSL identity of the stream.
    n_chans : int
        Channel count.
    sfreq : float
        Nominal rate in Hz (0 for irregular streams).
    channel_format : str
        ``"float32"``, ``"float64"``, ``"int8"`` ... ``"int64"`` or ``"string"``.
    """

    name: str
    type: str
    n_chans: int
    sfreq: float
    source_id: str
    channel_format: str
    hostname: str = ""
    uid: str = ""
    _info: object = field(default=None, repr=False, compare=False)

    @classmethod
    def from_info(cls, info: pylsl.StreamInfo) -> "StreamDescription":
        """Describe a :class:`pylsl.StreamInfo` (keeping it, so an inlet can be opened from it)."""
        return cls(name=info.name(), type=info.type(), n_chans=info.channel_count(),
                   sfreq=float(info.nominal_srate()), source_id=info.source_id(),
                   channel_format=_FORMAT_NAMES.get(info.channel_format(), "unknown"),
                   hostname=info.hostname(), uid=info.uid(), _info=info)

    @property
    def is_regular(self) -> bool:
        """Whether the stream declares a nominal sampling rate."""
        return self.sfreq > 0

    def summary(self) -> str:
        """One line: ``name (type, N ch, R Hz, format, source_id=...)``."""
        rate = f"{self.sfreq:g} Hz" if self.is_regular else "irregular"
        return (f"{self.name!r} (type {self.type!r}, {self.n_chans} ch, {rate}, {self.channel_format}, "
                f"source_id={self.source_id!r})")


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
    """A snapshot of a :class:`Stream`'s health counters (see the module docstring for their meaning)."""

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


# ---------------------------------------------------------------------------------------------------------------
# resolving
# ---------------------------------------------------------------------------------------------------------------
def list_streams(timeout: float = 1.0) -> list[StreamDescription]:
    """Every stream visible within ``timeout`` seconds.

    Parameters
    ----------
    timeout : float
        Seconds to wait for answers (liblsl recommends at least 0.5).

    Returns
    -------
    streams : list of StreamDescription
        Sorted by name, then source_id.
    """
    if timeout <= 0:
        raise ValueError(f"expected timeout > 0 seconds, got {timeout}")
    found = [StreamDescription.from_info(i) for i in pylsl.resolve_streams(wait_time=float(timeout))]
    return sorted(found, key=lambda d: (d.name, d.source_id, d.uid))


def resolve_streams(name: str | None = None, type: str | None = None, source_id: str | None = None,
                    timeout: float = 5.0, minimum: int = 1) -> list[StreamDescription]:
    """Find the streams matching every given property.

    Parameters
    ----------
    name, type, source_id : str | None
        Properties to match exactly (``None`` matches anything).
    timeout : float
        Seconds to wait for at least ``minimum`` matches.
    minimum : int
        Number of matches to wait for.

    Returns
    -------
    streams : list of StreamDescription
        The matches (at least one).

    Raises
    ------
    StreamNotFoundError
        Nothing matched; the message lists the visible streams (name, type, channels, rate, source_id).
    """
    query = {"name": name, "type": type, "source_id": source_id}
    for key, value in query.items():
        if value is not None and (not isinstance(value, str) or "'" in value):
            raise ValueError(f"{key} must be a string without single quotes, got {value!r}")
    if timeout <= 0 or minimum < 1:
        raise ValueError(f"expected timeout > 0 and minimum >= 1, got timeout={timeout}, minimum={minimum}")
    return _resolve(query, float(timeout), int(minimum))


def _resolve(query: dict, timeout: float, minimum: int) -> list[StreamDescription]:
    parts = [f"{k}='{v}'" for k, v in query.items() if v is not None]
    if parts:
        infos = pylsl.resolve_bypred(" and ".join(parts), minimum=minimum, timeout=timeout)
    else:
        infos = pylsl.resolve_streams(wait_time=timeout)
    found = [StreamDescription.from_info(i) for i in infos]
    if found:
        return sorted(found, key=lambda d: (d.name, d.source_id, d.uid))
    visible = list_streams(timeout=min(1.0, timeout))
    wanted = ", ".join(f"{k}={v!r}" for k, v in query.items() if v is not None) or "any stream"
    listing = "\n".join(f"  - {d.summary()}" for d in visible) or "  (none)"
    raise StreamNotFoundError(f"no LSL stream with {wanted} found within {timeout:g} s; visible streams:\n"
                              f"{listing}")


# ---------------------------------------------------------------------------------------------------------------
# channel metadata
# ---------------------------------------------------------------------------------------------------------------
def read_channel_info(info: pylsl.StreamInfo, warn: bool = True) -> tuple[list[str], list[str], list[str]]:
    """Channel names, types and units from a full stream description (``desc/channels/channel``).

    Missing entries fall back to documented defaults, with a :class:`MetadataWarning`: names ``"ch1"`` ...
    ``"chN"``, types the stream type in lower case (``"eeg"``; ``"misc"`` when the stream has no type), units
    ``"unknown"``.

    Parameters
    ----------
    info : pylsl.StreamInfo
        A *full* description (``StreamInlet.info()``); resolver results have an empty ``desc``.
    warn : bool
        Emit the warning when defaults are used.

    Returns
    -------
    ch_names, ch_types, ch_units : list of str
        One entry per channel.
    """
    n = info.channel_count()
    names: list[str | None] = [None] * n
    types: list[str | None] = [None] * n
    units: list[str | None] = [None] * n
    ch = info.desc().child("channels").child("channel")
    i = 0
    while not ch.empty() and i < n:
        names[i] = ch.child_value("label") or None
        types[i] = ch.child_value("type") or None
        units[i] = ch.child_value("unit") or None
        ch = ch.next_sibling("channel")
        i += 1
    names, types, units, missing = fill_channel_info(names, types, units, info.type())
    if missing and warn:
        warnings.warn(f"stream {info.name()!r} (source_id={info.source_id()!r}) lacks {', '.join(missing)} in "
                      f"desc/channels; using defaults (names ch1..ch{n}, type {info.type().lower() or 'misc'!r}, "
                      "unit 'unknown')", MetadataWarning, stacklevel=3)
    return names, types, units


def fill_channel_info(names: list, types: list, units: list,
                      stream_type: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Replace missing (None) channel names, types and units by the defaults every reader uses.

    The defaults: names ``"ch1"`` ... ``"chN"`` (by position), types the stream type in lower case (``"misc"``
    when the stream has no type), units ``"unknown"``. LSL descriptions, XDF headers and HDF5 recordings all
    fall back to them.

    Parameters
    ----------
    names, types, units : list of str | None
        One entry per channel, None where the source has none.
    stream_type : str
        The stream's content type (``"EEG"``).

    Returns
    -------
    ch_names, ch_types, ch_units : list of str
        Complete lists.
    missing : list of str
        What was filled in, e.g. ``["2 channel units"]`` (empty when nothing was missing).
    """
    default_type = stream_type.lower() or "misc"
    out, missing = [], []
    for label, values, default in (("names", names, lambda k: f"ch{k + 1}"), ("types", types,
                                   lambda k: default_type), ("units", units, lambda k: "unknown")):
        gaps = [k for k, v in enumerate(values) if v is None]
        if gaps:
            missing.append(f"{len(gaps)} channel {label}")
        out.append([default(k) if v is None else str(v) for k, v in enumerate(values)])
    return out[0], out[1], out[2], missing


# ---------------------------------------------------------------------------------------------------------------
# pulling
# ---------------------------------------------------------------------------------------------------------------
class ChunkPuller:
    """Pull chunks from a numeric inlet into preallocated arrays, with no Python-level allocation per call.

    One :meth:`pull` waits up to ``timeout`` seconds for the first sample, then takes whatever else is already
    there, up to the capacity, without waiting: two liblsl calls (``lsl_pull_chunk_*``) made through
    ctypes with arguments built once. :meth:`pylsl.StreamInlet.pull_chunk` with ``min_samples=1`` does the same
    two calls, but builds ctypes buffers, memoryviews and result arrays in Python on each of them, which
    added ~0.1-0.2 ms between liblsl handing the samples over and the worker having them in a live worker
    that wakes once per chunk (measured with ``eegaffect bench acquisition``).

    Parameters
    ----------
    inlet : pylsl.StreamInlet
        An open inlet of a numeric stream (not string).
    capacity : int
        Most samples per pull.
    timeout : float
        Seconds the first sample is waited for.

    Attributes
    ----------
    data : ndarray, shape (capacity, n_chans)
        Destination of the samples, in the stream's dtype; rows ``[:n]`` after a pull of ``n``.
    timestamps : ndarray, shape (capacity,)
        Their LSL timestamps (float64).
    """

    def __init__(self, inlet: pylsl.StreamInlet, capacity: int, timeout: float):
        if inlet.np_dtype is None:
            raise ValueError("ChunkPuller pulls numeric streams only; string streams go through "
                             "StreamInlet.pull_chunk")
        n_chans = inlet.channel_count
        self._inlet = inlet  # keeps the liblsl handle alive
        self.data = np.empty((capacity, n_chans), dtype=inlet.np_dtype)
        self.timestamps = np.empty(capacity, dtype=np.float64)
        self._n_chans = n_chans
        row_bytes = self.data.itemsize * n_chans
        c_size = ctypes.c_size_t
        self._errcode = ctypes.c_int()
        self._first_args = (inlet.obj, ctypes.c_void_p(self.data.ctypes.data),
                            ctypes.c_void_p(self.timestamps.ctypes.data), c_size(n_chans), c_size(1),
                            ctypes.c_double(timeout), ctypes.byref(self._errcode))
        self._rest_args = None if capacity == 1 else (
            inlet.obj, ctypes.c_void_p(self.data.ctypes.data + row_bytes),
            ctypes.c_void_p(self.timestamps.ctypes.data + 8), c_size((capacity - 1) * n_chans), c_size(capacity - 1),
            ctypes.c_double(0.0), ctypes.byref(self._errcode))
        self._pull = inlet.do_pull_chunk

    def pull(self) -> int:
        """Wait for data and pull it; return the number of samples now in ``data[:n]`` / ``timestamps[:n]``.

        Raises the pylsl exception of a liblsl error code (e.g. ``LostError`` for a lost stream without
        recovery).
        """
        n_values = self._pull(*self._first_args)
        if self._errcode.value:
            pylsl.util.handle_error(self._errcode)
        if n_values == 0:
            return 0
        if self._rest_args is not None:
            n_values += self._pull(*self._rest_args)
            if self._errcode.value:
                pylsl.util.handle_error(self._errcode)
        return n_values // self._n_chans


# ---------------------------------------------------------------------------------------------------------------
# the inlet
# ---------------------------------------------------------------------------------------------------------------
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
                 sfreq_tolerance: float = 1e-6):
        if name is None and type is None and source_id is None:
            raise ValueError("give at least one of name, type or source_id to choose a stream")
        for label, value in (("bufsize", bufsize), ("timeout", timeout), ("dejitter_halflife_s",
                             dejitter_halflife_s), ("stall_timeout_s", stall_timeout_s),
                             ("poll_timeout_s", poll_timeout_s)):
            if not value > 0:
                raise ValueError(f"{label} must be > 0, got {value}")
        if jitter_tolerance_s < 0:
            raise ValueError(f"jitter_tolerance_s must be >= 0, got {jitter_tolerance_s}")
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
        self._inlet: pylsl.StreamInlet | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._new_data = threading.Condition()
        self._events: collections.deque[StreamEvent] = collections.deque(maxlen=10_000)
        self._gaps: list[GapRecord] = []
        self._clock_offsets: list[tuple[float, float]] = []
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
        return self.description.name

    @property
    def type(self) -> str:
        return self.description.type

    @property
    def source_id(self) -> str:
        return self.description.source_id

    @property
    def sfreq(self) -> float:
        """Nominal rate in Hz (0 for irregular streams)."""
        return self.description.sfreq

    @property
    def n_chans(self) -> int:
        return self.description.n_chans

    @property
    def dtype(self) -> np.dtype:
        """Sample dtype (``object`` holding ``str`` for string streams)."""
        return np.dtype(_NUMPY_DTYPES[self.description.channel_format])

    @property
    def ch_names(self) -> list[str]:
        self._check_opened()
        return list(self._ch_names)

    @property
    def ch_types(self) -> list[str]:
        self._check_opened()
        return list(self._ch_types)

    @property
    def ch_units(self) -> list[str]:
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
        return StreamHealth(n_received=self._n_received, n_lost=self._n_lost, n_overrun=overrun,
                            n_reconnects=self._n_reconnects, n_stalls=self._n_stalls, n_gaps=len(self._gaps),
                            last_timestamp=self._last_raw, worker_cpu_s=self._worker_cpu, worker_wall_s=wall)

    def get_events(self) -> list[StreamEvent]:
        """Drain and return the queued health events, oldest first (the queue keeps the last 10000)."""
        out = []
        while True:
            try:
                out.append(self._events.popleft())
            except IndexError:
                return out

    @property
    def gaps(self) -> list[GapRecord]:
        """Every gap detected so far (losses and reconnects), oldest first."""
        return list(self._gaps)

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
        self._n_received = 0
        self._n_lost = 0
        self._n_reconnects = 0
        self._n_stalls = 0
        self._last_raw = float("nan")
        self._worker_cpu = 0.0
        self._worker_wall0 = 0.0
        self._worker_wall_end = 0.0
        self._last_overrun_log = -float("inf")

    def _open(self, desc: StreamDescription) -> None:
        _validate_description(desc, self._expect, self._sfreq_tol)
        bufsize_lsl = max(1, int(np.ceil(self._bufsize)))
        inlet = pylsl.StreamInlet(desc._info, max_buflen=max(bufsize_lsl, 30), recover=True,
                                  processing_flags=_PROCESSING)
        try:
            full = inlet.info(timeout=self._timeout)
            inlet.open_stream(timeout=self._timeout)
        except Exception as exc:
            raise StreamNotFoundError(f"could not open stream {desc.summary()}: {exc}") from None
        names, types, units = read_channel_info(full)
        index = _find_index_channel(self._index_request, names)
        _validate_channels(desc, names, index, self._expect)
        self._description = desc
        self._ch_names, self._ch_types, self._ch_units = names, types, units
        self._index = index
        dtype = _NUMPY_DTYPES[desc.channel_format]
        capacity = int(round(self._bufsize * desc.sfreq)) if desc.sfreq > 0 else int(round(100 * self._bufsize))
        capacity = max(capacity, 1)
        self._buffer = RingBuffer(capacity, desc.n_chans, dtype)
        max_chunk = self._max_chunk_request or max(64, capacity // 10)
        self._max_chunk = int(min(max_chunk, capacity))
        self._puller = None if dtype is object else ChunkPuller(inlet, self._max_chunk, self._poll_timeout)
        self._tracker = None
        if desc.sfreq > 0:
            self._tracker = TimestampTracker(
                desc.sfreq, 1.0 / desc.sfreq + max(0.5 / desc.sfreq, self._jitter_tol), counter_col=index,
                dejitter=self._dejitter, halflife_samples=self._halflife * desc.sfreq, capacity=self._max_chunk)
        self._inlet = inlet
        self._uid = desc.uid
        inlet.was_clock_reset()  # clear the flag; from now on it signals a reconnect
        self._reset_counters()
        self._gaps.clear()
        self._events.clear()
        self._clock_offsets.clear()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"eegaffect-lsl-{desc.name}", daemon=True)
        self._thread.start()

    # -- internals: the worker ---------------------------------------------------------------------------
    def _run(self) -> None:
        inlet, puller, regular = self._inlet, self._puller, self._description.sfreq > 0
        cpu0 = time.thread_time()
        self._worker_wall0 = time.perf_counter()
        self._worker_wall_end = 0.0
        last_data = time.perf_counter()
        stalled = False
        next_offset = 0.0
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
                    self._emit("error", message=f"pull failed: {exc}")
                    self._stop.wait(self._poll_timeout)
                    continue
                now = time.perf_counter()
                if len(ts):
                    resumed = stalled
                    if stalled:
                        stalled = False
                        self._emit("resume", seconds=now - last_data,
                                   message=f"data flow again after {now - last_data:.1f} s")
                    last_data = now
                    self._ingest(data, ts, resumed)
                elif regular and not stalled and now - last_data > self._stall_timeout:
                    stalled = True
                    self._n_stalls += 1
                    self._emit("stall", seconds=now - last_data,
                               message=f"no data for {now - last_data:.1f} s (outlet gone or paused)")
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
        if self._tracker is not None:
            # liblsl flags a recovered connection through was_clock_reset(), but its own clock-sync
            # post-processing may consume that flag first; after a silence, ask the network whether the
            # outlet behind our source_id is a new one (a restart keeps source_id but gets a new uid).
            reconnect = bool(self._inlet.was_clock_reset())
            if not reconnect and self._n_received and (resumed or ts[0] - self._last_raw > 0.25):
                reconnect = self._outlet_restarted()
            if reconnect and self._n_received:
                self._record_reconnect(float(ts[0]))
            out_ts = self._account_gaps(data, ts)
        self._last_raw = float(ts[-1])
        self._n_received += n
        with self._new_data:
            overrun = self._buffer._write(data, out_ts)
            self._new_data.notify_all()
        if overrun:
            self._emit("overrun", n_samples=overrun, timestamp=float(ts[0]), exact=True,
                       message=f"consumer too slow: {overrun} unread samples overwritten in the ring buffer")

    def _outlet_restarted(self) -> bool:
        try:
            infos = pylsl.resolve_byprop("source_id", self._description.source_id, minimum=1, timeout=1.0)
        except Exception:  # resolver trouble: cannot tell, report a plain gap
            return False
        uids = {i.uid() for i in infos if i.name() == self._description.name}
        if not uids or self._uid in uids:
            return False
        self._uid = sorted(uids)[0]
        return True

    def _record_reconnect(self, first_timestamp: float) -> None:
        """The new outlet's first sample starts this chunk: report the gap since the old outlet's last sample
        (from timestamps only: a sample counter restarts with the outlet) and start a new segment."""
        sfreq = self._description.sfreq
        step = first_timestamp - self._last_raw
        n_gap = max(int(round(step * sfreq)) - 1, 0)
        self._n_reconnects += 1
        self._n_lost += n_gap
        self._record_gap(first_timestamp, n_gap, max(step - 1.0 / sfreq, 0.0), True, False)
        self._tracker.restart()

    def _account_gaps(self, data: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Count and report the samples lost before each sample of a chunk (one compiled pass, see
        :class:`~eegaffect.kernels.timestamps.TimestampTracker`); return the chunk's timestamps, dejittered
        when asked."""
        prev_counter = self._tracker.last_counter if self._index is not None else None
        lost, out_ts, n_lossy = self._tracker.update(ts, data)
        if n_lossy:
            sfreq = self._description.sfreq
            for pos in np.flatnonzero(lost):
                k = int(lost[pos])
                self._n_lost += k
                counted = self._index is not None and self._counter_jump(data, pos, prev_counter) >= 0
                self._record_gap(float(ts[pos]), k, k / sfreq, False, counted)
        return out_ts

    def _counter_jump(self, data: np.ndarray, pos: int, prev_counter: int | None) -> int:
        """Counter step minus one before sample ``pos`` (negative where the counter went backwards)."""
        before = prev_counter if pos == 0 else int(data[pos - 1, self._index])
        if before is None:
            return 0
        return int(data[pos, self._index]) - before - 1

    def _record_gap(self, timestamp: float, n_samples: int, seconds: float, reconnect: bool,
                    exact: bool) -> None:
        self._gaps.append(GapRecord(timestamp, n_samples, seconds, reconnect))
        if reconnect:
            self._emit("reconnect", n_samples=n_samples, seconds=seconds, timestamp=timestamp, exact=exact,
                       message=f"outlet {self._description.source_id!r} came back after a gap of "
                               f"{seconds:.3f} s ({n_samples} samples)")
        else:
            self._emit("loss", n_samples=n_samples, seconds=seconds, timestamp=timestamp, exact=exact,
                       message=f"{n_samples} samples lost ({seconds:.3f} s) before t={timestamp:.4f}"
                               f"{' (counted from the sample counter)' if exact else ' (from timestamps)'}")

    def _emit(self, kind: str, **fields) -> None:
        event = StreamEvent(kind=kind, time=pylsl.local_clock(), **fields)
        self._events.append(event)
        if kind == "overrun":  # can repeat every chunk while a consumer stalls: log at most every 5 s
            if event.time - self._last_overrun_log < 5.0:
                return
            self._last_overrun_log = event.time
        level = logging.INFO if kind == "resume" else logging.WARNING
        logger.log(level, "stream %r: %s", self._description.name, event.message or kind)


def _find_index_channel(request, names: list[str]) -> int | None:
    if request is None:
        return None
    if isinstance(request, (int, np.integer)) and not isinstance(request, bool):
        if not 0 <= int(request) < len(names):
            raise StreamMismatchError(f"index_channel {request} is out of range for {len(names)} channels")
        return int(request)
    if request == "auto":
        upper = [n.upper() for n in names]
        return upper.index(INDEX_CHANNEL_NAME.upper()) if INDEX_CHANNEL_NAME.upper() in upper else None
    if request not in names:
        raise StreamMismatchError(f"index_channel {request!r} is not among the stream's channels {names}")
    return names.index(request)


def _validate_description(desc: StreamDescription, expect: dict, sfreq_tol: float) -> None:
    if expect["require_regular"] and not desc.is_regular:
        raise StreamMismatchError(f"expected a regularly sampled stream, but {desc.summary()} is irregular "
                                  "(nominal rate 0)")
    if expect["sfreq"] is not None:
        want = float(expect["sfreq"])
        if abs(desc.sfreq - want) > sfreq_tol * max(want, 1.0):
            raise StreamMismatchError(f"expected a nominal rate of {want:g} Hz, but {desc.summary()} declares "
                                      f"{desc.sfreq:g} Hz")
    if expect["n_chans"] is not None and desc.n_chans != int(expect["n_chans"]):
        raise StreamMismatchError(f"expected {int(expect['n_chans'])} channels, but {desc.summary()} has "
                                  f"{desc.n_chans}")


def _validate_channels(desc: StreamDescription, names: list[str], index: int | None, expect: dict) -> None:
    want = expect["ch_names"]
    if want is None:
        return
    got = [n for i, n in enumerate(names) if i != index]
    if [n.upper() for n in got] == [n.upper() for n in want]:
        return
    got_u, want_u = {n.upper() for n in got}, {n.upper() for n in want}
    missing = [n for n in want if n.upper() not in got_u]
    extra = [n for n in got if n.upper() not in want_u]
    detail = f"missing: {missing[:10]}, extra: {extra[:10]}" if missing or extra else "same names, other order"
    raise StreamMismatchError(f"expected {len(want)} channels matching the montage, but {desc.summary()} has "
                              f"{len(got)} that do not match ({detail})")
