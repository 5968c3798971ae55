"""PhysioPipeline: the EEG frame clock, chunk invariance, NaN reasons, any stage honouring the contract."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eegaffect.config import ConfigError
from eegaffect.kernels import physio_base
from eegaffect.kernels.physio_base import NAN_REASONS, PhysioStage, StageOutput, WindowFeatures
from eegaffect.physio import PhysioConfig, PhysioPipeline, StageUnavailableError
from eegaffect.physio.config import KINDS, FrameConfig, StageConfig
from eegaffect.pipeline import FeatureConfig, PipelineConfig, SignalPipeline
from physio_helpers import ecg_template, kind_signal, place, regular_beats


class CountingStage(PhysioStage):
    """A tiny stage: continuous = the input; an event at every multiple of 50 samples, decided 10 samples later;
    features = mean of the window's samples and its number of events (NaN below 20 samples)."""

    kind = "resp"
    continuous_names = ("x",)
    event_dtype = np.dtype([("sample", np.int64), ("value", np.float64)])
    event_type = "tick"
    feature_names: ClassVar[tuple[str, ...]] = ("mean", "n_events")

    def __init__(self, sfreq, period=50):
        super().__init__(sfreq)
        self.period = period
        self.reset()

    @property
    def decision_delay(self) -> int:
        return 10

    def reset(self):
        self._n = 0
        return self

    def _step(self, x):
        n0, n1 = self._n, self._n + len(x)
        self._n = n1
        decided = np.arange(0, max(0, n1 - 10), self.period)
        decided = decided[decided + 10 >= n0]
        ev = np.zeros(len(decided), self.event_dtype)
        ev["sample"] = decided
        return StageOutput(x[:, None].copy(), ev, np.zeros(len(x), np.uint8))

    def window_features(self, events, continuous, quality, start, stop):
        if stop - start < 20:
            return WindowFeatures(np.array([np.nan, np.nan]), ("too short", "too short"))
        return WindowFeatures(np.array([continuous[:, 0].mean(), float(len(events))]), (None, None))


def _config(window_s=2.0, hop_s=0.5, lookback_s=None):
    return PhysioConfig(frames=FrameConfig(window_s=window_s, hop_s=hop_s),
                        resp=StageConfig(lookback_s=lookback_s), ecg=StageConfig(lookback_s=20.0))


