"""Write benchmark results: ``results.csv``, ``results.json``, ``results.md`` and ``plots/*.png``.

``plots/`` holds exactly the run's plots (``summary.png``, ``subjects-<metric>.png``, ``confusion-<model>.png``,
``trajectory-<model>-<fold>-t<trial>.png``); plots of those kinds left by an earlier run into the same folder
(another model list, say) are removed, so a report built from the folder shows only this run.

``results.json`` has exactly the shape::

    {"dataset": str, "protocol": str,
     "rows": [{"model", "subject", "session", "fold", "accuracy", "macro_f1", "balanced_accuracy",
               "valence_ccc", "valence_rmse", "valence_pearson", "arousal_ccc", "arousal_rmse",
               "arousal_pearson", "valence_jitter", "valence_jitter_ratio", "arousal_jitter",
               "arousal_jitter_ratio"}],
     "summary": [{"model", "n_subjects", "<metric>_mean", "<metric>_std", ...}]}

``<dim>_jitter`` is the predicted valence/arousal's mean absolute change per step within test trials (lower is
steadier) and ``<dim>_jitter_ratio`` that over the truth's own on the same steps
(:func:`eegaffect.benchmark.metrics.jitter_metrics`).

When units of the run failed, a ``"failed"`` list (``model``, ``fold``, ``seed``, ``error``) follows; the key is
absent when every unit succeeded.

Metrics that do not apply (a classifier's CCC, a regressor's accuracy, a constant target's Pearson r, the
jitter ratio of a target that does not move within a trial or lacks a step) are ``null``; a row resumed from a run
that predates a metric gets ``null`` for it (the jitter from its stored predictions). ``results.csv`` holds the
rows (empty cells for null).
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from eegaffect.benchmark.metrics import JITTER_METRICS, METRIC_NAMES

__all__ = ["write_report", "results_document", "markdown_table", "write_results_json", "write_results_csv",
           "featurisation_lines"]

_ROW_KEYS = ("model", "subject", "session", "fold") + METRIC_NAMES


def results_document(dataset: str, protocol: str, rows: Sequence[Mapping], summary: Sequence[Mapping]) -> dict:
    """The ``results.json`` document (NaN and inf become None).

    Parameters
    ----------
    dataset, protocol : str
        What was run.
    rows : sequence of mapping
        Result rows.
    summary : sequence of mapping
        Per-model summary.

    Returns
    -------
    doc : dict
        JSON-serialisable, strict (no NaN).
    """
    return {"dataset": dataset, "protocol": protocol,
            "rows": [{k: _clean(r.get(k)) for k in _ROW_KEYS} for r in rows],
            "summary": [{k: _clean(v) for k, v in s.items()} for s in summary]}


def _clean(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _atomic_text(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_results_json(path: str | Path, doc: Mapping) -> Path:
    """Write ``doc`` as strict JSON (``allow_nan=False``), atomically."""
    return _atomic_text(Path(path), json.dumps(doc, indent=2, allow_nan=False) + "\n")


def write_results_csv(path: str | Path, rows: Sequence[Mapping]) -> Path:
    """Write the rows as CSV with the :data:`ROW_KEYS` columns (empty cell for None), atomically."""
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(_ROW_KEYS)
    for r in rows:
        writer.writerow(["" if _clean(r.get(k)) is None else _clean(r.get(k)) for k in _ROW_KEYS])
    return _atomic_text(Path(path), buf.getvalue())


def markdown_table(dataset: str, protocol: str, rows: Sequence[Mapping], summary: Sequence[Mapping]) -> str:
    """A Markdown report: mean ± std per model for every metric that applies (the output jitter in a table of its
    own), then per-subject figures.

    Returns
    -------
    text : str
        Markdown.
    """
    metrics = [m for m in METRIC_NAMES if any(s.get(f"{m}_mean") is not None for s in summary)]
    jitters = [m for m in metrics if m in JITTER_METRICS]
    metrics = [m for m in metrics if m not in JITTER_METRICS]
    lines = [f"# Benchmark: {dataset}, {protocol}", "",
             f"Mean ± std over subjects (each subject's folds averaged first); {len(rows)} fold results.", ""]
    lines += _summary_table(summary, metrics)
    if jitters:
        shown = [s for s in summary if any(s.get(f"{m}_mean") is not None for m in jitters)]
        lines += ["", "## Output jitter", "",
                  "Mean |change| per step of the predicted valence/arousal within test trials (lower is steadier), "
                  "and its ratio to the truth's own on the same steps (1: moves as much as the target; – where the "
                  "target does not move within a trial or a step has no target).", ""]
        lines += _summary_table(shown, jitters)
    primary = [m for m in ("accuracy", "valence_ccc", "arousal_ccc") if m in metrics]
    for metric in primary:
        models = [s["model"] for s in summary if s.get(f"{metric}_mean") is not None]
        subjects = sorted({r["subject"] for r in rows}, key=lambda v: (str(type(v)), v))
        lines += ["", f"## {metric.replace('_', ' ')} per subject", "",
                  "| subject | " + " | ".join(models) + " |", "|---|" + "---:|" * len(models)]
        for subject in subjects:
            cells = []
            for model in models:
                vals = [r[metric] for r in rows if r["model"] == model and r["subject"] == subject
                        and r.get(metric) is not None]
                cells.append(f"{np.mean(vals):.3f}" if vals else "–")
            lines.append(f"| {subject} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _summary_table(summary: Sequence[Mapping], metrics: Sequence[str]) -> list[str]:
    lines = ["| model | subjects | " + " | ".join(m.replace("_", " ") for m in metrics) + " |",
             "|---|---:|" + "---:|" * len(metrics)]
    for s in summary:
        cells = []
        for m in metrics:
            mean, std = s.get(f"{m}_mean"), s.get(f"{m}_std")
            cells.append("–" if mean is None else f"{mean:.3f} ± {std:.3f}")
        lines.append(f"| {s['model']} | {s.get('n_subjects', '')} | " + " | ".join(cells) + " |")
    return lines


def write_report(result, out_dir: str | Path, *, store=None, class_names: Sequence[str] = (), pipeline=None,
                 plots: bool = True, trajectory_plots: int = 3) -> dict[str, Path]:
    """Write every output of a benchmark run.

    Parameters
    ----------
    result : BenchmarkResult
        Rows and summary.
    out_dir : str | Path
        Output folder.
    store : object | None
        The run's partial-results store (gives each fold's predictions for the plots); None skips the
        confusion matrices and trajectories.
    class_names : sequence of str
        Class names for the confusion matrices.
    pipeline : PipelineConfig | None
        The signal path that made the steps: the trajectories' time axis is its frame times
        (:func:`eegaffect.pipeline.frame_times`, window ends, as the targets). None: the default pipeline.
    plots : bool
        Write the plots.
    trajectory_plots : int
        Predicted-vs-true trajectory plots per valence/arousal model (first test trials of the first fold).

    Returns
    -------
    files : dict of str to Path
        ``csv``, ``json``, ``markdown`` and one key per plot.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    doc = results_document(result.dataset, result.protocol, result.rows, result.summary)
    if getattr(result, "failed", None):  # units that failed in this run (absent when none did)
        doc["failed"] = [dict(f) for f in result.failed]
    files = {
        "json": write_results_json(out / "results.json", doc),
        "csv": write_results_csv(out / "results.csv", doc["rows"]),
        "markdown": _atomic_text(out / "results.md", markdown_table(result.dataset, result.protocol, doc["rows"],
                                                                    doc["summary"])),
    }
    if plots and doc["rows"]:
        files.update(_plots(doc["rows"], doc["summary"], out / "plots", store, list(class_names), pipeline,
                            trajectory_plots))
    return files


