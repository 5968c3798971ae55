"""Shared helpers of the chain-stage scripts: load one subject-dependent fold of a synthetic SEED as SplitData
(through the benchmark's own featurisation cache and target rule), and the jitter measure of issue 15 part 4."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_fold(root: str | Path, subject: int, cache_dir: str | Path, session: int | None = None):
    """(train, test) SplitData of the subject-dependent fold of ``subject`` (first session unless given)."""
    from eegaffect.benchmark.protocols import make_folds
    from eegaffect.benchmark.runner import (
        BenchmarkResult,
        BenchSeedConfig,
        _build_caches,
    )
    from eegaffect.benchmark.splits import split_data
    from eegaffect.datasets import load_dataset

    config = BenchSeedConfig(models=["de-ridge"], subjects=[subject], cache_dir=str(cache_dir), plots=False)
    full = load_dataset(Path(root), "seed")
    data = full.select(subjects=[subject])
    result = BenchmarkResult(dataset=full.name, protocol=config.protocol, rows=[], summary=[])
    caches = _build_caches(full, data, config, ["features"], result, False)
    folds = make_folds([t.info for t in data.trials], config.protocol, dataset=full.name)
    fold = folds[0] if session is None else [f for f in folds if f.session == session][0]
    va_cache: dict = {}
    return (split_data(data, fold.train, caches, va_cache, config),
            split_data(data, fold.test, caches, va_cache, config))


def jitter(values: list[np.ndarray], hop_s: float = 1.0) -> np.ndarray:
    """Mean |delta| per second within trials, per column: values list of (n_i, d) -> (d,)."""
    diffs = [np.abs(np.diff(np.asarray(v, float), axis=0)) / hop_s for v in values if len(v) > 1]
    return np.concatenate(diffs).mean(0)
