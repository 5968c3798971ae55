"""One fold side as a :class:`~eegaffect.benchmark.interface.SplitData`, its per-step targets, and its scored row.

What every benchmark unit does around a model's ``fit``/``predict`` (:mod:`eegaffect.benchmark.units`, the
hyper-parameter search of :mod:`eegaffect.benchmark.tuning`, the chain scripts): :func:`split_data` gathers the
trials of one side of a fold from their feature loaders, :func:`step_va` gives the per-step valence/arousal
targets of one trial, and :func:`score_row` scores the predictions on the test side as one row of
``results.json`` (:data:`eegaffect.benchmark.runner.ROW_KEYS`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from eegaffect.benchmark.metrics import METRIC_NAMES, classification_metrics, jitter_metrics, regression_metrics

__all__ = ["split_data", "step_va", "score_row"]


def step_va(trial, n_steps: int, config) -> np.ndarray:
    """Per-step valence/arousal of a trial: :func:`eegaffect.targets.trial_frame_targets` at the frames' end times.

    Parameters
    ----------
    trial : Trial | TrialStub
        The trial (its continuous annotation if it has one, else its label-derived valence/arousal).
    n_steps : int
        Frames of the trial in the feature cache.
    config : BenchSeedConfig
        The run's config (its pipeline's window, hop and rate place the frames).

    Returns
    -------
    va : ndarray, shape (n_steps, 2)
        Valence and arousal per step (NaN where unknown).
    """
    from eegaffect.pipeline import frame_times, window_hop
    from eegaffect.targets import trial_frame_targets

    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, got {n_steps}")
    window, hop = window_hop(config.pipeline)
    return trial_frame_targets(trial, frame_times(n_steps, window, hop, config.pipeline.sfreq))


def split_data(data, indices: Sequence[int], loaders: dict, va_cache: dict, config):
    """The trials ``indices`` of ``data`` with their features, labels and per-step targets.

    Parameters
    ----------
    data : EEGDataset | object with ``trials`` and ``class_names``
        The run's trials (units get :class:`~eegaffect.benchmark.units.TrialStub` stand-ins).
    indices : sequence of int
        Trials of this side of the fold.
    loaders : dict of str to loader
        View (``"features"``, ``"raw"``) -> object whose ``load(trial)`` returns the trial's array
        ``(n_steps, n_chans, n_bands or n_times)`` (a :class:`~eegaffect.datasets.features.FeatureCache` or a unit's
        loader).
    va_cache : dict of int to ndarray
        Per-step targets already computed, by trial index (filled here; share it between the sides of a fold).
    config : BenchSeedConfig
        The run's config (pipeline rate, bands, frames).

    Returns
    -------
    split : SplitData
        The side of the fold as the benchmark models read it.
    """
    if not len(indices):
        raise ValueError("split_data: expected at least one trial index, got none")
    if not loaders:
        raise ValueError("split_data: expected at least one view loader ('features' or 'raw'), got none")
    return _split_data(data, list(indices), loaders, va_cache, config)


def _split_data(data, indices: list[int], loaders: dict, va_cache: dict, config):
    from eegaffect.benchmark.interface import SplitData

    trials = [data.trials[j] for j in indices]
    arrays = {kind: [loader.load(t) for t in trials] for kind, loader in loaders.items()}
    first = next(iter(arrays.values()))
    va = []
    for j, t, arr in zip(indices, trials, first):
        if j not in va_cache:
            va_cache[j] = step_va(t, arr.shape[0], config)
        va.append(va_cache[j])
    labels = np.array([-1 if t.info.label is None else t.info.label for t in trials], dtype=np.int64)
    info0 = trials[0].info
    return SplitData(trial_infos=[t.info for t in trials], labels=labels, va=va,
                     features=arrays.get("features"), windows=arrays.get("raw"), sfreq=config.pipeline.sfreq,
                     ch_names=list(info0.ch_names), band_names=[b.name for b in config.pipeline.features.bands],
                     class_names=list(data.class_names))


def score_row(name: str, model, fold, test, pred) -> dict:
    """One row of ``results.json``: the model's predictions on the fold's test side, scored.

    Parameters
    ----------
    name : str
        Model name of the row (``NAME`` or ``NAME+cal``).
    model : BenchmarkModel
        The fitted model (unused today; kept so a model could add its own fields).
    fold : Fold
        The fold (subject, session and name of the row).
    test : SplitData
        The test side.
    pred : Predictions
        The model's checked predictions on ``test``.

    Returns
    -------
    row : dict
        ``model``, ``subject``, ``session``, ``fold`` and every metric of
        :data:`eegaffect.benchmark.metrics.METRIC_NAMES` (None where it does not apply: no labels predicted, a
        trial without a class, a step without a valence/arousal target). The jitter metrics
        (:func:`~eegaffect.benchmark.metrics.jitter_metrics`) compare consecutive steps within each test trial only;
        the prediction's own jitter needs no target, its ratio to the truth's needs them all.
    """
    row: dict[str, Any] = {"model": name, "subject": _plain(fold.subject), "session": _plain(fold.session),
                           "fold": fold.name}
    row.update({m: None for m in METRIC_NAMES})
    if pred.labels is not None and np.all(test.labels >= 0):
        row.update(classification_metrics(test.step_labels(), np.concatenate(pred.labels),
                                          n_classes=test.n_classes or None))
    true_va = test.step_va()
    if pred.va is not None:
        pred_va = np.concatenate(pred.va)
        if np.all(np.isfinite(true_va)):
            row.update(regression_metrics(true_va, pred_va))
        row.update(jitter_metrics(true_va, pred_va, lengths=[len(v) for v in pred.va]))
    return row


def _plain(value):
    """A numpy scalar as its Python value (JSON rows), anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value
