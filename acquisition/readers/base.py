"""What every recording reader returns: :class:`RecordedStream` (a stream with its samples) and
:class:`StreamHeader` (its metadata only), and the choice of the stream to play among them.

The readers are one module per format: :mod:`~eegaffect.acquisition.readers.hdf5` (eegaffect's recordings) and
:mod:`~eegaffect.acquisition.readers.xdf` (LabRecorder). Formats that need MNE (EDF, BDF, FIF, ...) are read in
the eegaffect layer (:mod:`eegaffect.recordings`), into the same types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["RecordedStream", "StreamHeader", "pick_streams"]


@dataclass
class RecordedStream:
    """One stream read back from a recording (our HDF5 layout or XDF).

    Attributes
    ----------
    name, type, source_id : str
        Stream identity.
    sfreq : float
        Nominal rate in Hz (0 for irregular / marker streams).
    ch_names, ch_types, ch_units : list of str
        Channel metadata.
    data : ndarray, shape (n_times, n_chans)
        Samples (object array of str for marker streams).
    timestamps : ndarray, shape (n_times,)
        LSL timestamps in seconds.
    clock_offsets : ndarray, shape (n, 2)
        ``[local_clock, offset]`` pairs.
    gaps : ndarray, shape (n, 4)
        ``[timestamp, n_samples, seconds, reconnect]`` rows.
    attrs : dict
        Any other stored attributes.
    source_changes : list of (float, int, str)
        The stream restarted under another source_id and the recording followed it: per switch, the timestamp
        and the row in ``data`` of the new source's first recorded sample, and its source_id (``source_id`` is the
        first source's). Empty when the source never changed.
    """

    name: str
    type: str
    sfreq: float
    source_id: str
    ch_names: list[str]
    ch_types: list[str]
    ch_units: list[str]
    data: np.ndarray
    timestamps: np.ndarray
    clock_offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    attrs: dict = field(default_factory=dict)
    source_changes: list[tuple[float, int, str]] = field(default_factory=list)

    @property
    def is_marker(self) -> bool:
        """Whether the stream holds strings (markers)."""
        return self.data.dtype == object

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return len(self.timestamps)


@dataclass(frozen=True)
class StreamHeader:
    """Metadata of one recorded stream, without its samples (see :func:`read_stream_headers`).

    Attributes
    ----------
    key : str
        How the file names the stream (HDF5 group name; XDF stream name, suffixed with the stream id when names
        repeat).
    name, type, source_id : str
        Stream identity.
    sfreq : float
        Nominal rate in Hz (0 for irregular / marker streams).
    ch_names, ch_types, ch_units : tuple of str
        Channel metadata.
    n_times : int
        Number of complete samples (rows that have both data and a timestamp).
    first_timestamp : float
        Timestamp of the first sample in seconds; NaN when the stream is empty or has no timestamps.
    is_marker : bool
        Whether the stream holds strings (markers).
    """

    key: str
    name: str
    type: str
    source_id: str
    sfreq: float
    ch_names: tuple[str, ...]
    ch_types: tuple[str, ...]
    ch_units: tuple[str, ...]
    n_times: int
    first_timestamp: float
    is_marker: bool

    @property
    def n_chans(self) -> int:
        """Number of channels (``len(ch_names)``)."""
        return len(self.ch_names)

    @classmethod
    def of(cls, key: str, stream: RecordedStream) -> "StreamHeader":
        """The header of a stream already read into memory."""
        return cls(key=key, name=stream.name, type=stream.type, source_id=stream.source_id, sfreq=stream.sfreq,
                   ch_names=tuple(stream.ch_names), ch_types=tuple(stream.ch_types),
                   ch_units=tuple(stream.ch_units), n_times=stream.n_times,
                   first_timestamp=float(stream.timestamps[0]) if stream.n_times else float("nan"),
                   is_marker=stream.is_marker)


def pick_streams(streams: dict[str, RecordedStream], stream: str | None,
                 path: str | Path = "") -> tuple[RecordedStream, RecordedStream | None]:
    """Choose the stream to play (by name, or the first regular numeric one) and the first marker stream.

    Parameters
    ----------
    streams : dict of str to RecordedStream | dict of str to StreamHeader
        Key -> stream; headers (:class:`StreamHeader`) choose the same way
        without the samples.
    stream : str | None
        Key or name of the stream to play; None picks the first regularly sampled numeric stream with samples.
    path : str | Path
        The file, for error messages.

    Returns
    -------
    main : RecordedStream
        The stream to play.
    markers : RecordedStream | None
        The first marker (string) stream, if any.
    """
    markers = next((s for s in streams.values() if s.is_marker and s.n_times), None)
    if stream is not None:
        hits = [s for key, s in streams.items() if stream in (key, s.name)]
        if not hits:
            raise ValueError(f"{path}: no stream named {stream!r}; streams: {sorted(streams)}")
        return hits[0], markers
    regular = [s for s in streams.values() if not s.is_marker and s.sfreq > 0 and s.n_times]
    if not regular:
        raise ValueError(f"{path}: no regularly sampled numeric stream with data to play; streams: "
                         f"{sorted(streams)}")
    return regular[0], markers