def test_frames_of_a_custom_stage_are_its_windows():
    sfreq = 100.0
    x = np.arange(1234, dtype=np.float64)
    pipe = PhysioPipeline(_config(lookback_s=3.0), "resp", sfreq, stage_cls=CountingStage)
    res = pipe.run(x)
    n_frames = len(res.frames)
    assert n_frames == int((len(x) / sfreq - 2.0) // 0.5) + 1
    np.testing.assert_allclose(res.times, 2.0 + 0.5 * np.arange(n_frames))
    for t, row in zip(res.times, res.frames):
        end = int(round(t * sfreq))
        start = max(0, end - 300)
        assert row[0] == pytest.approx(x[start:end].mean())
        assert row[1] == len(range(-(-start // 50) * 50, end, 50))
    assert pipe.feature_names == ("resp_mean", "resp_n_events")
    CountingStage.feature_names = ("resp_rate", "n_events")  # already prefixed: kept as is
    try:
        assert pipe.feature_names == ("resp_rate", "resp_n_events")
    finally:
        CountingStage.feature_names = ("mean", "n_events")


def test_frame_count_and_times_match_the_eeg_pipeline(rng):
    duration_s = 12.5
    eeg_config = PipelineConfig(features=FeatureConfig(window_s=2.0, hop_s=0.5))
    eeg = SignalPipeline(eeg_config, n_chans=1).process(rng.standard_normal((int(duration_s * 200), 1)))
    for sfreq in (64.0, 250.0, 1000.0):
        pipe = PhysioPipeline(_config(), "resp", sfreq, stage_cls=CountingStage)
        res = pipe.run(np.zeros(int(duration_s * sfreq)))
        assert len(res.frames) == len(eeg)
        np.testing.assert_allclose(res.times, 2.0 + 0.5 * np.arange(len(eeg)))


def test_step_waits_for_the_decision_delay():
    pipe = PhysioPipeline(_config(window_s=1.0, hop_s=1.0), "resp", 100.0, stage_cls=CountingStage)
    assert pipe.step(np.zeros(109)).shape == (0, 2)  # window end 100 + delay 10 not reached
    assert pipe.step(np.zeros(1)).shape == (1, 2)
    assert pipe.step(np.zeros(300)).shape == (3, 2)  # ends 200, 300, 400 (400 + 10 <= 410)
    assert pipe.flush().shape == (0, 2)
    assert pipe.step(np.zeros(95)).shape == (0, 2)  # at 505: end 500 reached, its delay not passed
    assert pipe.flush().shape == (1, 2)
    np.testing.assert_allclose(pipe.frame_times, [1.0, 2.0, 3.0, 4.0, 5.0])


def _ecg(rng, sfreq=100.0, duration_s=30.0):
    n = int(duration_s * sfreq)
    tpl, c = ecg_template(sfreq)
    x = place(tpl, c, regular_beats(rng, duration_s, sfreq), n) + 0.01 * rng.standard_normal(n)
    x[int(12 * sfreq): int(14 * sfreq)] = np.nan
    return x, sfreq


def _chunked_frames(pipe, x, sizes):
    outs, i, k = [], 0, 0
    while i < len(x) or k == 0:
        n = sizes[k % len(sizes)]
        outs.append(pipe.step(x[i: i + n]))
        i += n
        k += 1
    outs.append(pipe.flush())
    return np.concatenate(outs)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 500), min_size=1, max_size=5).filter(any))
def test_step_and_flush_equal_process_on_any_chunking(rng, sizes):
    x, sfreq = _ecg(np.random.default_rng(3))
    config = _config(window_s=4.0, hop_s=1.0)
    whole = PhysioPipeline(config, "ecg", sfreq).process(x)
    pipe = PhysioPipeline(config, "ecg", sfreq)
    np.testing.assert_array_equal(_chunked_frames(pipe, x, sizes), whole)


def test_single_samples_and_empty_chunks_give_the_same_frames():
    x, sfreq = _ecg(np.random.default_rng(4))
    config = _config(window_s=4.0, hop_s=1.0)
    whole = PhysioPipeline(config, "ecg", sfreq).process(x)
    pipe = PhysioPipeline(config, "ecg", sfreq)
    chunked = _chunked_frames(pipe, x, [1, 0])
    np.testing.assert_array_equal(chunked, whole)
    assert np.isfinite(whole[-1, 0]) and whole[-1, 0] == pytest.approx(75, rel=0.05)  # mean HR at 0.8 s RR


def test_nan_reasons_are_counted():
    x, sfreq = _ecg(np.random.default_rng(5))
    pipe = PhysioPipeline(_config(window_s=4.0, hop_s=1.0), "ecg", sfreq)
    res = pipe.run(x)
    assert np.isnan(res.frames).any()
    assert sum(res.nan_reasons.values()) == np.count_nonzero(np.isnan(res.frames))
    assert "lf_ms2: window too short" in res.nan_reasons
    pipe.step(x)
    pipe.flush()
    assert pipe.nan_reasons == res.nan_reasons


def test_missing_stage_module_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(physio_base.STAGE_MODULES, "eda", "no_such_stage_module")
    with pytest.raises(StageUnavailableError, match=r"'eda' stage is not available.*no_such_stage_module"):
        PhysioPipeline(PhysioConfig(), "eda", 32.0)
    with pytest.raises(ValueError, match="unknown physiological signal kind 'eeg'"):
        PhysioPipeline(PhysioConfig(), "eeg", 32.0)


def test_stage_params_come_from_the_config():
    config = PhysioConfig(ecg=StageConfig(params={"tau": 0.3, "lookahead_s": 1.0}))
    pipe = PhysioPipeline(config, "ecg", 250.0)
    assert pipe.stage.tau == 0.3 and pipe.decision_delay == pipe.stage._detector_delay() + 250
    with pytest.raises(ConfigError, match="ecg.params does not fit ECGStage"):
        PhysioPipeline(PhysioConfig(ecg=StageConfig(params={"bogus": 1})), "ecg", 250.0)
    with pytest.raises(ConfigError, match=r"cannot build ECGStage at 250 Hz and ecg.params \{'tau': 0.9\}"):
        PhysioPipeline(PhysioConfig(ecg=StageConfig(params={"tau": 0.9})), "ecg", 250.0)
    with pytest.raises(ConfigError, match="ECG needs sfreq >= 50 Hz, got 20"):
        PhysioPipeline(PhysioConfig(ecg=StageConfig()), "ecg", 20.0)


def test_packaged_config_loads_and_rejects_unknown_keys(tmp_path):
    from eegaffect.config import load_config

    config = load_config(PhysioConfig, default="physio")
    assert config.frames.window_s == FeatureConfig().window_s and config.ecg.lookback_s == 60.0
    bad = tmp_path / "p.yaml"
    bad.write_text("ecg:\n  lookbak_s: 3\n")
    with pytest.raises(ConfigError, match="unknown key 'ecg.lookbak_s'"):
        load_config(PhysioConfig, bad)


# ---------------------------------------------------------------------------------------------------------------
# every signal kind, with its real stage
# ---------------------------------------------------------------------------------------------------------------
def _kind_config():
    return PhysioConfig(frames=FrameConfig(window_s=4.0, hop_s=1.0))


@pytest.fixture(scope="module", params=KINDS)
def kind_run(request):
    """A short synthetic recording of each kind and its whole-recording run."""
    kind = request.param
    x, sfreq = kind_signal(kind)
    return kind, x, sfreq, PhysioPipeline(_kind_config(), kind, sfreq).run(x)


@pytest.mark.parametrize("sizes", [[1, 0], [0, 7, 1, 250], [333]], ids=["ones-and-empties", "mixed", "333"])
def test_every_kind_gives_the_same_frames_on_any_chunking(kind_run, sizes):
    kind, x, sfreq, whole = kind_run
    assert len(whole.frames) == int(len(x) / sfreq - 4.0) + 1 and np.isfinite(whole.frames).any()
    pipe = PhysioPipeline(_kind_config(), kind, sfreq)
    np.testing.assert_array_equal(_chunked_frames(pipe, x, sizes), whole.frames)
    assert pipe.nan_reasons == whole.nan_reasons


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=4).filter(any))
def test_every_kind_is_chunk_invariant_hypothesis(kind_run, sizes):
    kind, x, sfreq, whole = kind_run
    pipe = PhysioPipeline(_kind_config(), kind, sfreq)
    np.testing.assert_array_equal(_chunked_frames(pipe, x, sizes), whole.frames)


