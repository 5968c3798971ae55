"""Synthetic DEAP / AMIGOS / WESAD writers (read back through the readers) and the physiology simulator's couplings,
checked with NeuroKit2 as the reference detector."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
from eegaffect.acquisition.sim.physiology import simulate_physiology
from eegaffect.acquisition.simulator import scripted_trajectory

from eegaffect.datasets import load_dataset
from eegaffect.datasets.synth_multimodal import (
    write_synthetic_amigos,
    write_synthetic_deap,
    write_synthetic_wesad,
)


def _raw_pickle(path):
    with open(path, "rb") as fh:  # our own file: a plain load is fine here
        return pickle.load(fh, encoding="latin1")


def test_deap_writer_reads_back_identically(tmp_path):
    summary = write_synthetic_deap(tmp_path / "d", subjects=2, trials=3, trial_seconds=4, seed=5)
    ds = load_dataset(tmp_path / "d", None)
    assert ds.name == "deap" and ds.subjects() == [1, 2] and len(ds) == 6
    raw = _raw_pickle(summary.files[1])
    assert raw["data"].shape == (3, 40, 7 * 128) and raw["labels"].shape == (3, 4)
    (t,) = ds.select(subjects=2, trials=3)
    x = raw["data"][2].astype(np.float64)
    np.testing.assert_array_equal(t.load(), x[:32, 384:].T)
    np.testing.assert_array_equal(t.load_group_baseline("eeg"), x[:32, :384].T)
    np.testing.assert_allclose(t.load_group("eda"), 1e6 / x[36:37, 384:].T)
    assert 0.5 < np.median(t.load_group("eda")) < 20  # plausible uS after the Ohm conversion
    assert t.info.valence == pytest.approx((raw["labels"][2, 0] - 5) / 4)
    again = write_synthetic_deap(tmp_path / "e", subjects=2, trials=3, trial_seconds=4, seed=5)
    assert again.files[1].read_bytes() == summary.files[1].read_bytes()  # seeded: same files


def test_amigos_writer_reads_back_identically(tmp_path, caplog):
    summary = write_synthetic_amigos(tmp_path / "a", subjects=2, short_seconds=20, long_seconds=40, seed=1,
                                     missing_long=1)
    ds = load_dataset(tmp_path / "a", None)
    assert ds.name == "amigos" and len(ds) == 39  # the last participant's trial 20 is empty and skipped
    assert any("participant 2 trial 20" in r.getMessage() for r in caplog.records)
    m = scipy.io.loadmat(summary.files[0])
    (t,) = ds.select(subjects=1, trials=17)
    joined = m["joined_data"][0, 16]
    np.testing.assert_array_equal(t.load(), joined[:, :14])
    np.testing.assert_array_equal(t.load_group("ecg"), joined[:, 14:16])
    sa = m["labels_selfassessment"][0, 16].ravel()
    assert t.info.arousal == pytest.approx((sa[0] - 5) / 4) and t.info.valence == pytest.approx((sa[1] - 5) / 4)
    targets = t.continuous_targets()
    np.testing.assert_allclose(targets[:, 0], [0.0, 20.0])
    np.testing.assert_allclose(targets[:, 1:], m["labels_ext_annotation"][0, 16][:, 1:])


def test_wesad_writer_reads_back_identically(tmp_path):
    summary = write_synthetic_wesad(tmp_path / "w", subjects=2, baseline_seconds=20, stress_seconds=15,
                                    amusement_seconds=12, meditation_seconds=10, seed=2)
    ds = load_dataset(tmp_path / "w", None)
    assert ds.name == "wesad" and ds.subjects() == [2, 3]
    assert [t.info.label_name for t in ds.select(subjects=3)] == ["baseline", "amusement", "stress"]
    raw = _raw_pickle(summary.files[0])
    base, stress, fun = ds.select(subjects=2)
    start = int(np.flatnonzero(raw["label"] == 2)[0])
    n = stress.groups["ecg"].n_times
    np.testing.assert_array_equal(stress.load(), raw["signal"]["chest"]["ECG"][start:start + n])
    a = int(round(start * 64 / 700))
    np.testing.assert_array_equal(stress.load_group("wrist_bvp"), raw["signal"]["wrist"]["BVP"][a:a + 15 * 64])
    assert stress.info.arousal > base.info.arousal and fun.info.valence > stress.info.valence  # SAM rows


def test_writers_refuse_a_non_empty_folder(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    for write in (write_synthetic_deap, write_synthetic_amigos, write_synthetic_wesad):
        with pytest.raises(FileExistsError, match="not an empty folder"):
            write(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "eegaffect", "datasets", "synth-deap", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "not an empty folder" in proc.stderr


def _rates(out, fs):
    import neurokit2 as nk

    _, info = nk.ecg_peaks(out["ecg"][:, 0], sampling_rate=fs["ecg"])
    hr = 60.0 / np.diff(info["ECG_R_Peaks"] / fs["ecg"]).mean()
    rsp = nk.rsp_rate(nk.rsp_clean(out["resp"][:, 0], sampling_rate=fs["resp"]), sampling_rate=fs["resp"]).mean()
    return hr, rsp


@pytest.mark.parametrize("scale", [1.0, 0.0])
def test_physio_couplings_against_neurokit2(scale):
    fs = {"ecg": 256.0, "resp": 64.0, "eda": 32.0, "temp": 4.0, "emg_zygomaticus": 256.0, "emg_trapezius": 256.0}
    outs = {}
    for v, a in ((-0.8, -0.8), (0.8, 0.8)):
        outs[(v, a)] = simulate_physiology(fs, 180.0, scripted_trajectory([(0, v, a)]), seed=3, subject=4,
                                           effect_scale=scale)
    low, high = outs[(-0.8, -0.8)], outs[(0.8, 0.8)]
    if scale == 0:  # null control: nothing depends on the trajectory
        for k in fs:
            np.testing.assert_array_equal(low[k], high[k])
        return
    (hr_lo, rsp_lo), (hr_hi, rsp_hi) = _rates(low, fs), _rates(high, fs)
    assert 50 < hr_lo < hr_hi - 5 < 110  # arousal raises heart rate (R peaks found by NeuroKit2)
    assert 8 < rsp_lo < rsp_hi - 2 < 30  # and breathing rate
    assert high["eda"].mean() > low["eda"].mean() + 0.5  # and skin conductance
    import neurokit2 as nk

    scrs = [len(nk.eda_peaks(nk.eda_phasic(x["eda"][:, 0], sampling_rate=32)["EDA_Phasic"].to_numpy(),
                             sampling_rate=32)[1]["SCR_Peaks"]) for x in (low, high)]
    assert scrs[1] > scrs[0] > 0  # and the SCR rate (NeuroKit2's SCR peaks)
    assert high["emg_trapezius"].std() > 1.5 * low["emg_trapezius"].std()  # and muscle tone
    assert high["emg_zygomaticus"].std() > 1.5 * low["emg_zygomaticus"].std()  # positive valence: zygomaticus
    assert high["temp"][-40:].mean() < low["temp"][-40:].mean()  # vasoconstriction cools the skin
