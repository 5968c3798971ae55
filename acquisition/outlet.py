"""Streams out: an LSL outlet helper with channel metadata, and the prediction outlet (type ``Affect``).

:class:`Outlet` wraps :class:`pylsl.StreamOutlet` with shape validation, channel metadata in
``desc/channels/channel`` (label, type, unit) and a unique ``source_id`` unless one is given (give the same
source_id again to let inlets recover after a restart).

:class:`PredictionOutlet` publishes eegaffect's continuous estimate so any LSL consumer can use it: channels
``valence``, ``arousal``, ``confidence``, ``code`` (the active latent code, -1 when none) and ``status``
(:data:`STATUS_OK`, :data:`STATUS_INVALID`, :data:`STATUS_GAP`). Invalid and gap updates carry NaN values and a
non-zero status instead of silently repeating the last estimate.

:func:`check_names_free` refuses stream names that a visible stream already serves: two outlets of one name make
every inlet that resolves by name get an arbitrary one of them, so commands that publish (``eegaffect play``,
``eegaffect simulate``) check every name they are about to open first.
"""

from __future__ import annotations

import uuid
from typing import Mapping, Sequence

import numpy as np
import pylsl
from eegaffect.acquisition.lsl import StreamDescription, list_streams

__all__ = ["Outlet", "PredictionOutlet", "STATUS_OK", "STATUS_INVALID", "STATUS_GAP", "PREDICTION_CHANNELS",
           "make_stream_info", "check_names_free", "StreamNameInUseError"]

_FORMATS = {"float32": pylsl.cf_float32, "float64": pylsl.cf_double64, "int8": pylsl.cf_int8,
            "int16": pylsl.cf_int16, "int32": pylsl.cf_int32, "int64": pylsl.cf_int64, "string": pylsl.cf_string}

#: status channel values of :class:`PredictionOutlet`.
STATUS_OK, STATUS_INVALID, STATUS_GAP = 0, 1, 2
#: channels of the prediction stream, in order.
PREDICTION_CHANNELS = ("valence", "arousal", "confidence", "code", "status")


def make_stream_info(name: str, type: str, ch_names: Sequence[str], sfreq: float, *,
                     ch_types: str | Sequence[str] | None = None, ch_units: str | Sequence[str] | None = None,
                     source_id: str | None = None, channel_format: str = "float32",
                     desc: Mapping[str, str] | None = None) -> pylsl.StreamInfo:
    """Build a :class:`pylsl.StreamInfo` with channel metadata.

    Parameters
    ----------
    name, type : str
        Stream name and content type (e.g. ``"EEG"``, ``"Markers"``).
    ch_names : sequence of str
        Channel labels.
    sfreq : float
        Nominal rate in Hz, 0 for irregular streams.
    ch_types, ch_units : str | sequence of str | None
        Per-channel types / units (a single string applies to all). Default types: ``type.lower()``; default
        units: ``"microvolts"`` for EEG streams, ``"unknown"`` otherwise.
    source_id : str | None
        Unique source identifier; a fresh unique one (``"{name}-{random hex}"``) when None.
    channel_format : str
        One of ``float32, float64, int8, int16, int32, int64, string``.
    desc : mapping of str to str | None
        Extra ``desc`` entries (e.g. ``{"manufacturer": "eegaffect"}``).

    Returns
    -------
    info : pylsl.StreamInfo
        The description.
    """
    ch_names = [str(c) for c in ch_names]
    n = len(ch_names)
    if not name or not isinstance(name, str):
        raise ValueError(f"expected a non-empty stream name, got {name!r}")
    if n == 0:
        raise ValueError("expected at least one channel name, got none")
    if len(set(ch_names)) != n:
        dup = sorted({c for c in ch_names if ch_names.count(c) > 1})
        raise ValueError(f"channel names must be unique, got duplicates {dup}")
    if channel_format not in _FORMATS:
        raise ValueError(f"channel_format must be one of {sorted(_FORMATS)}, got {channel_format!r}")
    if sfreq < 0:
        raise ValueError(f"sfreq must be >= 0 (0 = irregular), got {sfreq}")
    types = _per_channel(ch_types if ch_types is not None else (type.lower() or "misc"), n, "ch_types")
    default_unit = "microvolts" if type.upper() == "EEG" else "unknown"
    units = _per_channel(ch_units if ch_units is not None else default_unit, n, "ch_units")
    source_id = source_id or f"{name}-{uuid.uuid4().hex[:12]}"
    info = pylsl.StreamInfo(name, type, n, float(sfreq), _FORMATS[channel_format], source_id)
    channels = info.desc().append_child("channels")
    for label, kind, unit in zip(ch_names, types, units):
        ch = channels.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("type", kind)
        ch.append_child_value("unit", unit)
    for key, value in (desc or {}).items():
        info.desc().append_child_value(str(key), str(value))
    return info


