"""Benchmark metrics against hand computations and scikit-learn / SciPy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from eegaffect.benchmark.metrics import (
    JITTER_METRICS,
    METRIC_NAMES,
    REGRESSION_METRICS,
    ccc,
    classification_metrics,
    jitter_metrics,
    pearson,
    regression_metrics,
    rmse,
    summarise,
    t_half_width,
)


def test_ccc_matches_hand_computation():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([2.0, 2.0, 4.0, 6.0])
    # means 2.5 and 3.5; population variances 1.25 and 2.75; covariance (−1.5·−1.5 + −.5·−1.5 + .5·.5 + 1.5·2.5)/4
    cov = (2.25 + 0.75 + 0.25 + 3.75) / 4
    expected = 2 * cov / (1.25 + 2.75 + (2.5 - 3.5) ** 2)
    assert ccc(t, p) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.7)


def test_ccc_properties(rng):
    t = rng.normal(size=200)
    t -= t.mean()  # with a zero mean, -t is perfectly discordant
    assert ccc(t, t) == pytest.approx(1.0)
    assert ccc(t, -t) == pytest.approx(-1.0)
    # a shifted or scaled copy is perfectly correlated but not concordant
    assert pearson(t, t + 3) == pytest.approx(1.0)
    assert ccc(t, t + 3) < 0.2
    assert ccc(t, 2 * t) < 1.0
    assert math.isnan(ccc(np.ones(5), np.ones(5)))


def test_pearson_and_rmse_match_scipy(rng):
    t, p = rng.normal(size=100), rng.normal(size=100)
    assert pearson(t, p) == pytest.approx(stats.pearsonr(t, p).statistic, rel=1e-10)
    assert rmse(t, p) == pytest.approx(np.sqrt(np.mean((t - p) ** 2)))
    assert math.isnan(pearson(t, np.zeros(100)))


def test_metric_input_errors():
    with pytest.raises(ValueError, match="equal length"):
        ccc([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        rmse([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        regression_metrics(np.zeros((3, 3)), np.zeros((3, 3)))


def test_classification_metrics_match_sklearn(rng):
    t = rng.integers(0, 3, 300)
    p = np.where(rng.random(300) < 0.6, t, rng.integers(0, 3, 300))
    m = classification_metrics(t, p, n_classes=3)
    assert m["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert m["macro_f1"] == pytest.approx(f1_score(t, p, average="macro"))
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(t, p))
    with pytest.raises(ValueError, match="0..1"):
        classification_metrics([0, 2], [0, 1], n_classes=2)


def test_regression_metrics_null_for_constant_target(rng):
    t = np.column_stack([rng.normal(size=50), np.full(50, 0.5)])
    p = t + rng.normal(scale=0.1, size=t.shape)
    m = regression_metrics(t, p)
    assert set(m) == set(REGRESSION_METRICS)
    assert m["valence_ccc"] > 0.9 and m["arousal_rmse"] == pytest.approx(rmse(t[:, 1], p[:, 1]))
    assert m["arousal_pearson"] is None  # constant target: undefined, not a number


def test_jitter_metrics_by_hand_within_two_trials():
    # trial 1 (3 steps) then trial 2 (2 steps); the pair across them (step 3 -> 4) must not count
    true = np.array([[0.0, 0.1], [1.0, 0.1], [2.0, 0.1],  # valence ramps, arousal one value per trial
                     [10.0, 0.9], [10.5, 0.9]])
    pred = np.array([[0.0, 0.0], [2.0, 0.3], [0.0, 0.0],
                     [5.0, 0.5], [6.0, 0.4]])
    m = jitter_metrics(true, pred, lengths=[3, 2])
    assert list(m) == list(JITTER_METRICS) and set(JITTER_METRICS) <= set(METRIC_NAMES)
    # valence: prediction |changes| 2, 2 | 1 -> 5/3; truth 1, 1 | 0.5 -> 2.5/3 (with the cross pair: 10/4, 10.5/4)
    assert m["valence_jitter"] == pytest.approx(5 / 3)
    assert m["valence_jitter_ratio"] == pytest.approx(2.0)
    # arousal: prediction 0.3, 0.3 | 0.1 -> 0.7/3; the truth does not move within a trial (it would across the
    # trials: 0.8), so the ratio is undefined
    assert m["arousal_jitter"] == pytest.approx(0.7 / 3)
    assert m["arousal_jitter_ratio"] is None
    # one trial of five steps would count the jump: the answer changes
    assert jitter_metrics(true, pred, lengths=[5])["valence_jitter"] == pytest.approx(10 / 4)


def test_jitter_metrics_none_cases():
    true = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 3.0]])
    pred = np.array([[0.0, 0.0], [0.5, 0.5], [0.0, 0.0]])
    gap = true.copy()
    gap[2, 1] = np.nan  # one step without an arousal target
    m = jitter_metrics(gap, pred, lengths=[3])
    # the prediction's own jitter needs no target; its ratio needs every target, as the other V/A metrics
    assert m["valence_jitter"] == pytest.approx(0.5) and m["arousal_jitter"] == pytest.approx(0.5)
    assert m["valence_jitter_ratio"] is None and m["arousal_jitter_ratio"] is None
    assert jitter_metrics(true, pred, lengths=[3])["arousal_jitter_ratio"] == pytest.approx(0.5 / 1.5)
    # no trial with two steps: nothing to measure
    assert all(v is None for v in jitter_metrics(true, pred, lengths=[1, 1, 1]).values())
    with pytest.raises(ValueError, match="two \\(n, 2\\) arrays"):
        jitter_metrics(true[:, :1], pred[:, :1], lengths=[3])
    with pytest.raises(ValueError, match="summing to 3"):
        jitter_metrics(true, pred, lengths=[2])


def test_summarise_averages_per_subject_first():
    rows = [
        {"model": "a", "subject": 1, "accuracy": 0.5},
        {"model": "a", "subject": 1, "accuracy": 0.7},  # subject 1 mean 0.6
        {"model": "a", "subject": 2, "accuracy": 1.0},
        {"model": "b", "subject": 1, "accuracy": None},
    ]
    s = summarise(rows, ["accuracy"])
    assert [e["model"] for e in s] == ["a", "b"]
    assert s[0]["accuracy_mean"] == pytest.approx(0.8)
    assert s[0]["accuracy_std"] == pytest.approx(0.2)
    assert s[0]["n_subjects"] == 2
    assert s[1]["accuracy_mean"] is None and s[1]["accuracy_std"] is None


def test_t_half_width_matches_scipy_interval():
    x = np.random.default_rng(3).normal(0.2, 0.5, 9)
    for confidence in (0.95, 0.8):
        lo, hi = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert t_half_width(x, confidence) == pytest.approx((hi - lo) / 2, rel=1e-12)
    assert math.isnan(t_half_width([0.3]))
    with pytest.raises(ValueError, match="confidence"):
        t_half_width(x, 1.0)
