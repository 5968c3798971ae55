"""Per-update latency and stage accounting of a live session.

Each update records, in seconds, the time from the LSL timestamp of the newest sample it used to the push of its
prediction, split into stages that add up to it exactly:

``transport``
    newest sample's timestamp -> the session loop woke up with it (LSL transport, the acquisition worker, waking);
``read``
    copying the new samples out of the ring buffer;
``channels``
    channel mapping / interpolation / unit conversion;
``predict``
    :meth:`Predictor.step` (resampling, filters, features, model);
``push``
    pushing the prediction to the LSL outlet.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STAGES", "LatencyLog"]

#: Stage names, in the order they happen.
STAGES = ("transport", "read", "channels", "predict", "push")


class LatencyLog:
    """Growing log of per-update latencies and stage durations (seconds)."""

    def __init__(self):
        self._total: list[float] = []
        self._stages: list[tuple[float, ...]] = []

    def __len__(self) -> int:
        return len(self._total)

    def add(self, stages: dict[str, float]) -> float:
        """Record one update.

        Parameters
        ----------
        stages : dict of str to float
            Seconds spent in each of :data:`STAGES` (all required).

        Returns
        -------
        total : float
            Their sum: newest-sample-to-push latency in seconds.
        """
        missing = [s for s in STAGES if s not in stages]
        if missing:
            raise ValueError(f"expected a duration for every stage {list(STAGES)}, missing {missing}")
        row = tuple(float(stages[s]) for s in STAGES)
        self._stages.append(row)
        self._total.append(sum(row))
        return self._total[-1]

    @property
    def total_s(self) -> np.ndarray:
        """Latency of each update in seconds, shape (n_updates,)."""
        return np.asarray(self._total, dtype=np.float64)

    @property
    def stages_s(self) -> np.ndarray:
        """Stage durations in seconds, shape (n_updates, len(STAGES))."""
        return np.asarray(self._stages, dtype=np.float64).reshape(-1, len(STAGES))

    def summary_ms(self) -> tuple[dict, dict]:
        """``({"p50", "p99", "max"}, {stage: mean})`` in milliseconds (NaN-free; ``None`` values when empty)."""
        total = self.total_s * 1e3
        if total.size == 0:
            return {"p50": None, "p99": None, "max": None}, {s: None for s in STAGES}
        latency = {"p50": float(np.percentile(total, 50)), "p99": float(np.percentile(total, 99)),
                   "max": float(total.max())}
        means = self.stages_s.mean(axis=0) * 1e3
        return latency, {s: float(m) for s, m in zip(STAGES, means)}
