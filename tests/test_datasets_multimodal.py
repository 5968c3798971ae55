"""DEAP, AMIGOS, WESAD readers and DREAMER's ECG on fixture files written by the tests (tests/multimodal_fixtures.py),
and the restricted unpickler."""

from __future__ import annotations

import logging
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

sys.path.insert(0, str(Path(__file__).parent))

from dataset_fixtures import dreamer_struct, trial_array
from multimodal_fixtures import (
    DEAP_EEG,
    coded,
    dump_py2,
    wesad_subject,
    write_amigos,
    write_deap,
    write_wesad,
)

from eegaffect.datasets import DatasetFormatError, detect_dataset, load_dataset
from eegaffect.datasets._pickle import load_pickle
from eegaffect.datasets.multimodal import MultimodalTrial


# --------------------------------------------------------------------------------------------------------------- DEAP
@pytest.fixture(scope="module")
def deap(tmp_path_factory):
    root = tmp_path_factory.mktemp("deap")
    return root, write_deap(root)


def test_deap_layout_groups_units_and_order(deap):
    root, content = deap
    assert detect_dataset(root) == "deap" and detect_dataset(root / "data_preprocessed_python") == "deap"
    ds = load_dataset(root, "deap")
    assert ds.subjects() == [1, 2, 10]  # numeric order; ._s01.dat and notes skipped
    assert len(ds) == 12 and all(isinstance(t, MultimodalTrial) for t in ds)
    (t,) = ds.select(subjects=10, trials=3)
    assert t.info.ch_names == DEAP_EEG and t.info.sfreq == 128.0 and t.info.n_times == 256
    expected = coded(10, 3, 40, 640).astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(t.load(), expected[:32, 384:].T)  # the EEG group is what load() returns
    np.testing.assert_array_equal(t.load_group("eeg"), t.load())
    np.testing.assert_array_equal(t.load_baseline(), expected[:32, :384].T)
    np.testing.assert_array_equal(t.load_group_baseline("ppg"), expected[38:39, :384].T)
    np.testing.assert_array_equal(t.load_group("emg"), expected[34:36, 384:].T)
    np.testing.assert_allclose(t.load_group("eda"), 1e6 / expected[36:37, 384:].T)  # Ohm -> uS
    units = {g.name: g.unit for g in t.groups.values()}
    assert units == {"eeg": "uV", "eog": "a.u.", "emg": "a.u.", "eda": "uS", "resp": "a.u.", "ppg": "a.u.",
                     "temp": "degC"}
    ratings = content[10]["labels"][2]
    assert t.info.valence == pytest.approx((ratings[0] - 5) / 4)
    assert t.info.arousal == pytest.approx((ratings[1] - 5) / 4)
    assert t.ratings["liking"] == pytest.approx(ratings[3])


def test_deap_threshold_is_configurable(deap):
    root, _ = deap
    strict = load_dataset(root, "deap", target_class="valence").select(trials=1)
    inclusive = load_dataset(root, "deap", target_class="valence", inclusive=True).select(trials=1)
    assert [t.info.label for t in strict] == [0, 0, 0]  # rating exactly 5: low with '>'
    assert [t.info.label for t in inclusive] == [1, 1, 1]  # high with '>='
    assert strict.class_names == ("low", "high")


def test_deap_trial_pickles_and_store_holds_one_subject(deap):
    root, _ = deap
    ds = load_dataset(root, "deap")
    t = pickle.loads(pickle.dumps(ds[5]))
    np.testing.assert_array_equal(t.load_group("temp"), ds[5].load_group("temp"))
    store = ds[0]._group_loader.store
    for trial in ds:
        trial.load()
        assert len(store._items) == 1


def test_deap_layout_errors(tmp_path):
    folder = tmp_path / "data_preprocessed_python"
    folder.mkdir()
    with pytest.raises(DatasetFormatError, match="s01.dat .. s32.dat"):
        load_dataset(tmp_path, "deap")
    dump_py2({"data": np.zeros((2, 33, 500)), "labels": np.ones((2, 4))}, folder / "s01.dat")
    with pytest.raises(DatasetFormatError, match=r"s01.dat.*\(n_trials, 40, n_samples\).*\(2, 33, 500\)"):
        load_dataset(tmp_path, "deap")
    dump_py2({"data": np.zeros((2, 40, 500))}, folder / "s01.dat")
    with pytest.raises(DatasetFormatError, match=r"keys 'data' and 'labels'.*\['data'\]"):
        load_dataset(tmp_path, "deap")
    dump_py2({"data": np.zeros((2, 40, 500)), "labels": np.full((2, 4), 10.0)}, folder / "s01.dat")
    with pytest.raises(DatasetFormatError, match=r"ratings in \[1, 9\]"):
        load_dataset(tmp_path, "deap")
    (folder / "s01.dat").write_bytes(b"\x80\x02}q\x00(U")  # truncated pickle
    with pytest.raises(DatasetFormatError, match="s01.dat: expected a Python pickle"):
        load_dataset(tmp_path, "deap")


