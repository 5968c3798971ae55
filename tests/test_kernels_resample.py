"""Streaming rational resampler against scipy.signal.resample_poly.

Tolerances: float64 results equal resample_poly to 1e-12 relative to the signal scale (only the summation order
differs); float32 input is computed in float64 and rounded once, so it matches scipy on the float64 copy to
1e-6 relative.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.signal as ss
from eegaffect.kernels import resample as R
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import rel_err

needs_jit = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="inspects compiled kernels")

CASES = [(1000.0, 200.0, 1, 5), (500.0, 250.0, 1, 2), (256.0, 200.0, 25, 32)]


@pytest.mark.parametrize("sfreq_in, sfreq_out, up, down", CASES + [(200.0, 256.0, 32, 25), (250.0, 250.0, 1, 1),
                                                                  (128.0, 200.0, 25, 16), (2048.0, 512.0, 1, 4)])
def test_ratio_and_filter_match_resample_poly_design(sfreq_in, sfreq_out, up, down):
    assert R.rational_ratio(sfreq_in, sfreq_out) == (up, down)
    rs = R.StreamingResampler(sfreq_in, sfreq_out, 3)
    assert (rs.up, rs.down) == (up, down)
    h = R.design_resample_filter(up, down)
    if up == down == 1:
        assert rs.delay_samples == 0 and np.array_equal(h, [1.0])
        return
    half_len = 10 * max(up, down)
    np.testing.assert_array_equal(h, ss.firwin(2 * half_len + 1, 1.0 / max(up, down), window=("kaiser", 5.0)) * up)
    assert rs.n_taps == 2 * half_len + 1
    assert rs.delay_samples == -(-half_len // down)


@pytest.mark.parametrize("sfreq_in, sfreq_out, up, down", CASES + [(200.0, 256.0, 32, 25), (250.0, 250.0, 1, 1)])
@pytest.mark.parametrize("n_times", [1, 37, 2001])
def test_offline_equals_resample_poly_including_edges(sfreq_in, sfreq_out, up, down, n_times, rng):
    x = rng.standard_normal((n_times, 6)) * 30 + 4
    y = R.resample(x, sfreq_in, sfreq_out)
    ref = ss.resample_poly(x, up, down, axis=0)
    assert y.shape == ref.shape == (-(-n_times * up // down), 6) and y.dtype == np.float64
    assert rel_err(y, ref) <= 1e-12


@pytest.mark.parametrize("sfreq_in, sfreq_out, up, down", CASES)
def test_stream_is_resample_poly_delayed(sfreq_in, sfreq_out, up, down, rng):
    """Away from the right edge (which a causal stream has not seen yet) the stream equals scipy, delayed."""
    x = rng.standard_normal((3000, 62))
    rs = R.StreamingResampler(sfreq_in, sfreq_out, 62)
    y = rs.step(x)
    d = rs.delay_samples
    ref = ss.resample_poly(x, up, down, axis=0)
    assert y.shape[0] == ref.shape[0] == rs.n_samples_out
    assert rel_err(y[d:], ref[: ref.shape[0] - d]) <= 1e-12
    # the time of stream output k is (k - delay_samples) / sfreq_out: a sine comes out in phase after the delay
    t_in = np.arange(4000) / sfreq_in
    sine = np.ascontiguousarray(np.sin(2 * np.pi * 7.0 * t_in)[:, None])
    rs2 = R.StreamingResampler(sfreq_in, sfreq_out, 1)
    ys = rs2.step(sine)[:, 0]
    k = np.arange(ys.size)
    expected = np.sin(2 * np.pi * 7.0 * (k - d) / sfreq_out)
    middle = slice(2 * d + 50, ys.size - 50)
    np.testing.assert_allclose(ys[middle], expected[middle], atol=2e-3)


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 2**32 - 1),
       case=st.sampled_from(CASES),
       cuts=st.lists(st.integers(0, 400), min_size=0, max_size=12),
       n_chans=st.sampled_from([1, 5, 62]),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_any_chunking_equals_one_shot(seed, case, cuts, n_chans, dtype):
    sfreq_in, sfreq_out, up, down = case
    gen = np.random.default_rng(seed)
    x = gen.standard_normal((400, n_chans)).astype(dtype)
    whole = R.StreamingResampler(sfreq_in, sfreq_out, n_chans, dtype=dtype).step(x)
    rs = R.StreamingResampler(sfreq_in, sfreq_out, n_chans, dtype=dtype)
    pieces = []
    for chunk in np.split(x, sorted(cuts)):  # chunks of 0, 1, ... rows
        expected_rows = rs.n_out_for(chunk.shape[0])
        out = rs.step(np.ascontiguousarray(chunk))
        assert out.shape == (expected_rows, n_chans) and out.dtype == dtype
        pieces.append(out)
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert rs.n_samples_out == -(-400 * up // down) == whole.shape[0]
    d = rs.delay_samples
    ref = ss.resample_poly(x.astype(np.float64), up, down, axis=0)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert rel_err(whole[d:].astype(np.float64), ref[: ref.shape[0] - d]) <= tol


def test_float32_offline_keeps_dtype(rng):
    x = (rng.standard_normal((500, 4)) * 100).astype(np.float32)
    y = R.resample(x, 1000.0, 200.0)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, R.resample(x.astype(np.float64), 1000.0, 200.0).astype(np.float32))


def test_reset_and_empty(rng):
    x = rng.standard_normal((100, 3))
    rs = R.StreamingResampler(256.0, 200.0, 3)
    assert rs.step(np.empty((0, 3))).shape == (0, 3)
    first = rs.step(x)
    rs.reset()
    assert rs.n_samples_in == rs.n_samples_out == 0
    np.testing.assert_array_equal(rs.step(x), first)
    assert R.resample(np.empty((0, 3)), 500.0, 250.0).shape == (0, 3)
    assert "up=25, down=32" in repr(rs)


def test_bad_inputs_give_clear_errors(rng):
    rs = R.StreamingResampler(1000.0, 200.0, 4)
    with pytest.raises(TypeError, match=r"dtype float32 or float64, got int32"):
        rs.step(np.zeros((5, 4), np.int32))
    with pytest.raises(ValueError, match=r"with 4 channels.*got shape \(5, 3\)"):
        rs.step(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"C-contiguous"):
        rs.step(np.zeros((4, 5)).T)
    with pytest.raises(ValueError, match=r"shape \(n_times, n_chans\), got 1-D"):
        R.resample(np.zeros(10), 1000.0, 200.0)
    with pytest.raises(ValueError, match=r"sfreq_in must be a finite number > 0, got 0"):
        R.StreamingResampler(0, 200.0, 4)
    with pytest.raises(ValueError, match=r"ratio up/down of integers <= 1000, got 200 / 1000\.1"):
        R.StreamingResampler(1000.1, 200.0, 4)
    with pytest.raises(ValueError, match=r"up and down without a common factor, got up=2, down=4"):
        R.design_resample_filter(2, 4)
    with pytest.raises(ValueError, match=r"up to be an integer in \[1, 1000\], got 0"):
        R.design_resample_filter(0, 4)
    assert rs.n_samples_in == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nonfinite_rejected_with_location_and_state_unchanged(bad, rng):
    x = rng.standard_normal((300, 5))
    rs = R.StreamingResampler(256.0, 200.0, 5)
    clean = R.StreamingResampler(256.0, 200.0, 5)
    np.testing.assert_array_equal(rs.step(x[:100]), clean.step(x[:100]))
    chunk = x[100:200].copy()
    chunk[42, 4] = bad
    with pytest.raises(ValueError, match=rf"got {float(bad)!r} at sample 142 \(row 42 of this block\), channel 4; "
                                         r"the resampler state is unchanged"):
        rs.step(chunk)
    assert rs.n_samples_in == 100
    np.testing.assert_array_equal(rs.step(x[100:]), clean.step(x[100:]))
    with pytest.raises(ValueError, match=r"at sample 7 \(row 7"):
        R.resample(np.where(np.arange(20)[:, None] == 7, bad, 1.0) * np.ones((1, 2)), 500.0, 250.0)
    # check_finite=False lets it propagate, limited to the outputs whose taps cover the bad sample
    y = R.StreamingResampler(500.0, 250.0, 2).step(np.where(np.arange(200)[:, None] == 100, np.nan, 1.0)
                                                   * np.ones((1, 2)), check_finite=False)
    nan_rows = np.nonzero(np.isnan(y[:, 0]))[0]
    assert nan_rows.size > 0 and nan_rows.min() >= 50 and nan_rows.max() <= 50 + 21


@needs_jit
def test_warmup_compiles_all_dtype_combinations():
    R.warmup()
    sigs = {(str(s[4].dtype), str(s[5].dtype)) for s in R._resample_kernel.signatures}
    assert {("float32", "float32"), ("float32", "float64"), ("float64", "float32"),
            ("float64", "float64")} <= sigs
