"""Benchmark plots: draw into given axes or new figures, show the data given, reject inconsistent input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from eegaffect.viz.benchmark import plot_confusion_matrix, plot_subject_bars, plot_trajectory  # noqa: E402


def test_subject_bars_average_each_subject_per_model():
    rows = [{"model": "a", "subject": 1, "accuracy": 0.4}, {"model": "a", "subject": 1, "accuracy": 0.6},
            {"model": "a", "subject": 2, "accuracy": 0.9}, {"model": "b", "subject": 1, "accuracy": 0.3},
            {"model": "b", "subject": 2, "accuracy": None}]
    fig, ax = plt.subplots()
    assert plot_subject_bars(rows, "accuracy", ax=ax) is fig
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights[:2], [0.5, 0.9])
    assert heights[2] == pytest.approx(0.3) and np.isnan(heights[3])
    with pytest.raises(ValueError, match="valence_ccc"):
        plot_subject_bars(rows, "valence_ccc")


def test_confusion_matrix_rows_are_fractions_of_the_true_class():
    cm = np.array([[8, 2], [1, 3]])
    fig = plot_confusion_matrix(cm, ["low", "high"])
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(image, [[0.8, 0.2], [0.25, 0.75]])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0.80" in texts and "0.75" in texts
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(cm, ["a", "b", "c"])


def test_trajectory_draws_valence_and_arousal():
    t = np.arange(5.0)
    true = np.column_stack([np.linspace(-1, 1, 5), np.zeros(5)])
    pred = true + 0.1
    fig, axes = plt.subplots(2, 1)
    assert plot_trajectory(t, true, pred, axes=axes, title="x") is fig
    np.testing.assert_allclose(axes[0].lines[1].get_ydata(), pred[:, 0])
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), true[:, 1])
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        plot_trajectory(t, true, pred[:4])
