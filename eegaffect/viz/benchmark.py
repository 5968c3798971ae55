"""Plots of benchmark results: per-subject bars, confusion matrices, predicted vs. true trajectories.

Each function takes data (plus an optional ``ax``) and returns the :class:`matplotlib.figure.Figure`; nothing is
shown or saved here.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["plot_subject_bars", "plot_confusion_matrix", "plot_trajectory"]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def plot_subject_bars(rows: Sequence[Mapping], metric: str, ax=None, title: str | None = None):
    """Grouped bars of one metric per subject (rows of one subject averaged), one colour per model.

    Parameters
    ----------
    rows : sequence of mapping
        Result rows with ``model``, ``subject`` and ``metric``.
    metric : str
        Metric to plot, e.g. ``"accuracy"``; rows where it is None are left out.
    ax : matplotlib.axes.Axes | None
        Where to draw; None makes a new figure.
    title : str | None
        Axes title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    """
    rows = [r for r in rows if r.get(metric) is not None]
    if not rows:
        raise ValueError(f"no row has a value for {metric!r}")
    models = list(dict.fromkeys(r["model"] for r in rows))
    subjects = sorted({r["subject"] for r in rows}, key=lambda s: (str(type(s)), s))
    fig, ax = _axes(ax, (max(5.0, 0.5 * len(subjects) * len(models) + 2), 3.5))
    width = 0.8 / len(models)
    x = np.arange(len(subjects))
    for i, model in enumerate(models):
        vals = [np.mean([r[metric] for r in rows if r["model"] == model and r["subject"] == s] or [np.nan])
                for s in subjects]
        ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, label=model)
    ax.set_xticks(x, [str(s) for s in subjects])
    ax.set_xlabel("subject")
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend(fontsize="small", ncols=min(len(models), 5))
    ax.set_title(title or f"{metric.replace('_', ' ')} per subject")
    return fig


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], ax=None, title: str | None = None,
                          normalize: bool = True):
    """A confusion matrix as an image with the counts (or row fractions) written in.

    Parameters
    ----------
    cm : ndarray, shape (n_classes, n_classes)
        Counts, rows = true class, columns = predicted class.
    class_names : sequence of str
        Names of the classes.
    ax : matplotlib.axes.Axes | None
        Where to draw; None makes a new figure.
    title : str | None
        Axes title.
    normalize : bool
        Show each row as fractions of its true class.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
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
    fig : matplotlib.figure.Figure
        The figure.
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
