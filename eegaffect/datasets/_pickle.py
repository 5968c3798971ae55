"""A restricted unpickler for the pickled datasets (DEAP ``sXX.dat``, WESAD ``SX.pkl``).

Why restricted: unpickling runs code. A pickle is a small program for a stack machine whose ``GLOBAL`` /
``STACK_GLOBAL`` + ``REDUCE`` instructions import any callable and call it (``os.system("...")`` is three
instructions), so ``pickle.load`` on a file downloaded from a mirror or a colleague executes whatever its author
put there. DEAP and WESAD ship only as pickles, so eegaffect cannot avoid them, but it does not need their power:
both hold a dict of numpy arrays. :func:`load_pickle` therefore resolves only the handful of globals that numpy
arrays and numpy scalars are rebuilt from (``numpy._core.multiarray._reconstruct``/``scalar``, ``numpy.ndarray``,
``numpy.dtype``, and ``_codecs.encode`` restricted to latin-1, which Python 3 uses for ``bytes`` in protocol 2);
every other global is refused *before* anything is called, with a :class:`DatasetFormatError` naming the file and
the global. Plain containers (dict, list, tuple, str, numbers) need no global and pass. Object arrays are refused
too (they would smuggle arbitrary objects back in).

Python-2 pickles (DEAP, WESAD) are read with ``encoding="latin1"``, as their providers document; the module path
``numpy.core.multiarray`` of numpy 1.x pickles is mapped to ``numpy._core.multiarray`` without importing the
deprecated alias.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from eegaffect.datasets.base import DatasetFormatError

__all__ = ["ALLOWED_GLOBALS", "load_pickle"]

#: ``(module, name)`` pairs the unpickler resolves; anything else is refused.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
})


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of ``bytes`` use it (always latin-1); other codecs refused."""
    if not isinstance(obj, str) or encoding.replace("-", "").lower() not in ("latin1", "iso88591"):
        raise pickle.UnpicklingError(f"_codecs.encode with {type(obj).__name__} and encoding {encoding!r}")
    return obj.encode("latin-1", errors)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise _Refused(module, name)
        if module == "_codecs":
            return _latin1_encode
        if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            from numpy._core import multiarray

            return getattr(multiarray, name)
        return getattr(np, name)


class _Refused(pickle.UnpicklingError):
    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.module, self.name = module, name


def load_pickle(path: str | Path, *, encoding: str = "latin1") -> Any:
    """Load a pickle that may contain only numpy arrays, numpy scalars and plain containers.

    Parameters
    ----------
    path : str | Path
        The pickle file (a DEAP ``sXX.dat`` or WESAD ``SX.pkl``).
    encoding : str
        How Python-2 ``str`` objects are decoded (``"latin1"``, as DEAP's and WESAD's readmes say).

    Returns
    -------
    obj : object
        The unpickled object: dicts, lists, tuples, strings, numbers and non-object numpy arrays only.

    Raises
    ------
    DatasetFormatError
        When the file cannot be read, is not a pickle, or references anything outside :data:`ALLOWED_GLOBALS`
        (refused before any of it is called: a pickle can run code).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetFormatError(f"{path}: cannot read the file ({exc})") from None
    try:
        obj = _RestrictedUnpickler(io.BytesIO(raw), encoding=encoding).load()
    except _Refused as exc:
        raise DatasetFormatError(
            f"{path}: refused to unpickle: the file references {exc.module}.{exc.name}, but a dataset pickle may "
            "hold only numpy arrays and plain containers (dict, list, tuple, str, numbers); pickles can run code, "
            "so nothing else is loaded. Check where this file came from") from None
    except Exception as exc:  # truncated or not a pickle: UnpicklingError, EOFError, ValueError, ...
        raise DatasetFormatError(f"{path}: expected a Python pickle (protocol 2, as DEAP and WESAD ship), found "
                                 f"unreadable data ({type(exc).__name__}: {exc}); truncated or not a pickle") from None
    _check_plain(obj, path, "the pickle")
    return obj


def _check_plain(obj: Any, path: Path, where: str, depth: int = 0) -> None:
    if depth > 20:
        raise DatasetFormatError(f"{path}: {where} is nested more than 20 levels deep; expected a dict of arrays")
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise DatasetFormatError(f"{path}: {where} is an object array; only numeric arrays are accepted")
        return
    if obj is None or isinstance(obj, (str, bytes, bool, int, float, complex, np.generic)):
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            _check_plain(key, path, f"{where} key", depth + 1)
            _check_plain(value, path, f"{where}[{key!r}]", depth + 1)
        return
    if isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_plain(value, path, f"{where}[{i}]", depth + 1)
        return
    raise DatasetFormatError(f"{path}: {where} is a {type(obj).__name__}; expected numpy arrays and plain "
                             "containers only")
