"""The project's one jit decorator: every kernel is compiled with the same flags.

``nogil=True`` lets kernels run in acquisition threads beside Python code; ``cache=True`` keeps start-up fast
after the first run; ``fastmath`` stays off so results match the NumPy/SciPy references to rounding.
Set ``NUMBA_DISABLE_JIT=1`` to run kernel bodies as plain Python (for coverage or debugging).
"""

from __future__ import annotations

import numba

JIT_OPTIONS = {"nopython": True, "nogil": True, "cache": True, "fastmath": False}


def jit(*args, **overrides):
    """``numba.njit`` with the project's flags; use bare (``@jit``) or with overrides (``@jit(parallel=True)``)."""
    options = {**JIT_OPTIONS, **overrides}
    if args and callable(args[0]) and len(args) == 1:
        return numba.jit(**options)(args[0])
    return numba.jit(*args, **options)
