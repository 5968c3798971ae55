"""Per-update latency and stage accounting of a live session.

Each update records, in seconds, the time from the LSL timestamp of the newest sample it used to the push of its
prediction, split into stages that add up to it exactly (:data:`STAGES`):

``transport``
    newest sample's timestamp -> the inlet's acquisition worker wrote it to the ring buffer (the source pushing
    it, LSL's transfer, the worker waking and copying);
``wake``
    written -> the session loop woke up with it (the loop's thread getting the CPU and the interpreter lock);
``read``
    copying the new samples out of the ring buffer;
``channels``
    channel mapping / interpolation / unit conversion;
``predict``
    :meth:`Predictor.step` (resampling, filters, features, model);
``push``
    pushing the prediction to the LSL outlet.

What the loop does for an update after the push is not on that path, but it keeps the loop busy and can delay the
next update's ``wake``; it is timed too (:data:`AFTER_STAGES`):

``physio``
    reading and stepping the physiological devices (not measured without any);
``truth``
    reading the ground-truth stream (not measured without one);
``dashboard``
    building the health message and handing the update to the dashboard (not measured without one).

Diagnostics (:data:`DIAGNOSTICS`): ``predict_cpu`` is the CPU time the loop's thread spent in ``predict``
(:func:`time.thread_time`): a ``predict`` much longer than its ``predict_cpu`` waited (for a core or the
interpreter lock), one as long computed. ``gc`` is the time Python's cyclic garbage collector ran (in any thread
of the process, all of them stopped meanwhile) between the newest sample's timestamp and the push
(:class:`GCPauses`).
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from typing import Callable

import numpy as np

__all__ = ["STAGES", "AFTER_STAGES", "DIAGNOSTICS", "GCPauses", "LatencyLog", "percentiles_ms"]

#: Stages on the latency path, in the order they happen; they add up to the update's latency.
STAGES = ("transport", "wake", "read", "channels", "predict", "push")
#: The loop's per-update work after the push (not in the latency).
AFTER_STAGES = ("physio", "truth", "dashboard")
#: Diagnostics recorded per update beside the stages.
DIAGNOSTICS = ("predict_cpu", "gc")


def percentiles_ms(seconds) -> dict:
    """``{"p50", "p99", "max"}`` in milliseconds of durations in seconds (``None`` values when empty).

    Parameters
    ----------
    seconds : array_like, shape (n,)
        Durations in seconds; NaN values are left out.

    Returns
    -------
    stats : dict
        Median, 99th percentile (linear interpolation, :func:`numpy.percentile`) and maximum, in ms.
    """
    ms = np.asarray(seconds, dtype=np.float64).ravel() * 1e3
    ms = ms[np.isfinite(ms)]
    if ms.size == 0:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}


class GCPauses:
    """The garbage collector's runs while installed, as ``(start, stop)`` on ``clock`` (a :data:`gc.callbacks`
    hook; the last ``maxlen`` runs are kept).

    Parameters
    ----------
    clock : callable
        Returns the time in seconds (the clock the latencies are measured on, :func:`pylsl.local_clock`).
    maxlen : int
        Runs kept.
    """

    def __init__(self, clock: Callable[[], float], maxlen: int = 4096):
        self._clock = clock
        self._runs: deque[tuple[float, float]] = deque(maxlen=maxlen)
        self._start: dict[int, float] = {}
        self._lock = threading.Lock()

    def _callback(self, phase: str, info: dict) -> None:
        key = threading.get_ident()
        if phase == "start":
            self._start[key] = self._clock()
        elif key in self._start:
            with self._lock:
                self._runs.append((self._start.pop(key), self._clock()))

    def install(self) -> "GCPauses":
        """Start recording the collector's runs."""
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)
        return self

    def uninstall(self) -> None:
        """Stop recording (the runs recorded stay)."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def __enter__(self) -> "GCPauses":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()

    def within(self, t0: float, t1: float) -> float:
        """Seconds the collector ran inside ``[t0, t1]``."""
        with self._lock:
            runs = list(self._runs)
        return float(sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in runs))


class LatencyLog:
    """Growing log of per-update latencies, stage durations and the loop's after-push work (seconds)."""

    _COLUMNS = STAGES + AFTER_STAGES + DIAGNOSTICS

    def __init__(self):
        self._total: list[float] = []
        self._rows: list[tuple[float, ...]] = []

    def __len__(self) -> int:
        return len(self._total)

    def add(self, stages: dict[str, float]) -> float:
        """Record one update.

        Parameters
        ----------
        stages : dict of str to float
            Seconds spent in each of :data:`STAGES` (all required); those of :data:`AFTER_STAGES` and
            :data:`DIAGNOSTICS` when measured (missing ones are NaN).

        Returns
        -------
        total : float
            The sum of :data:`STAGES`: newest-sample-to-push latency in seconds.
        """
        missing = [s for s in STAGES if s not in stages]
        if missing:
            raise ValueError(f"expected a duration for every stage {list(STAGES)}, missing {missing}")
        unknown = sorted(set(stages) - set(self._COLUMNS))
        if unknown:
            raise ValueError(f"expected stages among {list(self._COLUMNS)}, got unknown {unknown}")
        row = tuple(float(stages.get(s, np.nan)) for s in self._COLUMNS)
        self._rows.append(row)
        self._total.append(sum(row[:len(STAGES)]))
        return self._total[-1]

    @property
    def total_s(self) -> np.ndarray:
        """Latency of each update in seconds, shape (n_updates,)."""
        return np.asarray(self._total, dtype=np.float64)

    @property
    def stages_s(self) -> np.ndarray:
        """Durations of :data:`STAGES` in seconds, shape (n_updates, len(STAGES))."""
        return self._table()[:, :len(STAGES)]

    def column_s(self, name: str) -> np.ndarray:
        """Seconds of one stage, after-push stage or diagnostic per update, shape (n_updates,) (NaN: not measured).

        Parameters
        ----------
        name : str
            One of :data:`STAGES`, :data:`AFTER_STAGES`, :data:`DIAGNOSTICS`.
        """
        if name not in self._COLUMNS:
            raise ValueError(f"expected one of {list(self._COLUMNS)}, got {name!r}")
        return self._table()[:, self._COLUMNS.index(name)]

    def _table(self) -> np.ndarray:
        return np.asarray(self._rows, dtype=np.float64).reshape(-1, len(self._COLUMNS))

    def summary_ms(self) -> tuple[dict, dict]:
        """``({"p50", "p99", "max"}, {stage: mean})`` in milliseconds (NaN-free; ``None`` values when empty)."""
        total = self.total_s
        if total.size == 0:
            return percentiles_ms(total), {s: None for s in STAGES}
        means = self.stages_s.mean(axis=0) * 1e3
        return percentiles_ms(total), {s: float(m) for s, m in zip(STAGES, means)}

    def stage_percentiles_ms(self) -> dict:
        """Per stage, after-push stage and diagnostic: ``{"p50", "p99", "max"}`` in ms over the updates that
        measured it (``None`` values when none did).

        Returns
        -------
        stats : dict of str to dict
            Keys in the order of :data:`STAGES`, :data:`AFTER_STAGES`, :data:`DIAGNOSTICS`.
        """
        table = self._table()
        return {name: percentiles_ms(table[:, k]) for k, name in enumerate(self._COLUMNS)}
