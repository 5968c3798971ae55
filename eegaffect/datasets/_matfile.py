"""Reading MATLAB files one variable at a time, with every failure turned into a :class:`DatasetFormatError`.

MAT v5/v7 files (what SEED, SEED-IV and DREAMER ship) are read with :mod:`scipy.io`: :func:`list_variables` reads
only the variable headers (``whosmat``), :func:`read_variable` decompresses only the requested variable (scipy seeks
past the others). scipy silently stops at a truncated file, so :func:`check_mat_file` first walks the top-level
data-element tags (8 bytes each) and checks that every element lies inside the file. MAT v7.3 files (HDF5, what
``save -v7.3`` writes) are read through h5py, transposed back to MATLAB's shape.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np

from eegaffect.datasets.base import DatasetFormatError

logger = logging.getLogger("eegaffect.datasets")

_MI_COMPRESSED = 15
_HEADER_BYTES = 128
_V73_TEXT = b"MATLAB 7.3 MAT-file"
_V5_TEXT = b"MATLAB 5.0 MAT-file"


def mat_version(path: Path) -> str:
    """``"5"`` for MAT v5/v7 (scipy), ``"7.3"`` for HDF5-based files; raises for anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEADER_BYTES)
    except OSError as exc:
        raise DatasetFormatError(f"{path}: cannot open the file ({exc})") from None
    if head.startswith(_V73_TEXT):
        return "7.3"
    if head.startswith(_V5_TEXT) and len(head) == _HEADER_BYTES and head[126:128] in (b"IM", b"MI"):
        return "5"
    shown = head[:20].decode("latin-1", errors="replace")
    raise DatasetFormatError(f"{path}: expected a MATLAB MAT file (header starting 'MATLAB 5.0 MAT-file'), found "
                             f"{len(head)} header bytes starting {shown!r} (not a MAT file, or truncated)")


def check_mat_file(path: Path) -> str:
    """Check that a MAT file is complete; return its version (``"5"`` or ``"7.3"``).

    For v5 files every top-level data element's tag is read and its extent checked against the file size, which
    detects truncated files without reading any array.
    """
    version = mat_version(path)
    if version == "5":
        _walk_v5_tags(path)
    else:
        _open_h5(path).close()
    return version


def _walk_v5_tags(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(126)
        order = "<" if fh.read(2) == b"IM" else ">"
        pos = _HEADER_BYTES
        index = 0
        while pos < size:
            fh.seek(pos)
            tag = fh.read(8)
            if len(tag) < 8:
                if not tag.strip(b"\0"):
                    break  # zero padding at the end of the file
                raise DatasetFormatError(f"{path}: truncated MAT file: data element {index + 1} starts at byte {pos} "
                                         f"but the file ends at {size}")
            mdtype, nbytes = struct.unpack(order + "II", tag)
            if mdtype >> 16:  # small data element: 4 bytes of data inside the tag
                pos += 8
            else:
                end = pos + 8 + nbytes
                if mdtype != _MI_COMPRESSED and nbytes % 8:
                    end += 8 - nbytes % 8
                if end > size:
                    raise DatasetFormatError(f"{path}: truncated MAT file: data element {index + 1} needs bytes "
                                             f"{pos}..{pos + 8 + nbytes} but the file has {size} bytes")
                pos = end
            index += 1


def list_variables(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Names, shapes and MATLAB classes of the variables in a MAT file, without reading the arrays.

    Returns
    -------
    variables : dict of str to (shape, class)
        e.g. ``{"djc_eeg1": ((62, 47001), "double")}``; MATLAB shapes (at least 2-D).
    """
    version = check_mat_file(path)
    if version == "7.3":
        return _list_v73(path)
    import scipy.io

    try:
        entries = scipy.io.whosmat(str(path))
    except Exception as exc:  # scipy raises ValueError, IndexError, zlib.error, ... on corrupt files
        raise DatasetFormatError(f"{path}: cannot read the MAT file's variable list "
                                 f"({type(exc).__name__}: {exc})") from None
    return {name: (tuple(int(s) for s in shape), str(cls)) for name, shape, cls in entries}


def read_variables(path: Path, names: list[str], *, struct_as_record: bool = True) -> dict[str, np.ndarray]:
    """Read some variables of a MAT file (only those are decompressed).

    Returns
    -------
    values : dict of str to ndarray
        MATLAB shapes; for v5 files as scipy returns them (numeric arrays in Fortran order).

    Raises
    ------
    DatasetFormatError
        When the file is corrupt or a variable is missing.
    """
    version = mat_version(path)
    if version == "7.3":
        return _read_v73(path, names)
    import scipy.io

    try:
        found = scipy.io.loadmat(str(path), variable_names=list(names), struct_as_record=struct_as_record)
    except Exception as exc:  # corrupt compressed data: zlib.error, ValueError, OSError, ...
        raise DatasetFormatError(f"{path}: cannot read variable(s) {list(names)} "
                                 f"({type(exc).__name__}: {exc}); the file is corrupt or truncated") from None
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetFormatError(f"{path}: expected variable(s) {missing} in the MAT file, but they are missing "
                                 "or unreadable (truncated file?)")
    return {n: found[n] for n in names}


def read_variable(path: Path, name: str) -> np.ndarray:
    """Read one numeric variable of a MAT file (see :func:`read_variables`)."""
    value = read_variables(path, [name])[name]
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        kind = getattr(value, "dtype", type(value))
        raise DatasetFormatError(f"{path}: variable {name!r} should be a numeric array, found {kind}")
    return value


def _open_h5(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DatasetFormatError(f"{path}: MAT v7.3 header but not a readable HDF5 file ({exc}); truncated or "
                                 "corrupt") from None


def _list_v73(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    import h5py

    out = {}
    with _open_h5(path) as fh:
        for name, node in fh.items():
            if name.startswith("#") or not isinstance(node, h5py.Dataset):
                continue
            cls = node.attrs.get("MATLAB_class", b"double")
            cls = cls.decode() if isinstance(cls, bytes) else str(cls)
            out[name] = (tuple(int(s) for s in node.shape[::-1]), cls)
    return out


def _read_v73(path: Path, names: list[str]) -> dict[str, np.ndarray]:
    import h5py

    out = {}
    with _open_h5(path) as fh:
        for name in names:
            node = fh.get(name)
            if not isinstance(node, h5py.Dataset):
                raise DatasetFormatError(f"{path}: expected variable {name!r} in the MAT v7.3 file, found "
                                         f"{sorted(k for k in fh.keys() if not k.startswith('#'))[:10]}")
            try:
                out[name] = np.asarray(node[()]).T
            except OSError as exc:
                raise DatasetFormatError(f"{path}: cannot read variable {name!r} ({exc}); corrupt file") from None
    return out
