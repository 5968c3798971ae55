"""Calibration of fused bundles (EEG + physiological devices): the device frames are collected beside the EEG and
paired by the bundle's as-of rule, every input's normalisation and the readout on the fused latent are adapted,
and the calibrated bundle stays a fused bundle; offline from a recording with its device streams and live over
real LSL. Also the output smoother's time constants chosen on the calibration data (both kinds of bundle).

The bundle is a tiny fused EEG (DREAMER 14 channels) + ECG model trained on two simulated sessions of one person;
calibration data come from a new session of another person.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from eegaffect.acquisition.channels import DREAMER_CHANNELS

SFREQ = 200.0
ECG_SFREQ = 256.0


@pytest.fixture(scope="module")
def predictor(ecg_bundle):
    from eegaffect.models.predictor import Predictor

    return Predictor.load(ecg_bundle)


def _session(seconds: float, seed: int = 31, subject: int = 105):
    """EEG (n, 14), its V/A (n, 2) and the same person's ECG (m,) at 256 Hz of a session the bundle never saw."""
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    src = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=seed, subject=subject)
    eeg, va = src.generate(int(seconds * SFREQ))
    ecg = simulate_physiology({"ecg": ECG_SFREQ}, seconds, src.trajectory, seed=seed, subject=subject)["ecg"][:, 0]
    return eeg, va, ecg


def _paired(predictor, seconds: float = 45.0, **kw):
    from eegaffect.calibration import paired_frames

    eeg, va, ecg = _session(seconds, **kw)
    t = np.arange(len(va)) / SFREQ
    return paired_frames(predictor, eeg, SFREQ, np.column_stack([t, va]), {"ecg": (ecg, ECG_SFREQ)})


def test_device_frames_are_paired_by_the_bundles_asof_rule(predictor):
    """The rows calibration sees are the ones Predictor.predict feeds the model: frame k uses frame k - lag."""
    from eegaffect.calibration import device_signal, paired_frames

    eeg, va, ecg = _session(40.0)
    t = np.arange(len(va)) / SFREQ
    feats, got_va, rows = paired_frames(predictor, eeg, SFREQ, np.column_stack([t, va]), {"ecg": (ecg, ECG_SFREQ)})
    frames = predictor.physio_frames("ecg", ecg, ECG_SFREQ)
    lag = predictor.chain.physio.modality("ecg").lag
    assert lag >= 1 and rows["ecg"].shape == (len(feats), frames.shape[1])
    # every labelled EEG frame is kept here (the label track covers the EEG), so row k is frame k - lag
    np.testing.assert_array_equal(rows["ecg"][lag:], frames[:len(feats) - lag])
    assert np.isnan(rows["ecg"][:lag]).all()
    # a device that starts 2 s after the EEG is padded with NaN (its missing-sample marker), earlier samples dropped
    times = np.arange(len(ecg)) / ECG_SFREQ
    late = device_signal(ecg, times + 2.0, ECG_SFREQ)
    assert np.isnan(late[:512]).all() and np.array_equal(late[512:], ecg)
    early = device_signal(ecg, times - 1.0, ECG_SFREQ)
    np.testing.assert_array_equal(early, ecg[256:])
    # lost samples leave NaN in their slots; the samples after the gap keep their time
    kept = np.r_[0:1000, 1200:len(ecg)]
    gap = device_signal(ecg[kept], times[kept], ECG_SFREQ)
    assert len(gap) == len(ecg) and np.isnan(gap[1000:1200]).all()
    np.testing.assert_array_equal(gap[kept], ecg[kept])


