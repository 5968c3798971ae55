"""Numba signal kernels and their validated wrappers (installed as ``eegaffect.kernels``).

Data layout everywhere: ``(n_times, n_chans)`` C-contiguous float32 or float64, the layout LSL delivers, so
kernels vectorise across channels. Public functions and classes validate their inputs and give clear errors;
the ``@njit`` bodies (decorated with :func:`eegaffect.kernels._jit.jit`) do no validation. Every stateful stage
exposes ``step(chunk) -> output`` with carried state and is chunk-invariant. This package imports only numpy,
numba (and llvmlite, numba's LLVM binding, for the code-generation hints of ``_jit``) and scipy (for filter
design), so it stays light to import.
"""

from __future__ import annotations

import importlib
import logging
import time

__all__ = ["warmup", "WARMUP_MODULES"]

#: Kernel modules (relative to this package) whose own ``warmup()`` compiles their kernels; every kernel module
#: adds itself here.
WARMUP_MODULES: tuple[str, ...] = (
    "filtering",
    "resample",
    "features",
    "standardize",
    "smoothing",
    "timestamps",
    "physio_base",
    "ibi",
    "hrv",
    "heart",
    "eda",
    "respiration",
    "temperature",
    "emg",
)


def warmup() -> float:
    """Compile every kernel on tiny float32 and float64 inputs, so the first real call never stalls on JIT.

    Run it before a live session starts. With numba's on-disk cache (``cache=True``) later runs mostly load
    compiled code.

    Returns
    -------
    seconds : float
        Time spent.
    """
    start = time.perf_counter()
    for name in WARMUP_MODULES:
        importlib.import_module(f"{__name__}.{name}").warmup()
    elapsed = time.perf_counter() - start
    logging.getLogger("eegaffect.kernels").debug("kernels warmed up in %.2f s (%s)", elapsed,
                                                 ", ".join(WARMUP_MODULES))
    return elapsed
