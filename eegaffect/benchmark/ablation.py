"""Ablation benchmark: the same models over several seeds and datasets, with paired differences and 95% intervals.

:func:`run_ablation` runs :func:`~eegaffect.benchmark.runner.run_benchmark` once per (dataset, seed) into
``OUT/<dataset folder name>/seed<k>`` (each resumable on its own), tags every result row with its dataset and seed,
and adds the output jitter of every row (mean |change| per step of the prediction and of the truth, within trials,
from the stored predictions; the prediction's is the benchmark row's own ``<dim>_jitter``) and, for classifiers,
the label flips (fraction of steps whose predicted class differs from the previous step's, within trials).
:func:`paired_differences` pairs each model with the reference model on the same (dataset, seed, subject) unit (a
subject's sessions/folds averaged first), and reports the mean difference ``reference - model`` with its Student-t
95% confidence interval over units: a positive interval means the reference is better on that metric (for jitter,
where lower is better, a positive value means the reference jitters more).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["ABLATION_METRICS", "ablation_markdown", "paired_differences", "row_jitter", "run_ablation"]

#: Metrics of the ablation table, in column order.
ABLATION_METRICS = ("valence_ccc", "accuracy", "arousal_ccc", "valence_jitter", "arousal_jitter", "label_flips")


def _unit_means(rows: Sequence[Mapping], model: str, metric: str, unit_keys: Sequence[str]) -> dict:
    per: dict[tuple, list[float]] = {}
    for r in rows:
        v = r.get(metric)
        if r.get("model") != model or v is None or not math.isfinite(float(v)):
            continue
        per.setdefault(tuple(r.get(k) for k in unit_keys), []).append(float(v))
    return {u: float(np.mean(v)) for u, v in per.items()}


def paired_differences(rows: Sequence[Mapping], reference: str, metrics: Sequence[str] = ABLATION_METRICS,
                       unit_keys: Sequence[str] = ("dataset", "seed", "subject"),
                       confidence: float = 0.95) -> list[dict]:
    """Paired differences ``reference - model`` per metric over shared units, with Student-t intervals.

    Parameters
    ----------
    rows : sequence of mapping
        Result rows with ``"model"``, the ``unit_keys`` and metric values (None or NaN: missing).
    reference : str
        The model every other model is compared with.
    metrics : sequence of str
        Metrics to compare.
    unit_keys : sequence of str
        Keys whose values identify a pairing unit; rows of one model and unit are averaged first.
    confidence : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    table : list of dict
        One entry per model (the reference first, with no differences) in first-seen order:
        ``{"model", "<metric>": mean over its units, "<metric>_diff", "<metric>_lo", "<metric>_hi",
        "<metric>_n"}``; a difference over fewer than 2 units has no interval (None).
    """
    from eegaffect.benchmark.metrics import t_half_width

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    models = list(dict.fromkeys(r["model"] for r in rows))
    if reference not in models:
        raise ValueError(f"reference model {reference!r} has no rows; models: {models}")
    models = [reference] + [m for m in models if m != reference]
    out = []
    for model in models:
        entry: dict = {"model": model}
        for metric in metrics:
            mine = _unit_means(rows, model, metric, unit_keys)
            entry[metric] = float(np.mean(list(mine.values()))) if mine else None
            if model == reference:
                continue
            ref = _unit_means(rows, reference, metric, unit_keys)
            shared = sorted(set(mine) & set(ref), key=str)
            d = np.array([ref[u] - mine[u] for u in shared])
            entry[f"{metric}_n"] = len(d)
            entry[f"{metric}_diff"] = float(d.mean()) if len(d) else None
            if len(d) >= 2:
                half = t_half_width(d, confidence)
                entry[f"{metric}_lo"], entry[f"{metric}_hi"] = entry[f"{metric}_diff"] - half, entry[
                    f"{metric}_diff"] + half
            else:
                entry[f"{metric}_lo"] = entry[f"{metric}_hi"] = None
        out.append(entry)
    return out


def ablation_markdown(table: Sequence[Mapping], reference: str, metrics: Sequence[str] = ABLATION_METRICS) -> str:
    """The paired-difference table as markdown: each cell ``mean`` and, for non-reference models,
    ``reference - model [95% CI]``.
    """
    def num(v):
        return "–" if v is None else f"{v:.3f}"

    head = "| model | " + " | ".join(metrics) + " |\n|---|" + "---|" * len(metrics) + "\n"
    lines = []
    for e in table:
        cells = []
        for m in metrics:
            cell = num(e.get(m))
            if e["model"] != reference and e.get(f"{m}_diff") is not None:
                cell += f" (Δ {e[f'{m}_diff']:+.3f} [{num(e.get(f'{m}_lo'))}, {num(e.get(f'{m}_hi'))}])"
            cells.append(cell)
        lines.append(f"| {e['model']} | " + " | ".join(cells) + " |")
    n = max((e.get(f"{metrics[0]}_n") or 0 for e in table), default=0)
    return (head + "\n".join(lines) + f"\n\nΔ = {reference} − model, paired over (dataset, seed, subject) units "
            f"(n = {n} for {metrics[0]}), Student-t 95% interval; Δ > 0 means {reference} scores higher (for "
            "jitter and label flips, where lower is steadier, Δ > 0 means it changes more).\n")


def row_jitter(pred: Mapping[str, np.ndarray]) -> dict:
    """Output jitter of one stored (model, fold), and the fraction of steps whose predicted label differs from the
    previous step's (``label_flips``, with ``pred_labels``), all within trials.

    The prediction's jitter and its ratio to the truth's are the benchmark row's own
    (:func:`eegaffect.benchmark.metrics.jitter_metrics`: ``<dim>_jitter``, ``<dim>_jitter_ratio``; so a row of a
    run that predates them gets the same values); ``<dim>_true_jitter`` is the truth's own mean |change| per step
    over its steps that have both values. Keys whose value is undefined are left out.
    """
    from eegaffect.benchmark.metrics import jitter, jitter_metrics

    out = {}
    bounds = np.cumsum(np.r_[0, pred["n_steps"]])
    labels = pred.get("pred_labels")
    if labels is not None and len(labels) == bounds[-1]:
        flips = [np.diff(np.asarray(labels)[a:b]) != 0 for a, b in zip(bounds[:-1], bounds[1:]) if b - a > 1]
        if flips:
            out["label_flips"] = float(np.concatenate(flips).mean())
    if "true_va" in pred:
        va = np.asarray(pred["true_va"], float)
        va = np.where(np.all(np.isfinite(va), axis=1, keepdims=True), va, np.nan)  # a step without both: skipped
        m = jitter(va, lengths=pred["n_steps"])
        if np.all(np.isfinite(m)):
            out["valence_true_jitter"], out["arousal_true_jitter"] = float(m[0]), float(m[1])
        if "pred_va" in pred:
            m = jitter_metrics(pred["true_va"], pred["pred_va"], pred["n_steps"])
            out.update({k: v for k, v in m.items() if v is not None})
    return out


def run_ablation(roots: Sequence[str | Path], config, out_dir: str | Path, seeds: Sequence[int],
                 show_progress: bool = True) -> list[dict]:
    """Run the benchmark for every (dataset root, seed); returns all rows tagged with ``dataset`` and ``seed``
    and their jitter, and writes them to ``OUT/ablation_rows.json``.
    """
    from eegaffect.benchmark.runner import run_benchmark

    out_dir = Path(out_dir)
    rows = []
    for root in roots:
        root = Path(root)
        for seed in seeds:
            cfg = config.model_copy(update={"seed": int(seed), "plots": False})
            result = run_benchmark(root, cfg, out_dir / root.name / f"seed{int(seed)}", show_progress=show_progress)
            store_dirs = sorted((out_dir / root.name / f"seed{int(seed)}" / "partial").glob("*/"))
            for r in result.rows:
                row = {**r, "dataset": root.name, "seed": int(seed)}
                row.update(_stored_jitter(store_dirs, r["model"], r["fold"]))
                rows.append(row)
    (out_dir / "ablation_rows.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return rows


def _stored_jitter(store_dirs: Sequence[Path], model: str, fold: str) -> dict:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{model}__{fold}")
    for d in store_dirs:
        hits = sorted((p for p in d.glob(f"pred-*-{safe}.npz") if p.name[14:] == f"{safe}.npz"),
                      key=lambda p: p.stat().st_mtime)
        if hits:
            with np.load(hits[-1]) as z:
                return row_jitter({k: z[k] for k in z.files})
    return {}
