"""Helpers shared by the kernel tests (test_kernels_*.py): error relative to a reference, chunked streaming."""

from __future__ import annotations

import numpy as np


def rel_err(y: np.ndarray, ref: np.ndarray) -> float:
    """Largest absolute deviation of ``y`` from ``ref``, relative to the reference's largest magnitude."""
    return np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-300)


def run_chunked(obj, x: np.ndarray, sizes) -> np.ndarray:
    """Feed ``x`` to ``obj.step`` in chunks of the given sizes (cycled; 0 allowed) and concatenate the outputs.

    ``step`` is called at least once, with an empty chunk when ``x`` has no rows.
    """
    outs, i, k = [], 0, 0
    while i < len(x) or k == 0:
        n = sizes[k % len(sizes)]
        outs.append(obj.step(x[i: i + n]))
        i += n
        k += 1
    return np.concatenate(outs)
