"""Skin-temperature stage: smoothing against scipy, level and slope against numpy, chunking, quality."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from eegaffect.kernels.filtering import design_lowpass
from eegaffect.kernels.physio_base import (QUALITY_CLIPPED, QUALITY_FLAT, REASON_FEW_SAMPLES, REASON_FLAGGED,
                                           REASON_SHORT_WINDOW, stage_class)
from eegaffect.kernels.temperature import TemperatureStage
from kernel_helpers import rel_err
from physio_stage_helpers import assert_same_output, check_stage_contract, run_stage_chunked

SFREQ = 4.0


def _ramp(rng, slope_per_min=0.5, duration_s=300.0):
    """Skin temperature warming at a known rate, read by a sensor with 0.02 degC steps and a little noise."""
    t = np.arange(int(duration_s * SFREQ)) / SFREQ
    x = 32.0 + slope_per_min * t / 60.0 + 0.01 * rng.standard_normal(t.size)
    return np.round(x / 0.02) * 0.02


def test_smoothing_matches_scipy_sosfilt(rng):
    x = _ramp(rng)
    out = TemperatureStage(SFREQ).process(x)
    sos = design_lowpass(0.1, SFREQ, order=2)
    ref = scipy.signal.sosfilt(sos, x, zi=scipy.signal.sosfilt_zi(sos) * x[0])[0]
    assert rel_err(out.continuous[:, 0], ref) < 1e-12
    assert len(out.events) == 0 and out.events.dtype.names == ("sample",)


@pytest.mark.parametrize("slope", [0.5, -0.2, 0.0])
def test_level_and_slope_of_a_known_ramp(rng, slope):
    x = _ramp(rng, slope)
    stage = TemperatureStage(SFREQ)
    out = stage.process(x)
    start, stop = int(60 * SFREQ), int(240 * SFREQ)
    feats = stage.window_features(out.events, out.continuous[start:stop], out.quality[start:stop], start, stop)
    assert feats.reasons == (None, None)
    smooth = out.continuous[start:stop, 0]
    t = np.arange(start, stop) / SFREQ
    assert feats.values[1] == pytest.approx(np.polyfit(t / 60.0, smooth, 1)[0], rel=1e-9, abs=1e-12)
    assert feats.values[0] == pytest.approx(smooth.mean())
    assert feats.values[1] == pytest.approx(slope, abs=0.01)      # degC/min of the sensor's true warming


def test_missing_samples_are_left_out_of_the_fit(rng):
    x = _ramp(rng)
    x[500:510] = np.nan
    stage = TemperatureStage(SFREQ)
    out = stage.process(x)
    start, stop = 400, 800
    feats = stage.window_features(out.events, out.continuous[start:stop], out.quality[start:stop], start, stop)
    smooth = out.continuous[start:stop, 0]
    good = np.isfinite(smooth)
    assert np.isnan(smooth[100:110]).all() and good.sum() == 390
    t = np.arange(start, stop)[good] / SFREQ / 60.0
    assert feats.values[1] == pytest.approx(np.polyfit(t, smooth[good], 1)[0], rel=1e-9)


def test_flagged_and_short_windows_give_nan_with_reasons(rng, caplog):
    caplog.set_level(logging.DEBUG, logger="eegaffect")
    stage = TemperatureStage(SFREQ)
    stuck = stage.process(np.full(int(300 * SFREQ), 33.1))
    assert (stuck.quality[int(120 * SFREQ):] == QUALITY_FLAT).all()
    n = len(stuck.quality)
    feats = stage.window_features(stuck.events, stuck.continuous[n - 240:], stuck.quality[n - 240:], n - 240, n)
    assert np.isnan(feats.values).all() and feats.reasons == (REASON_FLAGGED,) * 2
    kelvin = stage.process(_ramp(rng) + 273.15)               # the wrong unit: never a skin temperature
    assert (kelvin.quality == QUALITY_CLIPPED).all()
    feats = stage.window_features(kelvin.events, kelvin.continuous[:240], kelvin.quality[:240], 0, 240)
    assert np.isnan(feats.values).all() and feats.reasons[0] == REASON_FLAGGED
    assert "signal flagged (clipped) in 100%" in caplog.text  # the details go to the debug log
    ok = stage.process(_ramp(rng))
    short = stage.window_features(ok.events, ok.continuous[:20], ok.quality[:20], 0, 20)
    assert np.isnan(short.values).all() and short.reasons == (REASON_SHORT_WINDOW,) * 2
    assert "10 s needed for a slope" in caplog.text
    gappy = stage.process(np.concatenate([_ramp(rng, duration_s=9.5), np.full(2, np.nan)]))  # 10 s, 5% missing
    few = stage.window_features(gappy.events, gappy.continuous, gappy.quality, 0, 40)
    assert np.isnan(few.values).all() and few.reasons == (REASON_FEW_SAMPLES,) * 2


@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(0, 50), min_size=1, max_size=5).filter(any))
def test_chunk_invariant(sizes):
    x = _ramp(np.random.default_rng(5), duration_s=120)
    x[100:104] = np.nan
    whole = run_stage_chunked(TemperatureStage(SFREQ), x, [len(x)])
    assert_same_output(run_stage_chunked(TemperatureStage(SFREQ), x, sizes), whole)


def test_registry(rng):
    assert stage_class("temp") is TemperatureStage
    check_stage_contract(TemperatureStage(SFREQ), _ramp(rng))
    assert TemperatureStage(0.1).smooth_hz == pytest.approx(0.04)     # clipped to 0.4 * sfreq


def test_chunk_invariant_sample_by_sample(rng):
    x = _ramp(rng, duration_s=60)
    x[100:104] = np.nan
    assert_same_output(run_stage_chunked(TemperatureStage(SFREQ), x, [1]),
                       run_stage_chunked(TemperatureStage(SFREQ), x, [len(x)]))
