"""Numba signal kernels and their validated wrappers (installed as ``eegaffect.kernels``).

Data layout everywhere: ``(n_times, n_chans)`` C-contiguous float32 or float64, the layout LSL delivers, so
kernels vectorise across channels. Public functions and classes validate their inputs and give clear errors;
the ``@njit`` bodies (decorated with :func:`eegaffect.kernels._jit.jit`) do no validation. Every stateful stage
exposes ``step(chunk) -> output`` with carried state and is chunk-invariant. This package imports only numpy,
numba and scipy (for filter design), so it stays light to import.
"""
