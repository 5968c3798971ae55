"""Reading recordings back: one module per format, all returning the types of
:mod:`~eegaffect.acquisition.readers.base`.

- :mod:`~eegaffect.acquisition.readers.hdf5`: eegaffect's crash-safe HDF5 recordings (:func:`load_recording`,
  :func:`read_stream_headers`, :func:`open_recording_file`, :func:`read_stream_data`);
- :mod:`~eegaffect.acquisition.readers.xdf`: LabRecorder's XDF files (:func:`read_xdf`).

:func:`read_recording_streams` reads either by the file's suffix. Formats that need MNE are read by
:mod:`eegaffect.recordings`; the recorder only writes and the player only plays.
"""

from __future__ import annotations

from pathlib import Path

from eegaffect.acquisition.readers.base import RecordedStream, StreamHeader, pick_streams
from eegaffect.acquisition.readers.hdf5 import (FORMAT_NAME, FORMAT_VERSION, HDF5_SUFFIXES, load_recording,
                                                open_recording_file, read_stream_data, read_stream_headers)
from eegaffect.acquisition.readers.xdf import XDF_SUFFIXES, read_xdf

__all__ = ["RecordedStream", "StreamHeader", "pick_streams", "read_recording_streams", "load_recording",
           "read_stream_headers", "read_stream_data", "open_recording_file", "read_xdf", "FORMAT_NAME",
           "FORMAT_VERSION", "HDF5_SUFFIXES", "XDF_SUFFIXES"]


def read_recording_streams(path: str | Path) -> dict[str, RecordedStream]:
    """Every stream of an eegaffect HDF5 recording or an XDF file.

    Parameters
    ----------
    path : str | Path
        ``.h5``/``.hdf5`` (eegaffect recording) or ``.xdf``/``.xdfz``.

    Returns
    -------
    streams : dict of str to RecordedStream
        Stream (group) name -> stream.
    """
    path = Path(path)
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix in HDF5_SUFFIXES:
        return load_recording(path)
    if suffix in XDF_SUFFIXES:
        return read_xdf(path)
    raise ValueError(f"expected an eegaffect recording (.h5/.hdf5) or an XDF file (.xdf/.xdfz), got {path.name!r}")