# ------------------------------------------------------------------------------------------------- restricted pickle
class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "s01.dat"
    with open(path, "wb") as fh:
        pickle.dump({"data": _Evil(marker), "labels": np.ones((1, 4))}, fh, protocol=2)
    with pytest.raises(DatasetFormatError, match=r"refused to unpickle.*(posix|os)\.system.*can run code"):
        load_pickle(path)
    assert not marker.exists()
    (tmp_path / "data_preprocessed_python").mkdir()
    path.replace(tmp_path / "data_preprocessed_python" / "s01.dat")
    with pytest.raises(DatasetFormatError, match="refused to unpickle"):
        load_dataset(tmp_path, "deap")
    assert not marker.exists()


def test_restricted_unpickler_admits_arrays_of_py2_and_py3_pickles(tmp_path):
    content = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": [np.float64(2.5), ("x", 1)], "c": None}
    for name, write in (("py2", dump_py2), ("py3", lambda o, p: p.write_bytes(pickle.dumps(o, protocol=2)))):
        write(content, tmp_path / name)
        back = load_pickle(tmp_path / name)
        np.testing.assert_array_equal(back["a"], content["a"])
        assert back["b"][0] == 2.5 and back["b"][1] == ("x", 1) and back["c"] is None
    (tmp_path / "obj").write_bytes(pickle.dumps({"a": np.array([{1}], dtype=object)}, protocol=2))
    with pytest.raises(DatasetFormatError, match=r"refused to unpickle.*(builtins|__builtin__)\.set"):
        load_pickle(tmp_path / "obj")


# ------------------------------------------------------------------------------------------------------------- AMIGOS
@pytest.fixture(scope="module")
def amigos(tmp_path_factory):
    root = tmp_path_factory.mktemp("amigos")
    return root, write_amigos(root)


def test_amigos_layout_labels_and_skips(amigos, caplog):
    root, ratings = amigos
    assert detect_dataset(root) == "amigos"
    with caplog.at_level(logging.WARNING, logger="eegaffect"):
        ds = load_dataset(root, "amigos")
    assert ds.subjects() == [1, 2, 10]  # P02 inside its folder; the ._ file and readme skipped
    assert len(ds) == 3 * 18  # trial 3 (NaN GSR) and 18 (empty) skipped per participant
    msgs = [r.getMessage() for r in caplog.records]
    assert any("participant 2 trial 18" in m and "empty" in m for m in msgs)
    assert any("participant 10 trial 3" in m and "NaN" in m and "eda" in m for m in msgs)
    (t,) = ds.select(subjects=2, trials=5)
    x = coded(2, 5, 17, 384).T
    np.testing.assert_array_equal(t.load(), x[:, :14])
    np.testing.assert_array_equal(t.load_group("ecg"), x[:, 14:16])
    np.testing.assert_array_equal(t.load_group("eda"), x[:, 16:])
    sa = ratings[2][5]
    assert t.info.arousal == pytest.approx((sa[0] - 5) / 4) and t.info.valence == pytest.approx((sa[1] - 5) / 4)
    assert t.ratings["familiarity"] == pytest.approx(sa[4]) and set(t.ratings["emotions"]) >= {"neutral", "sadness"}
    assert t.info.session == 1 and ds.select(subjects=2, trials=19)[0].info.session == 2
    targets = t.continuous_targets()
    np.testing.assert_allclose(targets, [[0.0, -0.5, 0.0]])  # one 20-s segment, at its start


def test_amigos_nan_mask_keeps_trial(amigos, caplog):
    root, _ = amigos
    with caplog.at_level(logging.WARNING, logger="eegaffect"):
        ds = load_dataset(root, "amigos", nan="mask")
    assert len(ds) == 3 * 19
    (t,) = ds.select(subjects=1, trials=3)
    assert np.isnan(t.load_group("eda")).sum() == 4 and np.isfinite(t.load()).all()
    assert t.ratings["nan_groups"] == ["eda"]
    assert any("participant 1 trial 3" in r.getMessage() and "kept" in r.getMessage() for r in caplog.records)


def test_amigos_layout_errors(tmp_path):
    with pytest.raises(DatasetFormatError, match="Data_Preprocessed_P01.mat"):
        load_dataset(tmp_path, "amigos")
    joined = np.empty((1, 20), dtype=object)
    for t in range(20):
        joined[0, t] = np.zeros((10, 16))
    scipy.io.savemat(tmp_path / "Data_Preprocessed_P01.mat", {"joined_data": joined,
                                                               "labels_selfassessment": joined, "VideoIDs": joined})
    with pytest.raises(DatasetFormatError, match=r"joined_data\{1\}.*\(n_samples, 17\).*\(10, 16\)"):
        load_dataset(tmp_path, "amigos")
    scipy.io.savemat(tmp_path / "Data_Preprocessed_P01.mat", {"joined_data": joined})
    with pytest.raises(DatasetFormatError, match=r"missing \['VideoIDs', 'labels_selfassessment'\]"):
        load_dataset(tmp_path, "amigos")


