"""Per-user calibration: the adaptation itself, the calibrated bundle, ``eegaffect calibrate`` offline and live.

The bundle is the demo architecture briefly trained on 14-channel simulated EEG (``perf.live.bench_bundle``);
calibration data come from another simulated subject, so the tests exercise what calibration is for.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS

SFREQ = 200.0


@pytest.fixture(scope="module")
def bundle14(tmp_path_factory):
    from eegaffect.perf.live import bench_bundle

    return bench_bundle(DREAMER_CHANNELS, tmp_path_factory.mktemp("cal-bundle") / "bundle", seed=0)


@pytest.fixture(scope="module")
def predictor(bundle14):
    from eegaffect.models.predictor import Predictor

    return Predictor.load(bundle14)


def _new_subject(seconds: float, seed: int = 11):
    """EEG (n_times, 14) and its valence/arousal (n_times, 2) of a simulated subject the bundle never saw."""
    from eegaffect.acquisition.simulator import SimulatedEEG

    sim = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=seed, subject=seed + 100)
    return sim.generate(int(seconds * SFREQ))


def _frames(predictor, seconds: float, seed: int = 11):
    from eegaffect.calibration import frames_with_labels

    eeg, va = _new_subject(seconds, seed)
    t = np.arange(len(va)) / SFREQ
    return frames_with_labels(predictor, eeg, SFREQ, np.column_stack([t, va]))


def _params(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_normalisation_is_refitted_on_the_calibration_frames(predictor, rng):
    """steps=0 adapts only the statistics: they equal the frames' mean/std, and a constant offset of the features
    (an electrode gain: DE shifts by log(gain)) is cancelled exactly by recalibrating on the offset frames."""
    from eegaffect.calibration import calibrate_chain

    feats, va = _frames(predictor, 40)
    cal, report = calibrate_chain(predictor.chain, [feats], [va], steps=0, match_rate=None)
    np.testing.assert_allclose(cal.mean, feats.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cal.std, feats.std(0), rtol=1e-12)
    assert report["n_frames"] == len(feats) and report["adapted"] == ["normalisation", "readout"]
    # without match_rate the calibrated chain keeps the bundle's output smoother (it used to drop it)
    c = predictor.chain
    assert (cal.smooth_s, cal.trend_s, cal.smooth_labels, cal.hop_s) == (c.smooth_s, c.trend_s, c.smooth_labels,
                                                                         c.hop_s)
    assert cal.smooth_s > 0
    offset = rng.normal(0, 0.7, size=feats.shape[1:])
    cal_shifted, _ = calibrate_chain(predictor.chain, [feats + offset], [va], steps=0)
    np.testing.assert_allclose(cal_shifted.run(feats + offset)["base_va"], cal.run(feats)["base_va"], atol=1e-5)
    # the uncalibrated chain does see the offset
    assert np.abs(predictor.chain.run(feats + offset)["base_va"] - predictor.chain.run(feats)["base_va"]).max() > 1e-3


def test_readout_only_changes_the_heads_and_full_changes_the_network(predictor):
    from eegaffect.calibration import calibrate_chain

    feats, va = _frames(predictor, 45)
    parent = _params(predictor.chain.model)
    _, norm_only = calibrate_chain(predictor.chain, [feats[:25], feats[25:]], [va[:25], va[25:]], steps=0)
    cal, report = calibrate_chain(predictor.chain, [feats[:25], feats[25:]], [va[:25], va[25:]], steps=60, lr=1e-2)
    assert report["loss"][1] < report["loss"][0] and report["steps"] == 60
    # the fitted readout fits its data better than the parent's readout on the recalibrated statistics
    assert report["after"]["valence_ccc"] > norm_only["after"]["valence_ccc"]
    assert report["after"]["arousal_ccc"] > norm_only["after"]["arousal_ccc"]
    after = _params(cal.model)
    changed = {k for k in parent if not np.array_equal(parent[k].numpy(), after[k].numpy())}
    assert changed and all(k.startswith(("transformer.va_head.", "transformer.logvar_head.")) for k in changed)
    assert all(np.array_equal(v.numpy(), _params(predictor.chain.model)[k].numpy()) for k, v in parent.items())
    assert cal.optimizer is predictor.chain.optimizer

    full, rep_full = calibrate_chain(predictor.chain, [feats], [va], steps=5, full=True)
    assert rep_full["lr"] == 3e-4 and calibrate_chain(predictor.chain, [feats], [va])[1]["steps"] == 30
    after = _params(full.model)
    changed = {k for k in parent if not np.array_equal(parent[k].numpy(), after[k].numpy())}
    assert any(k.startswith("vqvae.") for k in changed) and any(k.startswith("transformer.blocks") for k in changed)
    assert not any("codebook" in k or "quantizer" in k for k in changed)
    assert rep_full["adapted"] == ["normalisation", "network"]


@pytest.mark.parametrize("bad, match", [
    (lambda f, v: ([f[:10]], [v[:10]]), "at least 20 labelled frames"),
    (lambda f, v: ([f], [v[:-1]]), "expected features"),
    (lambda f, v: ([f], [np.where(np.arange(len(v))[:, None] == 3, np.nan, v)]), "finite"),
    (lambda f, v: ([f[:, :3]], [v]), "expected features"),
])
def test_unusable_calibration_data_is_refused(predictor, bad, match):
    from eegaffect.calibration import CalibrationError, calibrate_chain

    feats, va = _frames(predictor, 30)
    with pytest.raises(CalibrationError, match=match):
        calibrate_chain(predictor.chain, *bad(feats, va))


def test_calibrated_bundle_records_its_origin_and_is_never_overwritten(bundle14, predictor, tmp_path):
    from eegaffect.calibration import CalibrationData, calibrate_bundle
    from eegaffect.models.predictor import Predictor

    feats, va = _frames(predictor, 30)
    before = {p.name: p.read_bytes() for p in bundle14.iterdir() if p.is_file()}
    data = CalibrationData([feats], [va], source="test-source", labels="test-labels", duration_s=30.0)
    out = calibrate_bundle(bundle14, tmp_path / "user", data, steps=20)
    loaded = Predictor.load(out)
    rec = loaded.meta["calibration"]
    assert rec["source"] == "test-source" and rec["labels"] == "test-labels" and rec["duration_s"] == 30.0
    assert rec["n_frames"] == len(feats) and rec["adapted"] == ["normalisation", "readout"]
    assert rec["parent"]["sha256"] == hashlib.sha256((bundle14 / "bundle.json").read_bytes()).hexdigest()
    assert rec["date"][:4].isdigit()
    np.testing.assert_allclose(loaded.chain.mean, feats.mean(0))
    # the parent is untouched; the calibrated bundle predicts differently on the new subject
    assert before == {p.name: p.read_bytes() for p in bundle14.iterdir() if p.is_file()}
    eeg, _ = _new_subject(12, seed=12)
    assert not np.allclose(loaded.predict(eeg).va, predictor.predict(eeg).va)
    with pytest.raises(FileExistsError, match="never written over"):
        calibrate_bundle(bundle14, out, data, steps=1)
    with pytest.raises(FileExistsError, match="parent bundle"):
        calibrate_bundle(bundle14, bundle14, data, steps=1)


def _write_fif(path, eeg):
    import mne

    info = mne.create_info(list(DREAMER_CHANNELS), SFREQ, "eeg")
    mne.io.RawArray(eeg.T * 1e-6, info, verbose="error").save(path, verbose="error")  # read back as microvolts


def test_cli_calibrates_offline_from_a_recording_with_a_labels_csv(bundle14, tmp_path, capsys):
    from eegaffect.cli import main
    from eegaffect.models.predictor import Predictor

    eeg, va = _new_subject(40)
    rec = tmp_path / "sub-07_raw.fif"
    _write_fif(rec, eeg)
    labels = tmp_path / "stimuli.csv"
    t = np.arange(0, len(va), 20)
    np.savetxt(labels, np.column_stack([t / SFREQ, va[t]]), delimiter=",", header="time_s,valence,arousal",
               comments="", fmt="%.6f")
    out = tmp_path / "user"
    argv = ["calibrate", "--recording", str(rec), "--labels", str(labels), "--model", str(bundle14),
            "--duration", "35", "--steps", "30", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "valence CCC on the calibration data" in printed and f"wrote {out}" in printed
    meta = Predictor.load(out).meta["calibration"]
    assert meta["source"] == str(rec) and meta["labels"] == str(labels)
    assert meta["duration_s"] == pytest.approx(35.0) and 25 <= meta["n_frames"] <= 35

    # the same again: refused, one line, exit 2, the bundle untouched
    stamp = (out / "bundle.json").read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0]
    assert (out / "bundle.json").read_bytes() == stamp


@pytest.mark.parametrize("extra, match", [
    (["--stream", "nowhere"], "--stream needs --duration"),
    (["--recording", "missing.fif", "--duration", "-1"], "--duration must be > 0"),
    (["--recording", "missing.fif"], "does not exist"),
    (["--recording", "REC", "--labels", "nolabels.csv"], "labels file"),
    (["--recording", "REC"], "no ground-truth stream"),
    (["--recording", "REC", "--labels", "BAD"], "time_s"),
    (["--recording", "REC", "--interpolate", "9"], "--interpolate"),
])
def test_cli_bad_input_is_one_line_and_exit_2(bundle14, tmp_path, capsys, extra, match):
    from eegaffect.cli import main

    rec = tmp_path / "rec_raw.fif"
    _write_fif(rec, _new_subject(5)[0])
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    extra = [str(rec) if e == "REC" else str(bad) if e == "BAD" else str(tmp_path / e) if e.endswith(
        (".fif", ".csv")) else e for e in extra]
    assert main(["calibrate", "--model", str(bundle14), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err
    assert not (tmp_path / "o").exists()


@pytest.mark.timeout(120)
def test_cli_calibrates_live_from_the_simulators_truth_stream(bundle14, tmp_path, unique_name, capsys):
    """A simulated headset replays at 4x real time; the labels come from its ``{name}-truth`` stream."""
    from eegaffect.acquisition.simulate import SimulatedHeadset
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.cli import main
    from eegaffect.models.predictor import Predictor

    sim = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=21, subject=121)
    headset = SimulatedHeadset(sim, name=unique_name, speed=4, index_channel=True, duration=60)
    out = tmp_path / "user"
    with headset:
        headset.start(wait_for_consumers=30)  # pushes from its own thread once the calibration's inlets connect
        rc = main(["calibrate", "--stream", unique_name, "--model", str(bundle14), "--labels", "truth",
                   "--duration", "25", "--steps", "20", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    rec = Predictor.load(out).meta["calibration"]
    assert rec["source"] == f"lsl:{unique_name}" and rec["labels"] == f"lsl:{unique_name}-truth"
    assert rec["duration_s"] == pytest.approx(25.0) and rec["n_frames"] >= 20
    assert json.dumps(rec)  # stored as plain JSON


def test_cli_calibrates_offline_from_an_hdf5_recording_with_its_truth_stream(bundle14, tmp_path, capsys):
    """What ``eegaffect live --record`` writes: the EEG stream and its ``{name}-truth`` stream, same LSL clock."""
    from dataset_fixtures import write_eegaffect_h5

    from eegaffect.cli import main
    from eegaffect.models.predictor import Predictor

    eeg, va = _new_subject(40, seed=13)
    step = int(SFREQ / 10)
    rec = tmp_path / "session.h5"
    write_eegaffect_h5(rec, [
        {"name": "sim", "type": "EEG", "sfreq": SFREQ, "data": eeg, "ch_names": list(DREAMER_CHANNELS),
         "ch_types": ["eeg"] * len(DREAMER_CHANNELS), "t0": 100.0},
        {"name": "sim-truth", "type": "AffectTruth", "sfreq": 10.0, "data": va[::step], "ch_names": ["valence",
                                                                                                    "arousal"],
         "t0": 100.0}])
    out = tmp_path / "user"
    assert main(["calibrate", "--recording", str(rec), "--model", str(bundle14), "--steps", "5",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    meta = Predictor.load(out).meta["calibration"]
    assert meta["labels"] == f"{rec} (recorded ground truth)" and meta["duration_s"] == pytest.approx(40.0)
    assert 35 <= meta["n_frames"] <= 40


def test_unit_comes_from_the_channels_used_not_a_dropped_trigger():
    from eegaffect.calibration import _map_channels

    meta = {"ch_names": ["Fz", "Cz", "Pz"], "unit": "V"}
    cmap = _map_channels(["Fz", "Cz", "Pz", "TRIG"], ["microvolts"] * 3 + ["counts"], meta, 0, (), None)
    assert cmap.scale == pytest.approx(1e-6) and cmap.dropped == ["TRIG"]
    assert _map_channels(["Fz", "Cz", "Pz"], ["volts", "microvolts", "volts"], meta, 0, (), None).scale == 1.0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_with_a_calibration_phase_scores_both_bundles(bundle14, tmp_path, unique_name, capsys):
    from eegaffect.cli import main
    from eegaffect.models.predictor import Predictor

    out = tmp_path / "demo"
    assert main(["demo", "--model", str(bundle14), "--headless", "--duration", "6", "--calibrate", "25", "--out",
                 str(out), "--set", "montage=dreamer14", "--set", f"stream_name={unique_name}", "--set",
                 "seed=5"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["updates"] >= 15
    assert "calibration: 25 s" in printed and "uncalibrated: valence CCC" in printed
    assert "  calibrated: valence CCC" in printed
    rec = Predictor.load(out / "calibrated-bundle").meta["calibration"]
    assert rec["source"].startswith("lsl:") and rec["labels"].endswith("-truth") and rec["n_frames"] >= 20
    assert (out / "session.h5").is_file()


def test_demo_refuses_a_calibration_phase_too_short(tmp_path, capsys):
    from eegaffect.cli import main

    assert main(["demo", "--calibrate", "-1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--calibrate" in err[0]
