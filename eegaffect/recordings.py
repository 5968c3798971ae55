"""Read a recording from any supported file: whole (:func:`read_recording`) or header first (:func:`open_recording`).

Supported: eegaffect's HDF5 recordings (``.h5``/``.hdf5``, :mod:`eegaffect.acquisition.readers.hdf5`), XDF
(``.xdf``/``.xdfz``, LabRecorder; :mod:`eegaffect.acquisition.readers.xdf`) and every format MNE reads
(:mod:`eegaffect.recordings_mne`) — EDF (``.edf``), BDF (``.bdf``), FIF
(``.fif``, ``.fif.gz``), BrainVision (``.vhdr``), EEGLAB (``.set``) and the rest of :func:`mne.io.read_raw`.

:func:`open_recording` reads only the metadata (a :class:`RecordingHeader`: every stream's name, type, sfreq,
channels and ``n_times``) and loads samples per stream on request. How cheap that is depends on the format:

- HDF5: the header reads attributes and dataset shapes only (h5py); a stream's samples are read when asked for;
- MNE formats: the header is ``mne.io.read_raw(preload=False)`` (the file's header); samples are read on request;
- XDF: the format has no index of its streams, so the header reads the whole file once (with pyxdf) and keeps
  only the metadata; loading a stream reads the file again.

The one-shot :func:`read_recording` and the generic dataset reader (:mod:`eegaffect.datasets.recording`) both go
through it. Conventions:

- samples are ``(n_times, n_chans)`` float64 (the LSL / kernels layout);
- voltage channels read through MNE (EEG, EOG, ECG, EMG, sEEG, ECoG, DBS) are converted from volts to microvolts,
  the unit EEG streams use; their ``ch_units`` say ``"microvolts"``. HDF5/XDF samples are returned as stored
  (their streams carry their own units, microvolts for EEG);
- ``timestamps`` are seconds: LSL time for HDF5/XDF recordings (clock-synchronised, not dejittered), time from the
  first sample for MNE formats;
- an MNE file is one stream with key ``"eeg"`` (all its channels, named after the file stem);
- marker streams (HDF5/XDF string streams) and MNE annotations (onset, description) become
  :class:`MarkerStream` entries, their times in the same clock as ``timestamps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from eegaffect.recordings_mne import MNE_STREAM_KEY

if TYPE_CHECKING:  # the acquisition layer (h5py) is imported where a file is read
    from eegaffect.acquisition.readers.base import RecordedStream, StreamHeader

__all__ = ["Recording", "MarkerStream", "RecordingHeader", "open_recording", "read_recording", "RECORDING_SUFFIXES"]

_HDF5 = {".h5", ".hdf5"}
_XDF = {".xdf", ".xdfz"}
#: File suffixes :func:`read_recording` and the recording dataset know (MNE may read more through
#: :func:`mne.io.read_raw`).
RECORDING_SUFFIXES: tuple[str, ...] = (".h5", ".hdf5", ".xdf", ".xdfz", ".edf", ".bdf", ".gdf", ".fif", ".fif.gz",
                                       ".vhdr", ".set")


@dataclass
class MarkerStream:
    """Event markers: ``values[k]`` happened at ``timestamps[k]``.

    Attributes
    ----------
    name : str
        Stream name (``"annotations"`` for MNE annotations).
    timestamps : ndarray, shape (n_markers,)
        Times in seconds, in the recording's clock.
    values : list of str
        Marker strings.
    durations : ndarray, shape (n_markers,)
        Durations in seconds (0 for point events).
    """

    name: str
    timestamps: np.ndarray
    values: list[str]
    durations: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class Recording:
    """One continuous recording.

    Attributes
    ----------
    data : ndarray, shape (n_times, n_chans)
        Samples, float64.
    sfreq : float
        Sampling rate in Hz.
    ch_names, ch_types, ch_units : list of str
        Channel metadata.
    timestamps : ndarray, shape (n_times,)
        Sample times in seconds (see module docstring for the clock).
    markers : list of MarkerStream
        Marker streams / annotations.
    name : str
        Stream name (HDF5/XDF) or file stem.
    path : Path
        The file read.
    format : str
        ``"hdf5"``, ``"xdf"`` or the MNE reader's format (``"edf"``, ``"bdf"``, ``"fif"``, ``"brainvision"``,
        ``"eeglab"``, ...).
    """

    data: np.ndarray
    sfreq: float
    ch_names: list[str]
    ch_types: list[str]
    ch_units: list[str]
    timestamps: np.ndarray
    markers: list[MarkerStream] = field(default_factory=list)
    name: str = ""
    path: Path | None = None
    format: str = ""

    @property
    def n_times(self) -> int:
        """Number of samples."""
        return self.data.shape[0]

    @property
    def n_chans(self) -> int:
        """Number of channels."""
        return self.data.shape[1]

    @property
    def duration(self) -> float:
        """Length in seconds (``n_times / sfreq``)."""
        return self.n_times / self.sfreq


@dataclass(eq=False)  # identity: the marker arrays make field-wise equality ill-defined
class RecordingHeader:
    """What a recording file holds, without its samples (see :func:`open_recording`).

    Attributes
    ----------
    path : Path
        The file.
    format : str
        ``"hdf5"``, ``"xdf"`` or the MNE reader's format (``"edf"``, ``"bdf"``, ``"fif"``, ``"brainvision"``,
        ``"eeglab"``, ...).
    streams : dict of str to StreamHeader
        Stream key -> metadata (:class:`~eegaffect.acquisition.readers.base.StreamHeader`: name, type, sfreq,
        channels, ``n_times``), in file order. MNE formats have one stream, key ``"eeg"``.
    annotations : MarkerStream | None
        MNE annotations (MNE formats only; HDF5/XDF markers are streams, see :meth:`read_markers`).
    """

    path: Path
    format: str
    streams: dict[str, StreamHeader]
    annotations: MarkerStream | None = None
    # what the header was read from, kept only by read_recording (XDF: every stream; MNE: the Raw) so that a
    # one-shot read does not read the file twice; None for open_recording, whose headers stay small and picklable
    _source: Any = field(default=None, init=False, repr=False, compare=False)

    def read_data(self, key: str, picks: Sequence[int] | None = None) -> np.ndarray:
        """The samples of one numeric stream.

        Parameters
        ----------
        key : str
            A key of :attr:`streams`.
        picks : sequence of int | None
            Channel indices to return, in this order; None returns every channel.

        Returns
        -------
        data : ndarray, shape (n_times, n_picks)
            float64, C-contiguous; MNE voltage channels in microvolts.

        Raises
        ------
        ValueError
            On an unknown key, a marker stream, bad picks, or a file that changed since it was opened.
        """
        stream = self._stream(key)
        if stream.is_marker:
            raise ValueError(f"{self.path}: stream {key!r} holds markers (strings), expected numeric samples")
        if picks is not None:
            picks = [int(k) for k in picks]
            bad = [k for k in picks if not 0 <= k < stream.n_chans]
            if bad:
                raise ValueError(f"{self.path}: channel picks must lie in [0, {stream.n_chans}) for stream "
                                 f"{key!r}, got {bad}")
        if self.format == "hdf5":
            from eegaffect.acquisition.readers.hdf5 import read_stream_data

            data = read_stream_data(self.path, stream, picks)
        elif self.format == "xdf":
            data = np.asarray(self._xdf_streams()[key].data, dtype=np.float64)
            data = data if picks is None else data[:, picks]
        else:
            from eegaffect.recordings_mne import read_data

            data = read_data(self._raw(), stream, picks)
        if data.shape[0] != stream.n_times:
            raise ValueError(f"{self.path}: stream {key!r} changed since the file was opened: {stream.n_times} "
                             f"samples expected, {data.shape[0]} found")
        return np.ascontiguousarray(data, dtype=np.float64)

    def read_stream(self, key: str) -> RecordedStream:
        """One whole stream: samples as stored (MNE formats: float64, microvolts), timestamps and metadata.

        Parameters
        ----------
        key : str
            A key of :attr:`streams`.

        Returns
        -------
        stream : RecordedStream
        """
        stream = self._stream(key)
        if self.format == "hdf5":
            from eegaffect.acquisition.readers.hdf5 import load_recording

            return load_recording(self.path, [key])[key]
        if self.format == "xdf":
            return self._xdf_streams()[key]
        from eegaffect.acquisition.readers.base import RecordedStream
        from eegaffect.recordings_mne import read_data

        raw = self._raw()
        return RecordedStream(name=stream.name, type=stream.type, sfreq=stream.sfreq, source_id=stream.source_id,
                              ch_names=list(stream.ch_names), ch_types=list(stream.ch_types),
                              ch_units=list(stream.ch_units), data=np.ascontiguousarray(read_data(raw, stream, None)),
                              timestamps=raw.times.astype(np.float64))

    def read_markers(self) -> list[MarkerStream]:
        """Every marker stream (HDF5/XDF; read now) or the annotations (MNE formats)."""
        if self.format not in ("hdf5", "xdf"):
            return [] if self.annotations is None else [self.annotations]
        keys = [key for key, s in self.streams.items() if s.is_marker]
        if not keys:
            return []
        if self.format == "hdf5":
            from eegaffect.acquisition.readers.hdf5 import load_recording

            streams = load_recording(self.path, keys)
        else:
            streams = self._xdf_streams()
        return [MarkerStream(streams[k].name, np.asarray(streams[k].timestamps, dtype=np.float64),
                             [str(v) for v in streams[k].data[:, 0]], np.zeros(streams[k].n_times)) for k in keys]

    def _stream(self, key: str) -> StreamHeader:
        if key not in self.streams:
            raise ValueError(f"{self.path}: no stream with key {key!r}; streams: {list(self.streams)}")
        return self.streams[key]

    def _xdf_streams(self) -> dict:
        from eegaffect.acquisition.readers.xdf import read_xdf

        return self._source if self._source is not None else read_xdf(self.path)

    def _raw(self):
        from eegaffect.recordings_mne import read_raw

        return self._source if self._source is not None else read_raw(self.path, RECORDING_SUFFIXES)


def open_recording(path: str | Path) -> RecordingHeader:
    """Read a recording's metadata: its streams, their sfreq, channels and ``n_times``, without the samples.

    HDF5 and MNE formats read only their headers; XDF has no index, so its whole file is read once and only the
    metadata kept (see the module docstring). Load samples with :meth:`RecordingHeader.read_data` /
    :meth:`RecordingHeader.read_stream`.

    Parameters
    ----------
    path : str | Path
        The file (see the module docstring for the formats).

    Returns
    -------
    header : RecordingHeader
        Small and picklable (it holds no samples and no open file).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the format is not supported or the file is corrupt.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"recording {path} does not exist")
    return _open(path, keep_source=False)


