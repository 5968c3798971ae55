"""Results of the multimodal benchmark (``eegaffect bench run``): fusion against the best single modality,
``results.json`` / ``results.csv`` / ``results.md`` / ``run.json`` and the summary plot.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from eegaffect.benchmark.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

if TYPE_CHECKING:
    from eegaffect.benchmark.multimodal import BenchRunConfig, MultimodalResult

__all__ = ["RUN_METRICS", "ROW_KEYS", "fusion_comparison", "modality_table"]

_TASK_METRICS = tuple(f"{d}_{m}" for d in ("valence", "arousal", "stress") for m in ("accuracy", "f1"))
#: Every metric column of the multimodal ``results.json`` rows (no output jitter: its regression rows score the
#: frames that have a target, pooled, not whole trials).
RUN_METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS + _TASK_METRICS
ROW_KEYS = ("model", "modality", "subject", "session", "fold") + RUN_METRICS


def fusion_comparison(summary: list[dict]) -> list[str]:
    """Sentences comparing each fusion model with the best single-modality model, per primary metric."""
    lines = []
    for metric in ("valence_accuracy", "arousal_accuracy", "accuracy", "stress_accuracy", "valence_ccc",
                   "arousal_ccc"):
        have = [s for s in summary if s.get(f"{metric}_mean") is not None]
        single = [s for s in have if s["modality"] not in ("fusion", "physio (all devices)")]
        fused = [s for s in have if s["modality"] == "fusion"]
        if not single or not fused:
            continue
        best = max(single, key=lambda s: s[f"{metric}_mean"])
        for f in fused:
            diff = f[f"{metric}_mean"] - best[f"{metric}_mean"]
            verdict = "beats" if diff > 1e-12 else "only ties" if abs(diff) <= 1e-12 else "does NOT beat"
            lines.append(f"{metric}: {f['model']} {f[f'{metric}_mean']:.3f} {verdict} the best single modality "
                         f"({best['model']}, {best['modality']}) {best[f'{metric}_mean']:.3f} ({diff:+.3f})")
    return lines


# ------------------------------------------------------------------------------------------------------ output
def _write(result: MultimodalResult, out_dir: Path, config: BenchRunConfig) -> dict[str, Path]:
    from eegaffect.benchmark.report import _clean, write_results_json

    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    doc = {"dataset": result.dataset, "protocol": result.protocol,
           "rows": [{k: _clean(r.get(k)) for k in ROW_KEYS} for r in result.rows],
           "summary": [{k: _clean(v) for k, v in s.items()} for s in result.summary],
           "fusion_vs_best_single": result.comparison, "failed": result.failed}
    files["json"] = write_results_json(out_dir / "results.json", doc)
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ROW_KEYS)
    for r in result.rows:
        writer.writerow(["" if _clean(r.get(k)) is None else _clean(r.get(k)) for k in ROW_KEYS])
    files["csv"] = _atomic(out_dir / "results.csv", buf.getvalue())
    files["markdown"] = _atomic(out_dir / "results.md", modality_table(result))
    run = {"feature_wall_s": result.feature_wall_s, "subject_featurise_s": result.subject_seconds,
           "subject_featurise_cpu_s": result.subject_cpu_s,
           "peak_rss_mb": result.peak_rss_mb, "units_failed": result.failed, "executor": result.executor,
           "executor_startup_s": result.startup_s, "executor_shutdown_s": result.shutdown_s,
           "unit_timings": result.unit_timings, "config": config.model_dump(mode="json")}
    files["run"] = write_results_json(out_dir / "run.json", run)
    if config.plots:
        files["plot:summary"] = _plot(result, out_dir / "plots")
    return files


def _atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def modality_table(result: MultimodalResult) -> str:
    """Markdown: mean ± std over subjects per model, with its modality, for every metric that applies."""
    metrics = [m for m in RUN_METRICS if any(s.get(f"{m}_mean") is not None for s in result.summary)]
    lines = [f"# Benchmark: {result.dataset}, {result.protocol}", "",
             f"Mean ± std over subjects (each subject's folds averaged first); {len(result.rows)} fold results.", "",
             "| model | modality | subjects | " + " | ".join(m.replace("_", " ") for m in metrics) + " |",
             "|---|---|---:|" + "---:|" * len(metrics)]
    order = {"eeg": 0, "physio": 1, "fusion": 2}
    for s in sorted(result.summary, key=lambda s: order.get(s["modality"], 3)):
        cells = ["–" if s.get(f"{m}_mean") is None else f"{s[f'{m}_mean']:.3f} ± {s[f'{m}_std']:.3f}"
                 for m in metrics]
        lines.append(f"| {s['model']} | {s['modality']} | {s.get('n_subjects', '')} | " + " | ".join(cells) + " |")
    if result.comparison:
        lines += ["", "## Fusion against the best single modality", ""] + [f"- {c}" for c in result.comparison]
    return "\n".join(lines) + "\n"


def _plot(result: MultimodalResult, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    metrics = [m for m in ("accuracy", "valence_accuracy", "arousal_accuracy", "stress_accuracy", "valence_ccc",
                           "arousal_ccc") if any(s.get(f"{m}_mean") is not None for s in result.summary)]
    colours = {"eeg": "tab:blue", "physio": "tab:orange", "fusion": "tab:green"}
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(4 * max(1, len(metrics)), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        have = [s for s in result.summary if s.get(f"{metric}_mean") is not None]
        ax.bar(range(len(have)), [s[f"{metric}_mean"] for s in have], yerr=[s[f"{metric}_std"] for s in have],
               color=[colours.get(s["modality"].split("-")[0].split(" ")[0], "grey") for s in have])
        ax.set_xticks(range(len(have)), [s["model"] for s in have], rotation=60, ha="right", fontsize=7)
        ax.set_title(metric.replace("_", " "), fontsize=9)
    fig.suptitle(f"{result.dataset}, {result.protocol} (blue EEG, orange physiology, green fusion)", fontsize=9)
    fig.tight_layout()
    path = folder / "summary.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