def test_fused_calibration_adapts_every_inputs_normalisation_and_the_readout_on_the_fused_latent(predictor):
    from eegaffect.calibration import calibrate_chain

    feats, va, rows = _paired(predictor)
    parent = predictor.chain
    cal, report = calibrate_chain(parent, [feats], [va], physio=[rows], steps=20, match_rate=None,
                                  physio_rescale=True)
    ecg = rows["ecg"]
    spec, old = cal.physio.modality("ecg"), parent.physio.modality("ecg")
    adapted = report["physio_normalisation"]["ecg"]
    assert adapted and set(adapted) <= set(spec.feature_names)
    for j, name in enumerate(spec.feature_names):
        col = ecg[:, j][np.isfinite(ecg[:, j])]
        if name in adapted:
            assert spec.mean[j] == pytest.approx(col.mean()) and spec.std[j] == pytest.approx(col.std())
        else:  # too few finite values: the parent's statistics stay
            assert spec.mean[j] == old.mean[j] and spec.std[j] == old.std[j]
    np.testing.assert_allclose(cal.mean, feats.mean(0), rtol=1e-12)
    assert spec.lag == old.lag and cal.physio.kinds == ["ecg"]
    # readout only: the heads move, the EEG encoder, the transformer trunk and the physiological encoders do not
    a, b = parent.model.state_dict(), cal.model.state_dict()
    moved = {k for k in a if not torch.equal(a[k], b[k])}
    assert moved and all(k.startswith(("transformer.va_head", "transformer.logvar_head")) for k in moved)
    assert report["adapted"] == ["normalisation", "physio-normalisation", "readout"]
    assert report["after"]["valence_ccc"] is not None
    # by default the physiological features' means (offsets) come from the calibration data and their scales stay
    # the parent's; rescale=False does the same for the EEG
    default, _ = calibrate_chain(parent, [feats], [va], physio=[rows], steps=0, match_rate=None)
    np.testing.assert_allclose(default.std, feats.std(0), rtol=1e-12)
    np.testing.assert_array_equal(default.physio.modality("ecg").std, old.std)
    np.testing.assert_allclose(default.physio.modality("ecg").mean, spec.mean)
    offsets, _ = calibrate_chain(parent, [feats], [va], physio=[rows], steps=0, match_rate=None, rescale=False)
    np.testing.assert_allclose(offsets.mean, feats.mean(0), rtol=1e-12)
    np.testing.assert_array_equal(offsets.std, parent.std)
    np.testing.assert_array_equal(offsets.physio.modality("ecg").std, old.std)


def test_fused_calibration_needs_the_device_frames_and_eeg_only_refuses_them(predictor):
    from eegaffect.calibration import CalibrationError, calibrate_chain
    from eegaffect.models.chain import EEGDancerChain

    feats, va, rows = _paired(predictor, 30.0)
    with pytest.raises(CalibrationError, match="fuses EEG with"):
        calibrate_chain(predictor.chain, [feats], [va])
    with pytest.raises(CalibrationError, match="expected ecg frames of shape"):
        calibrate_chain(predictor.chain, [feats], [va], physio=[{"ecg": rows["ecg"][:-1]}])
    with pytest.raises(CalibrationError, match="fuses"):
        calibrate_chain(predictor.chain, [feats], [va], physio=[{"eda": rows["ecg"]}])
    model = type(predictor.chain.model)(predictor.chain.n_chans, predictor.chain.n_bands,
                                        vqvae={"d_model": 8, "dilations": [1, 2]},
                                        transformer={"d_model": 8, "n_heads": 2, "n_layers": 1})
    eeg_only = EEGDancerChain(model, predictor.chain.mean, predictor.chain.std)
    with pytest.raises(CalibrationError, match="EEG-only"):
        calibrate_chain(eeg_only, [feats], [va], physio=[rows])


