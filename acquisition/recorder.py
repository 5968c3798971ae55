"""Record LSL streams into one HDF5 file that survives a crash.

The file layout and its reading back are in :mod:`eegaffect.acquisition.readers.hdf5` (re-exported here:
:func:`load_recording`, :func:`read_stream_headers`, :func:`open_recording_file`); this module only writes.

The file is written in HDF5's single-writer/multiple-reader (SWMR) mode and flushed at least once a second, so a
recorder killed with SIGKILL leaves a consistent file holding every sample up to the last flush;
:func:`~eegaffect.acquisition.readers.hdf5.load_recording` opens such a file (in SWMR-read mode when the file is still
marked open).

A full disk never reaches HDF5: before every write the recorder reserves the file space the write can need
(``posix_fallocate`` past HDF5's end of file: the batch, two chunks per dataset and room for the metadata). When the
reservation fails (``ENOSPC``; ``EFBIG`` past a file-size limit; ``EDQUOT``) nothing of that batch is written, the
file is closed cleanly holding every sample up to the last flush, and :attr:`Recorder.error` says why. A write that
fails inside HDF5 instead (an I/O error, a copy-on-write file system where a reservation guarantees nothing) leaves
dirty objects whose close then fails; HDF5 keeps such half-closed objects and crashes on them at interpreter exit
(h5py issue 914). Datasets are therefore opened without a raw-data chunk cache, so that a failing write raises at
the write call, and after a failure they are cut back to the last flush before the file is closed: closing never has
unwritten samples to write.
"""

from __future__ import annotations

import datetime as _dt
import errno
import logging
import os
import threading
from importlib import metadata
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
from eegaffect.acquisition.lsl import Stream
from eegaffect.acquisition.readers.base import RecordedStream, StreamHeader
from eegaffect.acquisition.readers.hdf5 import (
    FORMAT_NAME,
    FORMAT_VERSION,
    GAP_COLUMNS,
    SOURCE_CHANGE_COLUMNS,
    load_recording,
    open_recording_file,
    read_stream_headers,
)

__all__ = ["Recorder", "RecorderError", "RecordedStream", "StreamHeader", "load_recording", "read_stream_headers",
           "open_recording_file", "FORMAT_NAME", "FORMAT_VERSION"]

logger = logging.getLogger("eegaffect.acquisition.recorder")

_DATASETS = ("data", "timestamps", "clock_offsets", "gaps", "source_changes", "source_ids")
#: File space reserved before every write besides the batch and two chunks per dataset (the partly filled chunks
#: at either end of the batch): HDF5's metadata (object headers, chunk-index entries and blocks, its 2 KiB metadata
#: and small-data blocks).
_RESERVE_FIXED = 256 * 1024
#: ... plus this fraction of the file: chunk-index blocks double with the number of chunks (8 bytes per chunk of
#: at least 4 KiB), so the largest new index block stays below 1/512 of the file.
_RESERVE_FRACTION = 1 / 256
#: Bytes per marker string besides its text: the variable-length reference in the chunk and the heap object header.
_STRING_OVERHEAD = 48


class RecorderError(OSError):
    """The recording file cannot be created or written (exists, unwritable path, disk full)."""


def _version() -> str:
    try:
        return metadata.version("eegaffect")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


