"""One frame clock: training targets, benchmark targets, the teacher's targets and the Predictor's time stamps refer
to the same moment (the end of each frame's window) for the same recording (issue 11)."""

from __future__ import annotations

import numpy as np
import pytest
from test_feature_cache import write_tiny_seed

from eegaffect.pipeline import PipelineConfig, SignalPipeline, frame_times, window_hop
from eegaffect.targets import frame_targets, sample_times, trial_frame_targets

SECONDS = 6.0


def _valence(t):
    return 0.8 * np.sin(2 * np.pi * np.asarray(t) / 5.0)


def _arousal(t):
    return -0.9 + 0.3 * np.asarray(t)


def _pipeline() -> PipelineConfig:
    # hop != window, so window centre (k * 0.5 + 0.5) and window end (k * 0.5 + 1.0) differ by half a window
    return PipelineConfig.model_validate({"features": {"window_s": 1.0, "hop_s": 0.5}})


@pytest.fixture(scope="module")
def annotated_trial(tmp_path_factory):
    """A SEED trial (62 ch, 200 Hz, 6 s) with a known continuous annotation sampled at 10 Hz."""
    from eegaffect.datasets import load_dataset

    root = write_tiny_seed(tmp_path_factory.mktemp("seed"), n_subjects=1, n_sessions=1, seconds=SECONDS)
    trial = load_dataset(root, "seed").trials[0]
    t = np.round(np.arange(0, SECONDS - 0.05, 0.1), 10)  # last row at 5.9 s: one period before the trial's end
    rows = "".join(f"{a:.10g},{_valence(a):.17g},{_arousal(a):.17g}\n" for a in t)
    trial.info.source.with_name(f"{trial.info.source.stem}_{trial.info.key}.csv").write_text(
        "time_s,valence,arousal\n" + rows)
    return load_dataset(root, "seed").trials[0]


def test_frame_times_are_window_ends():
    np.testing.assert_allclose(frame_times(4, window=200, hop=100, sfreq=200.0), [1.0, 1.5, 2.0, 2.5])
    np.testing.assert_allclose(frame_times(2, window=200, hop=100, sfreq=200.0, t0=10.0, first=3), [12.5, 13.0])
    pipe = SignalPipeline(_pipeline(), n_chans=2)
    np.testing.assert_array_equal(pipe.frame_times(5), frame_times(5, pipe.window, pipe.hop, pipe.sfreq))
    assert window_hop(_pipeline()) == (pipe.window, pipe.hop) == (200, 100)
    with pytest.raises(ValueError, match="hop must be an integer >= 1"):
        frame_times(3, 200, 0, 200.0)


