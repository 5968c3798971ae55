"""Paired comparison of two variants over seeds: mean difference and its Student-t confidence interval."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDifference", "paired_difference"]


@dataclass(frozen=True)
class PairedDifference:
    """Mean of paired differences ``a - b`` with a two-sided t interval.

    Attributes
    ----------
    mean : float
        Mean difference.
    low, high : float
        Confidence interval bounds (NaN with fewer than 2 pairs).
    sd : float
        Sample standard deviation of the differences (ddof 1; NaN with fewer than 2 pairs).
    n : int
        Number of pairs.
    confidence : float
        Confidence level of the interval.
    """

    mean: float
    low: float
    high: float
    sd: float
    n: int
    confidence: float

    def as_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return {"mean": self.mean, "low": self.low, "high": self.high, "sd": self.sd, "n": self.n,
                "confidence": self.confidence}


def paired_difference(a, b, confidence: float = 0.95) -> PairedDifference:
    """Mean paired difference ``a - b`` and its Student-t confidence interval.

    Parameters
    ----------
    a, b : array_like, shape (n_pairs,)
        Scores of two variants, paired by position (same seed, same data).
    confidence : float
        Two-sided confidence level in (0, 1).

    Returns
    -------
    diff : PairedDifference
        ``mean ± t_{(1+confidence)/2, n-1} · sd / sqrt(n)``.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"expected two 1-D arrays of equal non-zero length, got shapes {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return _paired(a - b, float(confidence))


def _paired(d: np.ndarray, confidence: float) -> PairedDifference:
    from eegaffect.benchmark.metrics import t_half_width

    n = d.size
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(mean, float("nan"), float("nan"), float("nan"), n, confidence)
    half = t_half_width(d, confidence)
    return PairedDifference(mean, mean - half, mean + half, float(d.std(ddof=1)), n, confidence)
