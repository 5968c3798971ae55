"""Paired differences and intervals of ``eegaffect bench ablation`` against scipy.stats, jitter against numpy,
and the command end to end on a real-layout SEED miniature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_feature_cache import write_tiny_seed

from eegaffect.benchmark.ablation import (
    ablation_markdown,
    paired_differences,
    row_jitter,
)
from eegaffect.cli import main


def _rows(rng, models, effects, n_sessions=2):
    rows = []
    for dataset in ("a", "b"):
        for seed in (0, 1, 2):
            for subject in (1, 2):
                base = rng.normal(0.5, 0.1)
                for model, effect in zip(models, effects):
                    for session in range(1, n_sessions + 1):
                        rows.append({"model": model, "dataset": dataset, "seed": seed, "subject": subject,
                                     "session": session, "valence_ccc": base + effect + rng.normal(0, 0.05),
                                     "accuracy": None if model == "c" else float(rng.uniform())})
    return rows


def _unit_means(rows, model, metric):
    units = {}
    for r in rows:
        if r["model"] == model and r[metric] is not None:
            units.setdefault((r["dataset"], r["seed"], r["subject"]), []).append(r[metric])
    return {u: np.mean(v) for u, v in units.items()}


def test_paired_differences_match_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    rows = _rows(rng, ["ref", "b", "c"], [0.0, -0.08, 0.02])
    table = paired_differences(rows, "ref", metrics=("valence_ccc", "accuracy"))
    assert [e["model"] for e in table] == ["ref", "b", "c"]
    ref = _unit_means(rows, "ref", "valence_ccc")
    for entry in table[1:]:
        other = _unit_means(rows, entry["model"], "valence_ccc")
        units = sorted(ref)
        a, b = np.array([ref[u] for u in units]), np.array([other[u] for u in units])
        res = stats.ttest_rel(a, b)
        ci = res.confidence_interval(0.95)
        assert entry["valence_ccc_n"] == 12
        assert entry["valence_ccc_diff"] == pytest.approx(np.mean(a - b), abs=1e-12)
        assert entry["valence_ccc_lo"] == pytest.approx(ci.low, abs=1e-12)
        assert entry["valence_ccc_hi"] == pytest.approx(ci.high, abs=1e-12)
        assert entry["valence_ccc"] == pytest.approx(np.mean(b), abs=1e-12)
    # the planted effect of b (-0.08) is found: the reference is better, the interval excludes 0
    assert table[1]["valence_ccc_lo"] > 0
    # a model without values for a metric has no pairs and no interval, and says so
    assert table[2]["accuracy_n"] == 0 and table[2]["accuracy_diff"] is None and table[2]["accuracy_lo"] is None
    text = ablation_markdown(table, "ref", metrics=("valence_ccc", "accuracy"))
    assert "| b |" in text and "Δ +" in text and "n = 12" in text


def test_paired_differences_pair_only_shared_units_and_need_two():
    rows = [{"model": "ref", "dataset": "a", "seed": 0, "subject": 1, "valence_ccc": 0.5},
            {"model": "ref", "dataset": "a", "seed": 0, "subject": 2, "valence_ccc": 0.7},
            {"model": "x", "dataset": "a", "seed": 0, "subject": 2, "valence_ccc": 0.4},
            {"model": "x", "dataset": "a", "seed": 0, "subject": 3, "valence_ccc": float("nan")}]
    entry = paired_differences(rows, "ref", metrics=("valence_ccc",))[1]
    assert entry["valence_ccc_n"] == 1 and entry["valence_ccc_diff"] == pytest.approx(0.3)
    assert entry["valence_ccc_lo"] is None and entry["valence_ccc_hi"] is None
    with pytest.raises(ValueError, match="reference model 'nope' has no rows"):
        paired_differences(rows, "nope")
    with pytest.raises(ValueError, match="confidence must be in"):
        paired_differences(rows, "ref", confidence=1.0)


def test_row_jitter_is_mean_abs_step_change_within_trials():
    rng = np.random.default_rng(1)
    n_steps = np.array([5, 1, 7])
    pred, true = rng.normal(size=(13, 2)), rng.normal(size=(13, 2))
    true[8] = np.nan  # a step without a target: its two differences are skipped
    got = row_jitter({"n_steps": n_steps, "pred_va": pred, "true_va": true})
    bounds = [(0, 5), (6, 13)]
    dp = np.concatenate([np.abs(np.diff(pred[a:b], axis=0)) for a, b in bounds])
    dt = np.concatenate([np.abs(np.diff(true[a:b], axis=0)) for a, b in bounds])
    dt = dt[np.all(np.isfinite(dt), axis=1)]
    assert got["valence_jitter"] == pytest.approx(dp[:, 0].mean())
    assert got["arousal_jitter"] == pytest.approx(dp[:, 1].mean())
    assert got["valence_true_jitter"] == pytest.approx(dt[:, 0].mean())
    assert len(dt) == 8  # 4 + 6 within-trial differences (none across trials), minus the 2 touching the NaN step
    assert "label_flips" not in got  # a regression model stores no labels
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 1])  # trials [0 0 1 1 1] [2] [2 2 0 0 0 0 1]
    got = row_jitter({"n_steps": n_steps, "pred_va": pred, "true_va": true, "pred_labels": labels})
    assert got["label_flips"] == pytest.approx(3 / 10)  # 1 of 4 + 2 of 6 steps change class; none across trials


@pytest.fixture(scope="module")
def tiny_seed(tmp_path_factory) -> Path:
    return write_tiny_seed(tmp_path_factory.mktemp("seed"), n_subjects=2, n_sessions=2, seconds=6.0, seed=3)


def test_bench_ablation_command_prints_the_paired_table(tiny_seed, tmp_path, capsys):
    out = tmp_path / "abl"
    code = main(["bench", "ablation", "--root", str(tiny_seed), "--seeds", "0,1", "--models",
                 "de-ridge,de-logreg", "--reference", "de-ridge", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "| de-ridge |" in printed and "Δ = de-ridge − model" in printed
    rows = json.loads((out / "ablation_rows.json").read_text())
    assert {(r["dataset"], r["seed"]) for r in rows} == {(tiny_seed.name, 0), (tiny_seed.name, 1)}
    assert len(rows) == 2 * 2 * 4  # seeds x models x (subject, session) folds
    ridge = [r for r in rows if r["model"] == "de-ridge"]
    assert all(r["valence_jitter"] >= 0 and "valence_true_jitter" in r for r in ridge)
    # the benchmark row's own jitter (one implementation); SEED's targets hold still within a trial: no ratio
    assert all(r["valence_jitter_ratio"] is None and r["valence_true_jitter"] == 0 for r in ridge)
    logreg = [r for r in rows if r["model"] == "de-logreg"]
    assert all(0 <= r["label_flips"] <= 1 for r in logreg) and "label_flips" in printed
    table = json.loads((out / "ablation.json").read_text())
    assert [e["model"] for e in table][0] == "de-ridge"
    # classification-only models have no valence CCC to pair; de-ridge has no accuracy
    assert table[1]["valence_ccc_n"] == 0


def test_bench_ablation_bad_reference_is_one_line(tiny_seed, tmp_path, capsys):
    assert main(["bench", "ablation", "--root", str(tiny_seed), "--models", "de-ridge", "--reference", "x",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--reference 'x' must be one of --models" in err and "Traceback" not in err