def test_frame_targets_rule():
    times, values = [0.0, 1.0, 2.0], np.array([[0.0, 10.0], [1.0, 20.0], [0.0, 30.0]])
    out = frame_targets([-0.5, 0.25, 1.5, 3.0, 3.01], times, values)
    np.testing.assert_allclose(out[1:4], [[0.25, 12.5], [0.5, 25.0], [0.0, 30.0]])  # 3.0 = last + one period
    assert np.isnan(out[0]).all() and np.isnan(out[4]).all()  # before the first point, past the span
    # per-sample targets: the frame ending at the very last sample's period still has one
    va = np.arange(10.0)
    np.testing.assert_allclose(frame_targets([0.5, 1.0], sample_times(10, 10.0), va)[:, 0], [5.0, 9.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        frame_targets([0.0], [1.0, 1.0], [0.0, 0.0])


def test_training_benchmark_teacher_and_predictor_agree(annotated_trial):
    """Same recording, same frames: every target equals the known annotation at the Predictor's time stamp."""
    import torch

    from eegaffect.benchmark.runner import BenchSeedConfig
    from eegaffect.benchmark.splits import step_va
    from eegaffect.datasets.features import featurise_trial
    from eegaffect.distill.teacher import TeacherConfig, dataset_topomaps
    from eegaffect.models.chain import EEGDancerChain
    from eegaffect.models.config import TrainConfig
    from eegaffect.models.data import trial_targets
    from eegaffect.models.predictor import Predictor
    from eegaffect.models.stages import build_model

    pipeline = _pipeline()
    trial, info = annotated_trial, annotated_trial.info
    eeg = trial.load()
    n = featurise_trial(eeg, info.sfreq, pipeline, "features").shape[0]
    assert n == int((SECONDS - 1.0) / 0.5) + 1  # 11 frames ending at 1.0, 1.5, ..., 6.0 s

    # the Predictor (an untrained chain is enough: only its time stamps are compared)
    torch.manual_seed(0)
    config = TrainConfig(pipeline=pipeline)
    model = build_model(config, info.n_chans, len(pipeline.features.bands), None)
    chain = EEGDancerChain(model.eval(), np.zeros((info.n_chans, 5)), np.ones((info.n_chans, 5)))
    predictor = Predictor(chain, pipeline, info.ch_names, info.sfreq, {})
    stamps = predictor.predict(eeg).time_s
    assert len(stamps) == n
    np.testing.assert_allclose(stamps, 1.0 + 0.5 * np.arange(n))
    live = np.concatenate([predictor.step(eeg[i:i + 137]).time_s for i in range(0, len(eeg), 137)])
    np.testing.assert_array_equal(live, stamps)

    truth = np.column_stack([_valence(stamps), _arousal(stamps)])
    training = trial_targets(trial, n, pipeline)
    benchmark = step_va(trial, n, BenchSeedConfig(pipeline=pipeline))
    np.testing.assert_allclose(training[:-1], truth[:-1], atol=1e-12)
    np.testing.assert_array_equal(benchmark, training)
    # the last frame ends at 6.0 s, one annotation period after its last row (5.9 s): that value held, not NaN
    assert np.isfinite(training).all()
    np.testing.assert_allclose(training[-1], [_valence(5.9), _arousal(5.9)])
    # window centres would be half a window earlier: the targets would differ
    assert not np.allclose(trial_frame_targets(trial, stamps - 0.5), training, atol=1e-3)

    teacher = TeacherConfig.model_validate({"targets": "continuous", "features": {"window_s": 1.0, "hop_s": 0.5}})
    maps = dataset_topomaps([trial], teacher)
    np.testing.assert_allclose(np.column_stack([maps.valence, maps.arousal]), training, atol=1e-12)


def test_training_drops_frames_without_targets_instead_of_making_them_up(tmp_path):
    """An annotation that stops early leaves the later frames without a target: they are not trained on (the old
    code held the last value; a trial without valence/arousal trained towards a made-up 0)."""
    from eegaffect.datasets import load_dataset
    from eegaffect.models.config import DataConfig, TrainConfig
    from eegaffect.models.data import _known_run, load_sequences

    assert _known_run(np.array([False, True, True, False, True])) == slice(1, 3)
    assert _known_run(np.array([False, False])) == slice(0, 0)
    root = write_tiny_seed(tmp_path / "seed", n_subjects=1, n_sessions=1, seconds=SECONDS)
    trial = load_dataset(root, "seed").trials[0]
    trial.info.source.with_name(f"{trial.info.source.stem}_{trial.info.key}.csv").write_text(
        "time_s,valence,arousal\n0,0,0\n1,0.1,0.2\n2,0.2,0.4\n3,0.3,0.6\n")
    config = TrainConfig(data=DataConfig(dataset="seed", trials=[trial.info.trial]), pipeline=_pipeline())
    train, meta = load_sequences(root, config, progress_bar=False)
    # frames end at 1.0, 1.5, ..., 6.0 s; the annotation spans [0, 3 + 1] s: frames ending at 1.0 .. 4.0 are kept
    assert len(train.features) == 1 and train.features[0].shape[0] == 7
    np.testing.assert_allclose(train.va[0][:, 0], [0.1, 0.15, 0.2, 0.25, 0.3, 0.3, 0.3])
