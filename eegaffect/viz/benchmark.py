"""Plots of benchmark results: per-model summary, per-subject bars, confusion matrices, predicted vs. true
trajectories.

Reference lines: chance level (``1 / n_classes``) on accuracy-type metrics when the number of classes is given,
zero on correlation-type metrics (CCC, Pearson r). Metrics where lower is better (RMSE) never share an axis with
those where higher is better.

Each function takes data (plus an optional ``ax``) and returns the :class:`matplotlib.figure.Figure`; nothing is
shown or saved here.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from eegaffect._docs import fill_doc

__all__ = ["plot_summary", "plot_subject_bars", "plot_confusion_matrix", "plot_trajectory", "METRIC_FAMILIES"]

#: Metric families of the summary plot: (title, metrics, higher is better).
METRIC_FAMILIES = (
    ("classification", ("accuracy", "balanced_accuracy", "macro_f1"), True),
    ("agreement with valence/arousal", ("valence_ccc", "arousal_ccc", "valence_pearson", "arousal_pearson"), True),
    ("valence/arousal error", ("valence_rmse", "arousal_rmse"), False),
)
_CHANCE_METRICS = ("accuracy", "balanced_accuracy")
_ZERO_METRICS = ("ccc", "pearson")


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _reference_line(ax, metric: str, n_classes: int | None) -> None:
    """Chance level for accuracy-type metrics (when ``n_classes`` is known), zero for correlations."""
    if metric in _CHANCE_METRICS and n_classes:
        ax.axhline(1.0 / n_classes, color="k", ls="--", lw=1.0, label=f"chance (1/{n_classes})")
    elif metric.endswith(_ZERO_METRICS):
        ax.axhline(0.0, color="k", lw=0.8)


def _legend_outside(ax, ncols: int = 1) -> None:
    """The legend to the right of the axes, outside the bars (constrained layout keeps it inside the figure)."""
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, ncols=ncols,
              frameon=False)


def plot_summary(summary: Sequence[Mapping], n_classes: int | None = None, metrics: Sequence[str] | None = None):
    """Mean ± std over subjects of each metric per model, one panel per metric family.

    Accuracy-type metrics, agreement (CCC, Pearson r; higher is better) and errors (RMSE; lower is better) get
    separate panels whose titles say which way is better; accuracy has a chance line (``1 / n_classes``) and
    agreement a zero line.

    Parameters
    ----------
    summary : sequence of mapping
        Rows with ``model``, ``<metric>_mean`` and ``<metric>_std`` (see
        :func:`eegaffect.benchmark.metrics.summarise`); None or NaN means the metric does not apply.
    n_classes : int | None
        Number of classes, for the chance line; None leaves it out.
    metrics : sequence of str | None
        Metrics to show (default: every metric of :data:`METRIC_FAMILIES` some model has).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure (one panel per family, stacked).
    """
    from matplotlib.figure import Figure

    if not summary:
        raise ValueError("summary is empty: expected one row per model")
    if n_classes is not None and n_classes < 1:
        raise ValueError(f"n_classes must be >= 1 or None, got {n_classes}")
    present = [m for _, ms, _ in METRIC_FAMILIES for m in ms
               if any(_finite(s.get(f"{m}_mean")) for s in summary)]
    if metrics is not None:
        unknown = [m for m in metrics if not any(m in ms for _, ms, _ in METRIC_FAMILIES)]
        if unknown:
            known = [m for _, ms, _ in METRIC_FAMILIES for m in ms]
            raise ValueError(f"unknown metric(s) {unknown}; expected names from {known}")
        present = [m for m in present if m in metrics]
    panels = [(title, [m for m in ms if m in present], higher) for title, ms, higher in METRIC_FAMILIES]
    panels = [p for p in panels if p[1]]
    if not panels:
        raise ValueError(f"no summary row has a value for any of {metrics or 'the known metrics'}")
    width_in = max(6.0, 0.55 * len(summary) + 4.0)
    fig = Figure(figsize=(width_in, 2.9 * len(panels) + 0.4), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (title, ms, higher) in zip(axes, panels):
        # only the models with a value in this family (a classifier has no RMSE, a regressor no accuracy)
        shown = [s for s in summary if any(_finite(s.get(f"{m}_mean")) for m in ms)]
        x = np.arange(len(shown))
        width = 0.8 / len(ms)
        for j, m in enumerate(ms):
            mean = np.array([_value(s.get(f"{m}_mean")) for s in shown])
            std = np.array([_value(s.get(f"{m}_std")) for s in shown])
            ax.bar(x + (j - (len(ms) - 1) / 2) * width, mean, width, yerr=np.nan_to_num(std), capsize=2,
                   label=m.replace("_", " "))
        for m in ms:
            if m in _CHANCE_METRICS:
                _reference_line(ax, m, n_classes)
                break
        if any(m.endswith(_ZERO_METRICS) for m in ms):
            ax.axhline(0.0, color="k", lw=0.8)
        ax.set_xticks(x, [str(s["model"]) for s in shown], rotation=20, ha="right")
        ax.set_xlim(-0.6, max(len(shown), 3) - 0.4)
        ax.set_title(f"{title} ({'higher' if higher else 'lower'} is better)", fontsize="medium")
        _legend_outside(ax)
    fig.suptitle("benchmark summary (mean ± std over subjects)")
    return fig


def _value(v) -> float:
    return float(v) if _finite(v) else np.nan


def _finite(v) -> bool:
    return isinstance(v, (int, float, np.number)) and bool(np.isfinite(v))


@fill_doc
def plot_subject_bars(rows: Sequence[Mapping], metric: str, ax=None, title: str | None = None,
                      n_classes: int | None = None):
    """Grouped bars of one metric per subject (rows of one subject averaged), one colour per model.

    The legend sits to the right of the axes, outside the bars; accuracy-type metrics get a chance line when
    ``n_classes`` is given, correlation-type metrics (CCC, Pearson r) a zero line.

    Parameters
    ----------
    rows : sequence of mapping
        Result rows with ``model``, ``subject`` and ``metric``.
    metric : str
        Metric to plot, e.g. ``"accuracy"``; rows where it is None are left out.
    %(ax)s
    %(title)s
    n_classes : int | None
        Number of classes, for the chance line of accuracy-type metrics; None leaves it out.

    Returns
    -------
    %(fig)s
    """
    if n_classes is not None and n_classes < 1:
        raise ValueError(f"n_classes must be >= 1 or None, got {n_classes}")
    rows = [r for r in rows if r.get(metric) is not None]
    if not rows:
        raise ValueError(f"no row has a value for {metric!r}")
    models = list(dict.fromkeys(r["model"] for r in rows))
    subjects = sorted({r["subject"] for r in rows}, key=lambda s: (str(type(s)), s))
    fig, ax = _axes(ax, (max(5.0, 0.25 * len(subjects) * len(models) + 1.5) + 1.8, 3.5))
    width = 0.8 / len(models)
    x = np.arange(len(subjects))
    for i, model in enumerate(models):
        vals = [np.mean([r[metric] for r in rows if r["model"] == model and r["subject"] == s] or [np.nan])
                for s in subjects]
        ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, label=model)
    ax.set_xticks(x, [str(s) for s in subjects])
    ax.set_xlabel("subject")
    ax.set_ylabel(metric.replace("_", " "))
    _reference_line(ax, metric, n_classes)
    _legend_outside(ax, ncols=1 if len(models) <= 12 else 2)
    ax.set_title(title or f"{metric.replace('_', ' ')} per subject")
    return fig


@fill_doc
def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], ax=None, title: str | None = None,
                          normalize: bool = True):
    """A confusion matrix as an image with the counts (or row fractions) written in.

    Parameters
    ----------
    cm : ndarray, shape (n_classes, n_classes)
        Counts, rows = true class, columns = predicted class.
    class_names : sequence of str
        Names of the classes.
    %(ax)s
    %(title)s
    normalize : bool
        Show each row as fractions of its true class.

    Returns
    -------
    %(fig)s
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise ValueError(f"cm must be square with one row per class ({len(class_names)}), got {cm.shape}")
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig, ax = _axes(ax, (1.2 * len(class_names) + 2, 1.1 * len(class_names) + 1.5))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center",
                    color="white" if shown[i, j] > 0.6 * (shown.max() or 1) else "black", fontsize="small")
    ax.set_xticks(range(len(class_names)), class_names, rotation=30)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(title or "confusion matrix")
    return fig


