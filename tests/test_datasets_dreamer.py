"""DREAMER reader on a miniature DREAMER.mat built as nested MATLAB structs (scipy record/object arrays)."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

sys.path.insert(0, str(Path(__file__).parent))

from dataset_fixtures import DREAMER_CHANNELS, dreamer_struct, trial_array  # noqa: E402

from eegaffect.datasets import DatasetFormatError, detect_dataset, load_dataset  # noqa: E402

N_SUBJECTS = 3


@pytest.fixture(scope="module")
def dreamer(tmp_path_factory):
    root = tmp_path_factory.mktemp("dreamer")
    mdict, scores = dreamer_struct(N_SUBJECTS, rng=np.random.default_rng(7))
    scipy.io.savemat(root / "DREAMER.mat", mdict, do_compression=True)
    return root, scores


def test_fixture_has_the_documented_index_path(dreamer):
    root, scores = dreamer
    m = scipy.io.loadmat(root / "DREAMER.mat")
    clip = m["DREAMER"][0, 0]["Data"][0, 1]["EEG"][0, 0]["stimuli"][0, 0][4, 0]
    assert clip.shape == (128 + 16 * 4, 14)
    np.testing.assert_array_equal(m["DREAMER"][0, 0]["Data"][0, 1]["ScoreArousal"][0, 0].ravel(), scores["arousal"][1])


def test_structure_and_targets(dreamer):
    root, scores = dreamer
    assert detect_dataset(root) == detect_dataset(root / "DREAMER.mat") == "dreamer"
    ds = load_dataset(root / "DREAMER.mat", "dreamer")
    assert ds.class_names == () and ds.n_classes == 0 and len(ds) == N_SUBJECTS * 18
    assert ds.sessions() == [(s, 1) for s in range(1, N_SUBJECTS + 1)]
    for t in ds:
        i = t.info
        assert i.label is None and i.sfreq == 128.0 and i.ch_names == DREAMER_CHANNELS
        assert i.valence == (scores["valence"][i.subject - 1, i.trial - 1] - 3) / 2
        assert i.arousal == (scores["arousal"][i.subject - 1, i.trial - 1] - 3) / 2
        assert i.n_times == 128 + 16 * (i.trial - 1)
    assert not ds[0].has_baseline and ds[0].load_baseline() is None


def test_load_baseline_classes_and_pickle(dreamer):
    root, scores = dreamer
    ds = load_dataset(root, "dreamer", baseline=True, target_class="arousal", threshold=3)
    assert ds.class_names == ("low", "high")
    (t,) = ds.select(subjects=3, trials=11)
    np.testing.assert_array_equal(t.load(), trial_array(3, 1, 11, 128 + 160, n_chans=14).T)
    np.testing.assert_array_equal(t.load_baseline(), trial_array(3, 0, 11, 256, n_chans=14).T)
    assert t.info.label == int(scores["arousal"][2, 10] > 3)
    x = t.load()
    x[:] = 0  # the caller's copy, not the stored array
    assert t.load().max() > 0
    clone = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(clone.load(), t.load())
    assert clone.info.key == "DREAMER.Data{1,3}.EEG.stimuli{11}"
    with pytest.raises(ValueError, match="target_class must be one of"):
        load_dataset(root, "dreamer", target_class="liking")


def _save(path, mdict):
    scipy.io.savemat(path, mdict, do_compression=True)


def test_bad_files(tmp_path):
    path = tmp_path / "DREAMER.mat"
    _save(path, {"dreamer": np.zeros(3)})
    with pytest.raises(DatasetFormatError, match=r"expected the struct variable 'DREAMER', found \['dreamer'\]"):
        load_dataset(tmp_path, "dreamer")

    mdict, _ = dreamer_struct(1, n_clips=2)
    subj = mdict["DREAMER"][0, 0]["Data"][0, 0]
    subj[0, 0]["EEG"][0, 0]["stimuli"][1, 0] = np.zeros((14, 300))
    _save(path, mdict)
    with pytest.raises(DatasetFormatError, match=r"stimuli\{2\} to be a numeric \(n_samples, 14\).*transposed"):
        load_dataset(tmp_path, "dreamer")

    mdict, _ = dreamer_struct(1, n_clips=2)
    mdict["DREAMER"][0, 0]["Data"][0, 0][0, 0]["ScoreValence"] = np.array([[7], [3]], dtype=np.uint8)
    _save(path, mdict)
    with pytest.raises(DatasetFormatError, match=r"subject 1 clip 1: rating 7 outside the scale \[1, 5\]"):
        load_dataset(tmp_path, "dreamer")

    mdict, _ = dreamer_struct(1, n_clips=2)
    top = mdict["DREAMER"]
    renamed = np.zeros((1, 1), dtype=[(("Datas" if n == "Data" else n), "O") for n in top.dtype.names])
    for n in top.dtype.names:
        renamed[0, 0]["Datas" if n == "Data" else n] = top[0, 0][n]
    _save(path, {"DREAMER": renamed})
    with pytest.raises(DatasetFormatError, match=r"expected the field DREAMER\.Data, found fields"):
        load_dataset(tmp_path, "dreamer")

    path.unlink()
    with pytest.raises(DatasetFormatError, match="expected the file DREAMER.mat"):
        load_dataset(tmp_path, "dreamer")


def test_struct_array_variant_and_single_parse(tmp_path, monkeypatch):
    """``Data`` saved as a 1 x n struct array (not a cell) and electrodes as a char matrix read the same; the file
    is parsed once however many trials are loaded."""
    from eegaffect.datasets import _matfile

    mdict, scores = dreamer_struct(2, n_clips=3)
    top = mdict["DREAMER"]
    cells = top[0, 0]["Data"]
    as_struct = np.zeros((1, 2), dtype=cells[0, 0].dtype)
    for s in range(2):
        as_struct[0, s] = cells[0, s][0, 0]
    top[0, 0]["Data"] = as_struct
    top[0, 0]["EEG_Electrodes"] = np.array(DREAMER_CHANNELS)  # saved as a 14 x 3 char matrix
    scipy.io.savemat(tmp_path / "DREAMER.mat", mdict, do_compression=True)
    calls = []
    real = _matfile.read_variables
    monkeypatch.setattr(_matfile, "read_variables", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    ds = load_dataset(tmp_path, "dreamer")
    assert len(ds) == 6 and ds[0].info.ch_names == DREAMER_CHANNELS
    for t in ds:
        np.testing.assert_array_equal(t.load(), trial_array(t.info.subject, 1, t.info.trial, t.info.n_times, 14).T)
        assert t.info.valence == (scores["valence"][t.info.subject - 1, t.info.trial - 1] - 3) / 2
    assert calls == [["DREAMER"]]
