"""Filter bank, windowed band features (DE / band power) and SEED-style PSD-DE against NumPy/SciPy references."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.kernels.features import BandFeatures, FilterBank, PSDFeatures, band_features, psd_de, seed_hann, warmup
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import run_chunked
from scipy import signal

from eegaffect import kernels

BANDS = [(1.0, 4.0), (4.0, 8.0), (8.0, 14.0), (14.0, 31.0), (31.0, 50.0)]
SFREQ = 200.0


# ---------------------------------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------------------------------
def _ref_band_signals(x, bands, sfreq, order=4, init="zeros"):
    """scipy.signal.sosfilt per band, stacked as (n_times, n_chans, n_bands)."""
    out = []
    for low, high in bands:
        sos = signal.butter(order, [low, high], btype="bandpass", fs=sfreq, output="sos")
        if init == "steady":
            zi = signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :]
            y, _ = signal.sosfilt(sos, x, axis=0, zi=zi)
        else:
            y = signal.sosfilt(sos, x, axis=0)
        out.append(y)
    return np.stack(out, axis=-1)


def _ref_band_features(x, bands, sfreq, window, hop, kind="de", order=4, init="zeros"):
    """Filter the whole recording, then per window: 0.5 ln(2 pi e var) or mean square (plain NumPy)."""
    y = _ref_band_signals(x, bands, sfreq, order, init)
    n_win = 0 if len(x) < window else (len(x) - window) // hop + 1
    feats = np.empty((n_win, x.shape[1], len(bands)))
    for k in range(n_win):
        seg = y[k * hop: k * hop + window]
        if kind == "de":
            with np.errstate(divide="ignore"):  # a one-sample window has zero variance: -inf, like ours
                feats[k] = 0.5 * np.log(2 * np.pi * np.e * np.var(seg, axis=0))
        else:
            feats[k] = np.mean(seg**2, axis=0)
    return feats


def _ref_psd_de(x, bands, sfreq, window, hop, nfft):
    """scipy.signal.periodogram (density, one-sided) of each tapered window, mean over bins low <= f < high."""
    taper = signal.windows.hann(window + 2)[1:-1]  # MATLAB hanning(window): no zero end points
    n_win = 0 if len(x) < window else (len(x) - window) // hop + 1
    out = np.empty((n_win, x.shape[1], len(bands)))
    for k in range(n_win):
        freqs, pxx = signal.periodogram(x[k * hop: k * hop + window], fs=sfreq, window=taper, nfft=nfft,
                                        detrend=False, scaling="density", axis=0)
        for b, (low, high) in enumerate(bands):
            sel = (freqs >= low) & (freqs < high)
            out[k, :, b] = 0.5 * np.log(2 * np.pi * np.e * pxx[sel].mean(axis=0))
    return out


@pytest.fixture
def eeg(rng):
    """Four seconds of 7-channel 'EEG': 1/f-ish noise plus an alpha rhythm and a DC offset."""
    n = 800
    t = np.arange(n) / SFREQ
    x = np.cumsum(rng.standard_normal((n, 7)), axis=0) * 0.1 + rng.standard_normal((n, 7))
    x += 2.0 * np.sin(2 * np.pi * 10 * t)[:, None] + 5.0
    return np.ascontiguousarray(x)


# ---------------------------------------------------------------------------------------------------------------
# filter bank
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("init", ["zeros", "steady"])
@pytest.mark.parametrize("order", [2, 4, 5])
def test_filter_bank_equals_sosfilt(eeg, init, order):
    ours = FilterBank(BANDS, SFREQ, eeg.shape[1], order=order, init=init).step(eeg)
    ref = _ref_band_signals(eeg, BANDS, SFREQ, order, init)
    assert ours.shape == (len(eeg), eeg.shape[1], len(BANDS)) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10 * np.abs(eeg).max())


def test_filter_bank_float32_close_to_float64(eeg):
    ours = FilterBank(BANDS, SFREQ, eeg.shape[1], dtype=np.float32).step(eeg.astype(np.float32))
    ref = _ref_band_signals(eeg, BANDS, SFREQ)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-4 * np.abs(eeg).max())


def test_filter_bank_many_channels_and_reset(rng):
    # 67 channels: not a multiple of the SIMD padding
    x = rng.standard_normal((300, 67))
    fb = FilterBank(BANDS[:2], SFREQ, 67, init="steady")
    first = fb.step(x)
    np.testing.assert_allclose(first, _ref_band_signals(x, BANDS[:2], SFREQ, init="steady"), atol=1e-10)
    np.testing.assert_array_equal(fb.reset().step(x), first)


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(0, 90), min_size=1, max_size=8).filter(any),
       init=st.sampled_from(["zeros", "steady"]))
def test_filter_bank_chunk_invariant(sizes, init):
    x = np.random.default_rng(1).standard_normal((250, 5))
    one_shot = FilterBank(BANDS, SFREQ, 5, init=init).step(x)
    chunked = run_chunked(FilterBank(BANDS, SFREQ, 5, init=init), x, sizes + [1, 0])
    np.testing.assert_array_equal(chunked, one_shot)


# ---------------------------------------------------------------------------------------------------------------
# windowed band features
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["de", "band_power"])
@pytest.mark.parametrize(("window", "hop"), [(200, 200), (200, 50), (100, 150), (1, 1)])
def test_band_features_equal_numpy_reference(eeg, kind, window, hop):
    ours = band_features(eeg, BANDS, SFREQ, window, hop, kind=kind)
    ref = _ref_band_features(eeg, BANDS, SFREQ, window, hop, kind)
    assert ours.shape == ref.shape == ((len(eeg) - window) // hop + 1, eeg.shape[1], len(BANDS))
    assert ours.dtype == np.float64
    if window == 1:  # DE of a single sample is ln(0) = -inf
        assert kind == "band_power" or np.all(np.isneginf(ours))
    if kind == "de" and window > 1:
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    else:  # band power: relative, plus an absolute floor for one-sample windows at a zero crossing
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_de_session_setting_equals_reference_on_continuously_filtered_data(rng):
    # the bench's de-session setting (62 channels, five bands, order 5, 1-s windows) on 12 s of signal: values
    # equal the NumPy reference on the same continuously filtered data
    x = rng.standard_normal((2400, 62)) * 20.0
    ours = band_features(x, BANDS, SFREQ, 200, 200, kind="de", order=5)
    ref = _ref_band_features(x, BANDS, SFREQ, 200, 200, "de", order=5)
    assert ours.shape == (12, 62, 5)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


def test_de_uses_natural_log_and_matches_gaussian_entropy(rng):
    # white noise of variance s2 through an all-pass-ish wide band keeps DE close to 0.5 ln(2 pi e s2 * fraction)
    x = rng.standard_normal((4000, 2)) * 3.0
    de = band_features(x, [(1.0, 99.0)], SFREQ, 4000, 4000, order=6)[0, :, 0]
    y = _ref_band_signals(x, [(1.0, 99.0)], SFREQ, order=6)[..., 0]
    np.testing.assert_allclose(de, 0.5 * np.log(2 * np.pi * np.e * y.var(axis=0)), rtol=1e-12)
    # nats, not bits: the log2 (TorchEEG) value is larger by a factor 1 / ln 2
    bits = 0.5 * np.log2(2 * np.pi * np.e * y.var(axis=0))
    np.testing.assert_allclose(bits * np.log(2), de, rtol=1e-12)


def test_band_features_float32_filtering_is_close(eeg):
    ours = band_features(eeg.astype(np.float32), BANDS, SFREQ, 200, 100, dtype=np.float32)
    ref = _ref_band_features(eeg, BANDS, SFREQ, 200, 100)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_band_features_short_input_gives_zero_windows(eeg):
    bf = BandFeatures(BANDS, SFREQ, 7, window=200, hop=100)
    assert bf.n_windows(199) == 0 and bf.n_windows(200) == 1 and bf.n_windows(400) == 3
    out = bf.step(eeg[:199])
    assert out.shape == (0, 7, 5) and out.dtype == np.float64
    assert bf.n_windows(1) == 1
    assert bf.step(eeg[199:200]).shape == (1, 7, 5)
    assert band_features(eeg[:10], BANDS, SFREQ, 200, 100).shape == (0, 7, 5)


def test_band_features_constant_band_signal_is_minus_inf():
    out = band_features(np.zeros((40, 3)), BANDS[:1], SFREQ, 20, 20)
    assert out.shape == (2, 3, 1) and np.all(np.isneginf(out))
    assert np.all(np.isneginf(psd_de(np.zeros((400, 2)), BANDS, SFREQ, 200)))


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(0, 120), min_size=1, max_size=8).filter(any),
       kind=st.sampled_from(["de", "band_power"]),
       window_hop=st.sampled_from([(50, 50), (60, 25), (30, 70), (7, 1)]),
       init=st.sampled_from(["zeros", "steady"]))
def test_band_features_chunk_invariant(sizes, kind, window_hop, init):
    x = np.random.default_rng(2).standard_normal((400, 3)) + 1.0
    window, hop = window_hop
    one_shot = BandFeatures(BANDS, SFREQ, 3, window, hop, kind=kind, init=init).step(x)
    chunked = run_chunked(BandFeatures(BANDS, SFREQ, 3, window, hop, kind=kind, init=init), x, sizes + [1, 0])
    np.testing.assert_array_equal(chunked, one_shot)


def test_band_features_reset_restarts_stream(eeg):
    bf = BandFeatures(BANDS, SFREQ, 7, 200, 100, init="steady")
    first = bf.step(eeg[:350])
    bf.reset()
    np.testing.assert_array_equal(bf.step(eeg[:350]), first)


# ---------------------------------------------------------------------------------------------------------------
# PSD-based DE (SEED)
# ---------------------------------------------------------------------------------------------------------------
def test_seed_hann_is_matlab_hanning():
    np.testing.assert_allclose(seed_hann(200), signal.windows.hann(202)[1:-1], rtol=0, atol=1e-15)
    assert seed_hann(1)[0] == pytest.approx(1.0)


@pytest.mark.parametrize(("window", "hop", "nfft"), [(200, None, None), (200, 100, 256), (100, 130, 512)])
def test_psd_de_equals_periodogram_reference(eeg, window, hop, nfft):
    ours = psd_de(eeg, BANDS, SFREQ, window, hop=hop, nfft=nfft)
    ref = _ref_psd_de(eeg, BANDS, SFREQ, window, window if hop is None else hop, window if nfft is None else nfft)
    assert ours.shape == ref.shape and ours.shape[0] > 0
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


def test_psd_features_power_kind_and_sine_band(rng):
    # a 10 Hz sine puts its power in the alpha band
    t = np.arange(400) / SFREQ
    x = np.sin(2 * np.pi * 10 * t)[:, None] + 1e-3 * rng.standard_normal((400, 1))
    p = PSDFeatures(BANDS, SFREQ, 1, 200, kind="psd").step(x)
    assert p.shape == (2, 1, 5)
    assert np.all(np.argmax(p[:, 0, :], axis=1) == 2)


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(0, 150), min_size=1, max_size=8).filter(any),
       window_hop=st.sampled_from([(100, 100), (100, 40), (100, 170)]))
def test_psd_features_chunk_invariant(sizes, window_hop):
    x = np.random.default_rng(3).standard_normal((500, 2))
    window, hop = window_hop
    one_shot = PSDFeatures(BANDS, SFREQ, 2, window, hop).step(x)
    chunked = run_chunked(PSDFeatures(BANDS, SFREQ, 2, window, hop), x, sizes + [1, 0])
    assert chunked.shape == one_shot.shape
    np.testing.assert_allclose(chunked, one_shot, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# validation and NaN policy
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: FilterBank(BANDS, SFREQ, 4),
    lambda: BandFeatures(BANDS, SFREQ, 4, 50, 50),
    lambda: PSDFeatures(BANDS, SFREQ, 4, 100),
])
def test_nan_rejected_and_state_untouched(make, rng):
    x = rng.standard_normal((120, 4))
    clean = make()
    expected = np.concatenate([clean.step(x[:60]), clean.step(x[60:])])
    obj = make()
    first = obj.step(x[:60])
    bad = x[60:].copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"finite.*sample 5, column 2"):
        obj.step(bad)
    bad[5, 2] = np.inf
    with pytest.raises(ValueError, match="finite"):
        obj.step(bad)
    np.testing.assert_array_equal(np.concatenate([first, obj.step(x[60:])]), expected)


@pytest.mark.parametrize("make", [
    lambda: FilterBank(BANDS, SFREQ, 4),
    lambda: BandFeatures(BANDS, SFREQ, 4, 50, 50),
    lambda: PSDFeatures(BANDS, SFREQ, 4, 100),
])
def test_bad_chunks_rejected(make):
    obj = make()
    with pytest.raises(ValueError, match=r"4 channels.*got shape \(10, 3\)"):
        obj.step(np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"2-D \(n_times, channels\)"):
        obj.step(np.zeros(10))
    with pytest.raises(TypeError, match="float32 or float64, got int64"):
        obj.step(np.zeros((10, 4), dtype=np.int64))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"bands": [(4.0, 1.0)]}, ValueError, "low_hz < high_hz"),
    ({"bands": [(30.0, 100.0)]}, ValueError, "Nyquist"),
    ({"bands": []}, ValueError, "non-empty"),
    ({"bands": "alpha"}, TypeError, "pairs"),
    ({"sfreq": -1.0}, ValueError, "sfreq"),
    ({"n_chans": 0}, ValueError, "n_chans must be >= 1"),
    ({"window": 0}, ValueError, "window must be >= 1"),
    ({"hop": 2.5}, TypeError, "hop must be an integer"),
    ({"kind": "psd"}, ValueError, r"kind must be one of \['de', 'band_power'\]"),
    ({"init": "ones"}, ValueError, "init must be one of"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64"),
])
def test_band_features_bad_arguments(kwargs, error, match):
    args = {"bands": BANDS, "sfreq": SFREQ, "n_chans": 2, "window": 10, "hop": 10, **kwargs}
    with pytest.raises(error, match=match):
        BandFeatures(**args)


def test_psd_features_bad_arguments():
    with pytest.raises(ValueError, match="holds no FFT bin"):
        PSDFeatures([(1.2, 1.8)], SFREQ, 2, window=200)
    with pytest.raises(ValueError, match="nfft must be >= window"):
        PSDFeatures(BANDS, SFREQ, 2, window=200, nfft=100)
    with pytest.raises(ValueError, match="kind must be one of"):
        PSDFeatures(BANDS, SFREQ, 2, window=200, kind="band_power")


def test_warmup_registered_and_runs():
    warmup()
    assert "features" in kernels.WARMUP_MODULES


def test_de_session_bench_case_quick():
    # the quick run of the ``de-session`` cases of ``eegaffect bench kernels``: shape of the rows, orientation of
    # the ratios (durations: reference / ours) and agreement with the NumPy reference (no timing assertions)
    from eegaffect.perf.kernels import BenchKernelsConfig, de_session

    cases, info = de_session(BenchKernelsConfig(), quick=True)
    torcheeg, fair = cases
    assert torcheeg.name == "de-session-62x4000" and fair.name == "de-session-scipy-62x4000"
    for case in cases:
        assert case.unit == "s/session" and case.ours > 0 and case.reference > 0
        assert case.ratio == pytest.approx(case.reference / case.ours)
        assert info[case.name]["n_windows"] == 20 and info[case.name]["order"] == 5
        assert info[case.name]["max_abs_diff_vs_numpy_reference"] < 1e-10
    assert torcheeg.ours == fair.ours  # one timing of ours, two references
    assert "TorchEEG" in torcheeg.reference_name and "sosfilt" in fair.reference_name
    assert info[fair.name]["seconds_reference"] == fair.reference