@fill_doc
def plot_trajectory(times: np.ndarray, va_true: np.ndarray, va_pred: np.ndarray, axes=None,
                    title: str | None = None):
    """Predicted vs. true valence and arousal over time, one panel each.

    Parameters
    ----------
    times : ndarray, shape (n_steps,)
        Time of each step in seconds.
    va_true, va_pred : ndarray, shape (n_steps, 2)
        True and predicted valence (column 0) and arousal (column 1).
    axes : sequence of two matplotlib.axes.Axes | None
        Where to draw; None makes a new figure with two panels.
    title : str | None
        Figure title.

    Returns
    -------
    %(fig)s
    """
    import matplotlib.pyplot as plt

    times = np.asarray(times, dtype=np.float64)
    va_true, va_pred = np.asarray(va_true), np.asarray(va_pred)
    if va_true.shape != (times.size, 2) or va_pred.shape != va_true.shape:
        raise ValueError(f"expected va_true and va_pred of shape ({times.size}, 2), got {va_true.shape} and "
                         f"{va_pred.shape}")
    if axes is None:
        fig, axes = plt.subplots(2, 1, figsize=(8, 4), sharex=True, layout="constrained")
    else:
        if len(axes) != 2:
            raise ValueError(f"axes must hold two Axes (valence, arousal), got {len(axes)}")
        fig = axes[0].figure
    for ax, col, name in zip(axes, (0, 1), ("valence", "arousal")):
        ax.plot(times, va_true[:, col], color="k", lw=1.5, label="true")
        ax.plot(times, va_pred[:, col], color="C1", lw=1.0, label="predicted")
        ax.set_ylabel(name)
        ax.set_ylim(-1.3, 1.3)
    axes[0].legend(fontsize="small", loc="upper right")
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    return fig
