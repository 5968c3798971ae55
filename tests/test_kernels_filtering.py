"""SOS filtering kernel and filter design, against scipy.signal.

Tolerances: float64 results must equal scipy.signal.sosfilt to 1e-10 relative to the signal scale (the kernel
uses scipy's operation order with fused multiply-adds, so in practice they differ by ~1e-13). float32 input is
computed in float64 and rounded once on output, so float32 results match scipy run on the float64 copy to
float32 rounding (1e-6 relative to the output scale).
"""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest
import scipy.signal as ss
from eegaffect.kernels import filtering as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import rel_err

SFREQ = 200.0
needs_jit = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="inspects compiled kernels")


def _bandpass_notch(sfreq=SFREQ):
    return F.cascade(F.design_bandpass(1.0, 50.0, sfreq, order=4), F.design_notch(50.0, sfreq, harmonics=2))


def _ref(sos, x, init="zeros"):
    if init == "zeros":
        return ss.sosfilt(sos, x, axis=0)
    zi = ss.sosfilt_zi(sos)[:, :, None] * x[0]
    return ss.sosfilt(sos, x, axis=0, zi=zi)[0]


# ------------------------------------------------------------------------------------------------- design
def test_design_helpers_equal_scipy_butter():
    np.testing.assert_array_equal(F.design_bandpass(4.0, 8.0, 250.0, order=5),
                                  ss.butter(5, [4.0, 8.0], "bandpass", fs=250.0, output="sos"))
    np.testing.assert_array_equal(F.design_highpass(0.5, 200.0, order=3),
                                  ss.butter(3, 0.5, "highpass", fs=200.0, output="sos"))
    np.testing.assert_array_equal(F.design_lowpass(75.0, 1000.0),
                                  ss.butter(4, 75.0, "lowpass", fs=1000.0, output="sos"))
    sos = F.design_bandpass(1.0, 50.0, 200.0)
    assert sos.shape == (4, 6) and sos.flags.c_contiguous and sos.dtype == np.float64


def test_design_notch_equals_iirnotch_and_skips_harmonics_above_nyquist():
    sos = F.design_notch(50.0, 250.0, harmonics=5, q=25.0)
    assert sos.shape == (2, 6)  # 50 and 100 Hz; 150, 200, 250 Hz are at or above Nyquist (125 Hz)
    for row, freq in zip(sos, (50.0, 100.0)):
        b, a = ss.iirnotch(freq, 25.0, fs=250.0)
        np.testing.assert_allclose(row, np.concatenate([b, a]) / a[0], rtol=0, atol=1e-15)


def test_notch_attenuates_line_frequency_and_passes_the_rest():
    sfreq = 1000.0
    sos = F.design_notch(60.0, sfreq, harmonics=3, q=30.0)
    freqs = np.array([60.0, 120.0, 180.0, 10.0, 90.0, 300.0])
    _, h = ss.freqz_sos(sos, worN=freqs, fs=sfreq)
    gain_db = 20 * np.log10(np.abs(h) + 1e-300)
    assert np.all(gain_db[:3] < -100), gain_db
    assert np.all(np.abs(gain_db[3:]) < 0.1), gain_db
    # and on a real signal through the streaming filter, after the transient has decayed
    t = np.arange(int(4 * sfreq)) / sfreq
    x = np.ascontiguousarray(np.stack([np.sin(2 * np.pi * 60 * t), np.sin(2 * np.pi * 10 * t)], axis=1))
    y = F.sosfilt(sos, x)
    tail = slice(int(3 * sfreq), None)
    assert np.std(y[tail, 0]) < 1e-3 * np.std(x[tail, 0])
    assert np.std(y[tail, 1]) == pytest.approx(np.std(x[tail, 1]), rel=0.01)