class StreamNameInUseError(ValueError):
    """A stream name about to be published is already served by a visible stream; the message names both."""


def check_names_free(names: Sequence[str], timeout: float = 1.0) -> None:
    """Raise when a visible LSL stream already has one of ``names``.

    Listens for ``timeout`` seconds (one :func:`~eegaffect.acquisition.lsl.list_streams` call for all names),
    so call it before opening the outlets: an outlet of this process would count as taken too.

    Parameters
    ----------
    names : sequence of str
        The stream names about to be published, e.g. ``[name, f"{name}-truth"]``.
    timeout : float
        Seconds to listen for streams (> 0; liblsl recommends at least 0.5).

    Raises
    ------
    StreamNameInUseError
        Some names are taken; the message names each and every stream serving it (source_id, host, type,
        channels, rate).
    """
    if isinstance(names, str):
        raise TypeError(f"expected a sequence of stream names, got the string {names!r}")
    names = list(names)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"expected one or more non-empty stream names, got {names!r}")
    if not timeout > 0:
        raise ValueError(f"expected timeout > 0 seconds, got {timeout}")
    taken = _streams_named(names, float(timeout))
    if taken:
        raise StreamNameInUseError("; ".join(_describe_taken(n, taken[n]) for n in names if n in taken))


def _streams_named(names: list[str], timeout: float) -> dict[str, list[StreamDescription]]:
    wanted = set(names)
    taken: dict[str, list[StreamDescription]] = {}
    for desc in list_streams(timeout=timeout):
        if desc.name in wanted:
            taken.setdefault(desc.name, []).append(desc)
    return taken


def _describe_taken(name: str, served_by: list[StreamDescription]) -> str:
    who = ", ".join(f"source_id {d.source_id!r} on host {d.hostname!r} (type {d.type!r}, {d.n_chans} ch, "
                    + (f"{d.sfreq:g} Hz)" if d.is_regular else "irregular)") for d in served_by)
    return f"a stream named {name!r} is already visible, served by {who}"


def _per_channel(value, n: int, label: str) -> list[str]:
    if isinstance(value, str):
        return [value] * n
    value = [str(v) for v in value]
    if len(value) != n:
        raise ValueError(f"expected {n} {label} (one per channel), got {len(value)}")
    return value


