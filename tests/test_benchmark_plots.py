"""Benchmark plots: draw into given axes or new figures, show the data given, reject inconsistent input."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from eegaffect.viz.benchmark import plot_confusion_matrix, plot_subject_bars, plot_summary, plot_trajectory  # noqa: E402

MODELS = ["de-svm", "de-logreg", "eegnet", "shallow", "eegdancer", "eegdancer-novq", "eegdancer-nomask"]


def _rows(rng, models=MODELS, subjects=(1, 2, 3)):
    from eegaffect.benchmark.metrics import METRIC_NAMES

    rows = []
    for m in models:
        for s in subjects:
            row = {"model": m, "subject": s, "session": 1, "fold": f"s{s}"}
            row.update({k: None for k in METRIC_NAMES})
            if m.startswith("reg"):
                row.update({k: float(rng.uniform(-0.3, 0.7)) for k in METRIC_NAMES if k.startswith(("valence",
                                                                                                    "arousal"))})
            else:
                row.update({k: float(rng.uniform(0.2, 0.7)) for k in ("accuracy", "macro_f1", "balanced_accuracy")})
            rows.append(row)
    return rows


def _horizontal_lines(ax):
    """Lines across the whole axes (axhline: x from 0 to 1 in axes coordinates), not error-bar caps."""
    return [line for line in ax.lines if list(line.get_xdata()) == [0, 1] and np.ptp(line.get_ydata()) == 0]


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


@pytest.mark.parametrize("n_models", [5, 7])
def test_subject_bars_legend_sits_outside_the_bars_and_inside_the_figure(rng, n_models):
    fig = plot_subject_bars(_rows(rng, MODELS[:n_models]), "accuracy", n_classes=3)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    frame = ax.get_window_extent()
    assert legend.x0 >= frame.x1  # right of the bars, never over them
    whole = fig.bbox
    assert whole.x0 <= legend.x0 and legend.x1 <= whole.x1 and whole.y0 <= legend.y0 and legend.y1 <= whole.y1
    assert [t.get_text() for t in ax.get_legend().get_texts()][-n_models:] == MODELS[:n_models]
    plt.close(fig)


def test_subject_bars_reference_lines(rng):
    fig = plot_subject_bars(_rows(rng), "accuracy", n_classes=3)
    (chance,) = _horizontal_lines(fig.axes[0])
    assert chance.get_ydata()[0] == pytest.approx(1 / 3) and "chance" in chance.get_label()
    fig = plot_subject_bars(_rows(rng), "accuracy")  # classes unknown: no chance line
    assert _horizontal_lines(fig.axes[0]) == []
    fig = plot_subject_bars(_rows(rng, ["reg-a", "reg-b"]), "valence_ccc")
    (zero,) = _horizontal_lines(fig.axes[0])
    assert zero.get_ydata()[0] == 0
    with pytest.raises(ValueError, match="n_classes"):
        plot_subject_bars(_rows(rng), "accuracy", n_classes=0)


def test_summary_keeps_lower_is_better_metrics_on_their_own_panel(rng):
    from eegaffect.benchmark.metrics import summarise

    summary = summarise(_rows(rng, ["de-svm", "reg-a", "reg-b"]))
    fig = plot_summary(summary, n_classes=4)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["classification (higher is better)", "agreement with valence/arousal (higher is better)",
                      "valence/arousal error (lower is better)"]
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert legends[0] == ["chance (1/4)", "accuracy", "balanced accuracy", "macro f1"]
    assert legends[1] == ["valence ccc", "arousal ccc", "valence pearson", "arousal pearson"]
    assert legends[2] == ["valence rmse", "arousal rmse"]
    # each panel shows only the models with a value there, bars at the summary means
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["de-svm"]
    assert [t.get_text() for t in fig.axes[2].get_xticklabels()] == ["reg-a", "reg-b"]
    rmse = [p.get_height() for p in fig.axes[2].patches]
    by_model = {s["model"]: s for s in summary}
    expected = [by_model[m][f"{k}_rmse_mean"] for k in ("valence", "arousal") for m in ("reg-a", "reg-b")]
    np.testing.assert_allclose(rmse, expected)
    (chance,) = _horizontal_lines(fig.axes[0])
    assert chance.get_ydata()[0] == pytest.approx(0.25)
    (zero,) = _horizontal_lines(fig.axes[1])
    assert zero.get_ydata()[0] == 0
    assert _horizontal_lines(fig.axes[2]) == []
    with pytest.raises(ValueError, match="empty"):
        plot_summary([])
    with pytest.raises(ValueError, match="unknown metric"):
        plot_summary(summary, metrics=["speed"])


def test_plots_folder_holds_only_this_runs_plots(rng, tmp_path):
    from eegaffect.benchmark.metrics import summarise
    from eegaffect.benchmark.report import write_report
    from eegaffect.benchmark.runner import BenchmarkResult

    plots = tmp_path / "plots"
    plots.mkdir()
    for name in ("confusion-old-model.png", "trajectory-old-model-s1-t1.png", "my-notes.png"):
        (plots / name).write_bytes(b"not ours to keep" if name != "my-notes.png" else b"a user's file")
    rows = _rows(rng, ["de-svm", "reg-a"])
    result = BenchmarkResult(dataset="seed", protocol="subject-dependent", rows=rows, summary=summarise(rows))
    files = write_report(result, tmp_path, class_names=["neg", "neu", "pos"])
    names = sorted(p.name for p in plots.iterdir())
    assert names == ["my-notes.png", "subjects-accuracy.png", "subjects-arousal_ccc.png",
                     "subjects-valence_ccc.png", "summary.png"]
    assert files["plot:summary"] == plots / "summary.png"


def test_bench_report_folder_is_self_contained_and_shows_each_plot_once(rng, tmp_path):
    import shutil

    from eegaffect.benchmark.metrics import summarise
    from eegaffect.benchmark.report import write_report
    from eegaffect.benchmark.runner import BenchmarkResult
    from eegaffect.viz.report import make_report

    rows = _rows(rng, ["de-svm", "reg-a"])
    run = tmp_path / "bench"
    result = BenchmarkResult(dataset="seed", protocol="subject-dependent", rows=rows, summary=summarise(rows))
    write_report(result, run, class_names=["neg", "neu", "pos"])
    plot_confusion_matrix(np.eye(3, dtype=int) * 4, ["neg", "neu", "pos"]).savefig(run / "plots" / "confusion-x.png")
    paths = make_report(run)
    page = paths["html"].read_text()
    sources = [part.split("'")[0] for part in page.split("<img src='")[1:]]
    assert sorted(sources) == sorted(p.name for p in (run / "plots").glob("*.png"))  # each plot exactly once
    assert all("/" not in s and (run / "report" / s).is_file() for s in sources)  # all inside the report folder
    # the moved folder still shows every image
    moved = shutil.move(run / "report", tmp_path / "elsewhere")
    assert all((Path(moved) / s).is_file() for s in sources)
    # without the benchmark's plots the report draws the summary and per-subject figures itself, once each
    shutil.rmtree(run / "plots")
    page = make_report(run, tmp_path / "again")["html"].read_text()
    sources = [part.split("'")[0] for part in page.split("<img src='")[1:]]
    assert sorted(sources) == ["subjects-accuracy.png", "subjects-arousal_ccc.png", "subjects-valence_ccc.png",
                               "summary.png"]
