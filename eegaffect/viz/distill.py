"""Figures of the distillation line: the student's confusion matrix and topographic maps."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from eegaffect._docs import fill_doc

__all__ = ["plot_confusion_matrix", "plot_topomaps"]


@fill_doc
def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], *, normalize: bool = True, ax=None,
                          title: str | None = None):
    """Plot a confusion matrix (rows = true class, columns = predicted class).

    Parameters
    ----------
    cm : ndarray, shape (n_classes, n_classes)
        Counts.
    class_names : sequence of str, length n_classes
        Labels of the rows/columns.
    normalize : bool
        Colour by the fraction of each true class (rows sum to 1; empty rows stay 0); cells show counts.
    ax : matplotlib.axes.Axes | None
        Where to draw; a new figure when None.
    %(title)s

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding ``ax``.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise ValueError(f"expected a square confusion matrix matching {len(class_names)} class names, got shape "
                         f"{cm.shape}")
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(class_names), 0.8 + 0.65 * len(class_names)))
    else:
        fig = ax.figure
    shown = cm.astype(float)
    if normalize:
        rows = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, rows, out=np.zeros_like(shown), where=rows > 0)
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, labels=list(class_names), rotation=45, ha="right")
    ax.set_yticks(ticks, labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if shown[i, j] > threshold else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class" if normalize else "count")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_topomaps(maps: np.ndarray, mask: np.ndarray | None = None, *, band_names: Sequence[str] | None = None,
                  axes=None):
    """Plot one topographic map per band.

    Parameters
    ----------
    maps : ndarray, shape (n_bands, height, width)
        Maps from :class:`eegaffect.distill.topomap.TopomapInterpolator` (row 0 at the back of the head).
    mask : ndarray of bool, shape (height, width) | None
        Head mask; pixels outside are left blank.
    band_names : sequence of str | None
        Titles.
    axes : sequence of matplotlib.axes.Axes | None
        One per band; a new figure when None.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    maps = np.asarray(maps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"expected maps of shape (n_bands, height, width), got {maps.shape}")
    import matplotlib.pyplot as plt

    n = maps.shape[0]
    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=(2.2 * n, 2.4), squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    for k, ax in enumerate(axes[:n]):
        img = np.where(mask, maps[k], np.nan) if mask is not None else maps[k]
        ax.imshow(img, origin="lower", cmap="RdBu_r")
        ax.set_axis_off()
        if band_names is not None:
            ax.set_title(band_names[k])
    return fig
