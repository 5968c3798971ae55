"""The fused model: per-modality encoders with missing embeddings, modality dropout, bundles that record their
modalities, the Predictor's as-of rule (offline equals live for any chunking), EEG-only bundles unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from eegaffect.acquisition.channels import DREAMER_CHANNELS

from eegaffect.models.bundle import BundleError, save_bundle
from eegaffect.models.config import FusionConfig, TrainConfig, TransformerConfig, VQVAEConfig
from eegaffect.models.fit import fit_chain
from eegaffect.models.fused_data import simulated_sequences
from eegaffect.models.fusion import AsOfBuffer, asof_lag, asof_rows, modality_dropout_masks
from eegaffect.models.predictor import Predictor

KINDS = ["ecg", "eda"]


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_config(physio=KINDS, **fusion) -> TrainConfig:
    return TrainConfig(seed=0, device="cpu",
                       vqvae=VQVAEConfig(steps=10, d_model=8, dilations=[1, 2], batch_size=4, crop=12),
                       transformer=TransformerConfig(d_model=8, n_heads=2, n_layers=1, context=4, finetune_steps=30,
                                                     batch_size=4, crop=16, class_head=False),
                       fusion=FusionConfig(physio=list(physio), hidden=8, **fusion))


@pytest.fixture(scope="module")
def sim_train():
    """Two 60-s sessions of simulated person 3: 14-channel EEG, ECG at 256 Hz and EDA at 4 Hz."""
    return simulated_sequences([1, 2], 3, tiny_config(), kinds=KINDS, ch_names=DREAMER_CHANNELS, session_s=60.0,
                               trial_s=30.0)


@pytest.fixture(scope="module")
def fused(sim_train, tmp_path_factory):
    chain, report = fit_chain(sim_train, tiny_config(), progress_bar=False)
    out = save_bundle(tmp_path_factory.mktemp("fused") / "bundle", chain, config=tiny_config(),
                      ch_names=DREAMER_CHANNELS, sfreq=200.0, unit="V", report=report)
    return chain, out


def _session(seed=7, seconds=40.0, kinds=KINDS):
    """Raw EEG (n, 14) at 200 Hz and raw physiology of one simulated session, with its truth."""
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    src = SimulatedEEG(DREAMER_CHANNELS, 200.0, seed=seed, subject=3)
    eeg, va = src.generate(int(seconds * 200))
    rates = {"ecg": 256.0, "eda": 4.0}
    sig = simulate_physiology({k: rates[k] for k in kinds}, seconds, src.trajectory, seed=seed, subject=3)
    return eeg, {k: (sig[k][:, 0], rates[k]) for k in kinds}


def test_data_pairs_physio_frames_by_the_as_of_rule(sim_train):
    meta = sim_train.physio_meta
    assert sorted(meta) == KINDS
    # ECG at 256 Hz decides beats 1.9 s late: + 0.5 s margin -> 3 frames of 1 s; EDA at 4 Hz 1 s: 2 frames
    assert meta["ecg"]["lag"] == 3 and meta["eda"]["lag"] == 2
    assert meta["ecg"]["decision_delay_s"] == pytest.approx(487 / 256)
    assert len(sim_train.features) == 4 and sim_train.features[0].shape == (30, 14, 5)
    first = sim_train.physio[0]
    assert first["ecg"].shape == (30, 9) and first["eda"].shape == (30, 3)
    # the first `lag` steps of a session have no frame yet (missing, not made up; the first frames' heart rate
    # needs a few beats too); the second trial continues the session
    assert np.isnan(first["ecg"][:3]).all() and np.isfinite(first["ecg"][6:, 0]).all()
    assert np.isfinite(sim_train.physio[1]["ecg"][:, 0]).all()
    assert asof_lag(1.90234375, 1.0, 0.5) == 3 and asof_lag(0.0, 1.0, 0.0) == 0 and asof_lag(1.0, 0.5, 0.0) == 2


def test_modality_dropout_masks_never_drop_everything():
    gen = torch.Generator().manual_seed(0)
    keep = modality_dropout_masks(64, 20, 3, 0.9, gen)
    assert keep.shape == (64, 20, 3) and keep.any(axis=2).all()
    assert (~keep).any()  # it does drop
    partial = [(~keep[b, :, m]).any() and keep[b, :, m].any() for b in range(64) for m in range(3)]
    assert any(partial)  # some drops start mid-crop (a device dropping out)
    assert modality_dropout_masks(4, 5, 3, 0.0, gen).all()


def test_fused_training_and_dropped_modalities_predict_finite_values(fused, sim_train):
    chain, _ = fused
    assert chain.kinds == KINDS and chain.model.fusion is not None
    f, p = sim_train.features[1], sim_train.physio[1]
    full = chain.run(f, p)
    assert np.isfinite(full["va"]).all()
    outs = {}
    for drop in (("eeg",), ("ecg",), ("eda",), ("ecg", "eda")):
        out = chain.run(f, p, drop)
        assert np.isfinite(out["va"]).all() and np.isfinite(out["confidence"]).all(), drop
        outs[drop] = out["va"]
    # a dropped modality changes the estimate (its missing embedding replaces it) but never breaks it
    for drop, va in outs.items():
        assert not np.allclose(va, full["va"]), drop
    # a kind absent from the input is the same as dropping it
    np.testing.assert_allclose(chain.run(f, {"ecg": p["ecg"]})["va"], chain.run(f, p, ("eda",))["va"], atol=1e-6)
    # streaming equals the full-sequence forward
    stream = chain.stream().step(f, p)
    np.testing.assert_allclose(stream["va"], full["va"], atol=1e-5)
    with pytest.raises(ValueError, match="unknown modalities"):
        chain.run(f, {"ppg": p["ecg"]})


def test_fused_training_needs_the_frames_it_fuses(sim_train):
    with pytest.raises(ValueError, match="missing"):
        fit_chain(sim_train, tiny_config(physio=["ecg", "resp"]), progress_bar=False)


def test_fusion_config_is_validated():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="twice"):
        FusionConfig(physio=["ecg", "ecg"])
    with pytest.raises(ValidationError, match="use_eeg"):
        FusionConfig(use_eeg=False)
    with pytest.raises(ValidationError):
        FusionConfig(physio=["emg"])
    assert TrainConfig(fusion=FusionConfig(physio=["ecg"]), sac={"enabled": True}).sac.enabled  # SAC on fused too
    with pytest.raises(ValidationError):
        FusionConfig(physio=["ecg"], physio_config={"ecg": {"lookback_s": -1}})


def test_bundle_round_trip_records_modalities(fused, sim_train):
    chain, path = fused
    doc = json.loads((path / "bundle.json").read_text())
    assert doc["format_version"] == 2
    mods = doc["modalities"]
    assert mods["eeg"] is True and [m["kind"] for m in mods["physio"]] == KINDS
    ecg = mods["physio"][0]
    assert ecg["feature_names"][0] == "ecg_hr_mean_bpm" and len(ecg["mean"]) == len(ecg["std"]) == 9
    assert ecg["lag_frames"] == 3 and ecg["sfreq"] == 256.0 and mods["asof"]["max_late_frames"] == 2
    pred = Predictor.load(path)
    assert pred.modalities == ["eeg", "ecg", "eda"] and pred.physio_kinds == KINDS
    assert pred.physio_feature_names("eda") == ["eda_scl", "eda_scr_rate", "eda_scr_amplitude_sum"]
    np.testing.assert_allclose(pred.chain.physio.modality("ecg").mean, chain.physio.modality("ecg").mean)
    f, p = sim_train.features[0], sim_train.physio[0]
    np.testing.assert_allclose(pred.chain.run(f, p)["va"], chain.run(f, p)["va"], atol=1e-6)
    # a fused bundle whose modalities section is gone is refused with a message
    broken = path.parent / "broken"
    broken.mkdir()
    for item in path.iterdir():
        if item.is_file():
            (broken / item.name).write_bytes(item.read_bytes())
    del doc["modalities"]
    (broken / "bundle.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="modalities"):
        Predictor.load(broken)


def test_eeg_only_bundle_of_the_existing_format_loads_and_predicts_unchanged(sim_train, tmp_path, rng):
    config = tiny_config(physio=[])
    eeg_only = type(sim_train)(sim_train.features, sim_train.va)
    chain, _ = fit_chain(eeg_only, config, progress_bar=False)
    assert chain.model.fusion is None and chain.physio is None
    path = save_bundle(tmp_path / "b", chain, config=config, ch_names=DREAMER_CHANNELS, sfreq=200.0)
    doc = json.loads((path / "bundle.json").read_text())
    assert doc["format_version"] == 1 and "modalities" not in doc and "fusion" not in doc["model"]
    assert not any(k.startswith("fusion.") for k in chain.model.state_dict())
    x = rng.standard_normal((200 * 12, 14)) * 1e-5
    before = Predictor.load(path).predict(x)
    # a bundle written before the fused model: no "fusion" section in its training config either
    del doc["config"]["fusion"]
    (path / "bundle.json").write_text(json.dumps(doc))
    pred = Predictor.load(path)
    assert pred.modalities == ["eeg"] and pred.physio_kinds == []
    after = pred.predict(x)
    np.testing.assert_array_equal(after.va, before.va)
    with pytest.raises(BundleError, match="EEG-only"):
        pred.step(x[:100], physio={"ecg": (1.0, np.zeros(9))})
    with pytest.raises(BundleError, match="EEG-only"):
        pred.predict(x, physio={"ecg": np.zeros((3, 9))})


def _live_frames(frames: np.ndarray, delay_s: float, hop_s: float = 1.0, window_s: float = 1.0):
    """(available_at_s, time_s, row) of each physiological frame, as a live device emits them: frame j (ending
    at the EEG frame end t_j) once the stream reached t_j + its decision delay."""
    t = window_s + hop_s * np.arange(len(frames))
    return [(tj + delay_s, tj, row) for tj, row in zip(t, frames)]


def test_offline_equals_live_for_any_chunking_with_physio(fused, rng):
    _, path = fused
    pred = Predictor.load(path)
    eeg, raw = _session(seconds=25.0)
    offline = pred.predict(eeg, physio=raw)
    assert len(offline) == 25 and np.isfinite(offline.va).all()
    frames = {k: pred.physio_frames(k, *raw[k]) for k in KINDS}
    # precomputed frames give the same as raw signals (the bundle's own physiological pipeline)
    np.testing.assert_array_equal(pred.predict(eeg, physio=frames).va, offline.va)
    delays = {k: pred.chain.physio.modality(k).decision_delay_s for k in KINDS}
    events = {k: _live_frames(frames[k], delays[k]) for k in KINDS}
    for trial in range(3):
        pred.reset()
        cuts = np.sort(rng.choice(np.arange(1, len(eeg)), size=12, replace=False))
        parts, pos, given = [], 0, {k: 0 for k in KINDS}
        for chunk in np.split(eeg, cuts):
            now = (pos + len(chunk)) / 200.0  # the stream time this chunk reaches
            physio = {}
            for k in KINDS:  # the frames that became available, handed on one call late on odd trials
                ready = [e for e in events[k][given[k]:] if e[0] <= now - (0.25 if trial % 2 else 0.0)]
                given[k] += len(ready)
                if ready:
                    physio[k] = [(tj, row) for _, tj, row in ready]
            parts.append(pred.step(chunk, physio=physio))
            pos += len(chunk)
        live = parts[0].concatenate(parts)
        np.testing.assert_array_equal(live.time_s, offline.time_s)
        for field in ("va", "base_va", "confidence"):
            # the encoders' float32 matmul over one row (live) and over the whole sequence (offline) may round
            # differently on some CPUs (1e-7 here on an AMD EPYC); a misaligned frame would differ by 1e-2
            np.testing.assert_allclose(getattr(live, field), getattr(offline, field), rtol=0, atol=1e-6)
    # without physiology (all missing) the estimate differs but stays finite, offline and live alike
    pred.reset()
    missing = pred.predict(eeg)
    assert np.isfinite(missing.va).all() and not np.allclose(missing.va, offline.va)
    live = pred.step(eeg, physio={"ecg": None, "eda": np.full(3, np.nan)})
    np.testing.assert_allclose(live.va, missing.va, rtol=0, atol=1e-6)
    with pytest.raises(BundleError, match="time"):
        pred.step(eeg[:10], physio={"ecg": np.ones(9)})
    with pytest.raises(BundleError, match="expects physiological kinds"):
        pred.step(eeg[:10], physio={"resp": None})


def test_as_of_buffer_rule_matches_the_offline_rows():
    frames = np.arange(20.0)[:, None] * np.ones((1, 2))
    frames[7] = np.nan
    rows = asof_rows(frames, 20, 3)
    buf = AsOfBuffer(3, 2, 1.0, 2)
    for j in range(20):
        buf.add(1.0 + j, frames[j])
        np.testing.assert_array_equal(buf.row_for(1.0 + j), rows[j])  # the frame of EEG step j is there in time
    # a frame that has not come yet: the newest older one, up to max_late frames; then missing
    late = AsOfBuffer(3, 2, 1.0, 2)
    late.add(1.0, frames[0])
    assert late.row_for(4.0)[0] == 0 and late.row_for(6.0)[0] == 0 and np.isnan(late.row_for(7.0)).all()
    late.clear()
    assert np.isnan(late.row_for(4.0)).all()


def test_session_needs_a_device_for_every_expected_kind():
    from eegaffect.acquisition.lsl import StreamMismatchError

    from eegaffect.live.modality_status import decode_status
    from eegaffect.live.physio_inputs import SessionPhysio

    with pytest.raises(StreamMismatchError, match=r"no device for \['ecg'\].*allow-missing-physio"):
        SessionPhysio.for_model(None, ["ecg"], 1.0, allow_missing=False)
    physio = SessionPhysio.for_model(None, ["ecg"], 1.0, allow_missing=True)
    assert physio.absent == ["ecg"] and physio.missing_kinds() == ["ecg"]
    assert decode_status(16 * physio.missing_mask(0)) == (0, ["ecg"])
    assert physio.take_new(["ecg"]) == {}


def test_cli_errors_of_the_fused_model_are_one_line(tmp_path, capsys):
    from eegaffect.cli import main

    assert main(["bench", "fusion", "--out", str(tmp_path / "o"), "--no-sim"]) == 2
    assert capsys.readouterr().err.strip() == "eegaffect bench fusion: --no-sim without --deap leaves nothing to run"
    assert main(["bench", "fusion", "--out", str(tmp_path / "o"), "--deap", str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    # train's errors for physiology a dataset lacks: tests/test_models_train_fused.py


def test_fusion_ablation_tables_resume_and_plot(tmp_path, rng):
    from eegaffect.benchmark.fused_ablation import fusion_plot, fusion_table, run_fusion_ablation

    rows = []
    for seed in (0, 1, 2):
        for subject in (0, 1):
            for model, shift in (("fused", 0.2), ("eeg", 0.0), ("fused-no-ecg", 0.1)):
                rows.append({"dataset": "sim", "seed": seed, "subject": subject, "model": model,
                             "valence_ccc": 0.1 + shift + 0.01 * rng.standard_normal(), "arousal_ccc": shift,
                             "valence_rmse": 0.5, "arousal_rmse": 0.5 - shift, "seconds": 1.0})
    (tmp_path / "fusion_rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # every unit is already there: nothing is trained, the rows come back
    assert run_fusion_ablation(tmp_path, (0, 1, 2), persons=(0, 1)) == rows
    table = {e["model"]: e for e in fusion_table(rows, "sim")}
    assert list(table)[0] == "fused"
    assert table["eeg"]["arousal_ccc_diff"] == pytest.approx(0.2) and table["eeg"]["arousal_ccc_n"] == 6
    assert table["eeg"]["valence_ccc_lo"] > 0.15 and table["fused-no-ecg"]["arousal_rmse_diff"] == pytest.approx(-0.1)
    assert fusion_plot(rows, tmp_path / "f.png").stat().st_size > 1000