@pytest.mark.parametrize("match_rate", [1e3, 1e-3, 1.2])
def test_smoother_is_scaled_by_the_smallest_factor_whose_output_matches_the_labels_rate(predictor, match_rate):
    """Chosen on the calibration frames only: the output of the chosen smoother moves at most ``match_rate`` times
    as fast as the labels, and the next smaller factor would not (or the largest factor when none does)."""
    from eegaffect.calibration import SMOOTH_FACTORS, calibrate_chain

    feats, va, rows = _paired(predictor, 45.0)
    cal, report = calibrate_chain(predictor.chain, [feats], [va], physio=[rows], steps=20, match_rate=match_rate)
    sm = report["smoother"]
    hop = predictor.chain.hop_s
    truth = np.abs(np.diff(va, axis=0)).mean(0) / hop
    out = np.abs(np.diff(cal.run(feats, rows)["va"].astype(np.float64), axis=0)).mean(0) / hop
    np.testing.assert_allclose(sm["labels_rate_per_s"], truth)
    np.testing.assert_allclose(sm["output_rate_per_s"], out, rtol=1e-4)
    assert cal.smooth_s == pytest.approx(predictor.chain.smooth_s * sm["factor"])
    assert cal.trend_s == pytest.approx(predictor.chain.trend_s * sm["factor"])
    ok = [np.all(np.asarray(t["rate_per_s"]) <= match_rate * truth) for t in sm["tried"]]
    if any(ok):
        assert ok[-1] and not any(ok[:-1])
    else:
        assert sm["factor"] == SMOOTH_FACTORS[-1]
    if match_rate == 1e3:
        assert sm["factor"] == 1.0 and "smoother" not in report["adapted"]
    if match_rate == 1e-3:
        assert sm["factor"] == SMOOTH_FACTORS[-1] and "smoother" in report["adapted"]


def _write_session_h5(path, seconds: float, seed: int, with_ecg: bool = True):
    from dataset_fixtures import write_eegaffect_h5

    eeg, va, ecg = _session(seconds, seed=seed)
    step = int(SFREQ / 10)
    streams = [{"name": "sim", "type": "EEG", "sfreq": SFREQ, "data": eeg, "ch_names": list(DREAMER_CHANNELS),
                "ch_types": ["eeg"] * len(DREAMER_CHANNELS), "t0": 100.0},
               {"name": "sim-truth", "type": "AffectTruth", "sfreq": 10.0, "data": va[::step],
                "ch_names": ["valence", "arousal"], "t0": 100.0}]
    if with_ecg:  # the device started 1.5 s before the EEG (its first samples are dropped)
        streams.append({"name": "sim-ecg", "type": "ECG", "sfreq": ECG_SFREQ,
                        "data": np.concatenate([np.zeros(int(1.5 * ECG_SFREQ)), ecg])[:, None],
                        "ch_names": ["ecg"], "t0": 98.5})
    write_eegaffect_h5(path, streams)
    return eeg, va, ecg


