"""Exponential moving standardisation against braindecode, streaming with the initial block buffered."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from braindecode.preprocessing import exponential_moving_standardize as bd_ems
from eegaffect.kernels.standardize import ExponentialMovingStandardizer, exponential_moving_standardize, warmup
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture
def eeg(rng):
    x = rng.standard_normal((3000, 6)) * np.array([1.0, 5.0, 20.0, 1e-3, 50.0, 2.0]) + 40.0
    x[:, 5] += np.linspace(0, 30, 3000)  # drift
    return x


@pytest.mark.parametrize("factor_new", [1e-3, 0.05, 1.0])
@pytest.mark.parametrize("init_block_size", [None, 1, 500, 5000])
def test_equals_braindecode(eeg, factor_new, init_block_size):
    ref = bd_ems(eeg.T, factor_new=factor_new, init_block_size=init_block_size, eps=1e-4).T
    ours = exponential_moving_standardize(eeg, factor_new, init_block_size, eps=1e-4)
    assert ours.shape == eeg.shape and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_float32_input_and_eps_floor(eeg):
    x = eeg.astype(np.float32)
    x[:, 3] = 7.0  # constant channel: std 0, divided by eps instead
    ref = bd_ems(x.astype(np.float64).T, factor_new=0.01, init_block_size=100, eps=1e-2).T
    ours = exponential_moving_standardize(x, 0.01, 100, eps=1e-2)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    assert np.abs(ours[:, 3]).max() < 1e-9  # (x - mean) / eps with x == mean up to rounding


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 700), min_size=1, max_size=6).filter(any),
       init_block_size=st.sampled_from([None, 1, 37, 400]))
def test_streaming_equals_offline(sizes, init_block_size):
    x = np.random.default_rng(4).standard_normal((1500, 3)) * 4 + 2
    offline = exponential_moving_standardize(x, 0.02, init_block_size)
    ems = ExponentialMovingStandardizer(3, factor_new=0.02, init_block_size=init_block_size)
    outs, i, k = [], 0, 0
    sizes = sizes + [1, 0]
    while i < len(x):
        n = sizes[k % len(sizes)]
        out = ems.step(x[i: i + n])
        i += n
        k += 1
        outs.append(out)
        # nothing is held back once the initial block is complete
        emitted = sum(len(o) for o in outs)
        assert emitted + ems.n_pending == min(i, len(x))
        if init_block_size is None or min(i, len(x)) >= init_block_size:
            assert ems.n_pending == 0
    outs.append(ems.flush())
    np.testing.assert_array_equal(np.concatenate(outs), offline)


def test_init_block_is_buffered_then_released(eeg):
    ems = ExponentialMovingStandardizer(6, factor_new=0.01, init_block_size=100)
    assert ems.step(eeg[:60]).shape == (0, 6) and ems.n_pending == 60
    out = ems.step(eeg[60:130])
    assert out.shape == (130, 6) and ems.n_pending == 0
    assert ems.step(eeg[130:131]).shape == (1, 6)
    assert ems.flush().shape == (0, 6)


def test_flush_of_short_stream_matches_braindecode(eeg):
    ems = ExponentialMovingStandardizer(6, factor_new=0.01, init_block_size=1000)
    assert ems.step(eeg[:300]).shape == (0, 6)
    short = ems.flush()
    np.testing.assert_allclose(short, bd_ems(eeg[:300].T, 0.01, 1000).T, atol=1e-6)
    # later samples continue the same stream with the moving statistics
    np.testing.assert_allclose(ems.step(eeg[300:400]),
                               bd_ems(eeg[:400].T, 0.01, 300).T[300:], atol=1e-6)


def test_reset_restarts(eeg):
    ems = ExponentialMovingStandardizer(6, factor_new=0.01, init_block_size=50)
    first = ems.step(eeg[:500])
    ems.step(eeg[500:900])
    np.testing.assert_array_equal(ems.reset().step(eeg[:500]), first)


def test_nan_rejected_state_untouched(eeg):
    ems = ExponentialMovingStandardizer(6, factor_new=0.01)
    a = ems.step(eeg[:100])
    bad = eeg[100:200].copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match=r"finite.*sample 3, column 4"):
        ems.step(bad)
    b = ems.step(eeg[100:200])
    np.testing.assert_array_equal(np.concatenate([a, b]), exponential_moving_standardize(eeg[:200], 0.01))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"factor_new": 0.0}, ValueError, r"factor_new must be a number in \(0, 1\]"),
    ({"factor_new": 1.5}, ValueError, "factor_new"),
    ({"init_block_size": 0}, ValueError, "init_block_size must be >= 1"),
    ({"init_block_size": 2.0}, TypeError, "init_block_size must be an integer"),
    ({"eps": -1.0}, ValueError, "eps must be a finite number >= 0"),
    ({"n_chans": 0}, ValueError, "n_chans"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ExponentialMovingStandardizer(**{"n_chans": 2, **kwargs})


def test_bad_chunks():
    ems = ExponentialMovingStandardizer(2)
    with pytest.raises(ValueError, match=r"2 channels.*got shape \(5, 3\)"):
        ems.step(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="shape"):
        exponential_moving_standardize(np.zeros(5))


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="inspects compiled kernels")
def test_warmup_compiles_the_signature_every_call_path_uses(rng):
    from eegaffect.kernels import standardize as Z

    warmup()
    sigs = [tuple(str(t) for t in sig) for sig in Z._ems_kernel.signatures]
    f64_2d, f64_1d = "array(float64, 2d, C)", "array(float64, 1d, C)"
    assert (f64_2d, "float64", "float64", f64_1d, f64_1d, "float64", f64_2d) in sigs
    # the public functions convert their input before the kernel: no dtype or layout compiles anything new
    n = len(Z._ems_kernel.signatures)
    for x in (rng.standard_normal((20, 3)).astype(np.float32), rng.standard_normal((3, 20)).T):
        ExponentialMovingStandardizer(3, factor_new=0.1).step(x)
        exponential_moving_standardize(x, factor_new=0.1, init_block_size=5)
    assert len(Z._ems_kernel.signatures) == n
