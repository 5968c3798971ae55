"""Per-output routing of a fused bundle (``fusion.eeg_pass_outputs``, :mod:`eegaffect.models.fusion`): the routed
outputs come from the model's EEG pass (every physiological kind missing), offline, live, after save/load and in
calibration; the EDA stage's optional level slope. Real (tiny) training.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from conftest import train_tiny_ecg_bundle
from eegaffect.acquisition.channels import DREAMER_CHANNELS

SFREQ, ECG_SFREQ = 200.0, 256.0


@pytest.fixture(scope="module")
def routed_bundle(tmp_path_factory):
    """A tiny fused EEG + ECG bundle whose valence comes from its EEG pass."""
    return train_tiny_ecg_bundle(tmp_path_factory.mktemp("routed") / "bundle", eeg_pass_outputs=["valence"])


@pytest.fixture(scope="module")
def predictor(routed_bundle):
    from eegaffect.models.predictor import Predictor

    return Predictor.load(routed_bundle)


def _session(seconds: float = 45.0, seed: int = 31, subject: int = 105):
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    src = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=seed, subject=subject)
    eeg, va = src.generate(int(seconds * SFREQ))
    ecg = simulate_physiology({"ecg": ECG_SFREQ}, seconds, src.trajectory, seed=seed, subject=subject)["ecg"][:, 0]
    return eeg, va, ecg


def _unrouted(predictor):
    """The same model without routing (every output from the fused pass)."""
    import copy

    from eegaffect.models.chain import EEGDancerChain

    c = predictor.chain
    chain = EEGDancerChain(c.model, c.mean, c.std, c.optimizer, smooth_s=c.smooth_s, hop_s=c.hop_s,
                           trend_s=c.trend_s, smooth_labels=c.smooth_labels,
                           physio=dataclasses.replace(c.physio, eeg_pass_outputs=[]))
    other = copy.copy(predictor)
    other.chain = chain
    other.reset()
    return other


def test_bundle_records_the_routing_and_old_bundles_read_without_it(routed_bundle, predictor, ecg_bundle):
    from eegaffect.models.predictor import Predictor

    doc = json.loads((routed_bundle / "bundle.json").read_text(encoding="utf-8"))
    assert doc["modalities"]["eeg_pass_outputs"] == ["valence"]
    assert doc["config"]["fusion"]["eeg_pass_outputs"] == ["valence"]
    assert predictor.chain.eeg_pass_columns == [0]
    old = json.loads((ecg_bundle / "bundle.json").read_text(encoding="utf-8"))
    assert "eeg_pass_outputs" not in old["modalities"]  # a fused bundle without routing: bundle.json as before
    assert Predictor.load(ecg_bundle).chain.eeg_pass_columns == []


def test_valence_is_the_eeg_pass_and_arousal_the_fused_pass(predictor):
    eeg, _, ecg = _session()
    physio = {"ecg": (ecg, ECG_SFREQ)}
    routed = predictor.predict(eeg, physio=physio)
    plain = _unrouted(predictor)
    fused = plain.predict(eeg, physio=physio)
    eeg_pass = plain.predict(eeg, physio=physio, drop=["ecg"])
    # the routed stream steps both passes as one batch of two rows: equal to the separate passes up to float32
    # rounding (a batched matrix product may sum in another order)
    for field in ("va", "base_va"):
        np.testing.assert_allclose(getattr(routed, field)[:, 0], getattr(eeg_pass, field)[:, 0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(getattr(routed, field)[:, 1], getattr(fused, field)[:, 1], rtol=0, atol=1e-5)
    assert not np.allclose(fused.va[:, 0], eeg_pass.va[:, 0])  # the physiology moves the fused valence
    # the ECG does not reach the routed valence at all
    noisy = predictor.predict(eeg, physio={"ecg": (ecg[::-1].copy(), ECG_SFREQ)})
    np.testing.assert_array_equal(noisy.va[:, 0], routed.va[:, 0])
    assert not np.array_equal(noisy.va[:, 1], routed.va[:, 1])


def test_whole_sequence_run_routes_as_the_stream(predictor):
    """EEGDancerChain.run (the whole-sequence path) routes the same columns, both passes in one batched call."""
    eeg, _, ecg = _session()
    frames = predictor._new_pipeline().process(eeg)
    rows = predictor._asof_rows({"ecg": (ecg, ECG_SFREQ)}, len(frames))
    routed = predictor.chain.run(frames, rows)
    plain = _unrouted(predictor).chain
    fused, eeg_pass = plain.run(frames, rows), plain.run(frames, rows, ("ecg",))
    for field in ("va", "base_va"):
        np.testing.assert_allclose(routed[field][:, 0], eeg_pass[field][:, 0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(routed[field][:, 1], fused[field][:, 1], rtol=0, atol=1e-5)
    assert not np.allclose(fused["va"][:, 0], eeg_pass["va"][:, 0])
    streamed = predictor.predict(eeg, physio={"ecg": (ecg, ECG_SFREQ)})
    np.testing.assert_allclose(routed["va"], streamed.va, rtol=0, atol=1e-4)


def test_live_steps_equal_offline(predictor, rng):
    eeg, _, ecg = _session(40.0)
    offline = predictor.predict(eeg, physio={"ecg": (ecg, ECG_SFREQ)})
    frames = predictor.physio_frames("ecg", ecg, ECG_SFREQ)
    f = predictor.pipeline_config.features
    delay = predictor.chain.physio.modality("ecg").decision_delay_s
    ends = f.window_s + f.hop_s * np.arange(len(frames))
    predictor.reset()
    parts, pos, given = [], 0, 0
    cuts = np.cumsum(rng.integers(1, int(SFREQ), size=len(eeg)))  # chunks up to 1 s: the frames come in time
    for chunk in np.split(eeg, cuts[cuts < len(eeg)]):
        now = (pos + len(chunk)) / SFREQ
        ready = [j for j in range(given, len(frames)) if ends[j] + delay <= now]
        physio = {"ecg": [(ends[j], frames[j]) for j in ready]} if ready else {}
        given += len(ready)
        parts.append(predictor.step(chunk, physio=physio))
        pos += len(chunk)
    live = parts[0].concatenate(parts)
    for field in ("time_s", "va", "base_va", "confidence"):
        np.testing.assert_array_equal(getattr(live, field), getattr(offline, field))


def test_calibration_fits_the_routed_readout_on_the_eeg_pass(predictor, tmp_path, routed_bundle):
    from eegaffect.calibration import CalibrationData, calibrate_bundle, calibrate_chain, paired_frames
    from eegaffect.models.predictor import Predictor

    eeg, va, ecg = _session()
    labels = np.column_stack([np.arange(len(va)) / SFREQ, va])
    feats, y, rows = paired_frames(predictor, eeg, SFREQ, labels, {"ecg": (ecg, ECG_SFREQ)})
    cal, _ = calibrate_chain(predictor.chain, [feats], [y], physio=[rows], steps=20, match_rate=None)
    shuffled = {"ecg": rows["ecg"][np.random.default_rng(0).permutation(len(rows["ecg"]))]}
    cal2, _ = calibrate_chain(predictor.chain, [feats], [y], physio=[shuffled], steps=20, match_rate=None)
    assert cal.physio.eeg_pass_outputs == ["valence"]
    w, w2 = (c.model.transformer.va_head.weight.detach() for c in (cal, cal2))
    parent = predictor.chain.model.transformer.va_head.weight.detach()
    # the valence row learns from the EEG pass only (the ECG frames do not reach it), the arousal row from the fused
    assert not np.array_equal(w[0].numpy(), parent[0].numpy())
    np.testing.assert_array_equal(w[0].numpy(), w2[0].numpy())
    assert not np.array_equal(w[1].numpy(), w2[1].numpy())
    # the calibrated bundle keeps the routing
    data = CalibrationData([feats], [y], source="offline", labels="truth", duration_s=45.0, physio=[rows])
    out = calibrate_bundle(routed_bundle, tmp_path / "cal", data)
    assert Predictor.load(out).chain.eeg_pass_columns == [0]


def test_routing_needs_a_fused_model_that_reads_the_eeg():
    from eegaffect.models.config import FusionConfig
    from eegaffect.models.fusion import PhysioSpec

    with pytest.raises(ValueError, match="eeg_pass_outputs"):
        FusionConfig(eeg_pass_outputs=["valence"])
    with pytest.raises(ValueError, match="eeg_pass_outputs"):
        FusionConfig(physio=["ecg"], use_eeg=False, eeg_pass_outputs=["arousal"])
    with pytest.raises(ValueError):
        FusionConfig(physio=["ecg"], eeg_pass_outputs=["dominance"])
    with pytest.raises(ValueError, match="eeg_pass_outputs"):
        PhysioSpec([], 1.0, eeg_pass_outputs=["valence", "valence"])


def test_eda_level_slope_is_an_opt_in_fourth_feature():
    from eegaffect.kernels.eda import EDAStage

    from eegaffect.physio import PhysioPipeline
    from eegaffect.physio.config import PhysioConfig

    fs = 32.0
    t = np.arange(int(120 * fs)) / fs
    x = 5.0 + 0.02 * t  # a level rising 0.02 uS/s
    plain = PhysioPipeline(PhysioConfig.model_validate({"eda": {"lookback_s": 5.0}}), "eda", fs)
    sloped = PhysioPipeline(PhysioConfig.model_validate({"eda": {"lookback_s": 5.0, "params": {"slope": True}}}),
                            "eda", fs)
    assert plain.feature_names == ("eda_scl", "eda_scr_rate", "eda_scr_amplitude_sum")
    assert sloped.feature_names == (*plain.feature_names, "eda_scl_slope")
    a, b = plain.process(x), sloped.process(x)
    np.testing.assert_array_equal(a, b[:, :3])
    assert b[-1, 3] == pytest.approx(0.02, rel=1e-3)  # once the tonic filter has settled on the ramp
    with pytest.raises(ValueError, match="slope"):
        EDAStage(fs, slope=1)