def test_cli_calibrates_a_fused_bundle_offline_from_a_recording_with_its_device_stream(ecg_bundle, predictor,
                                                                                        tmp_path, capsys):
    from eegaffect.calibration import paired_frames, score_recording
    from eegaffect.cli import main
    from eegaffect.models.bundle import FUSED_BUNDLE_VERSION
    from eegaffect.models.predictor import Predictor

    rec = tmp_path / "session.h5"
    eeg, va, ecg = _write_session_h5(rec, 45.0, seed=33)
    out = tmp_path / "user"
    assert main(["calibrate", "--recording", str(rec), "--model", str(ecg_bundle), "--steps", "10",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "ecg: normalisation of" in printed and "output smoother x" in printed
    doc = json.loads((out / "bundle.json").read_text())
    assert doc["format_version"] == FUSED_BUNDLE_VERSION and doc["modalities"]["physio"][0]["kind"] == "ecg"
    cal = Predictor.load(out)
    rec_meta = cal.meta["calibration"]
    assert cal.physio_kinds == ["ecg"] and rec_meta["devices"] == {"ecg": "sim-ecg"}
    assert "physio-normalisation" in rec_meta["adapted"] and 40 <= rec_meta["n_frames"] <= 45
    # the recorded ECG, placed by its stamps, gives the statistics of the ECG aligned with the EEG
    t = np.arange(len(va)) / SFREQ
    _, _, rows = paired_frames(predictor, eeg, SFREQ, np.column_stack([t, va]), {"ecg": (ecg, ECG_SFREQ)})
    spec = cal.chain.physio.modality("ecg")
    for j, name in enumerate(spec.feature_names):
        if name in rec_meta["physio_normalisation"]["ecg"]:
            col = rows["ecg"][:, j][np.isfinite(rows["ecg"][:, j])]
            assert spec.mean[j] == pytest.approx(col.mean(), rel=1e-6)
    # scoring a fused bundle on the recording feeds it the recorded device
    scores = score_recording(out, rec)
    assert scores["n_frames"] >= 40 and scores["valence_ccc"] is not None


def test_cli_refuses_a_fused_bundle_on_a_recording_without_its_device(ecg_bundle, tmp_path, capsys):
    from eegaffect.cli import main

    rec = tmp_path / "eeg-only.h5"
    _write_session_h5(rec, 30.0, seed=34, with_ecg=False)
    assert main(["calibrate", "--recording", str(rec), "--model", str(ecg_bundle), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none for ['ecg']" in err[0], err
    assert not (tmp_path / "o").exists()


@pytest.mark.timeout(150)
def test_cli_calibrates_a_fused_bundle_live_from_the_persons_eeg_truth_and_ecg(ecg_bundle, tmp_path, unique_name,
                                                                              capsys):
    """A simulated person streams EEG, truth and an ECG device over LSL at 4x real time; ``--physio`` is left to
    its default ``{stream}-ecg``."""
    from eegaffect.acquisition.sim import DeviceSpec, SimulatedEEG, SimulatedPerson

    from eegaffect.cli import main
    from eegaffect.models.predictor import Predictor

    person = SimulatedPerson(SimulatedEEG(DREAMER_CHANNELS, SFREQ, seed=36, subject=105),
                             [DeviceSpec("ecg", ECG_SFREQ)], name=unique_name, index_channel=True, duration=60.0,
                             speed=4, seed=36, subject=105)
    out = tmp_path / "user"
    with person:
        person.start(wait_for_consumers=30)
        rc = main(["calibrate", "--stream", unique_name, "--model", str(ecg_bundle), "--duration", "30",
                   "--steps", "10", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    cal = Predictor.load(out)
    rec = cal.meta["calibration"]
    assert rec["source"] == f"lsl:{unique_name}" and rec["devices"] == {"ecg": f"{unique_name}-ecg"}
    assert rec["n_frames"] >= 25 and cal.physio_kinds == ["ecg"]
    # the ECG arrived and was featurised: its heart-rate statistics come from the calibration data
    assert rec["physio_normalisation"]["ecg"]
    assert json.dumps(rec)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_calibrates_a_fused_bundle_on_the_devices_and_scores_both_bundles_with_them(ecg_bundle, tmp_path,
                                                                                         unique_name, capsys):
    """The demo's calibration phase collects the person's ECG device with the EEG; the session runs the calibrated
    fused bundle, and the summary scores parent and calibrated bundle on the recording with its device."""
    from eegaffect.cli import main
    from eegaffect.models.predictor import Predictor

    out = tmp_path / "demo"
    assert main(["demo", "--model", str(ecg_bundle), "--headless", "--duration", "8", "--calibrate", "25",
                 "--physio", "ecg", "--out", str(out), "--set", "montage=dreamer14", "--set",
                 f"stream_name={unique_name}", "--set", "seed=5"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["updates"] >= 20 and "uncalibrated: valence CCC" in printed
    cal = Predictor.load(out / "calibrated-bundle")
    rec = cal.meta["calibration"]
    assert cal.physio_kinds == ["ecg"] and list(rec["devices"]) == ["ecg"]
    assert rec["devices"]["ecg"].endswith("-ecg") and rec["n_frames"] >= 20
    scores = summary["calibration"]
    assert scores["calibrated"]["n_frames"] >= 4 and scores["uncalibrated"]["n_frames"] >= 4
