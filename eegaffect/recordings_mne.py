"""Read the recording formats MNE reads (EDF, BDF, GDF, FIF, BrainVision, EEGLAB, ...) as one eegaffect stream.

An MNE file is one stream, key :data:`MNE_STREAM_KEY` (all its channels, named after the file stem), described by
a :class:`~eegaffect.acquisition.readers.base.StreamHeader` read from the file's header
(``mne.io.read_raw(preload=False)``); samples are read on request. Voltage channels (EEG, EOG, ECG, EMG, sEEG,
ECoG, DBS) are converted from volts to microvolts, the unit EEG streams use, and their ``ch_units`` say
``"microvolts"``. Annotations come back as ``(onsets, descriptions, durations)`` in seconds from the first sample.

The other formats (eegaffect's HDF5 recordings, XDF) are read in :mod:`eegaffect.acquisition.readers`, which may
not import MNE; :mod:`eegaffect.recordings` puts them all behind one interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the acquisition layer (h5py) is imported where a file is read
    from eegaffect.acquisition.readers.base import StreamHeader

__all__ = ["MNE_STREAM_KEY", "read_raw", "stream_header", "annotations", "read_data"]

#: Key of the one stream of an MNE-readable file.
MNE_STREAM_KEY = "eeg"
_VOLTAGE_TYPES = {"eeg", "eog", "ecg", "emg", "seeg", "ecog", "dbs"}


def read_raw(path: Path, known: tuple[str, ...] = ()):
    """Open a file with :func:`mne.io.read_raw` (header only), or raise ValueError naming the file.

    Parameters
    ----------
    path : Path
        The file.
    known : tuple of str
        File suffixes eegaffect reads, listed in the error message.

    Returns
    -------
    raw : mne.io.BaseRaw
        Not preloaded.
    """
    import mne

    try:
        return mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as exc:  # MNE's readers fail in reader-specific ways (ValueError, AssertionError, ...)
        listing = f" (known: {', '.join(known)})" if known else ""
        raise ValueError(f"{path}: MNE cannot read this file ({type(exc).__name__}: {exc}); not a recording "
                         f"format eegaffect or MNE can read{listing}") from None


def stream_header(path: Path, raw) -> tuple[StreamHeader, str]:
    """The header of a file's one stream and the format's name.

    Parameters
    ----------
    path : Path
        The file (its stem names the stream).
    raw : mne.io.BaseRaw
        The file as :func:`read_raw` opened it.

    Returns
    -------
    header : StreamHeader
        Key :data:`MNE_STREAM_KEY`, ``first_timestamp`` 0 (times run from the first sample).
    format : str
        The MNE reader's format (``"edf"``, ``"bdf"``, ``"fif"``, ``"brainvision"``, ``"eeglab"``, ...).
    """
    from eegaffect.acquisition.readers.base import StreamHeader

    types = raw.get_channel_types()
    units = ["microvolts" if kind in _VOLTAGE_TYPES else _fiff_unit_name(ch["unit"])
             for kind, ch in zip(types, raw.info["chs"])]
    n_times = int(raw.n_times)
    stream = StreamHeader(key=MNE_STREAM_KEY, name=path.name.split(".")[0], type="EEG", source_id="",
                          sfreq=float(raw.info["sfreq"]), ch_names=tuple(raw.ch_names), ch_types=tuple(types),
                          ch_units=tuple(units), n_times=n_times, first_timestamp=0.0 if n_times else float("nan"),
                          is_marker=False)
    return stream, type(raw).__name__.replace("Raw", "").lower() or "fif"


def annotations(raw) -> tuple[np.ndarray, list[str], np.ndarray] | None:
    """A file's annotations: ``(onsets, descriptions, durations)``, onsets in seconds from the first sample;
    None when it has none."""
    ann = raw.annotations
    if not len(ann):
        return None
    onsets = np.asarray(ann.onset, dtype=np.float64)
    if ann.orig_time is not None:
        onsets = onsets - raw.first_time
    return onsets, [str(d) for d in ann.description], np.asarray(ann.duration, dtype=np.float64)


def read_data(raw, stream: StreamHeader, picks: list[int] | None) -> np.ndarray:
    """The samples, ``(n_times, n_picks)`` float64, voltage channels in microvolts (MNE holds volts)."""
    picks = list(range(stream.n_chans)) if picks is None else picks
    data = raw.get_data(picks=picks).astype(np.float64, copy=False)
    volts = [row for row, k in enumerate(picks) if stream.ch_types[k] in _VOLTAGE_TYPES]
    data[volts] *= 1e6
    return data.T


def _fiff_unit_name(code) -> str:
    from mne.io.constants import FIFF

    names = {FIFF.FIFF_UNIT_V: "V", FIFF.FIFF_UNIT_T: "T", FIFF.FIFF_UNIT_T_M: "T/m", FIFF.FIFF_UNIT_NONE: "none",
             FIFF.FIFF_UNIT_CEL: "degC", FIFF.FIFF_UNIT_MOL: "mol", FIFF.FIFF_UNIT_S: "s"}
    return names.get(int(code), "unknown")