def test_every_kind_counts_nan_reasons_from_the_fixed_vocabulary(kind_run):
    kind, x, sfreq, whole = kind_run
    assert sum(whole.nan_reasons.values()) == np.count_nonzero(np.isnan(whole.frames))
    names = PhysioPipeline(_kind_config(), kind, sfreq).stage.feature_names
    for key in whole.nan_reasons:
        feature, reason = key.split(": ", 1)
        assert feature in names and reason in NAN_REASONS, key


@pytest.mark.parametrize("kind", ["ecg", "eda", "resp", "temp"])
def test_a_long_recording_with_gaps_gives_a_small_fixed_set_of_reason_keys(kind):
    """Frame windows grow from window_s to lookback_s at the start, and a dropout and a flat stretch come later:
    the reasons stay a few categories (before: one key per window length)."""
    x, sfreq = kind_signal(kind)
    x = np.tile(x, 3)
    n = len(x)
    x[n // 3: n // 3 + int(8 * sfreq)] = np.nan                              # a dropout
    x[2 * n // 3: 2 * n // 3 + int(20 * sfreq)] = x[2 * n // 3]              # a stuck sensor
    config = PhysioConfig(frames=FrameConfig(window_s=1.0, hop_s=1.0))      # the packaged lookbacks (30-60 s)
    res = PhysioPipeline(config, kind, sfreq).run(x)
    reasons = {key.split(": ", 1)[1] for key in res.nan_reasons}
    assert reasons <= set(NAN_REASONS), reasons
    n_features = res.frames.shape[1]
    assert len(res.nan_reasons) <= 3 * n_features, sorted(res.nan_reasons)
