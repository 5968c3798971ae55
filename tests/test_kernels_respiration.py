"""Respiration stage: band-pass against scipy, breaths and rate against known rates and NeuroKit2, chunking, quality."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal
from eegaffect.kernels.filtering import design_bandpass
from eegaffect.kernels.physio_base import (
    QUALITY_FLAT,
    QUALITY_NAN,
    REASON_FEW_BREATHS,
    REASON_FLAGGED,
    REASON_SHORT_WINDOW,
    stage_class,
)
from eegaffect.kernels.respiration import RespirationStage
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_helpers import rel_err
from physio_stage_helpers import assert_same_output, check_stage_contract, run_stage_chunked

SFREQ = 25.0


def _breathing(rng, rate_bpm, duration_s=120.0, sfreq=SFREQ, noise=0.05):
    """A belt-like breathing signal at a known rate: a fast inhalation and a slower exhalation per cycle (peak at
    40 % of the cycle), depth varying by +-30 %, an offset with a slow drift, and white noise.

    Returns the signal and the true peak samples.
    """
    t = np.arange(int(duration_s * sfreq)) / sfreq
    period = 60.0 / rate_bpm
    phase = (t / period) % 1.0
    cycle = np.where(phase < 0.4, 0.5 - 0.5 * np.cos(np.pi * phase / 0.4),
                     0.5 + 0.5 * np.cos(np.pi * (phase - 0.4) / 0.6))
    depth = 1.0 + 0.3 * np.sin(2 * np.pi * t / 37.0)
    x = 500.0 + 0.5 * t / 60.0 + depth * cycle + noise * rng.standard_normal(t.size)
    peaks = np.round((np.arange(duration_s / period) + 0.4) * period * sfreq).astype(int)
    return x, peaks[peaks < t.size]


def test_bandpass_matches_scipy_sosfilt(rng):
    x, _ = _breathing(rng, 15)
    out = RespirationStage(SFREQ).process(x)
    sos = design_bandpass(0.1, 0.7, SFREQ, order=2)
    ref = scipy.signal.sosfilt(sos, x, zi=scipy.signal.sosfilt_zi(sos) * x[0])[0]
    assert rel_err(out.continuous[:, 0], ref) < 1e-12


@pytest.mark.parametrize("rate", [6.0, 10.0, 15.0, 24.0, 36.0])
def test_known_rate_and_breaths(rng, rate):
    x, peaks = _breathing(rng, rate)
    stage = RespirationStage(SFREQ)
    out = stage.process(x)
    ev = out.events
    # each breath after the settling (20 s) is found once, shifted by the band-pass's phase at the breathing rate
    # (a lead near the lower band edge, a lag near the upper one), and nothing else is found
    w, h = scipy.signal.sosfreqz(design_bandpass(0.1, 0.7, SFREQ, order=2), worN=[rate / 60], fs=SFREQ)
    expected_lag = -np.angle(h[0]) / (2 * np.pi * rate / 60)
    # (the asymmetric cycle's harmonics add up to 0.3 s to the fundamental's phase shift)
    truth = peaks[peaks > 20 * SFREQ] + int(round(expected_lag * SFREQ))
    half = 0.5 * SFREQ * 60 / rate
    got = ev["sample"][(ev["sample"] > truth[0] - half) & (ev["sample"] < truth[-1] + half)]
    assert len(got) == len(truth)
    # (within 0.5 s, or 15 % of the period at the band's lower edge, where noise moves the flat-topped peaks most)
    assert np.all(np.abs(got - truth) / SFREQ < max(0.5, 0.15 * 60 / rate)), ((got - truth) / SFREQ, expected_lag)
    start, stop = int(30 * SFREQ), len(x)
    inside = (ev["sample"] >= start) & (ev["sample"] < stop)
    feats = stage.window_features(ev[inside], out.continuous[start:stop], out.quality[start:stop], start, stop)
    assert feats.reasons == (None, None, None)
    assert feats.values[0] == pytest.approx(rate, rel=0.02)
    assert feats.values[2] < 0.1 * 60 / rate                # intervals are regular
    # the instantaneous rate, once two breaths are in, is the known rate up to the jitter of single intervals
    np.testing.assert_allclose(out.continuous[int(40 * SFREQ):, 1], rate, rtol=0.15)


@pytest.mark.parametrize("rate", [10, 15, 20])
def test_rate_agrees_with_neurokit2(rate):
    import neurokit2 as nk
    sfreq = 50
    x = nk.rsp_simulate(duration=120, sampling_rate=sfreq, respiratory_rate=rate, noise=0.05, random_state=rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signals, info = nk.rsp_process(x, sampling_rate=sfreq)
    stage = RespirationStage(float(sfreq))
    out = stage.process(x)
    start, stop = 20 * sfreq, len(x)
    ev = out.events[(out.events["sample"] >= start) & (out.events["sample"] < stop)]
    ours = stage.window_features(ev, out.continuous[start:stop], out.quality[start:stop], start, stop).values[0]
    ref_peaks = np.asarray(info["RSP_Peaks"])
    ref_peaks = ref_peaks[ref_peaks >= start]
    ref = 60.0 * (len(ref_peaks) - 1) / ((ref_peaks[-1] - ref_peaks[0]) / sfreq)
    assert ours == pytest.approx(ref, rel=0.03)
    assert ours == pytest.approx(np.nanmean(signals["RSP_Rate"].to_numpy()[start:]), rel=0.05)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 60), min_size=1, max_size=6).filter(any))
def test_chunk_invariant(sizes):
    rng = np.random.default_rng(3)
    x, _ = _breathing(rng, 14, duration_s=90)
    x[700:720] = np.nan
    x[1400:1500] = 501.0                     # flat: a loose belt
    whole = run_stage_chunked(RespirationStage(SFREQ), x, [len(x)])
    assert len(whole[1]) >= 10
    assert_same_output(run_stage_chunked(RespirationStage(SFREQ), x, sizes), whole)


def test_breaths_are_decided_within_the_decision_delay(rng):
    x, _ = _breathing(rng, 8)
    stage = RespirationStage(SFREQ)
    _, ev, _, decided_at = run_stage_chunked(stage, x, [1])
    lag = decided_at - 1 - ev["sample"]
    assert len(ev) > 10 and lag.min() > 0 and lag.max() <= stage.decision_delay
    assert stage.decision_delay_s == 2.0


def test_gap_restarts_the_breath_sequence(rng):
    x, _ = _breathing(rng, 12)
    gap = slice(int(50 * SFREQ), int(58 * SFREQ))
    x[gap] = np.nan
    out = RespirationStage(SFREQ).process(x)
    ev = out.events
    assert (out.quality[gap] == QUALITY_NAN).all() and np.isnan(out.continuous[gap]).all()
    after = ev[ev["trough_sample"] >= gap.stop]
    assert np.isnan(after["interval"][0]) and np.isfinite(after["interval"][1:]).all()
    assert not np.any((ev["trough_sample"] < gap.stop) & (ev["sample"] >= gap.start))
    assert np.isnan(out.continuous[gap.stop: after["sample"][1], 1]).all()     # no rate until two breaths again


def test_window_features_nan_reasons(rng):
    x, _ = _breathing(rng, 12)
    stage = RespirationStage(SFREQ)
    out = stage.process(x)
    ev = out.events
    short = stage.window_features(ev[:0], out.continuous[:250], out.quality[:250], 0, 250)
    assert np.isnan(short.values).all() and short.reasons == (REASON_SHORT_WINDOW,) * 3
    start, stop = 1000, 1600
    one = ev[(ev["sample"] >= start) & (ev["sample"] < stop)][:1]
    feats = stage.window_features(one, out.continuous[start:stop], out.quality[start:stop], start, stop)
    assert np.isnan(feats.values).all() and feats.reasons == (REASON_FEW_BREATHS,) * 3
    two = ev[(ev["sample"] >= start) & (ev["sample"] < stop)][:2]
    feats = stage.window_features(two, out.continuous[start:stop], out.quality[start:stop], start, stop)
    assert np.isfinite(feats.values[:2]).all() and feats.reasons == (None, None, REASON_FEW_BREATHS)
    assert feats.values[1] == pytest.approx(two["depth"].mean())
    assert feats.values[0] == pytest.approx(60 * SFREQ / (two["sample"][1] - two["sample"][0]))


def test_flat_belt_gives_nan_features_and_no_breaths():
    x = np.full(int(60 * SFREQ), 512.0)
    stage = RespirationStage(SFREQ)
    out = stage.process(x)
    assert len(out.events) == 0 and (out.quality[int(5 * SFREQ):] == QUALITY_FLAT).all()
    n = len(x)
    feats = stage.window_features(out.events, out.continuous[n - 750:], out.quality[n - 750:], n - 750, n)
    assert np.isnan(feats.values).all() and feats.reasons == (REASON_FLAGGED,) * 3


def test_registry_and_bad_arguments(rng):
    assert stage_class("resp") is RespirationStage
    check_stage_contract(RespirationStage(SFREQ), _breathing(rng, 12)[0])
    assert RespirationStage(1.0).band == (0.1, 0.4)                   # upper edge clipped to 0.4 * sfreq
    with pytest.raises(ValueError, match=r"expected band\[0\] < band\[1\]"):
        RespirationStage(0.5, band=(0.3, 0.7))
    with pytest.raises(TypeError, match="band must be a"):
        RespirationStage(SFREQ, band=0.3)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(0, 40), min_size=1, max_size=5).filter(any))
def test_chunk_invariant_on_random_signals(seed, sizes):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2000))
    t = np.arange(n) / SFREQ
    x = np.sin(2 * np.pi * rng.uniform(0.1, 0.6) * t) * rng.uniform(0.1, 10) + rng.standard_normal(n) * rng.random()
    x[rng.random(n) < 0.01] = np.nan
    if n > 600:
        x[300:300 + int(rng.integers(0, 300))] = 0.0
    stage = RespirationStage(SFREQ)
    assert_same_output(run_stage_chunked(stage, x, sizes), run_stage_chunked(stage, x, [n]))


def test_chunk_invariant_sample_by_sample(rng):
    x, _ = _breathing(rng, 14, duration_s=60)
    x[700:720] = np.nan
    whole = run_stage_chunked(RespirationStage(SFREQ), x, [len(x)])
    assert len(whole[1]) >= 8
    assert_same_output(run_stage_chunked(RespirationStage(SFREQ), x, [1]), whole)


def test_rate_change_and_depth_change_are_followed(rng):
    t = np.arange(int(120 * SFREQ)) / SFREQ
    freq = np.where(t < 60, 12 / 60, 20 / 60)
    x = np.sin(np.cumsum(2 * np.pi * freq / SFREQ)) + 0.05 * rng.standard_normal(t.size)
    rate = RespirationStage(SFREQ).process(x).continuous[:, 1]
    np.testing.assert_allclose(rate[int(20 * SFREQ): int(60 * SFREQ)], 12, rtol=0.08)
    np.testing.assert_allclose(rate[int(66 * SFREQ):], 20, rtol=0.08)      # within two breaths of the change
    # breathing 5x shallower from 60 s: breaths go unseen until the running RMS (10 s) has adapted: two here
    y, peaks = _breathing(rng, 12, noise=0.02)
    y[int(60 * SFREQ):] = 500 + (y[int(60 * SFREQ):] - 500) * 0.2
    ev = RespirationStage(SFREQ).process(y).events["sample"] / SFREQ
    assert np.max(np.diff(ev)) < 3.5 * 5.0 and len(ev[ev > 75]) == len(peaks[peaks > 75 * SFREQ])
