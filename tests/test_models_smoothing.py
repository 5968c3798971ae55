"""The chain's output smoother (eegaffect.models.smoothing): the recursion against a scipy IIR reference, chunked
(live) calls equal one whole-sequence (offline) call, and the class-probability smoothing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from eegaffect.models.smoothing import OutputSmoother


def _holt_reference(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Holt's level as an LTI filter (z-transform of the recursion), started in the steady state of x[0]:
    L(z) / X(z) = a (1 - (1 - b) z^-1) / (1 - ((1 - b) + (1 - a)(1 + b)) z^-1 + (1 - a) z^-2)."""
    num = [a, -a * (1 - b)]
    den = [1.0, -((1 - b) + (1 - a) * (1 + b)), 1 - a]
    return x[0] + lfilter(num, den, x - x[0], axis=0)


def _signal(n=80, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    truth = 0.5 * np.stack([np.tanh((t - 20) / 10), np.sin(t / 15)], 1)
    return np.clip(truth + 0.2 * rng.standard_normal((n, 2)), -0.9, 0.9) * 0.8


def test_level_and_trend_follow_the_filter_reference():
    x = _signal()
    sm = OutputSmoother(smooth_s=2.5, trend_s=4.0, hop_s=1.0)
    a, b = 1 - np.exp(-1 / 2.5), 1 - np.exp(-1 / 4.0)
    assert (sm.alpha, sm.beta) == pytest.approx((a, b))
    y, _, _ = sm.apply(x)
    np.testing.assert_allclose(y, np.clip(_holt_reference(x, a, b), -1, 1), rtol=0, atol=1e-6)
    # without a trend term it is the plain exponential smoother y_t = y_{t-1} + a (x_t - y_{t-1}) from y_0 = x_0
    y0, _, _ = OutputSmoother(smooth_s=2.0, hop_s=0.5).apply(x)
    a2 = 1 - np.exp(-0.5 / 2.0)
    np.testing.assert_allclose(y0, x[0] + lfilter([a2], [1, -(1 - a2)], x - x[0], axis=0), rtol=0, atol=1e-6)
    # the trend term takes lag out of a ramp: closer to the input than the plain smoother of the same level
    ramp = np.stack([np.linspace(-0.5, 0.5, 40)] * 2, 1)
    lag_trend = np.abs(sm.apply(ramp)[0] - ramp)[10:].mean()
    lag_plain = np.abs(OutputSmoother(smooth_s=2.5).apply(ramp)[0] - ramp)[10:].mean()
    assert lag_trend < 0.5 * lag_plain
    # the output stays in [-1, 1] where the trend overshoots a step to the edge
    step = np.r_[np.full((5, 2), -1.0), np.full((20, 2), 1.0)]
    out = sm.apply(step)[0]
    assert out.max() == 1.0 and out.min() == -1.0


@pytest.mark.parametrize("cuts", [[1], [7, 8, 30], [0, 0, 50, 79]])
def test_chunked_calls_equal_one_call(cuts):
    rng = np.random.default_rng(3)
    x = _signal(seed=1)
    logits = rng.standard_normal((len(x), 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    sm = OutputSmoother(smooth_s=2.5, trend_s=4.0, labels=True)
    whole_va, whole_p, _ = sm.apply(x, probs)
    state, parts_va, parts_p = None, [], []
    for xs, ps in zip(np.split(x, cuts), np.split(probs, cuts)):
        va, p, state = sm.apply(xs, ps, state)
        parts_va.append(va)
        parts_p.append(p)
    np.testing.assert_allclose(np.concatenate(parts_va), whole_va, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(parts_p), whole_p, rtol=0, atol=1e-6)


def test_class_probabilities_are_exponentially_smoothed():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((60, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    x = _signal(60)
    a = 1 - np.exp(-1 / 2.5)
    _, p, _ = OutputSmoother(smooth_s=2.5, trend_s=4.0, labels=True).apply(x, probs)
    np.testing.assert_allclose(p, probs[0] + lfilter([a], [1, -(1 - a)], probs - probs[0], axis=0), atol=1e-6)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-6)
    # fewer label flips than the per-frame argmax
    assert (np.diff(p.argmax(1)) != 0).sum() < (np.diff(probs.argmax(1)) != 0).sum()
    # labels=False or smooth_s=0: probabilities pass unchanged
    np.testing.assert_allclose(OutputSmoother(2.5, 4.0, labels=False).apply(x, probs)[1], probs, atol=1e-7)
    va, p0, state = OutputSmoother(0.0, 4.0, labels=True).apply(x, probs)
    np.testing.assert_allclose(p0, probs, atol=1e-7)
    np.testing.assert_allclose(va, x, atol=1e-7)
    assert state is None


def test_smoother_validation():
    with pytest.raises(ValueError, match=r"expected smooth_s >= 0, trend_s >= 0 and hop_s > 0, got -1"):
        OutputSmoother(smooth_s=-1)
    with pytest.raises(ValueError, match="hop_s > 0"):
        OutputSmoother(smooth_s=1, hop_s=0)
    with pytest.raises(ValueError, match=r"expected va of shape \(n, d\).*got \(5,\)"):
        OutputSmoother(2.0).apply(np.zeros(5))
    with pytest.raises(ValueError, match=r"got \(5, 2\) and \(4, 3\)"):
        OutputSmoother(2.0, labels=True).apply(np.zeros((5, 2)), np.zeros((4, 3)))