# -------------------------------------------------------------------------------------------------------------- WESAD
@pytest.fixture(scope="module")
def wesad(tmp_path_factory):
    root = tmp_path_factory.mktemp("wesad")
    return root, write_wesad(root)


def test_wesad_segments_groups_and_questionnaire(wesad, caplog):
    root, content = wesad
    assert detect_dataset(root) == "wesad"
    with caplog.at_level(logging.WARNING, logger="eegaffect"):
        ds = load_dataset(root, "wesad")
    assert ds.subjects() == [2, 3, 10] and ds.class_names == ("baseline", "stress", "amusement")
    assert any("S3_quest.csv" in r.getMessage() for r in caplog.records)
    assert [t.info.label_name for t in ds.select(subjects=2)] == ["baseline", "stress", "amusement"]
    base, stress, fun = ds.select(subjects=10)
    assert (base.info.valence, base.info.arousal) == (0.5, -0.75)
    assert (stress.info.valence, stress.info.arousal) == (-0.5, 0.75)
    assert (fun.info.valence, fun.info.arousal) == (1.0, 0.0)
    assert ds.select(subjects=3)[0].info.valence is None
    start, stop = 700, 700 + 12 * 700  # baseline follows 1 s of transient
    chest = content[10]["signal"]["chest"]
    np.testing.assert_array_equal(base.load(), chest["ECG"][start:stop])  # ECG is the primary group
    np.testing.assert_array_equal(base.load_group("acc"), chest["ACC"][start:stop])
    np.testing.assert_array_equal(base.load_group("resp"), chest["Resp"][start:stop])
    np.testing.assert_array_equal(base.load_group("wrist_bvp"), content[10]["signal"]["wrist"]["BVP"][64:64 + 12 * 64])
    eda = base.load_group("wrist_eda")
    assert eda.shape == (48, 1) and base.groups["wrist_eda"].sfreq == 4.0 and base.groups["wrist_eda"].unit == "uS"
    assert base.groups["temp"].unit == "degC" and base.groups["wrist_bvp"].kind == "ppg"
    binary = load_dataset(root, "wesad", task="binary")
    assert binary.class_names == ("non-stress", "stress")
    assert [t.info.label for t in binary.select(subjects=2)] == [0, 1, 0]


def test_wesad_layout_errors(tmp_path):
    with pytest.raises(DatasetFormatError, match=r"S<k>/ holding S<k>.pkl"):
        load_dataset(tmp_path, "wesad")
    (tmp_path / "S2").mkdir()
    content = wesad_subject(2)
    del content["signal"]["chest"]["Temp"]
    dump_py2(content, tmp_path / "S2" / "S2.pkl")
    with pytest.raises(DatasetFormatError, match=r"S2.pkl: expected signal\['chest'\]\['Temp'\]"):
        load_dataset(tmp_path, "wesad")
    content = wesad_subject(2)
    content["label"] = content["label"][:-5]
    dump_py2(content, tmp_path / "S2" / "S2.pkl")
    with pytest.raises(DatasetFormatError, match=r"one row per label"):
        load_dataset(tmp_path, "wesad")


# ------------------------------------------------------------------------------------------------------- DREAMER ECG
def test_dreamer_ecg_group(tmp_path):
    mdict, scores = dreamer_struct(2, rng=np.random.default_rng(3))
    scipy.io.savemat(tmp_path / "DREAMER.mat", mdict, do_compression=True)
    plain = load_dataset(tmp_path, "dreamer")
    assert not isinstance(plain[0], MultimodalTrial)  # unchanged without ecg=True
    ds = load_dataset(tmp_path, "dreamer", ecg=True, baseline=True)
    (t,) = ds.select(subjects=2, trials=4)
    n = 128 + 16 * 3
    np.testing.assert_array_equal(t.load(), trial_array(2, 1, 4, n, n_chans=14).T)
    np.testing.assert_array_equal(t.load_group("ecg"), trial_array(2, 2, 4, 2 * n, n_chans=2).T)
    np.testing.assert_array_equal(t.load_group_baseline("ecg"), trial_array(2, 3, 4, 2 * 256, n_chans=2).T)
    assert t.groups["ecg"].sfreq == 256.0 and t.groups["ecg"].unit == "mV"
    assert t.ratings["arousal_class"] == int(scores["arousal"][1, 3] > 3)
    back = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(back.load_group("ecg"), t.load_group("ecg"))
