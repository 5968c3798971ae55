"""Read eegaffect's HDF5 recordings (written by :class:`~eegaffect.acquisition.recorder.Recorder`).

File layout (one group per stream; ``{stream_name}`` is the LSL name with ``/`` replaced by ``_``, suffixed with
the source_id when two recorded streams share a name)::

    /                                   attrs: format="eegaffect-recording", format_version=1, created_at,
                                               eegaffect_version
    /streams/{stream_name}/data         (n_times, n_chans), resizable, chunked; float32 or the stream's format
                                        (variable-length UTF-8 strings for marker streams)
    /streams/{stream_name}/timestamps   (n_times,) float64 LSL time (this machine's clock, clock-synchronised)
    /streams/{stream_name}/clock_offsets (n, 2) float64: [local_clock, offset] as liblsl estimated it
    /streams/{stream_name}/gaps         (n, 4) float64: [timestamp, n_samples, seconds, reconnect (0/1)]
    /streams/{stream_name}/source_changes (n, 2) float64: [timestamp, first_row] of the first sample recorded from
                                        a new source after the stream restarted under another source_id
    /streams/{stream_name}/source_ids   (n,) UTF-8 strings: the source_id switched to at each of those changes
    attrs on the group: name, type, sfreq, source_id (the first source's), ch_names, ch_types, ch_units,
                        created_at, eegaffect_version

``source_changes`` and ``source_ids`` are absent from files of older versions (read as no change).

A file whose recorder was killed is still marked open for writing (SWMR); :func:`open_recording_file` then opens
it in SWMR-read mode, and every reader here goes through it. Attributes a foreign writer left out get the
defaults of :func:`~eegaffect.acquisition.channels.fill_channel_info`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
from eegaffect.acquisition.channels import fill_channel_info
from eegaffect.acquisition.readers.base import RecordedStream, StreamHeader

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "GAP_COLUMNS", "SOURCE_CHANGE_COLUMNS", "HDF5_SUFFIXES",
           "open_recording_file", "load_recording", "read_stream_headers", "read_stream_data"]

#: Value of the root attribute ``format`` that marks an eegaffect recording, and the layout's version.
FORMAT_NAME = "eegaffect-recording"
FORMAT_VERSION = 1
#: File suffixes of eegaffect recordings.
HDF5_SUFFIXES = (".h5", ".hdf5")
#: Columns of a stream's ``gaps`` dataset.
GAP_COLUMNS = ("timestamp", "n_samples", "seconds", "reconnect")
#: Columns of a stream's ``source_changes`` dataset.
SOURCE_CHANGE_COLUMNS = ("timestamp", "first_row")


def open_recording_file(path: str | Path) -> h5py.File:
    """Open an eegaffect HDF5 recording read-only, checking that it is one.

    A file whose recorder was killed is still marked open for writing; it is opened in SWMR-read mode.

    Parameters
    ----------
    path : str | Path
        A file written by :class:`Recorder`.

    Returns
    -------
    file : h5py.File
        Open for reading; the caller closes it (use it as a context manager).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is not a readable HDF5 file, or HDF5 but not an eegaffect recording.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recording {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" not in str(exc) and "SWMR" not in str(exc):
            raise ValueError(f"{path}: not a readable HDF5 file ({exc}); truncated or corrupt") from None
        f = h5py.File(path, "r", swmr=True)  # a recorder was killed: the file is still marked open for SWMR
    if f.attrs.get("format") != FORMAT_NAME or not isinstance(f.get("streams"), h5py.Group):
        found = (sorted(f.keys()), _plain(f.attrs.get("format")))
        f.close()
        raise ValueError(f"{path}: expected an eegaffect recording (attribute format={FORMAT_NAME!r} and a "
                         f"/streams/{{name}} group per stream), found top-level keys {found[0]} and format="
                         f"{found[1]!r}: HDF5, but not an eegaffect recording")
    return f


def load_recording(path: str | Path, keys: Sequence[str] | None = None) -> dict[str, RecordedStream]:
    """Read the streams of an eegaffect HDF5 recording.

    Parameters
    ----------
    path : str | Path
        A file written by :class:`Recorder` (also one whose recorder was killed).
    keys : sequence of str | None
        Group names of the streams to read (see :func:`read_stream_headers`); None reads every stream.

    Returns
    -------
    streams : dict of str to RecordedStream
        Group name -> stream, in file order.
    """
    with open_recording_file(path) as f:
        groups = f["streams"]
        if keys is None:
            keys = list(groups)
        missing = [k for k in keys if k not in groups]
        if missing:
            raise ValueError(f"{path}: no stream group(s) {missing}; streams: {list(groups)}")
        return {key: _read_group(path, key, groups[key]) for key in keys}


def read_stream_headers(path: str | Path) -> dict[str, StreamHeader]:
    """The metadata of every stream of an eegaffect HDF5 recording, without reading the samples.

    Parameters
    ----------
    path : str | Path
        A file written by :class:`Recorder` (also one whose recorder was killed).

    Returns
    -------
    headers : dict of str to StreamHeader
        Group name -> header, in file order.
    """
    with open_recording_file(path) as f:
        return {key: _group_header(path, key, g) for key, g in f["streams"].items()}



def read_stream_data(path: str | Path, header: StreamHeader, picks: Sequence[int] | None = None) -> np.ndarray:
    """The samples of one stream, as stored (no conversion).

    Parameters
    ----------
    path : str | Path
        A file written by :class:`~eegaffect.acquisition.recorder.Recorder`.
    header : StreamHeader
        The stream's header from :func:`read_stream_headers` (its ``key`` and ``n_times``).
    picks : sequence of int | None
        Channel indices to return, in this order; None returns every channel.

    Returns
    -------
    data : ndarray, shape (n_times, n_picks)
        The first ``header.n_times`` rows in the stored dtype (fewer when the file shrank since).
    """
    with open_recording_file(path) as fh:
        data = fh["streams"][header.key]["data"][: header.n_times]
    return data if picks is None else data[:, list(picks)]


def _group_header(path: Path, key: str, g: h5py.Group) -> StreamHeader:
    """Header of one stream group; attributes a foreign writer left out get the readers' defaults."""
    data = g.get("data")
    if not isinstance(data, h5py.Dataset) or data.ndim != 2:
        raise ValueError(f"{path}: expected /streams/{key}/data of shape (n_times, n_chans), found "
                         f"{getattr(data, 'shape', 'nothing')}")
    n_times, n_chans = data.shape
    stamps = g.get("timestamps")
    if isinstance(stamps, h5py.Dataset):
        n_times = min(n_times, stamps.shape[0])  # a killed recorder may have flushed one before the other
    first = float(stamps[0]) if isinstance(stamps, h5py.Dataset) and n_times else float("nan")
    attrs = g.attrs
    name, stype = _text(attrs.get("name", key)), _text(attrs.get("type", ""))
    channels = []
    for field_name in ("ch_names", "ch_types", "ch_units"):
        values = _plain(attrs[field_name]) if field_name in attrs else [None] * n_chans
        values = [values] if isinstance(values, str) else list(values)
        if len(values) != n_chans:
            raise ValueError(f"{path}: stream {name!r} has {n_chans} channels but {len(values)} {field_name}")
        channels.append(values)
    ch_names, ch_types, ch_units, _ = fill_channel_info(*channels, stype)
    return StreamHeader(key=key, name=name, type=stype, source_id=_text(attrs.get("source_id", "")),
                        sfreq=float(attrs.get("sfreq", 0.0)), n_times=int(n_times), first_timestamp=first,
                        is_marker=h5py.check_string_dtype(data.dtype) is not None, ch_names=tuple(ch_names),
                        ch_types=tuple(ch_types), ch_units=tuple(ch_units))


def _read_group(path: Path, key: str, g: h5py.Group) -> RecordedStream:
    head = _group_header(path, key, g)
    data = g["data"][: head.n_times]
    if head.is_marker:
        data = np.vectorize(lambda b: b.decode("utf-8") if isinstance(b, bytes) else str(b),
                            otypes=[object])(data) if data.size else data.astype(object)
    known = {"name", "type", "sfreq", "source_id", "ch_names", "ch_types", "ch_units"}
    attrs = {k: _plain(v) for k, v in g.attrs.items() if k not in known}
    empty = np.zeros((0,), dtype=np.float64)
    return RecordedStream(
        name=head.name, type=head.type, sfreq=head.sfreq, source_id=head.source_id, ch_names=list(head.ch_names),
        ch_types=list(head.ch_types), ch_units=list(head.ch_units), data=data,
        timestamps=g["timestamps"][: head.n_times] if "timestamps" in g else empty,
        clock_offsets=g["clock_offsets"][()] if "clock_offsets" in g else np.zeros((0, 2)),
        gaps=g["gaps"][()] if "gaps" in g else np.zeros((0, 4)), attrs=attrs, source_changes=_source_changes(g))


def _source_changes(g: h5py.Group) -> list[tuple[float, int, str]]:
    """``(timestamp, first_row, source_id)`` per source change of a stream group (none in older files)."""
    if "source_changes" not in g or "source_ids" not in g:
        return []
    rows, ids = g["source_changes"][()], g["source_ids"][()]
    n = min(len(rows), len(ids))  # a killed recorder may have flushed one before the other
    return [(float(rows[k, 0]), int(rows[k, 1]), _text(ids[k])) for k in range(n)]


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value