_PLOT_PATTERNS = ("summary.png", "subjects-*.png", "confusion-*.png", "trajectory-*.png")


def _plots(rows, summary, folder: Path, store, class_names, pipeline, n_traj: int) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from eegaffect.viz.benchmark import plot_subject_bars, plot_summary

    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def save(fig, name):
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        files[f"plot:{name}"] = path

    n_classes = len(class_names) or None
    if any(s.get(f"{m}_mean") is not None for s in summary for m in METRIC_NAMES if m not in JITTER_METRICS):
        save(plot_summary(summary, n_classes=n_classes), "summary")
    for metric in ("accuracy", "valence_ccc", "arousal_ccc"):
        if any(r.get(metric) is not None for r in rows):
            save(plot_subject_bars(rows, metric, n_classes=n_classes), f"subjects-{metric}")
    if store is not None:
        _model_plots(rows, store, class_names, pipeline, n_traj, save)
    written = set(files.values())
    for pattern in _PLOT_PATTERNS:
        for stale in folder.glob(pattern):
            if stale not in written:
                stale.unlink(missing_ok=True)
    return files


def _model_plots(rows, store, class_names, pipeline, n_traj: int, save) -> None:
    from eegaffect.pipeline import PipelineConfig, frame_times, window_hop
    from eegaffect.viz.benchmark import plot_confusion_matrix, plot_trajectory

    pipeline = pipeline if pipeline is not None else PipelineConfig()
    window, hop = window_hop(pipeline)

    models = list(dict.fromkeys(r["model"] for r in rows))
    for model in models:
        mine = [r for r in rows if r["model"] == model]
        preds = [store.predictions(model, r["fold"]) for r in mine]
        if class_names and all("pred_labels" in p for p in preds):
            n = len(class_names)
            cm = np.zeros((n, n), dtype=np.int64)
            for p in preds:
                true = np.repeat(p["true_labels"], p["n_steps"])
                ok = (true >= 0) & (p["pred_labels"] >= 0) & (p["pred_labels"] < n)
                np.add.at(cm, (true[ok], p["pred_labels"][ok]), 1)
            save(plot_confusion_matrix(cm, class_names, title=f"{model}: confusion (all folds)"),
                 f"confusion-{model}")
        if n_traj and preds and "pred_va" in preds[0]:
            p, fold = preds[0], mine[0]["fold"]
            bounds = np.concatenate([[0], np.cumsum(p["n_steps"])])
            for i in range(min(n_traj, len(p["n_steps"]))):
                sl = slice(bounds[i], bounds[i + 1])
                subject, session, trial = p["trials"][i]
                times = frame_times(int(bounds[i + 1] - bounds[i]), window, hop, pipeline.sfreq)
                save(plot_trajectory(times, p["true_va"][sl], p["pred_va"][sl],
                                     title=f"{model}, fold {fold}: subject {subject} session {session} "
                                           f"trial {trial}"),
                     f"trajectory-{model}-{fold}-t{trial}")


