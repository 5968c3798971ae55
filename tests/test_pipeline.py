"""SignalPipeline: streaming == offline for every configuration, and equal to a SciPy/NumPy chain."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.kernels.features import psd_de
from eegaffect.kernels.filtering import SOSFilter
from eegaffect.kernels.resample import StreamingResampler
from eegaffect.kernels.smoothing import kalman_filter, rts_smooth
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from eegaffect.config import load_config
from eegaffect.pipeline import PipelineConfig, SignalPipeline

N_CHANS = 6


def _config(**features) -> PipelineConfig:
    return PipelineConfig(features=features) if features else PipelineConfig()


def _chunked(pipe: SignalPipeline, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    outs, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        outs.append(pipe.step(x[i: i + n]))
        i, k = i + n, k + 1
    return np.concatenate(outs)


def _ref_pipeline_de(x, config: PipelineConfig) -> np.ndarray:
    """SciPy chain: butter band-pass + iirnotch (steady init), then per band butter band-pass (steady init),
    then 0.5 ln(2 pi e var) per window."""
    f, sfreq = config.filters, config.sfreq
    sos = np.vstack([signal.butter(f.order, [f.highpass_hz, f.lowpass_hz], "bandpass", fs=sfreq, output="sos"),
                     signal.tf2sos(*signal.iirnotch(f.line_hz, f.notch_q, fs=sfreq))])
    y, _ = signal.sosfilt(sos, x, axis=0, zi=signal.sosfilt_zi(sos)[:, :, None] * x[0])
    window = int(round(config.features.window_s * sfreq))
    hop = int(round(config.features.hop_s * sfreq))
    n_win = (len(x) - window) // hop + 1
    out = np.empty((n_win, x.shape[1], len(config.features.bands)))
    for b, band in enumerate(config.features.bands):
        band_sos = signal.butter(config.features.filter_order, [band.low_hz, band.high_hz], "bandpass", fs=sfreq,
                                 output="sos")
        yb, _ = signal.sosfilt(band_sos, y, axis=0, zi=signal.sosfilt_zi(band_sos)[:, :, None] * y[0])
        for k in range(n_win):
            out[k, :, b] = 0.5 * np.log(2 * np.pi * np.e * yb[k * hop: k * hop + window].var(axis=0))
    return out


@pytest.fixture
def eeg(rng):
    n = 2000  # 10 s at 200 Hz
    t = np.arange(n) / 200.0
    x = rng.standard_normal((n, N_CHANS)) * 10 + 30.0 * np.sin(2 * np.pi * 50 * t)[:, None]  # line noise
    x += 15.0 * np.sin(2 * np.pi * 10 * t)[:, None] + 100.0  # alpha + DC offset
    return x


def test_default_pipeline_equals_scipy_chain(eeg):
    config = _config()
    pipe = SignalPipeline(config, N_CHANS)
    feats = pipe.process(eeg)
    assert feats.shape == (10, N_CHANS, 5) and feats.dtype == np.float64
    np.testing.assert_allclose(feats, _ref_pipeline_de(eeg, config), rtol=0, atol=1e-8)
    assert pipe.band_names == ["delta", "theta", "alpha", "beta", "gamma"]
    assert (pipe.window, pipe.hop, pipe.n_bands) == (200, 200, 5)
    assert pipe.resampler is None and pipe.prefilter_sos.shape == (5, 6)


def test_packaged_yaml_config_loads_and_runs(eeg):
    config = load_config(PipelineConfig, default="pipeline")
    assert config.features.smoothing_process_var == 0.01 and config.features.smoothing_obs_var == 1.0
    assert SignalPipeline(config, N_CHANS).process(eeg).shape == (10, N_CHANS, 5)


CONFIGS = {
    "de": {},
    "de-overlap": {"window_s": 1.0, "hop_s": 0.25},
    "band_power": {"kind": "band_power", "window_s": 0.5, "hop_s": 0.5},
    "psd_de": {"kind": "psd_de", "window_s": 1.0, "hop_s": 0.5},
    "kalman": {"smoothing": "kalman", "hop_s": 0.5},
    "kalman-ems": {"smoothing": "kalman", "hop_s": 0.25, "standardize": "ems", "standardize_factor_new": 0.2},
    "ems-init": {"hop_s": 0.25, "standardize": "ems", "standardize_factor_new": 0.1, "standardize_init_frames": 3},
}


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=6).filter(lambda s: sum(s) >= 20),
       name=st.sampled_from(sorted(CONFIGS)), sfreq_in=st.sampled_from([None, 1000.0]))
def test_streaming_equals_process(sizes, name, sfreq_in):
    rate = 200.0 if sfreq_in is None else sfreq_in
    x = np.random.default_rng(6).standard_normal((int(2.5 * rate), N_CHANS)) * 10 + 5
    config = _config(**CONFIGS[name])
    pipe = SignalPipeline(config, N_CHANS, sfreq_in=sfreq_in)
    offline = pipe.process(x)
    streamed = _chunked(pipe, x, sizes + [1, 0])
    assert streamed.shape == offline.shape and offline.shape[0] > 0
    np.testing.assert_allclose(streamed, offline, rtol=0, atol=1e-12)


def test_resampling_front_end_is_the_streaming_resampler(rng):
    x = rng.standard_normal((4000, N_CHANS)) * 10  # 4 s at 1 kHz
    config = _config()
    pipe = SignalPipeline(config, N_CHANS, sfreq_in=1000.0)
    assert isinstance(pipe.resampler, StreamingResampler)
    resampled = StreamingResampler(1000.0, 200.0, N_CHANS).step(x)
    np.testing.assert_allclose(pipe.process(x), _ref_pipeline_de(resampled, config), rtol=0, atol=1e-8)


def test_psd_de_kind_runs_on_prefiltered_signal(eeg):
    config = _config(kind="psd_de")
    pipe = SignalPipeline(config, N_CHANS)
    filtered = SOSFilter(pipe.prefilter_sos, N_CHANS, init="steady").step(eeg)
    bands = [(b.low_hz, b.high_hz) for b in config.features.bands]
    np.testing.assert_array_equal(pipe.process(eeg), psd_de(filtered, bands, 200.0, 200, 200))
    # the 10 Hz rhythm dominates: alpha is the largest band power density in every window
    assert np.all(np.argmax(pipe.process(eeg), axis=-1) == 2)


@pytest.mark.parametrize("smoothing", ["kalman", "rts"])
def test_smoothing_stage(eeg, smoothing):
    raw = SignalPipeline(_config(hop_s=0.5), N_CHANS).process(eeg)
    flat = raw.reshape(len(raw), -1)
    config = _config(hop_s=0.5, smoothing=smoothing, smoothing_process_var=0.05, smoothing_obs_var=0.5)
    smooth = SignalPipeline(config, N_CHANS).process(eeg)
    ref = (kalman_filter if smoothing == "kalman" else rts_smooth)(flat, 0.05, 0.5).reshape(raw.shape)
    np.testing.assert_array_equal(smooth, ref)


@pytest.mark.parametrize(("smoothing", "init_frames"), [("none", 0), ("kalman", 0), ("rts", 4)])
def test_standardize_stage_is_braindecode_ems_after_smoothing(eeg, smoothing, init_frames):
    from braindecode.preprocessing import exponential_moving_standardize as bd_ems

    smoothed = SignalPipeline(_config(hop_s=0.5, smoothing=smoothing), N_CHANS).process(eeg)
    config = _config(hop_s=0.5, smoothing=smoothing, standardize="ems", standardize_factor_new=0.1,
                     standardize_init_frames=init_frames)
    got = SignalPipeline(config, N_CHANS).process(eeg)
    flat = smoothed.reshape(len(smoothed), -1)
    ref = bd_ems(flat.T, factor_new=0.1, init_block_size=init_frames or None, eps=1e-4).T.reshape(smoothed.shape)
    assert got.shape == smoothed.shape == (19, N_CHANS, 5)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


def test_standardize_removes_a_session_gain(eeg):
    # an electrode gain g multiplies the signal, so it adds log(g) to every differential entropy feature
    raw = SignalPipeline(_config(), N_CHANS).process(eeg)
    np.testing.assert_allclose(SignalPipeline(_config(), N_CHANS).process(3.0 * eeg) - raw, np.log(3.0), atol=1e-9)
    config = _config(standardize="ems", standardize_factor_new=0.2)
    pipe = SignalPipeline(config, N_CHANS)
    ems, ems_gain = pipe.process(eeg), pipe.process(3.0 * eeg)
    np.testing.assert_allclose(ems_gain, ems, rtol=0, atol=1e-6)
    assert np.all(ems[0] == 0) and np.abs(ems[1:]).max() > 0.1  # the first frame has no spread yet
    assert "standardize='ems'" in repr(pipe)


def test_standardize_init_frames_are_held_back_then_emitted(eeg):
    config = _config(standardize="ems", standardize_init_frames=4)
    pipe = SignalPipeline(config, N_CHANS)
    assert pipe.step(eeg[:600]).shape == (0, N_CHANS, 5)  # 3 windows, block incomplete
    assert pipe.step(eeg[600:800]).shape == (4, N_CHANS, 5)  # the 4th window completes the block
    assert pipe.step(eeg[800:1000]).shape == (1, N_CHANS, 5)
    assert SignalPipeline(config, N_CHANS).process(eeg[:600]).shape == (0, N_CHANS, 5)


def test_standardize_config_is_checked():
    with pytest.raises(ValueError, match="standardize"):
        _config(standardize="zscore")
    with pytest.raises(ValueError, match="standardize_factor_new"):
        _config(standardize="ems", standardize_factor_new=0.0)
    with pytest.raises(ValueError, match="standardize_init_frames"):
        _config(standardize="ems", standardize_init_frames=-1)


def test_rts_is_offline_only(eeg):
    pipe = SignalPipeline(_config(smoothing="rts"), N_CHANS)
    with pytest.raises(RuntimeError, match="only works offline"):
        pipe.step(eeg[:100])


def test_process_leaves_stream_state_alone_and_reset_restarts(eeg):
    pipe = SignalPipeline(_config(hop_s=0.5), N_CHANS)
    first = pipe.step(eeg[:700])
    pipe.process(eeg)
    second = pipe.step(eeg[700:])
    np.testing.assert_array_equal(np.concatenate([first, second]), pipe.process(eeg))
    np.testing.assert_array_equal(pipe.reset().step(eeg[:700]), first)


def test_filters_off_and_high_pass_only(eeg):
    off = PipelineConfig(filters={"highpass_hz": None, "lowpass_hz": None, "line_hz": None})
    pipe = SignalPipeline(off, N_CHANS)
    assert pipe.prefilter_sos is None
    assert pipe.process(eeg).shape == (10, N_CHANS, 5)
    hp = PipelineConfig(filters={"lowpass_hz": None, "line_hz": None, "init": "zeros"})
    sos = SignalPipeline(hp, N_CHANS).prefilter_sos
    np.testing.assert_allclose(sos, signal.butter(4, 0.5, "highpass", fs=200.0, output="sos"))


def test_bad_input(eeg):
    pipe = SignalPipeline(_config(), N_CHANS)
    with pytest.raises(ValueError, match=rf"{N_CHANS} channels.*got shape \(10, 3\)"):
        pipe.step(np.zeros((10, 3)))
    bad = eeg[:50].copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="sample 7, column 1"):
        pipe.step(bad)
    with pytest.raises(TypeError, match="PipelineConfig"):
        SignalPipeline({"sfreq": 200.0}, N_CHANS)
    with pytest.raises(ValueError, match="n_chans"):
        SignalPipeline(_config(), 0)
    with pytest.raises(ValueError, match="sfreq_in"):
        SignalPipeline(_config(), N_CHANS, sfreq_in=-5.0)
    with pytest.raises(ValueError, match="at least one sample"):
        SignalPipeline(_config(hop_s=0.001), N_CHANS)
