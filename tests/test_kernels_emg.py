"""EMG stage: high-pass against scipy, RMS envelope and level against numpy, chunking, quality."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from eegaffect.kernels.emg import EMGStage
from eegaffect.kernels.filtering import design_highpass
from eegaffect.kernels.physio_base import (QUALITY_CLIPPED, QUALITY_FLAT, QUALITY_NAN, REASON_FLAGGED,
                                           stage_class)
from kernel_helpers import rel_err
from physio_stage_helpers import assert_same_output, check_stage_contract, run_stage_chunked

SFREQ = 1000.0


def _emg(rng, duration_s=6.0):
    """Surface EMG: broadband bursts (contractions) on a noise floor, an electrode offset and a slow movement
    artefact."""
    n = int(duration_s * SFREQ)
    t = np.arange(n) / SFREQ
    activation = 0.05 + (np.sin(2 * np.pi * 0.5 * t) > 0.3)
    return 120.0 + 30.0 * np.sin(2 * np.pi * 0.8 * t) + activation * 20.0 * rng.standard_normal(n)


def _moving_rms(y, w):
    sq = np.concatenate([np.zeros(1), np.cumsum(y * y)])
    rms = np.full(len(y), np.nan)
    rms[w - 1:] = np.sqrt((sq[w:] - sq[:-w]) / w)
    return rms


def test_highpass_and_envelope_match_references(rng):
    x = _emg(rng)
    out = EMGStage(SFREQ).process(x)
    sos = design_highpass(20.0, SFREQ, order=4)
    ref = scipy.signal.sosfilt(sos, x, zi=scipy.signal.sosfilt_zi(sos) * x[0])[0]
    assert rel_err(out.continuous[:, 0], ref) < 1e-12
    env = _moving_rms(ref, 200)
    assert np.isnan(out.continuous[:199, 1]).all()
    assert rel_err(out.continuous[199:, 1], env[199:]) < 1e-9


def test_envelope_stays_exact_on_a_long_recording(rng):
    x = 1e3 + rng.standard_normal(300_000)                     # 5 min at 1 kHz, a large offset
    out = EMGStage(SFREQ, rms_window_s=0.05).process(x)
    sos = design_highpass(20.0, SFREQ, order=4)
    ref = scipy.signal.sosfilt(sos, x, zi=scipy.signal.sosfilt_zi(sos) * x[0])[0]
    assert rel_err(out.continuous[-1000:, 1], _moving_rms(ref, 50)[-1000:]) < 1e-9


def test_window_features_against_numpy(rng):
    x = _emg(rng)
    stage = EMGStage(SFREQ)
    out = stage.process(x)
    start, stop = 1000, 5000
    feats = stage.window_features(out.events, out.continuous[start:stop], out.quality[start:stop], start, stop)
    assert feats.reasons == (None, None)
    y = out.continuous[start:stop, 0]
    assert feats.values[0] == pytest.approx(np.sqrt(np.mean(y ** 2)), rel=1e-12)
    assert feats.values[1] == pytest.approx(np.mean(out.continuous[start:stop, 1]), rel=1e-12)
    # the RMS level follows the activation: bursts are ~20x the noise floor
    quiet = stage.window_features(out.events, out.continuous[1200:1800], out.quality[1200:1800], 1200, 1800)
    busy = stage.window_features(out.events, out.continuous[2200:2800], out.quality[2200:2800], 2200, 2800)
    assert busy.values[0] > 8 * quiet.values[0]


def test_nan_and_flat_and_clipping(rng):
    x = _emg(rng)
    x[3000:3010] = np.nan
    x[4000:4600] = 120.0                      # a detached electrode
    x[1500] = 5000.0                          # amplifier saturation
    stage = EMGStage(SFREQ, high=4000.0)
    out = stage.process(x)
    assert (out.quality[3000:3010] == QUALITY_NAN).all() and out.quality[1500] == QUALITY_CLIPPED
    assert (out.quality[4499:4600] == QUALITY_FLAT).all()
    env = out.continuous[:, 1]
    assert np.isnan(env[3000:3209]).all() and np.isfinite(env[3209:3300]).all()   # while the RMS window holds a gap
    feats = stage.window_features(out.events, out.continuous[4000:4600], out.quality[4000:4600], 4000, 4600)
    assert np.isnan(feats.values).all() and feats.reasons == (REASON_FLAGGED,) * 2


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(0, 700), min_size=1, max_size=5).filter(any))
def test_chunk_invariant(sizes):
    x = _emg(np.random.default_rng(9), duration_s=3.0)
    x[1000:1003] = np.nan
    whole = run_stage_chunked(EMGStage(SFREQ), x, [len(x)])
    assert_same_output(run_stage_chunked(EMGStage(SFREQ), x, sizes), whole)


def test_chunk_invariant_sample_by_sample(rng):
    x = _emg(rng, duration_s=1.0)
    x[500] = np.inf
    assert_same_output(run_stage_chunked(EMGStage(SFREQ), x, [1]), run_stage_chunked(EMGStage(SFREQ), x, [1000]))


def test_registry_and_low_rates(rng):
    assert stage_class("emg") is EMGStage
    check_stage_contract(EMGStage(SFREQ), _emg(rng))
    assert EMGStage(40.0).highpass_hz == pytest.approx(16.0)        # clipped to 0.4 * sfreq
    with pytest.raises(ValueError, match="rms_window_s must be a finite number > 0"):
        EMGStage(SFREQ, rms_window_s=0)