def featurisation_lines(result) -> list[str]:
    """What a run featurised, per view (band features, raw windows), then the throughput over all of them.

    Parameters
    ----------
    result : BenchmarkResult
        A finished run (:func:`eegaffect.benchmark.runner.run_benchmark`).

    Returns
    -------
    lines : list of str
        One line per view, then the overall throughput when anything was built in this run.
    """
    labels = {"features": "band features", "raw": "raw windows"}
    lines = []
    for kind, v in result.feature_views.items():
        total = v["files_built"] + v["files_reused"]
        if v["files_built"]:
            reused = f", {v['files_reused']} reused from the cache" if v["files_reused"] else ""
            lines.append(f"feature extraction ({labels.get(kind, kind)}): built {v['files_built']} of {total} "
                         f"file(s) in this run{reused}: {v['eeg_seconds']:.0f} s of EEG in {v['wall_s']:.2f} s")
        else:
            lines.append(f"feature extraction ({labels.get(kind, kind)}): all {total} file(s) came from the cache")
    if result.feature_seconds > 0:
        lines.append(f"feature extraction overall: {result.feature_seconds:.0f} s of EEG in "
                     f"{result.feature_wall_s:.2f} s = {result.feature_throughput:.0f} s of EEG per second "
                     f"(peak traced memory {result.feature_peak_mb:.0f} MiB)")
    return lines
