"""Benchmark metrics: classification (accuracy, macro-F1, balanced accuracy) and continuous valence/arousal
(RMSE, Pearson r, concordance correlation coefficient), per fold and summarised per model; and the jitter of a
continuous estimate (mean absolute change per step or per second), which the benchmark rows
(:func:`jitter_metrics`), the ablation rows and the live summary all take from :func:`jitter`.

Metrics that do not apply (no class predictions, or a constant target for which Pearson r and CCC are
undefined) are ``None``, which :mod:`json` writes as ``null``.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "JITTER_METRICS",
    "METRIC_NAMES",
    "ccc",
    "pearson",
    "rmse",
    "jitter",
    "t_half_width",
    "classification_metrics",
    "regression_metrics",
    "jitter_metrics",
    "summarise",
]

CLASSIFICATION_METRICS = ("accuracy", "macro_f1", "balanced_accuracy")
REGRESSION_METRICS = tuple(f"{dim}_{m}" for dim in ("valence", "arousal") for m in ("ccc", "rmse", "pearson"))
#: Output jitter of a valence/arousal prediction (:func:`jitter_metrics`): ``<dim>_jitter`` is the prediction's mean
#: absolute change per step within trials (lower is steadier), ``<dim>_jitter_ratio`` that over the truth's own
#: jitter on the same steps (1: it moves as much as the truth; None when the truth does not move or a target is
#: missing).
JITTER_METRICS = tuple(f"{dim}_{m}" for dim in ("valence", "arousal") for m in ("jitter", "jitter_ratio"))
#: Every metric column of ``results.json`` rows, in order.
METRIC_NAMES = CLASSIFICATION_METRICS + REGRESSION_METRICS + JITTER_METRICS


def _pair(y_true, y_pred, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"{name}: expected y_true and y_pred of equal length, got {t.size} and {p.size}")
    if t.size == 0:
        raise ValueError(f"{name}: expected at least one value, got empty arrays")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise ValueError(f"{name}: expected finite values, got NaN or inf")
    return t, p


def ccc(y_true, y_pred) -> float:
    """Lin's concordance correlation coefficient: eegaffect's one implementation.

    ``2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))**2)`` with population (1/n) moments. The SAC reward
    (:func:`eegaffect.models.sac.episode_ccc`) and the live session's score call it; the training loss
    (:func:`eegaffect.models.transformer.ccc_loss`) is the same formula in torch, tested against it.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Targets and predictions, finite.

    Returns
    -------
    ccc : float
        In [-1, 1]. NaN when it is undefined: both series constant and equal (the denominator is 0); never a
        made-up 0 (a reward that needs a number maps NaN itself). Two constant series with different means give 0
        (no covariance, a non-zero denominator).
    """
    t, p = _pair(y_true, y_pred, "ccc")
    return _ccc(t, p)


def _ccc(t: np.ndarray, p: np.ndarray) -> float:
    if np.ptp(t) == 0 and np.ptp(p) == 0:  # exact test: rounding in mean/var must not make a number up here
        return math.nan if t[0] == p[0] else 0.0
    mt, mp = t.mean(), p.mean()
    vt, vp = t.var(), p.var()
    cov = np.mean((t - mt) * (p - mp))
    denom = vt + vp + (mt - mp) ** 2
    return float(2 * cov / denom) if denom > 0 else math.nan


def pearson(y_true, y_pred) -> float:
    """Pearson correlation coefficient; NaN when either series is constant.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Targets and predictions.

    Returns
    -------
    r : float
        In [-1, 1] or NaN.
    """
    t, p = _pair(y_true, y_pred, "pearson")
    st, sp = t.std(), p.std()
    if st == 0 or sp == 0:
        return math.nan
    return float(np.clip(np.mean((t - t.mean()) * (p - p.mean())) / (st * sp), -1.0, 1.0))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n,)
        Targets and predictions.

    Returns
    -------
    rmse : float
        Non-negative.
    """
    t, p = _pair(y_true, y_pred, "rmse")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def jitter(values, times=None, lengths=None) -> np.ndarray:
    """Mean absolute change of a continuous estimate per step, or per second: eegaffect's one implementation.

    Consecutive pairs of rows within a segment are compared; a pair with a non-finite value is left out, and so
    is every pair across segments (trials, or the two sides of a gap). The result is the summed absolute change
    over the summed time of the pairs kept: with ``times`` in seconds a rate per second, without them (one unit
    per step) the mean absolute change per step. On a regular time base the two are the same up to the step.

    Parameters
    ----------
    values : array-like, shape (n_steps, n_dims)
        The series (e.g. valence and arousal), or shape (n_steps,) for one.
    times : array-like, shape (n_steps,) | None
        Time of each row in seconds, increasing within a segment; None: one unit per step.
    lengths : array-like of int, shape (n_segments,) | None
        Rows per segment, in order, summing to ``n_steps``; None: one segment.

    Returns
    -------
    jitter : ndarray, shape (n_dims,)
        Mean absolute change per unit of time of each column, >= 0; NaN where no pair was kept.
    """
    y = np.asarray(values, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    if y.ndim != 2:
        raise ValueError(f"jitter: expected values of shape (n_steps, n_dims), got shape {y.shape}")
    n = y.shape[0]
    t = np.arange(n, dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64).reshape(-1)
    if t.shape != (n,):
        raise ValueError(f"jitter: expected one time per row ({n}), got {t.size}")
    lengths = np.array([n]) if lengths is None else np.asarray(lengths, dtype=np.int64).reshape(-1)
    if np.any(lengths < 0) or int(lengths.sum()) != n:
        raise ValueError(f"jitter: expected segment lengths >= 0 summing to {n} rows, got {lengths.tolist()}")
    return _jitter(y, t, lengths)


def _jitter(y: np.ndarray, t: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    if y.shape[0] < 2:
        return np.full(y.shape[1], np.nan)
    same = np.ones(y.shape[0] - 1, dtype=bool)  # pair (k, k + 1) inside one segment
    starts = np.cumsum(lengths)[:-1]  # first row of each later segment
    same[starts[(starts > 0) & (starts < y.shape[0])] - 1] = False
    dy, dt = np.abs(np.diff(y, axis=0)), np.diff(t)
    out = np.full(y.shape[1], np.nan)
    for k in range(y.shape[1]):
        keep = same & np.isfinite(dy[:, k]) & np.isfinite(dt)
        if keep.any() and dt[keep].sum() > 0:
            out[k] = dy[keep, k].sum() / dt[keep].sum()
    return out


def t_half_width(values, confidence: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean of ``values``: eegaffect's one implementation.

    Parameters
    ----------
    values : array-like, shape (n,)
        Independent values (e.g. paired differences over units), finite.
    confidence : float
        Two-sided coverage, in (0, 1).

    Returns
    -------
    half : float
        ``t_{(1 + confidence) / 2, n - 1} * sd / sqrt(n)`` with the sample SD (ddof 1); NaN for ``n < 2``.
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if x.size < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def _none_if_nan(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def classification_metrics(y_true, y_pred, n_classes: int | None = None) -> dict[str, float | None]:
    """Accuracy, macro-F1 and balanced accuracy (scikit-learn) over all steps.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n,)
        True and predicted class per step.
    n_classes : int | None
        Number of classes; macro-F1 averages over the classes present in ``y_true`` or ``y_pred``.

    Returns
    -------
    metrics : dict
        ``{"accuracy", "macro_f1", "balanced_accuracy"}``.
    """
    import warnings

    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    t = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"classification_metrics: expected equal, non-zero lengths, got {t.size} and {p.size}")
    if n_classes is not None and (t.max() >= n_classes or t.min() < 0):
        raise ValueError(f"classification_metrics: expected labels in 0..{n_classes - 1}, got "
                         f"{sorted(set(t.tolist()))}")
    with warnings.catch_warnings():
        # balanced accuracy warns when a predicted class is absent from y_true (a test fold may lack a class)
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        bal = balanced_accuracy_score(t, p)
    return {
        "accuracy": float(accuracy_score(t, p)),
        "macro_f1": float(f1_score(t, p, average="macro", zero_division=0)),
        "balanced_accuracy": float(bal),
    }


def regression_metrics(va_true, va_pred) -> dict[str, float | None]:
    """CCC, RMSE and Pearson r for valence (column 0) and arousal (column 1).

    Parameters
    ----------
    va_true, va_pred : array-like, shape (n, 2)
        True and predicted valence/arousal per step.

    Returns
    -------
    metrics : dict
        ``{"valence_ccc", "valence_rmse", "valence_pearson", "arousal_ccc", ...}``; an undefined value
        (constant series) is None.
    """
    t = np.asarray(va_true, dtype=np.float64)
    p = np.asarray(va_pred, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] != 2 or t.shape != p.shape:
        raise ValueError(f"regression_metrics: expected two (n, 2) arrays, got {t.shape} and {p.shape}")
    out: dict[str, float | None] = {}
    for col, dim in enumerate(("valence", "arousal")):
        out[f"{dim}_ccc"] = _none_if_nan(ccc(t[:, col], p[:, col]))
        out[f"{dim}_rmse"] = _none_if_nan(rmse(t[:, col], p[:, col]))
        out[f"{dim}_pearson"] = _none_if_nan(pearson(t[:, col], p[:, col]))
    return out


def jitter_metrics(va_true, va_pred, lengths) -> dict[str, float | None]:
    """Output jitter of a valence/arousal prediction, absolute and relative to the truth's, within trials.

    ``<dim>_jitter`` is :func:`jitter` of the prediction per step (no pair across trials, none with a non-finite
    value); ``<dim>_jitter_ratio`` divides it by :func:`jitter` of the truth over the same pairs, so 1 means the
    estimate moves as much as the target and 10 ten times as much.

    Parameters
    ----------
    va_true, va_pred : array-like, shape (n, 2)
        True and predicted valence/arousal per step, trials one after the other.
    lengths : array-like of int, shape (n_trials,)
        Steps per trial, in order, summing to ``n``.

    Returns
    -------
    metrics : dict
        :data:`JITTER_METRICS`; a jitter is None when no trial has two steps. A ratio is None when a target or a
        prediction is missing (not finite: the fold's other valence/arousal metrics are None too) or the truth
        does not move (e.g. one label-derived value per trial).
    """
    t = np.asarray(va_true, dtype=np.float64)
    p = np.asarray(va_pred, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] != 2 or t.shape != p.shape:
        raise ValueError(f"jitter_metrics: expected two (n, 2) arrays, got {t.shape} and {p.shape}")
    pj = jitter(p, lengths=lengths)
    comparable = bool(np.all(np.isfinite(t)) and np.all(np.isfinite(p)))
    tj = jitter(t, lengths=lengths) if comparable else np.full(2, np.nan)
    out: dict[str, float | None] = {}
    for col, dim in enumerate(("valence", "arousal")):
        out[f"{dim}_jitter"] = _none_if_nan(pj[col])
        out[f"{dim}_jitter_ratio"] = _none_if_nan(pj[col] / tj[col]) if tj[col] > 0 else None
    return out


def summarise(rows: Sequence[Mapping], metrics: Iterable[str] = METRIC_NAMES) -> list[dict]:
    """Mean ± std of every metric per model, over subjects.

    Rows of one subject (several sessions or folds) are first averaged, then the mean and population standard
    deviation are taken across subjects, so every subject weighs the same. A protocol whose rows have no subject
    (``None``) averages over rows directly. Missing (None) values are skipped; a metric with no value is None.

    Parameters
    ----------
    rows : sequence of mapping
        Result rows with ``"model"``, ``"subject"`` and metric keys.
    metrics : iterable of str
        Metric names to summarise.

    Returns
    -------
    summary : list of dict
        One ``{"model", "n_subjects", "<metric>_mean", "<metric>_std", ...}`` per model, in first-seen order.
    """
    metrics = list(metrics)
    models = list(dict.fromkeys(r["model"] for r in rows))
    out = []
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        subjects = list(dict.fromkeys(r.get("subject") for r in mine))
        entry: dict = {"model": model, "n_subjects": len(subjects)}
        for metric in metrics:
            per_subject = []
            for subject in subjects:
                vals = [r.get(metric) for r in mine if r.get("subject") == subject]
                vals = [float(v) for v in vals if v is not None and math.isfinite(float(v))]
                if vals:
                    per_subject.append(float(np.mean(vals)))
            entry[f"{metric}_mean"] = float(np.mean(per_subject)) if per_subject else None
            entry[f"{metric}_std"] = float(np.std(per_subject)) if per_subject else None
        out.append(entry)
    return out
