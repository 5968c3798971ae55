"""Read XDF files (LabRecorder's format) with pyxdf into :class:`~eegaffect.acquisition.readers.base.RecordedStream`
objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eegaffect.acquisition.channels import fill_channel_info
from eegaffect.acquisition.readers.base import RecordedStream

__all__ = ["read_xdf", "XDF_SUFFIXES"]

#: File suffixes of XDF files (``.xdfz``: compressed).
XDF_SUFFIXES = (".xdf", ".xdfz")


def read_xdf(path: str | Path) -> dict[str, RecordedStream]:
    """Read an XDF file (LabRecorder's format) with pyxdf.

    XDF has no index of its streams: the whole file is read, whichever streams the caller needs. Timestamps are
    synchronised across streams with the recorded clock offsets (pyxdf's default) but not dejittered. Channel
    metadata come from each stream's ``desc/channels/channel``; missing entries get the defaults of
    :func:`~eegaffect.acquisition.channels.fill_channel_info` (``ch1``.., the stream type, ``unknown``).

    Parameters
    ----------
    path : str | Path
        The ``.xdf`` / ``.xdfz`` file.

    Returns
    -------
    streams : dict of str to RecordedStream
        Stream name (suffixed with the stream id when names repeat) -> stream, in file order.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is not XDF, is corrupt, or holds no stream (empty or truncated).
    """
    import pyxdf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"XDF file {path} does not exist")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"XDF:" and path.suffix.lower() != ".xdfz":
        raise ValueError(f"{path}: expected an XDF file starting 'XDF:', found {magic!r}")
    try:
        raw, _header = pyxdf.load_xdf(str(path), dejitter_timestamps=False)
    except Exception as exc:  # pyxdf raises many kinds on corrupt files
        raise ValueError(f"{path}: cannot read the XDF file ({type(exc).__name__}: {exc})") from None
    if not raw:  # pyxdf logs and returns what it could read from a truncated file
        raise ValueError(f"{path}: the XDF file holds no stream (expected at least one; the file is empty or "
                         "truncated)")
    out: dict[str, RecordedStream] = {}
    for s in raw:
        info = s["info"]
        name = _first(info.get("name"), "stream")
        n_chans = int(_first(info.get("channel_count"), "1"))
        sfreq = float(_first(info.get("nominal_srate"), "0"))
        fmt = _first(info.get("channel_format"), "float32")
        names, types, units = _xdf_channels(info, n_chans, _first(info.get("type"), ""))
        ts = np.asarray(s.get("time_stamps", []), dtype=np.float64)
        series = s.get("time_series", [])
        if fmt == "string":
            data = np.empty((len(series), n_chans), dtype=object)
            for k, row in enumerate(series):
                data[k, :] = [str(v) for v in row]
        else:
            data = np.asarray(series).reshape(len(ts), n_chans)
        key = name if name not in out else f"{name}@{info.get('stream_id', len(out))}"
        clock = s.get("clock_times", [])
        offsets = np.column_stack([clock, s.get("clock_values", [])]) if len(clock) else np.zeros((0, 2))
        out[key] = RecordedStream(name=name, type=_first(info.get("type"), ""), sfreq=sfreq,
                                  source_id=_first(info.get("source_id"), ""), ch_names=names, ch_types=types,
                                  ch_units=units, data=data, timestamps=ts, clock_offsets=offsets)
    return out


def _first(value, default: str | None) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return default if value in (None, "") else str(value)


def _xdf_channels(info: dict, n_chans: int, stype: str) -> tuple[list[str], list[str], list[str]]:
    names, types, units = [None] * n_chans, [None] * n_chans, [None] * n_chans
    try:
        chans = info["desc"][0]["channels"][0]["channel"]
    except (KeyError, IndexError, TypeError):
        chans = []
    for k, ch in enumerate(chans[:n_chans]):
        names[k], types[k], units[k] = (_first(ch.get(key), None) for key in ("label", "type", "unit"))
    return fill_channel_info(names, types, units, stype)[:3]
