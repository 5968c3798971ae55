"""Kalman filter and RTS smoother of feature sequences against plain NumPy references.

Two independent references: a scalar Kalman loop written out below, and the exact Gaussian posterior of the
whole LDS (the tridiagonal information matrix solved densely), which the RTS smoother must reproduce and whose
prefix solutions are the causal Kalman estimates.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from eegaffect.kernels.smoothing import KalmanSmoother, kalman_filter, rts_smooth, warmup
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import run_chunked


def _ref_kalman(y, q, r, a=1.0, m0=None, v0=None):
    """Scalar Kalman filter per feature, written as plainly as possible (NaN = missing)."""
    n, n_feat = y.shape
    means, variances = np.full((n, n_feat), np.nan), np.full((n, n_feat), np.inf)
    for f in range(n_feat):
        seen = m0 is not None
        m, v = (m0, v0) if seen else (np.nan, np.inf)
        for t in range(n):
            if t > 0 and seen:
                m, v = a * m, a * a * v + q
            if not np.isnan(y[t, f]):
                if seen:
                    gain = v / (v + r)
                    m, v = m + gain * (y[t, f] - m), (1 - gain) * v
                else:
                    m, v, seen = y[t, f], r, True
            if seen:
                means[t, f], variances[t, f] = m, v
    return means, variances


def _ref_posterior(y, q, r, a=1.0, m0=None, v0=None):
    """Exact posterior mean/variance of every latent state given all of ``y`` (dense information-form solve)."""
    n, n_feat = y.shape
    means, variances = np.empty((n, n_feat)), np.empty((n, n_feat))
    for f in range(n_feat):
        info, h = np.zeros((n, n)), np.zeros(n)
        for t in range(n):
            if not np.isnan(y[t, f]):
                info[t, t] += 1 / r
                h[t] += y[t, f] / r
        for t in range(1, n):
            info[t, t] += 1 / q
            info[t - 1, t - 1] += a * a / q
            info[t, t - 1] -= a / q
            info[t - 1, t] -= a / q
        if m0 is not None:
            info[0, 0] += 1 / v0
            h[0] += m0 / v0
        cov = np.linalg.inv(info)
        means[:, f], variances[:, f] = cov @ h, np.diag(cov)
    return means, variances


@pytest.fixture
def seq(rng):
    latent = np.cumsum(rng.standard_normal((60, 4)) * 0.3, axis=0)
    return latent + rng.standard_normal((60, 4))


@pytest.mark.parametrize(("q", "r", "a"), [(0.1, 1.0, 1.0), (1e-3, 0.5, 0.9), (2.0, 0.1, -1.1)])
@pytest.mark.parametrize("prior", [None, (0.5, 2.0)])
def test_kalman_equals_reference(seq, q, r, a, prior):
    m0, v0 = prior if prior else (None, None)
    mean, var = kalman_filter(seq, q, r, a, m0, v0, return_var=True)
    ref_mean, ref_var = _ref_kalman(seq, q, r, a, m0, v0)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, ref_var, rtol=1e-12)
    # the causal estimate at t is the exact posterior of z_t given y_0..y_t
    for t in (0, 1, 7, 30):
        post, post_var = _ref_posterior(seq[: t + 1], q, r, a, m0, v0)
        np.testing.assert_allclose(mean[t], post[-1], rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(var[t], post_var[-1], rtol=1e-8)


@pytest.mark.parametrize(("q", "r", "a"), [(0.1, 1.0, 1.0), (1e-3, 0.5, 0.9), (2.0, 0.1, -1.1)])
@pytest.mark.parametrize("prior", [None, (0.5, 2.0)])
def test_rts_equals_exact_posterior(seq, q, r, a, prior):
    m0, v0 = prior if prior else (None, None)
    mean, var = rts_smooth(seq, q, r, a, m0, v0, return_var=True)
    ref_mean, ref_var = _ref_posterior(seq, q, r, a, m0, v0)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(var, ref_var, rtol=1e-8)
    # the last step has no future: smoothed == filtered
    np.testing.assert_array_equal(mean[-1], kalman_filter(seq, q, r, a, m0, v0)[-1])


def test_missing_values_and_diffuse_start(seq):
    y = seq.copy()
    y[:5, 0] = np.nan  # feature 0 unobserved at the start
    y[20:26, 1] = np.nan  # a gap
    y[::3, 2] = np.nan  # every third missing
    causal = kalman_filter(y, 0.1, 1.0)
    ref_causal, _ = _ref_kalman(y, 0.1, 1.0)
    np.testing.assert_allclose(causal, ref_causal, rtol=1e-12, atol=1e-12)
    assert np.all(np.isnan(causal[:5, 0])) and not np.any(np.isnan(causal[5:]))
    smooth = rts_smooth(y, 0.1, 1.0)
    np.testing.assert_allclose(smooth, _ref_posterior(y, 0.1, 1.0)[0], rtol=1e-8, atol=1e-8)
    assert not np.any(np.isnan(smooth))


def test_never_observed_feature_stays_nan(seq):
    y = seq.copy()
    y[:, 3] = np.nan
    assert np.all(np.isnan(rts_smooth(y)[:, 3])) and np.all(np.isnan(kalman_filter(y)[:, 3]))
    assert not np.any(np.isnan(rts_smooth(y)[:, :3]))


def test_per_feature_parameters(seq):
    q = np.array([0.01, 0.1, 1.0, 10.0])
    ours = rts_smooth(seq, process_var=q, obs_var=0.5)
    for f in range(4):
        np.testing.assert_allclose(ours[:, f], rts_smooth(seq[:, f: f + 1], q[f], 0.5)[:, 0], rtol=1e-13)


def test_smoothing_reduces_noise(rng):
    latent = np.cumsum(rng.standard_normal((400, 8)) * 0.1, axis=0)
    noisy = latent + rng.standard_normal((400, 8))
    err = lambda est: np.mean((est - latent) ** 2)  # noqa: E731
    assert err(rts_smooth(noisy, 0.01, 1.0)) < err(kalman_filter(noisy, 0.01, 1.0)) < 0.5 * err(noisy)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 25), min_size=1, max_size=6).filter(any), diffuse=st.booleans())
def test_streaming_chunk_invariant(sizes, diffuse):
    y = np.random.default_rng(5).standard_normal((70, 3))
    y[10:14, 1] = np.nan
    y[0, 2] = np.nan
    kwargs = {"process_var": 0.05, "obs_var": 0.7}
    if not diffuse:
        kwargs.update(initial_mean=0.0, initial_var=3.0)
    one_shot = kalman_filter(y, **kwargs)
    ks = KalmanSmoother(3, **kwargs)
    np.testing.assert_array_equal(run_chunked(ks, y, sizes + [1, 0]), one_shot)
    np.testing.assert_array_equal(ks.mean, one_shot[-1])


def test_reset(seq):
    ks = KalmanSmoother(4, 0.1, 1.0)
    first = ks.step(seq)
    np.testing.assert_array_equal(ks.reset().step(seq), first)


def test_inf_rejected(seq):
    y = seq.copy()
    y[4, 1] = np.inf
    with pytest.raises(ValueError, match=r"finite \(inf is not accepted\).*sample 4, column 1"):
        rts_smooth(y)
    with pytest.raises(ValueError, match="inf"):
        KalmanSmoother(4).step(y)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"process_var": 0.0}, ValueError, "process_var must be > 0"),
    ({"obs_var": -1.0}, ValueError, "obs_var must be > 0"),
    ({"obs_var": [1.0, 2.0]}, ValueError, r"obs_var must be a number or an array of shape \(3,\)"),
    ({"transition": 0.0}, ValueError, "transition must be non-zero"),
    ({"initial_var": 1.0}, ValueError, "initial_var needs initial_mean"),
    ({"initial_mean": np.nan}, ValueError, "initial_mean must be finite"),
    ({"n_features": 0}, ValueError, "n_features"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        KalmanSmoother(**{"n_features": 3, **kwargs})


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"3 features.*got shape \(5, 2\)"):
        KalmanSmoother(3).step(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"seq must have shape \(n_steps, n_features\)"):
        rts_smooth(np.zeros(5))
    assert rts_smooth(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="inspects compiled kernels")
def test_warmup_compiles_the_signatures_every_call_path_uses(rng):
    from eegaffect.kernels import smoothing as S

    warmup()
    f64_2d, f64_1d = "array(float64, 2d, C)", "array(float64, 1d, C)"
    kalman = [tuple(str(t) for t in sig) for sig in S._kalman_kernel.signatures]
    rts = [tuple(str(t) for t in sig) for sig in S._rts_kernel.signatures]
    assert (f64_2d,) + (f64_1d,) * 5 + ("array(bool, 1d, C)", "bool") + (f64_2d,) * 4 in kalman
    assert (f64_1d,) * 2 + (f64_2d,) * 6 in rts
    # the public functions convert their input before the kernels: no dtype or layout compiles anything new
    n_kalman, n_rts = len(S._kalman_kernel.signatures), len(S._rts_kernel.signatures)
    for x in (rng.standard_normal((20, 3)).astype(np.float32), rng.standard_normal((3, 20)).T):
        KalmanSmoother(3).step(x)
        kalman_filter(x, return_var=True)
        rts_smooth(x)
    assert (len(S._kalman_kernel.signatures), len(S._rts_kernel.signatures)) == (n_kalman, n_rts)