class Outlet:
    """An LSL outlet with validated pushes.

    Parameters
    ----------
    name, type : str
        Stream name and content type.
    ch_names : sequence of str
        Channel labels.
    sfreq : float
        Nominal rate in Hz, 0 for irregular streams.
    ch_types, ch_units, source_id, channel_format, desc
        See :func:`make_stream_info`.
    chunk_size : int
        Preferred transmission chunk size in samples (0: each push is one chunk).
    max_buffered : float
        Seconds (or x100 samples for irregular streams) the outlet buffers for slow consumers.
    """

    def __init__(self, name: str, type: str, ch_names: Sequence[str], sfreq: float, *,
                 ch_types: str | Sequence[str] | None = None, ch_units: str | Sequence[str] | None = None,
                 source_id: str | None = None, channel_format: str = "float32", chunk_size: int = 0,
                 max_buffered: float = 360, desc: Mapping[str, str] | None = None):
        if chunk_size < 0:
            raise ValueError(f"chunk_size must be >= 0, got {chunk_size}")
        info = make_stream_info(name, type, ch_names, sfreq, ch_types=ch_types, ch_units=ch_units,
                                source_id=source_id, channel_format=channel_format, desc=desc)
        self._name, self._type, self._sfreq = name, type, float(sfreq)
        self._ch_names = [str(c) for c in ch_names]
        self._source_id = info.source_id()
        self._format = channel_format
        self._dtype = None if channel_format == "string" else np.dtype(channel_format)
        self._outlet: pylsl.StreamOutlet | None = pylsl.StreamOutlet(info, chunk_size=int(chunk_size),
                                                                     max_buffered=max(1, int(max_buffered)))
        self._n_pushed = 0

    @property
    def name(self) -> str:
        """Stream name advertised on the network."""
        return self._name

    @property
    def type(self) -> str:
        """Stream content type advertised on the network."""
        return self._type

    @property
    def source_id(self) -> str:
        """Source id advertised on the network."""
        return self._source_id

    @property
    def sfreq(self) -> float:
        """Nominal rate in Hz (0 for irregular streams)."""
        return self._sfreq

    @property
    def ch_names(self) -> list[str]:
        """Channel names (a copy)."""
        return list(self._ch_names)

    @property
    def n_chans(self) -> int:
        """Number of channels per sample."""
        return len(self._ch_names)

    @property
    def n_pushed(self) -> int:
        """Samples pushed so far."""
        return self._n_pushed

    def push(self, data, timestamps: float | np.ndarray | None = None) -> None:
        """Push samples.

        Parameters
        ----------
        data : array-like, shape (n_times, n_chans) or (n_chans,)
            Samples (a 1-D array is one sample). String outlets take nested lists or object arrays of str.
        timestamps : float | ndarray, shape (n_times,) | None
            ``None``: stamped now by liblsl (earlier samples of the chunk spaced at the nominal rate); a float:
            the timestamp of the *last* sample; an array: one timestamp per sample
            (:func:`pylsl.local_clock` domain).
        """
        outlet = self._check_open()
        if self._dtype is None:
            arr = np.asarray(data, dtype=object)
            rows = [[str(v) for v in row] for row in (arr[None, :] if arr.ndim == 1 else arr)]
            bad = [len(r) for r in rows if len(r) != self.n_chans]
            if bad:
                raise ValueError(f"expected samples of {self.n_chans} values, got {bad[0]}")
            n = len(rows)
            payload = rows
        else:
            arr = np.asarray(data)
            if arr.ndim == 1:
                arr = arr[None, :]
            if arr.ndim != 2 or arr.shape[1] != self.n_chans:
                raise ValueError(f"expected data of shape (n_times, {self.n_chans}) for stream {self._name!r}, "
                                 f"got {np.shape(data)}")
            payload = np.ascontiguousarray(arr, dtype=self._dtype)
            n = payload.shape[0]
        if n == 0:
            return
        if timestamps is None:
            outlet.push_chunk(payload, 0.0)
        elif np.ndim(timestamps) == 0:
            outlet.push_chunk(payload, float(timestamps))
        else:
            ts = np.asarray(timestamps, dtype=np.float64)
            if ts.shape != (n,):
                raise ValueError(f"expected {n} timestamps (one per sample), got shape {ts.shape}")
            if n == 1:
                outlet.push_chunk(payload, float(ts[0]))
            else:
                outlet.push_chunk(payload, ts.tolist())
        self._n_pushed += n

    def have_consumers(self) -> bool:
        """Whether any inlet is connected."""
        return self._check_open().have_consumers()

    def wait_for_consumers(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an inlet to connect; return whether one did."""
        return self._check_open().wait_for_consumers(float(timeout))

    def close(self) -> None:
        """Destroy the outlet (inlets see the stream disappear)."""
        self._outlet = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run (no more samples can be pushed)."""
        return self._outlet is None

    def __enter__(self) -> "Outlet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        rate = f"{self._sfreq:g} Hz" if self._sfreq > 0 else "irregular"
        return f"<Outlet {self._name!r} ({self._type}, {self.n_chans} ch, {rate}, source_id={self._source_id!r})>"

    def _check_open(self) -> pylsl.StreamOutlet:
        if self._outlet is None:
            raise RuntimeError(f"outlet {self._name!r} is closed")
        return self._outlet


class PredictionOutlet(Outlet):
    """LSL stream of type ``Affect`` carrying eegaffect's continuous estimate.

    Channels: ``valence``, ``arousal`` (in [-1, 1]), ``confidence`` (in [0, 1]), ``code`` (active latent code,
    -1 when none) and ``status`` (:data:`STATUS_OK`, :data:`STATUS_INVALID`, :data:`STATUS_GAP`).

    Parameters
    ----------
    name : str
        Stream name.
    sfreq : float
        Nominal update rate in Hz (e.g. ``1 / hop_s``), 0 when updates are irregular.
    source_id : str | None
        Unique source id (fresh when None).
    """

    def __init__(self, name: str = "eegaffect-affect", sfreq: float = 0.0, *, source_id: str | None = None):
        super().__init__(name, "Affect", PREDICTION_CHANNELS, sfreq,
                         ch_types=["valence", "arousal", "confidence", "code", "status"],
                         ch_units=["a.u.", "a.u.", "probability", "index", "code"], source_id=source_id,
                         channel_format="float32", desc={"manufacturer": "eegaffect",
                                                         "status_codes": "0=ok 1=invalid 2=gap"})

    def push_prediction(self, valence: float, arousal: float, confidence: float = 1.0, code: int = -1,
                        timestamp: float | None = None, missing_mask: int = 0) -> None:
        """Publish one valid estimate.

        Parameters
        ----------
        valence, arousal : float
            The estimate, finite.
        confidence : float
            In [0, 1].
        code : int
            Active latent code (-1 for none).
        timestamp : float | None
            Stream time of the estimate (:func:`pylsl.local_clock` domain); now when None.
        missing_mask : int
            Bit mask of the session's modalities this update lacked, added as ``16 * missing_mask`` to the
            status (:mod:`eegaffect.live.physio_inputs`); 0 in an EEG-only session.
        """
        values = np.array([valence, arousal, confidence], dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"expected finite valence, arousal and confidence, got {values.tolist()}; "
                             "use push_invalid() for updates without a valid estimate")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {confidence}")
        self._push_row([valence, arousal, confidence, int(code), STATUS_OK + 16 * _mask(missing_mask)], timestamp)

    def push_invalid(self, timestamp: float | None = None, missing_mask: int = 0) -> None:
        """Publish an update without a valid estimate (e.g. artefacts): NaN values, status 1 (+ 16 *
        ``missing_mask``).
        """
        self._push_row([np.nan, np.nan, 0.0, -1, STATUS_INVALID + 16 * _mask(missing_mask)], timestamp)

    def push_gap(self, timestamp: float | None = None, missing_mask: int = 0) -> None:
        """Publish that input data were missing (e.g. samples lost): NaN values, status 2 (+ 16 *
        ``missing_mask``).
        """
        self._push_row([np.nan, np.nan, 0.0, -1, STATUS_GAP + 16 * _mask(missing_mask)], timestamp)

    def _push_row(self, row, timestamp: float | None) -> None:
        self.push(np.asarray(row, dtype=np.float32)[None, :], None if timestamp is None else float(timestamp))


def _mask(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2 ** 16:
        raise ValueError(f"expected a missing-modality bit mask, an int in [0, 65536), got {value!r}")
    return int(value)
