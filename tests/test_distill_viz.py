"""Distillation figures: confusion matrix and topomap panels take data (+ optional axes) and return the Figure."""

from __future__ import annotations

import numpy as np
import pytest

from eegaffect.viz.distill import plot_confusion_matrix, plot_topomaps


def test_confusion_matrix_figure():
    import matplotlib.pyplot as plt

    cm = np.array([[3, 1, 0], [0, 0, 0], [2, 0, 5]])
    fig = plot_confusion_matrix(cm, ["a", "b", "c"], title="t")
    ax = fig.axes[0]
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown, [[0.75, 0.25, 0], [0, 0, 0], [2 / 7, 0, 5 / 7]])  # rows normalised
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in cm.ravel())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"] and ax.get_title() == "t"
    fig2, ax2 = plt.subplots()
    assert plot_confusion_matrix(cm, ["a", "b", "c"], normalize=False, ax=ax2) is fig2
    np.testing.assert_array_equal(ax2.images[0].get_array(), cm)
    with pytest.raises(ValueError, match="square confusion matrix matching 2"):
        plot_confusion_matrix(cm, ["a", "b"])


def test_topomap_panels(rng):
    maps = rng.standard_normal((3, 8, 8))
    mask = np.ones((8, 8), bool)
    mask[0, 0] = False
    fig = plot_topomaps(maps, mask, band_names=["x", "y", "z"])
    assert len(fig.axes) == 3 and fig.axes[2].get_title() == "z"
    assert np.isnan(np.ma.getdata(fig.axes[0].images[0].get_array())[0, 0])  # outside the head: blank
    with pytest.raises(ValueError, match="n_bands, height, width"):
        plot_topomaps(maps[0])
