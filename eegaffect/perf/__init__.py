"""The speed benchmarks (``eegaffect bench kernels|acquisition|model|live|physio``) and their shared machinery.

One module per benchmark holds its logic as public functions; the ``eegaffect bench ...`` commands are argparse
adapters over them:

- :mod:`eegaffect.perf.kernels`: the numba signal kernels against SciPy/NumPy (and TorchEEG's DE loop);
- :mod:`eegaffect.perf.acquisition`: LSL inlet latency and CPU share against mne-lsl's ``StreamLSL``;
- :mod:`eegaffect.perf.model`: ``Predictor.step`` latency against the plain modules, and training time;
- :mod:`eegaffect.perf.live`: end-to-end latency and CPU share of a live session;
- :mod:`eegaffect.perf.physio`: the physiological stages (ECG, PPG, EDA) against NeuroKit2.

This module holds what they share. A benchmark produces :class:`BenchCase` rows: eegaffect's figure beside a
reference (a library measured in the same process, or a fixed target where no library does the same job: each
case's ``reference_name`` says which), and their ratio oriented so that ``ratio > 1`` means eegaffect is better.
:func:`write_bench_json` writes the machine-readable shape every bench command shares::

    {"machine": {...}, "cases": [{"name", "unit", "ours", "reference", "reference_name", "ratio"}]}
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

__all__ = ["BenchCase", "machine_info", "format_cases", "write_bench_json", "time_per_call", "best_of"]


@dataclass(frozen=True)
class BenchCase:
    """One benchmark row.

    Attributes
    ----------
    name : str
        Case name, e.g. ``"offline-62x720000"``.
    unit : str
        Unit of ``ours`` and ``reference``, e.g. ``"Msamples*ch/s"`` or ``"us/call"``.
    ours : float
        eegaffect's figure.
    reference : float
        The reference's figure, measured in the same run.
    reference_name : str
        What the reference is, e.g. ``"scipy.signal.sosfilt"``.
    ratio : float
        ``> 1`` when eegaffect is better: ``ours / reference`` for throughputs, ``reference / ours`` for times.
    """

    name: str
    unit: str
    ours: float
    reference: float
    reference_name: str
    ratio: float

    @classmethod
    def throughput(cls, name: str, unit: str, ours: float, reference: float, reference_name: str) -> "BenchCase":
        """A case where bigger is better (ratio = ours / reference)."""
        return cls(name, unit, float(ours), float(reference), reference_name, float(ours) / float(reference))

    @classmethod
    def duration(cls, name: str, unit: str, ours: float, reference: float, reference_name: str) -> "BenchCase":
        """A case where smaller is better (ratio = reference / ours)."""
        return cls(name, unit, float(ours), float(reference), reference_name, float(reference) / float(ours))


def machine_info() -> dict:
    """Describe the machine the benchmark ran on (CPU count, platform, library versions).

    Returns
    -------
    info : dict
        JSON-serialisable description.
    """
    import numba
    import scipy

    from eegaffect import __version__

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "eegaffect": __version__,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def format_cases(cases: Sequence[BenchCase]) -> str:
    """Render cases as an aligned text table (ratio > 1 means eegaffect is better).

    Parameters
    ----------
    cases : sequence of BenchCase
        Rows to print.

    Returns
    -------
    table : str
        The table.
    """
    header = ("case", "unit", "eegaffect", "reference", "ratio", "reference is")
    rows = [(c.name, c.unit, f"{c.ours:.4g}", f"{c.reference:.4g}", f"{c.ratio:.2f}x", c.reference_name)
            for c in cases]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_bench_json(path: str | Path, cases: Sequence[BenchCase], extra: dict | None = None) -> Path:
    """Write ``{"machine": ..., "cases": [...]}`` to ``path``.

    Parameters
    ----------
    path : str | Path
        Output file.
    cases : sequence of BenchCase
        The rows.
    extra : dict | None
        Additional top-level keys (e.g. details of the run).

    Returns
    -------
    path : Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"machine": machine_info(), "cases": [asdict(c) for c in cases]}
    if extra:
        doc.update(extra)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def time_per_call(fn: Callable[[], object], *, min_time: float = 0.2, max_calls: int = 1_000_000) -> np.ndarray:
    """Call ``fn`` repeatedly for at least ``min_time`` seconds and return each call's duration.

    Parameters
    ----------
    fn : callable
        Zero-argument function to time.
    min_time : float
        Minimum total time in seconds.
    max_calls : int
        Upper bound on the number of calls.

    Returns
    -------
    durations : ndarray, shape (n_calls,)
        Seconds per call.
    """
    durations = []
    start = time.perf_counter()
    while len(durations) < max_calls:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        durations.append(t1 - t0)
        if t1 - start >= min_time and len(durations) >= 3:
            break
    return np.asarray(durations)


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Return the fastest of ``repeat`` timed calls of ``fn``, in seconds (for long, one-shot work)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