def read_recording(path: str | Path, stream: str | None = None) -> Recording:
    """Read a recording file.

    Parameters
    ----------
    path : str | Path
        The file (see the module docstring for the formats).
    stream : str | None
        For multi-stream files (HDF5, XDF): the key or name of the stream to return as ``data``; default the
        first regularly sampled numeric stream. Marker streams are always returned in ``markers``.

    Returns
    -------
    recording : Recording
        The data and metadata.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the format is not supported or the file holds no playable stream.
    """
    from eegaffect.acquisition.readers.base import pick_streams

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"recording {path} does not exist")
    if stream is not None and _kind(path) == "mne":
        raise ValueError(f"{path.name}: 'stream' only applies to multi-stream files (HDF5, XDF)")
    header = _open(path, keep_source=True)
    main, _ = pick_streams(header.streams, stream, path)
    if main.is_marker or main.sfreq <= 0:
        raise ValueError(f"{path}: stream {main.name!r} is not regularly sampled numeric data "
                         f"(sfreq={main.sfreq:g}, marker={main.is_marker})")
    recorded = header.read_stream(main.key)
    return Recording(data=np.ascontiguousarray(recorded.data, dtype=np.float64), sfreq=float(main.sfreq),
                     ch_names=list(main.ch_names), ch_types=list(main.ch_types), ch_units=list(main.ch_units),
                     timestamps=np.asarray(recorded.timestamps, dtype=np.float64), markers=header.read_markers(),
                     name=main.name, path=path, format=header.format)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(tuple(_HDF5)):
        return "hdf5"
    if name.endswith(tuple(_XDF)):
        return "xdf"
    return "mne"


def _open(path: Path, keep_source: bool) -> RecordingHeader:
    kind = _kind(path)
    if kind == "hdf5":
        from eegaffect.acquisition.readers.hdf5 import read_stream_headers

        return RecordingHeader(path, "hdf5", read_stream_headers(path))
    if kind == "xdf":
        from eegaffect.acquisition.readers.base import StreamHeader
        from eegaffect.acquisition.readers.xdf import read_xdf

        streams = read_xdf(path)
        header = RecordingHeader(path, "xdf", {key: StreamHeader.of(key, s) for key, s in streams.items()})
    else:
        from eegaffect import recordings_mne

        raw = recordings_mne.read_raw(path, RECORDING_SUFFIXES)
        stream, fmt = recordings_mne.stream_header(path, raw)
        ann = recordings_mne.annotations(raw)
        header = RecordingHeader(path, fmt, {MNE_STREAM_KEY: stream},
                                 None if ann is None else MarkerStream("annotations", *ann))
        streams = raw
    if keep_source:
        header._source = streams
    return header
