"""The per-kind feature selection of the physiological signal path (``features`` of a kind's section,
:class:`~eegaffect.physio.config.StageConfig`): the selected columns, in the stage's order, equal the full
computation's; unknown names are a clear error; a fused bundle records the selection and its offline and live
paths apply it; the fused demo recipe computes only what is finite over its 3-s look-backs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import train_tiny_ecg_bundle
from physio_helpers import kind_signal

from eegaffect.config import ConfigError
from eegaffect.physio import PhysioConfig, PhysioPipeline


def _pipe(kind: str, sfreq: float, **section) -> PhysioPipeline:
    return PhysioPipeline(PhysioConfig.model_validate({kind: section}), kind, sfreq)


@pytest.mark.parametrize("kind, features, params, lookback_s", [
    ("ecg", ["rmssd_ms", "hr_mean_bpm"], {}, 10.0),        # given out of order: the stage's order
    ("eda", ["eda_scl_slope", "scl"], {"slope": True}, 10.0),  # a column name, and a feature a parameter adds
    ("resp", ["resp_rate"], {}, 30.0),
])
def test_selection_gives_exactly_the_full_computations_columns(kind, features, params, lookback_s):
    x, sfreq = kind_signal(kind)
    full = _pipe(kind, sfreq, lookback_s=lookback_s, params=params)
    sel = _pipe(kind, sfreq, lookback_s=lookback_s, params=params, features=features)
    cols = [i for i, name in enumerate(full.feature_names)
            if name in features or name.removeprefix(f"{kind}_") in features]
    assert sel.feature_names == tuple(full.feature_names[i] for i in cols)
    assert sel.selected == tuple(full.stage.feature_names[i] for i in cols)
    a, b = full.run(x), sel.run(x)
    assert b.frames.shape == (len(a.frames), len(cols)) and np.isfinite(b.frames).any()
    np.testing.assert_array_equal(b.frames, a.frames[:, cols])
    np.testing.assert_array_equal(b.times, a.times)
    assert b.feature_names == sel.selected
    # NaN reasons only of the selected features
    assert all(r.split(":")[0] in sel.selected for r in b.nan_reasons)
    # the streaming path (the live one) in chunks equals it too
    step = np.concatenate([sel.step(c) for c in np.array_split(x, 7)] + [sel.flush()])
    np.testing.assert_array_equal(step, b.frames)


def test_framed_pipeline_of_the_live_path_selects_the_same_columns():
    from eegaffect.live.physio_frames import FramedPhysioPipeline

    x, sfreq = kind_signal("ecg")
    config = PhysioConfig.model_validate({"ecg": {"lookback_s": 10.0, "features": ["hr_mean_bpm", "sdnn_ms"]}})
    offline = PhysioPipeline(config, "ecg", sfreq)
    live = FramedPhysioPipeline(config, "ecg", sfreq)
    assert live.feature_names == ("ecg_hr_mean_bpm", "ecg_sdnn_ms")
    want = offline.process(x)
    for k in range(len(want)):
        live.add_end(offline._frame_end(k))
    got = np.concatenate([live.step(c) for c in np.array_split(x, 5)] + [live.flush()])
    np.testing.assert_array_equal(got, want)


def test_unknown_or_repeated_features_are_a_clear_error():
    with pytest.raises(ConfigError) as err:
        _pipe("eda", 16.0, features=["scl", "scl_slope", "heart"])
    text = str(err.value)
    assert "eda.features" in text and "['scl_slope', 'heart']" in text
    assert "['scl', 'scr_rate', 'scr_amplitude_sum']" in text and "slope: true" in text
    with pytest.raises(ConfigError, match=r"ecg.features: unknown \['scl'\].*hr_mean_bpm"):
        _pipe("ecg", 100.0, features=["scl"])
    with pytest.raises(ConfigError, match="twice"):
        _pipe("ecg", 100.0, features=["hr_mean_bpm", "ecg_hr_mean_bpm"])
    with pytest.raises(ValueError, match="more than once"):
        PhysioConfig.model_validate({"ecg": {"features": ["hr_mean_bpm", "hr_mean_bpm"]}})
    with pytest.raises(ValueError, match="at least one"):
        PhysioConfig.model_validate({"ecg": {"features": []}})
    assert PhysioConfig().ecg.features is None and _pipe("ecg", 100.0).selected[0] == "hr_mean_bpm"


def test_the_physio_yaml_default_selects_nothing():
    from eegaffect.config import load_config

    config = load_config(PhysioConfig, None, default="physio")
    assert all(config.stage(k).features is None for k in ("ecg", "ppg", "eda", "resp", "temp", "emg"))


def test_fused_bundle_records_the_selection_and_applies_it_offline_and_live(tmp_path):
    from eegaffect.acquisition.channels import DREAMER_CHANNELS
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    from eegaffect.live.physio_frames import FramedPhysioPipeline
    from eegaffect.models.predictor import Predictor

    physio_config = {"ecg": {"lookback_s": 10.0, "features": ["hr_mean_bpm", "rmssd_ms"]}}
    path = train_tiny_ecg_bundle(tmp_path / "bundle", physio_config=physio_config)
    text = json.dumps(json.loads((path / "bundle.json").read_text()))
    assert '"features": ["hr_mean_bpm", "rmssd_ms"]' in text
    pred = Predictor.load(path)
    assert pred.physio_feature_names("ecg") == ["ecg_hr_mean_bpm", "ecg_rmssd_ms"]
    assert PhysioConfig.model_validate(pred.chain.physio.physio_config).ecg.features == ["hr_mean_bpm", "rmssd_ms"]

    src = SimulatedEEG(list(DREAMER_CHANNELS), 200.0, seed=31, subject=105)
    eeg, _ = src.generate(int(30 * 200.0))
    ecg = simulate_physiology({"ecg": 256.0}, 30.0, src.trajectory, seed=31, subject=105)["ecg"][:, 0]
    frames = pred.physio_frames("ecg", ecg, 256.0)
    full = PhysioPipeline(PhysioConfig.model_validate({"ecg": {"lookback_s": 10.0}}).model_copy(
        update={"frames": PhysioConfig().frames.model_copy(update={
            "window_s": pred.pipeline_config.features.window_s, "hop_s": pred.pipeline_config.features.hop_s})}),
        "ecg", 256.0).process(ecg)
    np.testing.assert_array_equal(frames, full[:, [0, 2]])
    out = pred.predict(eeg, physio={"ecg": (ecg, 256.0)})
    assert np.isfinite(out.va).all()
    # the live path builds its pipelines from the bundle's physio_config (SessionPhysio.open): the same columns
    live = FramedPhysioPipeline(PhysioConfig.model_validate(pred.chain.physio.physio_config), "ecg", 256.0)
    assert list(live.feature_names) == pred.physio_feature_names("ecg")


def test_fused_demo_recipe_computes_only_features_finite_over_its_lookbacks(caplog):
    import logging

    from eegaffect.acquisition.channels import SEED_CHANNELS

    from eegaffect.models.demo import DEMO_FUSED_KINDS, demo_config, demo_sessions
    from eegaffect.models.fused_data import simulated_sequences
    from eegaffect.models.stages import fit_physio_spec

    config = demo_config(0, list(DEMO_FUSED_KINDS))
    train = simulated_sequences(demo_sessions(0, 2), 0, config, kinds=list(DEMO_FUSED_KINDS),
                                ch_names=SEED_CHANNELS, session_s=60.0, trial_s=60.0)
    assert train.physio_meta["ecg"]["feature_names"] == ["ecg_hr_mean_bpm"]
    assert train.physio_meta["ppg"]["feature_names"] == ["ppg_hr_mean_bpm"]
    assert train.physio_meta["eda"]["feature_names"] == ["eda_scl", "eda_scl_slope"]
    with caplog.at_level(logging.WARNING, logger="eegaffect"):
        spec = fit_physio_spec(train, config)
    assert "never finite" not in caplog.text
    assert [m.n_features for m in spec.modalities] == [1, 1, 2]
    for kind in DEMO_FUSED_KINDS:  # every selected feature is finite in most frames
        rows = np.concatenate([p[kind] for p in train.physio])
        assert (np.isfinite(rows).mean(0) > 0.5).all(), kind
