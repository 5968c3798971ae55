"""Replay: stream an array or a recording file as an LSL outlet at real-time pace (or a speed factor).

:class:`Player` pushes ``(n_times, n_chans)`` data in chunks of ``chunk_size`` samples, each chunk when its last
sample is due, with per-sample timestamps on the push timeline ``t_start + t_rel / speed`` (``t_rel`` = the file's
own relative timestamps when known, else ``k / sfreq``), so a real-time replay carries the recording's spacing
and a fast replay stays monotonic and never runs ahead of the clock. It can loop, and can append a
``sample_index`` channel (the running sample count, continuing across loops) that lets a receiver align every
sample exactly. Marker streams of a recording are replayed on a second, irregular outlet.

:meth:`Player.from_file` plays an eegaffect HDF5 recording or an XDF file, read by
:mod:`eegaffect.acquisition.readers` (whose :func:`read_xdf`, :func:`read_recording_streams` and
:func:`pick_streams` this module re-exports). Other formats (EDF, BDF, FIF, BrainVision, EEGLAB) are read by
:func:`eegaffect.recordings.read_recording` and played with :class:`Player` directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from eegaffect.acquisition.channels import INDEX_CHANNEL_NAME
from eegaffect.acquisition.outlet import Outlet
from eegaffect.acquisition.pusher import PacedPusher
from eegaffect.acquisition.readers import pick_streams, read_recording_streams, read_xdf

__all__ = ["Player", "read_xdf", "read_recording_streams", "pick_streams"]

_PacedPusher = PacedPusher  # the base's name before it became public


class Player(PacedPusher):
    """Stream an array as an LSL outlet at real-time pace or a speed factor.

    Parameters
    ----------
    data : ndarray, shape (n_times, n_chans)
        Samples.
    sfreq : float
        Nominal rate in Hz (> 0).
    ch_names : sequence of str
        Channel names.
    name, type : str
        Stream name and content type.
    ch_types, ch_units : str | sequence of str | None
        Channel metadata (see :func:`~eegaffect.acquisition.outlet.make_stream_info`).
    source_id : str | None
        Outlet source id (unique when None; give a fixed one to let inlets recover across restarts).
    chunk_size : int
        Samples per push.
    speed : float
        Replay speed (1 = real time, 10 = ten times faster).
    loop : bool
        Start again at the beginning when the data end (until :meth:`stop`).
    index_channel : bool
        Append a ``sample_index`` channel holding the running sample count (0, 1, 2, ... across loops).
    channel_format : str
        Outlet format (``"float32"`` default; ``"float64"`` keeps an index channel exact beyond 2**24 samples).
    timestamps : ndarray, shape (n_times,) | None
        The data's own timestamps (seconds); their spacing is replayed. ``None``: ``k / sfreq``.
    markers : tuple of (ndarray, sequence of str) | None
        ``(times, values)``: marker times in the same clock as ``timestamps`` (or seconds from the first sample)
        and their strings, replayed on an irregular ``Markers`` outlet named ``{name}-markers``.
    """

    def __init__(self, data: np.ndarray, sfreq: float, ch_names: Sequence[str], *, name: str = "eegaffect-player",
                 type: str = "EEG", ch_types: str | Sequence[str] | None = None,
                 ch_units: str | Sequence[str] | None = None, source_id: str | None = None, chunk_size: int = 32,
                 speed: float = 1.0, loop: bool = False, index_channel: bool = False,
                 channel_format: str = "float32", timestamps: np.ndarray | None = None,
                 markers: tuple[np.ndarray, Sequence[str]] | None = None):
        super().__init__(speed)
        data = np.asarray(data)
        ch_names = [str(c) for c in ch_names]
        if data.ndim != 2 or data.shape[0] == 0:
            raise ValueError(f"expected data of shape (n_times > 0, n_chans), got {data.shape}")
        if data.shape[1] != len(ch_names):
            raise ValueError(f"expected {data.shape[1]} channel names for data of shape {data.shape}, got "
                             f"{len(ch_names)}")
        if not sfreq > 0:
            raise ValueError(f"sfreq must be > 0 for a player, got {sfreq}")
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if index_channel and INDEX_CHANNEL_NAME in ch_names:
            raise ValueError(f"data already have a {INDEX_CHANNEL_NAME!r} channel; pass index_channel=False")
        n = data.shape[0]
        if timestamps is not None:
            timestamps = np.asarray(timestamps, dtype=np.float64)
            if timestamps.shape != (n,):
                raise ValueError(f"expected {n} timestamps, got shape {timestamps.shape}")
            if n > 1 and np.any(np.diff(timestamps) < 0):
                raise ValueError("timestamps must be non-decreasing")
            origin = float(timestamps[0])
            rel = timestamps - origin
        else:
            origin = 0.0
            rel = np.arange(n, dtype=np.float64) / float(sfreq)
        self._data = data
        self._rel = rel
        self._period = float(rel[-1] + 1.0 / sfreq)
        self._chunk = int(chunk_size)
        self._loop = bool(loop)
        self._index = bool(index_channel)
        self._sfreq = float(sfreq)
        names = ch_names + ([INDEX_CHANNEL_NAME] if index_channel else [])
        types = ch_types
        if index_channel and ch_types is not None:
            types = ([ch_types] * len(ch_names) if isinstance(ch_types, str) else list(ch_types)) + ["misc"]
        elif index_channel:
            types = [type.lower() or "misc"] * len(ch_names) + ["misc"]
        units = ch_units
        if index_channel:
            base = ch_units if ch_units is not None else ("microvolts" if type.upper() == "EEG" else "unknown")
            units = ([base] * len(ch_names) if isinstance(base, str) else list(base)) + ["samples"]
        self.outlet = Outlet(name, type, names, sfreq, ch_types=types, ch_units=units, source_id=source_id,
                             channel_format=channel_format, desc={"manufacturer": "eegaffect",
                                                                 "model": "Player"})
        self._dtype = np.dtype(channel_format)
        self._buf = np.empty((self._chunk, len(names)), dtype=self._dtype)
        self.marker_outlet: Outlet | None = None
        self._markers = None
        if markers is not None:
            mt, mv = markers
            mt = np.asarray(mt, dtype=np.float64) - origin
            mv = [str(v) for v in mv]
            if mt.shape != (len(mv),):
                raise ValueError(f"expected one marker time per marker value, got {mt.shape} and {len(mv)}")
            order = np.argsort(mt, kind="stable")
            self._markers = (mt[order], [mv[k] for k in order])
            self.marker_outlet = Outlet(f"{name}-markers", "Markers", ["marker"], 0.0, ch_types="marker",
                                        ch_units="none", channel_format="string",
                                        source_id=f"{self.outlet.source_id}-markers")
        self._next_marker = 0

    @classmethod
    def from_file(cls, path: str | Path, stream: str | None = None, **kwargs) -> "Player":
        """A player for an eegaffect HDF5 recording (``.h5``/``.hdf5``) or an XDF file (``.xdf``/``.xdfz``).

        Parameters
        ----------
        path : str | Path
            The file.
        stream : str | None
            Name of the stream to play; default the first regularly sampled numeric stream.
        **kwargs
            Passed to :class:`Player` (``name`` defaults to the recorded stream's name).

        Returns
        -------
        player : Player
            Not started yet.
        """
        streams = read_recording_streams(path)
        main, markers = pick_streams(streams, stream, path)
        kwargs.setdefault("name", main.name)
        kwargs.setdefault("type", main.type or "EEG")
        if markers is not None and "markers" not in kwargs:
            kwargs["markers"] = (markers.timestamps, [str(v) for v in markers.data[:, 0]])
        return cls(main.data, main.sfreq, main.ch_names, ch_types=main.ch_types, ch_units=main.ch_units,
                   timestamps=main.timestamps, **kwargs)

    @property
    def source_id(self) -> str:
        """Source id of the player's outlet."""
        return self.outlet.source_id

    @property
    def name(self) -> str:
        """Stream name of the player's outlet."""
        return self.outlet.name

    @property
    def n_times(self) -> int:
        """Number of samples in the recording played (one pass, before looping)."""
        return self._data.shape[0]

    def _plan(self, i: int):
        n = self._data.shape[0]
        if not self._loop and i >= n:
            return None
        j0 = i % n
        m = min(self._chunk, n - j0)
        rel = self._rel[j0:j0 + m] + (i // n) * self._period
        return m, rel

    def _emit(self, i: int, m: int, timestamps: np.ndarray, prepared=None) -> None:
        n = self._data.shape[0]
        j0 = i % n
        buf = self._buf[:m]
        n_data = self._data.shape[1]
        buf[:, :n_data] = self._data[j0:j0 + m]
        if self._index:
            buf[:, n_data] = np.arange(i, i + m)
        self.outlet.push(buf, timestamps)
        if self._markers is not None:
            self._emit_markers(i, m, timestamps)

    def _emit_markers(self, i: int, m: int, timestamps: np.ndarray) -> None:
        times, values = self._markers
        n = self._data.shape[0]
        loop_i = i // n
        if i % n == 0:
            self._next_marker = 0
        end_rel = self._rel[(i % n) + m - 1] + 0.5 / self._sfreq
        k0 = self._next_marker
        k1 = int(np.searchsorted(times, end_rel, side="right"))
        for k in range(k0, k1):
            ts = self._t_start + (times[k] + loop_i * self._period) / self._speed
            self.marker_outlet.push([[values[k]]], ts)
        self._next_marker = k1

    def _wait_consumers(self, timeout: float) -> None:
        self.outlet.wait_for_consumers(timeout)

    def _close_outlets(self) -> None:
        self.outlet.close()
        if self.marker_outlet is not None:
            self.marker_outlet.close()