def test_cascade_concatenates_in_order():
    a = F.design_highpass(0.5, SFREQ)
    b = F.design_notch(50.0, SFREQ)
    sos = F.cascade(a, b)
    np.testing.assert_array_equal(sos, np.vstack([a, b]))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    np.testing.assert_allclose(F.sosfilt(sos, x), F.sosfilt(b, F.sosfilt(a, x)), rtol=0, atol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: F.design_bandpass(8.0, 4.0, SFREQ), r"low_hz < high_hz.*got low_hz=8.0 >= high_hz=4.0"),
    (lambda: F.design_bandpass(1.0, 100.0, SFREQ), r"high_hz below Nyquist \(100 Hz.*got 100 Hz"),
    (lambda: F.design_lowpass(10.0, -1.0), r"sfreq must be a finite number > 0, got -1.0"),
    (lambda: F.design_highpass(1.0, SFREQ, order=0), r"order must be >= 1, got 0"),
    (lambda: F.design_notch(120.0, SFREQ), r"line_hz below Nyquist"),
    (lambda: F.design_notch(50.0, SFREQ, harmonics=0), r"harmonics must be >= 1, got 0"),
    (lambda: F.design_notch(50.0, SFREQ, q=0), r"q must be a finite number > 0"),
    (lambda: F.cascade(), r"at least one sos array"),
    (lambda: F.cascade(np.zeros((2, 5))), r"sos_arrays\[0\] of shape \(n_sections, 6\).*got shape \(2, 5\)"),
    (lambda: F.cascade(np.ones((1, 6)) * 2), r"a0 of every section\) to be 1.*got \[2.0\] in sections \[0\]"),
    (lambda: F.SOSFilter(np.array([[1, 0, 0, 1, np.nan, 0.0]]), 2), r"sos to be finite.*sections \[0\]"),
])
def test_design_and_sos_errors_name_expected_and_got(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_design_rejects_a_non_integer_order():
    with pytest.raises(TypeError, match=r"order must be an integer, got float 2.5"):
        F.design_highpass(1.0, SFREQ, order=2.5)


# ------------------------------------------------------------------------------------------- filtering
@pytest.mark.parametrize("sos_factory", [
    _bandpass_notch,
    lambda: F.design_highpass(0.5, SFREQ, order=5),  # odd order: a first-order section
    lambda: F.design_lowpass(30.0, 1000.0, order=8),
    lambda: F.design_bandpass(1.0, 4.0, SFREQ, order=5),  # narrow, poles close to the unit circle
])
@pytest.mark.parametrize("n_chans", [1, 17, 62, 64])
def test_one_shot_equals_scipy_sosfilt(sos_factory, n_chans, rng):
    sos = sos_factory()
    x = rng.standard_normal((1500, n_chans)) * 40.0 + 300.0
    for init in ("zeros", "steady"):
        y = F.sosfilt(sos, x, init=init)
        assert y.dtype == np.float64 and y.shape == x.shape
        assert rel_err(y, _ref(sos, x, init)) <= 1e-10


def test_steady_init_equals_scipy_zi_scaled_by_first_sample(rng):
    sos = _bandpass_notch()
    x = rng.standard_normal((400, 5)) + np.array([100.0, -50.0, 0.0, 3.0, 1e4])
    filt = F.SOSFilter(sos, 5, init="steady")
    y = filt.step(x)
    ref, zf = ss.sosfilt(sos, x, axis=0, zi=ss.sosfilt_zi(sos)[:, :, None] * x[0])
    assert rel_err(y, ref) <= 1e-10
    np.testing.assert_allclose(filt.state, zf, rtol=0, atol=1e-10 * np.abs(x).max())
    # a DC input stays (nearly) at rest: the high-pass part removes it without a start-up transient
    dc = np.full((200, 2), 7.0)
    assert np.abs(F.sosfilt(sos, dc, init="steady")).max() < 1e-9
    assert np.abs(F.sosfilt(sos, dc, init="zeros")).max() > 0.1


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**32 - 1),
       cuts=st.lists(st.integers(0, 300), min_size=0, max_size=12),
       n_chans=st.sampled_from([1, 3, 16, 62]),
       init=st.sampled_from(["zeros", "steady"]),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_any_chunking_equals_one_shot_and_scipy(seed, cuts, n_chans, init, dtype):
    gen = np.random.default_rng(seed)
    sos = _bandpass_notch()
    x = (gen.standard_normal((300, n_chans)) * 20 + 5).astype(dtype)
    whole = F.SOSFilter(sos, n_chans, dtype=dtype, init=init).step(x)
    filt = F.SOSFilter(sos, n_chans, dtype=dtype, init=init)
    pieces = [filt.step(np.ascontiguousarray(c)) for c in np.split(x, sorted(cuts))]  # chunks of 0, 1, ... rows
    chunked = np.concatenate(pieces)
    np.testing.assert_array_equal(chunked, whole)
    assert filt.n_samples_seen == 300
    ref = _ref(sos, x.astype(np.float64), init)
    tol = 1e-10 if dtype == np.float64 else 1e-6
    assert rel_err(chunked.astype(np.float64), ref) <= tol


