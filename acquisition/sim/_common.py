"""What the simulator's modules share: the tags that keep its random streams apart, and argument checks."""

from __future__ import annotations

import numpy as np

# Tags that separate the independent random streams (first entry of every SeedSequence entropy list). One table, so
# that no two streams can share a tag.
_TAG_SUBJECT, _TAG_SESSION, _TAG_BLOCK, _TAG_INIT, _TAG_DRIFT, _TAG_WALK = 101, 102, 103, 104, 105, 106
_TAG_BLINK, _TAG_MUSCLE, _TAG_SACCADE = 107, 108, 109


def _check_va(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} must be finite, got NaN or inf")
    if values.size and np.max(np.abs(values)) > 1.0 + 1e-9:
        raise ValueError(f"{what} must lie in [-1, 1], got values from {values.min():.3g} to {values.max():.3g}")


def _check_seed(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"expected {name} to be a non-negative int, got {value!r}")
    return int(value)

