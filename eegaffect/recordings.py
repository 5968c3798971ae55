"""Read a recording from any supported file into one :class:`Recording`.

Supported: eegaffect's HDF5 recordings (``.h5``/``.hdf5``, :mod:`eegaffect.acquisition.recorder`), XDF
(``.xdf``/``.xdfz``, LabRecorder; read with pyxdf) and every format MNE reads — EDF (``.edf``), BDF (``.bdf``), FIF
(``.fif``, ``.fif.gz``), BrainVision (``.vhdr``), EEGLAB (``.set``) and the rest of :func:`mne.io.read_raw`.

Conventions of the returned :class:`Recording`:

- ``data`` is ``(n_times, n_chans)`` float64 (the LSL / kernels layout);
- voltage channels read through MNE (EEG, EOG, ECG, EMG, sEEG, ECoG) are converted from volts to microvolts, the
  unit EEG streams use; their ``ch_units`` say ``"microvolts"``;
- ``timestamps`` are seconds: LSL time for HDF5/XDF recordings, time from the first sample for MNE formats;
- marker streams (HDF5/XDF string streams) and MNE annotations (onset, description) become
  :class:`MarkerStream` entries, their times in the same clock as ``timestamps``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Recording", "MarkerStream", "read_recording", "RECORDING_SUFFIXES"]

_OWN = {".h5", ".hdf5", ".xdf", ".xdfz"}
#: File suffixes :func:`read_recording` knows (MNE may read more through :func:`mne.io.read_raw`).
RECORDING_SUFFIXES = (".h5", ".hdf5", ".xdf", ".xdfz", ".edf", ".bdf", ".fif", ".fif.gz", ".vhdr", ".set")
_VOLTAGE_TYPES = {"eeg", "eog", "ecg", "emg", "seeg", "ecog", "dbs"}


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
        return self.data.shape[0]

    @property
    def n_chans(self) -> int:
        return self.data.shape[1]

    @property
    def duration(self) -> float:
        """Length in seconds (``n_times / sfreq``)."""
        return self.n_times / self.sfreq


def read_recording(path: str | Path, stream: str | None = None) -> Recording:
    """Read a recording file.

    Parameters
    ----------
    path : str | Path
        The file (see the module docstring for the formats).
    stream : str | None
        For multi-stream files (HDF5, XDF): the stream to return as ``data``; default the first regularly
        sampled numeric stream. Marker streams are always returned in ``markers``.

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
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"recording {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in _OWN:
        return _read_own(path, stream)
    if stream is not None:
        raise ValueError(f"{path.name}: 'stream' only applies to multi-stream files (HDF5, XDF)")
    return _read_mne(path)


def _read_own(path: Path, stream: str | None) -> Recording:
    from eegaffect.acquisition.player import pick_streams, read_recording_streams

    streams = read_recording_streams(path)
    main, _ = pick_streams(streams, stream, path)
    if main.is_marker or main.sfreq <= 0:
        raise ValueError(f"{path}: stream {main.name!r} is not regularly sampled numeric data "
                         f"(sfreq={main.sfreq:g}, marker={main.is_marker})")
    markers = [MarkerStream(s.name, np.asarray(s.timestamps, dtype=np.float64),
                            [str(v) for v in s.data[:, 0]], np.zeros(len(s.timestamps)))
               for s in streams.values() if s.is_marker]
    fmt = "hdf5" if path.suffix.lower() in {".h5", ".hdf5"} else "xdf"
    return Recording(data=np.asarray(main.data, dtype=np.float64), sfreq=float(main.sfreq),
                     ch_names=list(main.ch_names), ch_types=list(main.ch_types), ch_units=list(main.ch_units),
                     timestamps=np.asarray(main.timestamps, dtype=np.float64), markers=markers, name=main.name,
                     path=path, format=fmt)


def _read_mne(path: Path) -> Recording:
    import mne

    try:
        raw = mne.io.read_raw(path, preload=True, verbose="error")
    except Exception as exc:  # MNE's readers fail in reader-specific ways (ValueError, AssertionError, ...)
        raise ValueError(f"{path.name}: not a recording format eegaffect or MNE can read "
                         f"(known: {', '.join(RECORDING_SUFFIXES)}): {type(exc).__name__}: {exc}") from None
    data = raw.get_data().T.astype(np.float64, copy=False)
    types = raw.get_channel_types()
    units = []
    for k, (kind, ch) in enumerate(zip(types, raw.info["chs"])):
        if kind in _VOLTAGE_TYPES:
            data[:, k] *= 1e6
            units.append("microvolts")
        else:
            units.append(_fiff_unit_name(ch["unit"]))
    ann = raw.annotations
    onsets = np.asarray(ann.onset, dtype=np.float64)
    if ann.orig_time is not None:
        onsets = onsets - raw.first_time
    markers = [MarkerStream("annotations", onsets, [str(d) for d in ann.description],
                            np.asarray(ann.duration, dtype=np.float64))] if len(ann) else []
    fmt = type(raw).__name__.replace("Raw", "").lower() or "fif"
    return Recording(data=np.ascontiguousarray(data), sfreq=float(raw.info["sfreq"]), ch_names=list(raw.ch_names),
                     ch_types=list(types), ch_units=units, timestamps=raw.times.astype(np.float64), markers=markers,
                     name=path.name.split(".")[0], path=path, format=fmt or "fif")


def _fiff_unit_name(code) -> str:
    from mne.io.constants import FIFF

    names = {FIFF.FIFF_UNIT_V: "V", FIFF.FIFF_UNIT_T: "T", FIFF.FIFF_UNIT_T_M: "T/m", FIFF.FIFF_UNIT_NONE: "none",
             FIFF.FIFF_UNIT_CEL: "degC", FIFF.FIFF_UNIT_MOL: "mol", FIFF.FIFF_UNIT_S: "s"}
    return names.get(int(code), "unknown")