def test_float32_input_and_output_dtypes(rng):
    sos = _bandpass_notch()
    x64 = rng.standard_normal((500, 8)) * 50
    x32 = x64.astype(np.float32)
    ref = ss.sosfilt(sos, x32.astype(np.float64), axis=0)
    y32 = F.sosfilt(sos, x32)
    assert y32.dtype == np.float32
    # computed in float64, rounded once: equal to our float64 result rounded to float32, and to scipy's
    assert rel_err(y32.astype(np.float64), ref) <= 1e-6
    np.testing.assert_array_equal(y32, F.sosfilt(sos, x32.astype(np.float64)).astype(np.float32))
    # a float64 filter accepts float32 chunks, a float32 filter float64 chunks
    np.testing.assert_array_equal(F.SOSFilter(sos, 8).step(x32), F.sosfilt(sos, x32.astype(np.float64)))
    y = F.SOSFilter(sos, 8, dtype=np.float32).step(x64)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, F.sosfilt(sos, x64).astype(np.float32))


def test_state_roundtrip_reset_and_out(rng):
    sos = _bandpass_notch()
    x = rng.standard_normal((300, 4))
    filt = F.SOSFilter(sos, 4)
    first = filt.step(x[:100])
    saved = filt.state
    assert saved.shape == (sos.shape[0], 2, 4)
    rest = filt.step(x[100:])
    other = F.SOSFilter(sos, 4)
    other.state = saved
    np.testing.assert_array_equal(other.step(x[100:]), rest)
    filt.reset()
    assert filt.n_samples_seen == 0 and not filt.state.any()
    np.testing.assert_array_equal(filt.step(x[:100]), first)
    # out= (also in place on the input)
    buf = x[100:].copy()
    filt2 = F.SOSFilter(sos, 4)
    filt2.state = saved
    res = filt2.step(buf, out=buf)
    assert res is buf
    np.testing.assert_array_equal(buf, rest)
    with pytest.raises(ValueError, match=r"state of shape \(5, 2, 4\).*got \(5, 2, 3\)"):
        other.state = np.zeros((5, 2, 3))
    with pytest.raises(ValueError, match=r"out to be a writeable C-contiguous float64 array of shape \(3, 4\)"):
        filt.step(x[:3], out=np.empty((3, 4), np.float32))


def test_steady_reset_reinitialises_on_next_sample(rng):
    sos = _bandpass_notch()
    x = rng.standard_normal((50, 3)) + 10
    filt = F.SOSFilter(sos, 3, init="steady")
    filt.step(np.empty((0, 3)))  # an empty chunk does not initialise the state
    assert rel_err(filt.step(x), _ref(sos, x, "steady")) <= 1e-10
    filt.reset()
    y2 = filt.step(x[::-1].copy())
    assert rel_err(y2, _ref(sos, x[::-1].copy(), "steady")) <= 1e-10