class Recorder:
    """Record connected :class:`~eegaffect.acquisition.lsl.Stream` objects into one HDF5 file.

    Parameters
    ----------
    path : str | Path
        Output ``.h5`` file.
    streams : sequence of Stream
        Connected streams. The recorder *consumes* them (it calls ``read_new``); open separate streams for other
        consumers. Give them a ring buffer of a few seconds at least (``bufsize``); ``dejitter=False`` keeps the
        raw clock-synchronised timestamps, which is what recordings usually want.
    overwrite : bool
        Replace an existing file; otherwise an existing path is an error.
    flush_interval : float
        Seconds between writes/flushes, at most 1.

    Notes
    -----
    A stream that restarts under a new source_id and is switched to by its inlet
    (``Stream(reresolve_after_s=...)``) goes on in the same datasets: the switch is recorded in the stream's
    ``source_changes`` (timestamp and row of the new source's first sample) and ``source_ids`` datasets, and the
    gap before it in ``gaps`` (a reconnect whose lost samples are unknown). The group's ``source_id`` attribute
    stays the first source's (attributes cannot change in SWMR mode).

    A write error stops the recording, logs it and keeps it in :attr:`error` (a :class:`RecorderError` naming the
    file and the cause); the streams keep acquiring into their ring buffers, and the samples of the batch that
    could not be written stay unread there. A full disk (or a file-size limit or quota) is detected before anything
    of a batch is written, by reserving the space first, so the file is then closed cleanly and holds every sample
    up to the last flush; :attr:`n_written` counts the flushed samples. Use as a context manager, or :meth:`start`
    / :meth:`stop`.
    """

    def __init__(self, path: str | Path, streams: Sequence[Stream], *, overwrite: bool = False,
                 flush_interval: float = 0.5):
        streams = list(streams)
        if not streams:
            raise ValueError("expected at least one stream to record, got none")
        for s in streams:
            if not isinstance(s, Stream):
                raise TypeError(f"expected eegaffect.acquisition.lsl.Stream objects, got {type(s).__name__}")
            if not s.connected:
                raise ValueError(f"stream {s!r} is not connected; connect it before recording")
        if not 0 < flush_interval <= 1.0:
            raise ValueError(f"flush_interval must be in (0, 1] seconds, got {flush_interval}")
        self._path = Path(path)
        self._streams = streams
        self._overwrite = bool(overwrite)
        self._flush_interval = float(flush_interval)
        self._file: h5py.File | None = None
        self._dsets: dict[str, dict[str, h5py.Dataset]] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.error: BaseException | None = None
        self._n_written: dict[str, int] = {}
        self._n_flushes = 0
        self._sources: dict[str, str] = {}  # group -> source_id of the samples written last
        self._n_changes: dict[str, int] = {}  # group -> source changes written and flushed

    @property
    def path(self) -> Path:
        """HDF5 file the recording is written to."""
        return self._path

    @property
    def n_written(self) -> dict[str, int]:
        """Samples written and flushed per stream group name."""
        return dict(self._n_written)

    @property
    def n_source_changes(self) -> dict[str, int]:
        """Source changes of each stream group written and flushed so far (see the class notes)."""
        return dict(self._n_changes)

    @property
    def n_flushes(self) -> int:
        """Number of flushes of the HDF5 file so far."""
        return self._n_flushes

    @property
    def recording(self) -> bool:
        """Whether the writer thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "Recorder":
        """Create the file and start writing.

        Raises
        ------
        RecorderError
            When the file exists (and ``overwrite`` is False) or cannot be created.
        """
        if self._file is not None:
            raise RuntimeError(f"recorder for {self._path} already started")
        self._file, self._groups = _create_file(self._path, self._streams, self._overwrite)
        self._dsets = {g: {k: self._file["streams"][g][k] for k in _DATASETS} for g in self._groups}
        self._n_written = {g: 0 for g in self._groups}
        self._sources = {g: s.source_id for g, s in zip(self._groups, self._streams)}
        self._n_changes = {g: 0 for g in self._groups}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="eegaffect-recorder", daemon=True)
        self._thread.start()
        logger.info("recording %d stream(s) to %s", len(self._streams), self._path)
        return self

    def stop(self) -> None:
        """Write what is left, flush and close the file (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            if self._file is not None and self.error is None:
                self._write_or_fail()
            if self._file is not None:
                self._close_file()

    def __enter__(self) -> "Recorder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_interval):
            with self._lock:
                if self._file is None or not self._write_or_fail():
                    return

    def _write_or_fail(self) -> bool:
        """Write and flush one batch; on failure record the error, close the file and return False."""
        try:
            self._write_all()
        except _NoRoom as exc:
            self._fail(f"no room for the next write ({exc.strerror} when reserving {exc.needed / 1e6:.2f} MB "
                       f"past its {exc.size / 1e6:.2f} MB); nothing of that batch was written and the file holds "
                       "every sample up to the last flush")
            self._close_file()
            return False
        except (OSError, RuntimeError) as exc:
            self._fail(f"{_one_line(exc)}; HDF5 failed in the middle of a write, so the file may not open")
            self._rollback()
            self._close_file()
            return False
        return True

    def _fail(self, why: str) -> None:
        written = sum(self._n_written.values())
        self.error = RecorderError(f"writing {self._path} failed: {why}; recording stopped after {written} "
                                   "samples, the streams keep acquiring into their ring buffers")
        logger.error("%s", self.error)

    def _rollback(self) -> None:
        """After a failed write, shrink the datasets back to what the last flush wrote (best effort)."""
        for gname, dsets in self._dsets.items():
            n, n_changes = self._n_written[gname], self._n_changes[gname]
            for key, keep in (("data", n), ("timestamps", n), ("source_changes", n_changes),
                              ("source_ids", n_changes)):
                try:
                    if dsets[key].shape[0] > keep:
                        dsets[key].resize(keep, axis=0)
                except (OSError, RuntimeError):  # the failing file also fails this; closing is what matters
                    pass

    def _close_file(self) -> None:
        """Give the unused reservation back and close the file (h5py closes its datasets first)."""
        file, self._file = self._file, None
        dsets, self._dsets = self._dsets, {}
        try:
            file.flush()
            _release_reservation(file)
        except (OSError, RuntimeError):  # a file already failing: closing below is all that is left to do
            pass
        del dsets  # h5py closes the file's datasets before the file; with no raw-data cache that writes nothing
        try:
            file.close()
        except (OSError, RuntimeError) as exc:
            if self.error is None:
                self._fail(f"closing the file failed ({_one_line(exc)})")
            else:
                logger.error("closing %s after the write error failed too: %s", self._path, exc)

    def _write_all(self) -> None:
        """Reserve the space of one batch, then append it to every stream's datasets and flush."""
        batches = []
        for stream, gname in zip(self._streams, self._groups):
            dsets = self._dsets[gname]
            # markers are read now to measure their strings; samples are read once their space is reserved,
            # so that a full disk leaves them unread in the ring buffer
            pending = stream.read_new() if stream.dtype == object else stream.n_new_samples
            gaps = stream.gaps[dsets["gaps"].shape[0]:]
            offsets = stream.clock_offsets[dsets["clock_offsets"].shape[0]:]
            batches.append((stream, gname, pending, gaps, offsets))
        self._reserve(sum(_batch_nbytes(stream, self._dsets[gname], pending, len(gaps), len(offsets))
                          + _change_nbytes(stream.source_id, self._sources[gname])
                          for stream, gname, pending, gaps, offsets in batches))
        counts, changes = {}, {}
        for stream, gname, pending, gaps, offsets in batches:
            dsets = self._dsets[gname]
            data, ts = pending if isinstance(pending, tuple) else stream.read_new(pending)
            if len(ts):
                n0 = dsets["timestamps"].shape[0]
                change = _source_change(stream, self._sources[gname], ts,
                                        float(dsets["timestamps"][n0 - 1]) if n0 else -np.inf)
                if change is not None:
                    row, source_id = change
                    changes[gname] = source_id
                    _append(dsets["source_changes"], np.array([[ts[row], dsets["data"].shape[0] + row]],
                                                              dtype=np.float64))
                    _append(dsets["source_ids"], np.array([source_id], dtype=object))
                _append(dsets["data"], data)
                _append(dsets["timestamps"], ts)
            counts[gname] = len(ts)
            if gaps:
                _append(dsets["gaps"], np.array([[g.timestamp, g.n_samples, g.seconds, float(g.reconnect)]
                                                 for g in gaps], dtype=np.float64))
            if offsets:
                _append(dsets["clock_offsets"], np.asarray(offsets, dtype=np.float64))
        self._file.flush()
        for gname, n in counts.items():
            self._n_written[gname] += n
        for gname, source_id in changes.items():
            logger.info("recording %s: stream group %r continues from a new source, source_id %r (was %r)",
                        self._path, gname, source_id, self._sources[gname])
            self._sources[gname] = source_id
            self._n_changes[gname] += 1
        self._n_flushes += 1

    def _reserve(self, nbytes: int) -> None:
        """Allocate room for the next ``nbytes`` (and HDF5's metadata) past the end of HDF5's file.

        Raises
        ------
        _NoRoom
            When the space cannot be reserved (disk full, file-size limit, quota, I/O error); nothing was
            written then.
        """
        size = self._file.id.get_filesize()  # HDF5's end of file, not the OS size (which includes a reservation)
        needed = int(nbytes + _RESERVE_FIXED + size * _RESERVE_FRACTION)
        try:
            _allocate(self._file.id.get_vfd_handle(), size, needed)
        except OSError as exc:
            code = exc.errno or errno.EIO
            raise _NoRoom(code, exc.strerror or os.strerror(code), size, needed) from None


class _NoRoom(OSError):
    """The space of the next write could not be reserved (nothing of it was written)."""

    def __init__(self, code: int, strerror: str, size: int, needed: int):
        super().__init__(code, strerror)
        self.size, self.needed = size, needed


def _allocate(fd: int, offset: int, length: int) -> None:
    """Make ``[offset, offset + length)`` of the file occupy disk blocks (extending it), or raise OSError.

    Where the file system cannot preallocate, compare with the free space instead (a check, not a reservation).
    """
    try:
        os.posix_fallocate(fd, offset, length)
        return
    except AttributeError:  # pragma: no cover - platforms without posix_fallocate (macOS, Windows)
        pass
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    stat = os.fstatvfs(fd) if hasattr(os, "fstatvfs") else None
    if stat is not None and stat.f_bavail * stat.f_frsize < length:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _release_reservation(file: h5py.File) -> None:
    """Cut the file back to HDF5's end of file, dropping the unused reservation (HDF5 writes nothing past it)."""
    fd = file.id.get_vfd_handle()
    size = file.id.get_filesize()
    if os.fstat(fd).st_size > size:
        os.ftruncate(fd, size)


def _batch_nbytes(stream: Stream, dsets: dict[str, h5py.Dataset], pending, n_gaps: int, n_offsets: int) -> int:
    """Upper bound of the file bytes one batch adds: its values plus two (partly filled) chunks per dataset."""
    if isinstance(pending, tuple):  # markers already read: measure the strings
        data = pending[0]
        n = len(pending[1])
        values = sum(len(str(v).encode("utf-8")) + _STRING_OVERHEAD for v in data.ravel())
    else:
        n = int(pending)
        values = n * stream.n_chans * stream.dtype.itemsize
    values += 8 * n + 32 * n_gaps + 16 * n_offsets
    chunks = sum(int(np.prod(d.chunks)) * d.dtype.itemsize for d in dsets.values())
    return values + 2 * chunks


def _source_change(stream: Stream, recorded: str, ts: np.ndarray, written_until: float) -> tuple[int, str] | None:
    """``(row in ts, source_id)`` of the first sample of a new source in a batch just read, or None.

    The stream's inlet switches source only after ``reresolve_after_s`` without data, and records the gap before
    the new source's first sample (a reconnect stamped with that sample's time) before the sample reaches the
    ring buffer: the batch's samples from that gap on are the new source's. When the new source's first sample
    came after the batch was read (no such gap after ``written_until``, the last timestamp written, or none
    inside the batch), the change is found in a later batch.
    """
    source_id = stream.source_id
    if source_id == recorded:
        return None
    reconnects = [g.timestamp for g in stream.gaps if g.reconnect and g.timestamp > written_until]
    if not reconnects:
        return None
    half_step = 0.5 / stream.sfreq if stream.sfreq > 0 else 0.0
    row = int(np.searchsorted(ts, reconnects[-1] - half_step))
    return (row, source_id) if row < len(ts) else None


def _change_nbytes(source_id: str, recorded: str) -> int:
    """File bytes of one source change (its row and string), when the stream's source differs from the recorded."""
    return 0 if source_id == recorded else 16 + len(source_id.encode("utf-8")) + _STRING_OVERHEAD


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (HDF5's messages carry a line break inside their time stamp)."""
    return " ".join(str(exc).split())


def _append(dset: h5py.Dataset, values: np.ndarray) -> None:
    n0 = dset.shape[0]
    dset.resize(n0 + len(values), axis=0)
    dset[n0:] = values


def _group_names(streams: Sequence[Stream]) -> list[str]:
    names = [s.name.replace("/", "_") or "stream" for s in streams]
    out = []
    for s, name in zip(streams, names):
        out.append(f"{name}@{s.source_id.replace('/', '_')}" if names.count(name) > 1 else name)
    return out


def _create_file(path: Path, streams: Sequence[Stream], overwrite: bool) -> tuple[h5py.File, list[str]]:
    if path.exists() and not overwrite:
        raise RecorderError(f"{path} already exists; refusing to overwrite it (choose another file or pass "
                            "overwrite=True / --overwrite)")
    if not path.parent.is_dir():
        raise RecorderError(f"cannot create {path}: directory {path.parent} does not exist")
    try:
        # rdcc_nbytes=0: no raw-data chunk cache, so a failing write raises at the write and a close never writes
        f = h5py.File(path, "w", libver="latest", rdcc_nbytes=0)
    except OSError as exc:
        raise RecorderError(f"cannot create {path}: {exc}") from None
    try:
        _allocate(f.id.get_vfd_handle(), 0, _RESERVE_FIXED)  # the layout below never meets a full disk either
        names = _write_layout(f, streams)
    except (OSError, RuntimeError) as exc:  # no room even for the layout: nothing worth keeping was written
        try:
            _release_reservation(f)
            f.close()
        except (OSError, RuntimeError):  # the same failure again; the file goes anyway
            pass
        path.unlink(missing_ok=True)
        raise RecorderError(f"cannot create {path}: {getattr(exc, 'strerror', None) or _one_line(exc)}") from None
    return f, names


def _write_layout(f: h5py.File, streams: Sequence[Stream]) -> list[str]:
    """Write the file attributes and the empty datasets of every stream, flush, and switch to SWMR."""
    now = _dt.datetime.now(_dt.timezone.utc).isoformat()
    version = _version()
    f.attrs.update({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "created_at": now,
                    "eegaffect_version": version})
    root = f.create_group("streams")
    names = _group_names(streams)
    for stream, gname in zip(streams, names):
        g = root.create_group(gname)
        n_chans = stream.n_chans
        if stream.dtype == object:
            dtype, rows = h5py.string_dtype("utf-8"), 64
        else:
            dtype = stream.dtype
            rows = int(np.clip(2 ** 16 // max(1, n_chans * dtype.itemsize), 16, 4096))
        g.create_dataset("data", shape=(0, n_chans), maxshape=(None, n_chans), chunks=(rows, n_chans),
                         dtype=dtype)
        g.create_dataset("timestamps", shape=(0,), maxshape=(None,), chunks=(max(rows, 512),), dtype=np.float64)
        g.create_dataset("clock_offsets", shape=(0, 2), maxshape=(None, 2), chunks=(64, 2), dtype=np.float64)
        gaps = g.create_dataset("gaps", shape=(0, 4), maxshape=(None, 4), chunks=(64, 4), dtype=np.float64)
        gaps.attrs["columns"] = list(GAP_COLUMNS)
        changes = g.create_dataset("source_changes", shape=(0, 2), maxshape=(None, 2), chunks=(16, 2),
                                   dtype=np.float64)
        changes.attrs["columns"] = list(SOURCE_CHANGE_COLUMNS)
        g.create_dataset("source_ids", shape=(0,), maxshape=(None,), chunks=(16,), dtype=h5py.string_dtype("utf-8"))
        g.attrs.update({"name": stream.name, "type": stream.type, "sfreq": float(stream.sfreq),
                        "source_id": stream.source_id, "ch_names": stream.ch_names, "ch_types": stream.ch_types,
                        "ch_units": stream.ch_units, "created_at": now, "eegaffect_version": version})
    f.flush()
    f.swmr_mode = True  # from here on the file stays consistent at every flush
    return names
