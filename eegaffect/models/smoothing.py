"""Causal smoothing of the chain's outputs, one recursion for the offline run and the live stream.

V/A: Holt's linear (level + trend) exponential smoothing, so the output follows a moving truth with less lag than a
plain exponential smoother of the same smoothness (docs/chain_stages.md, "Output smoothing")::

    level_t = level_{t-1} + trend_{t-1} + alpha (x_t - level_{t-1} - trend_{t-1})
    trend_t = trend_{t-1} + beta (level_t - level_{t-1} - trend_{t-1})
    y_t     = clip(level_t, -1, 1)

from ``level_0 = x_0, trend_0 = 0``, with ``alpha = 1 - exp(-hop / smooth_s)`` and ``beta = 1 - exp(-hop /
trend_s)``. ``trend_s = 0`` (``beta = 0``) is the plain exponential smoother ``y_t = y_{t-1} + alpha (x_t -
y_{t-1})``; ``smooth_s = 0`` is no smoothing. Class probabilities (optional) pass the plain exponential smoother of
the same ``alpha`` and the label is their argmax, so the label does not flicker between frames of one state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["OutputSmoother", "SmootherState"]


@dataclass
class SmootherState:
    """What the smoother carries between steps: ``level`` and ``trend`` (2,), ``probs`` (n_classes,) or None."""

    level: np.ndarray
    trend: np.ndarray
    probs: np.ndarray | None


class OutputSmoother:
    """Causal V/A (level + trend) and class-probability smoother.

    Parameters
    ----------
    smooth_s : float
        Time constant of the level (and of the class probabilities) in seconds; 0 = no smoothing.
    trend_s : float
        Time constant of the trend in seconds; 0 = no trend term (plain exponential smoothing).
    hop_s : float
        Seconds between steps.
    labels : bool
        Smooth the class probabilities too (otherwise they pass unchanged).
    """

    def __init__(self, smooth_s: float = 0.0, trend_s: float = 0.0, hop_s: float = 1.0, labels: bool = False):
        if smooth_s < 0 or trend_s < 0 or hop_s <= 0:
            raise ValueError(f"expected smooth_s >= 0, trend_s >= 0 and hop_s > 0, got {smooth_s}, {trend_s} and "
                             f"{hop_s}")
        self.smooth_s, self.trend_s, self.hop_s, self.labels = float(smooth_s), float(trend_s), float(hop_s), \
            bool(labels)
        #: weight of the new value in the level; 1 = no smoothing
        self.alpha = 1.0 if smooth_s == 0 else 1.0 - math.exp(-hop_s / smooth_s)
        #: weight of the new level change in the trend; 0 = no trend term
        self.beta = 0.0 if trend_s == 0 or smooth_s == 0 else 1.0 - math.exp(-hop_s / trend_s)

    @property
    def active(self) -> bool:
        """Whether the smoother changes anything."""
        return self.alpha < 1.0

    def apply(self, va: np.ndarray, probs: np.ndarray | None = None,
              state: SmootherState | None = None) -> tuple[np.ndarray, np.ndarray | None, SmootherState | None]:
        """Smooth ``n`` consecutive steps, continuing from ``state`` (None: a new sequence).

        Parameters
        ----------
        va : ndarray, shape (n, 2)
            The V/A to smooth.
        probs : ndarray, shape (n, n_classes) | None
            Class probabilities (smoothed when ``labels``).
        state : SmootherState | None
            The state after the previous call on this sequence.

        Returns
        -------
        va : ndarray of float32, shape (n, 2)
        probs : ndarray of float32, shape (n, n_classes) | None
        state : SmootherState | None
            The state to pass with the next steps (None while nothing has been seen yet).
        """
        va = np.asarray(va, np.float64)
        if va.ndim != 2 or (probs is not None and np.shape(probs)[0] != va.shape[0]):
            raise ValueError(f"expected va of shape (n, d) and probs of shape (n, n_classes) or None, got "
                             f"{va.shape} and {None if probs is None else np.shape(probs)}")
        if not self.active or not len(va):
            return va.astype(np.float32), (None if probs is None else np.asarray(probs, np.float32)), state
        return self._run(va, None if probs is None else np.asarray(probs, np.float64), state)

    def _run(self, va, probs, state):
        a, b = self.alpha, self.beta
        smooth_p = probs is not None and self.labels
        out = np.empty_like(va)
        pout = np.empty_like(probs) if smooth_p else probs
        level, trend, p = (None, None, None) if state is None else (state.level, state.trend, state.probs)
        for t in range(len(va)):
            if level is None:  # the first step of a sequence: level = x_0, no trend yet
                level, trend = va[t].copy(), np.zeros_like(va[t])
            else:
                new = level + trend + a * (va[t] - level - trend)
                trend = trend + b * (new - level - trend)
                level = new
            out[t] = level
            if smooth_p:
                p = probs[t].copy() if p is None else p + a * (probs[t] - p)
                pout[t] = p
        np.clip(out, -1.0, 1.0, out=out)
        state = SmootherState(level, trend, p if smooth_p else None)
        return out.astype(np.float32), (None if pout is None else pout.astype(np.float32)), state