# ------------------------------------------------------------------------------------------------ errors
def test_bad_inputs_give_clear_errors(rng):
    filt = F.SOSFilter(_bandpass_notch(), 4)
    with pytest.raises(TypeError, match=r"dtype float32 or float64, got int64"):
        filt.step(np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(TypeError, match=r"numpy ndarray.*got list"):
        filt.step([[0.0] * 4])
    with pytest.raises(ValueError, match=r"shape \(n_times, n_chans\), got 1-D shape \(4,\).*x\[:, None\]"):
        filt.step(np.zeros(4))
    with pytest.raises(ValueError, match=r"with 4 channels.*got shape \(3, 5\)"):
        filt.step(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"C-contiguous.*got strides"):
        filt.step(np.zeros((4, 3)).T)
    with pytest.raises(ValueError, match=r"C-contiguous"):
        F.sosfilt(_bandpass_notch(), np.zeros((10, 8))[:, ::2])
    with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got complex128"):
        F.SOSFilter(_bandpass_notch(), 4, dtype=complex)
    with pytest.raises(ValueError, match=r"init must be one of \['zeros', 'steady'\], got 'ones'"):
        F.SOSFilter(_bandpass_notch(), 4, init="ones")
    with pytest.raises(ValueError, match=r"n_chans must be >= 1, got 0"):
        F.SOSFilter(_bandpass_notch(), 0)
    assert filt.n_samples_seen == 0 and not filt.state.any()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("init", ["zeros", "steady"])
def test_nonfinite_rejected_with_location_and_state_unchanged(bad, init, rng):
    sos = _bandpass_notch()
    x = rng.standard_normal((60, 5))
    filt = F.SOSFilter(sos, 5, init=init)
    clean = F.SOSFilter(sos, 5, init=init)
    np.testing.assert_array_equal(filt.step(x[:20]), clean.step(x[:20]))
    chunk = x[20:40].copy()
    chunk[7, 3] = bad
    with pytest.raises(ValueError, match=rf"got {re.escape(repr(float(bad)))} at sample 27 \(row 7 of this block\), "
                                         r"channel 3; the filter state is unchanged"):
        filt.step(chunk)
    assert filt.n_samples_seen == 20
    np.testing.assert_array_equal(filt.state, clean.state)
    np.testing.assert_array_equal(filt.step(x[40:]), clean.step(x[40:]))
    # a steady filter whose very first sample is bad stays uninitialised
    first = F.SOSFilter(sos, 5, init="steady")
    with pytest.raises(ValueError, match=r"at sample 0 \(row 0 of this block\), channel 3"):
        first.step(x[20:40].copy() * np.where(np.arange(5) == 3, bad, 1.0))
    assert rel_err(first.step(x[:20]), _ref(sos, x[:20], "steady")) <= 1e-10


def test_check_finite_false_propagates_like_scipy(rng):
    sos = _bandpass_notch()
    x = rng.standard_normal((40, 3))
    x[10, 1] = np.nan
    y = F.sosfilt(sos, x, check_finite=False)
    ref = ss.sosfilt(sos, x, axis=0)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    assert np.isnan(y[10:, 1]).all() and not np.isnan(y[:, [0, 2]]).any()


# ---------------------------------------------------------------------------------------- compilation
@needs_jit
def test_warmup_compiles_all_dtype_combinations():
    F.warmup()
    sigs = {(str(s[4].dtype), str(s[5].dtype)) for s in F._sos_kernel.signatures}
    assert {("float32", "float32"), ("float32", "float64"), ("float64", "float32"),
            ("float64", "float64")} <= sigs


@needs_jit
def test_shipped_kernel_vectorises_across_channels():
    """The channel loop of the kernel as shipped (same body and flags, compiled without the disk cache so it can
    be inspected) must use SIMD vectors of float64, at the CPU's full width."""
    import llvmlite.binding as llvm
    import numba

    fresh = numba.jit(**{**F._sos_kernel.targetoptions, "cache": False})(F._sos_kernel.py_func)
    f8 = numba.float64
    sig = (f8[:, ::1], f8[:, :, :, ::1], f8[::1], f8[::1], f8[:, ::1], f8[:, ::1], numba.boolean)
    fresh.compile(sig)
    ir_text = fresh.inspect_llvm(sig)
    # only the biquad update subtracts (b1*x - a1*y, b2*x - a2*y): vector fsub means that loop is SIMD
    widths = [int(n) for n in re.findall(r"fsub(?: [a-z]+)* <(\d+) x double>", ir_text)]
    assert len(widths) >= 2 and min(widths) >= 2, "the biquad channel loop is not vectorised"
    # ... with contiguous vector loads/stores, not gathers/scatters (what a lost contiguity proof looks like)
    assert not re.findall(r"llvm\.masked\.(?:gather|scatter)", ir_text)
    # ... and 8 doubles per instruction where the CPU has AVX-512 (LLVM's default tuning would stop at 4)
    if "+avx512f" in llvm.get_host_cpu_features().flatten():
        assert max(widths) == 8, f"expected 512-bit vectors on an AVX-512 CPU, got widths {sorted(set(widths))}"


def test_filter_step_rejects_misaligned_input():
    sos = _bandpass_notch()
    raw = np.zeros(8 * 3 * 2 + 1, np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=np.float64, count=6, offset=1).reshape(2, 3)
    assert not misaligned.flags.aligned
    with pytest.raises(ValueError, match=r"expected x aligned to its 8-byte items, got a misaligned view"):
        F.SOSFilter(sos, 3).step(misaligned)


def test_nonfinite_state_from_unchecked_input_is_reported_and_reset_recovers(rng):
    sos = _bandpass_notch()
    x = rng.standard_normal((30, 2))
    filt = F.SOSFilter(sos, 2)
    poisoned = x[:10].copy()
    poisoned[4, 0] = np.nan
    filt.step(poisoned, check_finite=False)
    before = filt.state
    assert np.isnan(before[:, :, 0]).all() and np.isfinite(before[:, :, 1]).all()
    with pytest.raises(ValueError, match=r"expected a finite filter state, got nan/inf after filtering finite "
                                         r"input.*call reset\(\)"):
        filt.step(x[10:])
    np.testing.assert_array_equal(np.isnan(filt.state), np.isnan(before))
    filt.reset()
    assert rel_err(filt.step(x), _ref(sos, x)) <= 1e-10
