"""SEED reader on miniature copies written in the real layout (tests/dataset_fixtures.py)."""

from __future__ import annotations

import logging
import pickle
import shutil
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.io

sys.path.insert(0, str(Path(__file__).parent))

from dataset_fixtures import PREFIXES, SEED_CHANNELS, SEED_LABELS, seed_features, trial_array, write_seed  # noqa: E402

from eegaffect.config import ConfigError  # noqa: E402
from eegaffect.datasets import (  # noqa: E402
    DatasetFormatError,
    EEGDataset,
    LabelMapConfig,
    detect_dataset,
    load_dataset,
    load_extracted_features,
)
from eegaffect.datasets import _matfile  # noqa: E402

N_SUBJECTS, N_SESSIONS = 11, 2


@pytest.fixture(scope="module")
def seed_root(tmp_path_factory) -> Path:
    """11 subjects (so '10_' and '11_' sort before '1_' as strings) x 2 sessions, 1-s trials, with strays."""
    return write_seed(tmp_path_factory.mktemp("seed") / "SEED", n_subjects=N_SUBJECTS, n_sessions=N_SESSIONS,
                      trial_seconds=[1] * 15)


@pytest.fixture
def one_session(tmp_path) -> Path:
    """A one-file SEED copy to break in the error tests."""
    return write_seed(tmp_path / "SEED", n_subjects=1, n_sessions=1, trial_seconds=[1] * 15, features=False,
                      strays=False)


def _session_file(root: Path) -> Path:
    return next((root / "Preprocessed_EEG").glob("1_*.mat"))


def test_structure_and_metadata(seed_root):
    ds = load_dataset(seed_root, "seed")
    assert isinstance(ds, EEGDataset) and ds.name == "seed"
    assert ds.class_names == ("negative", "neutral", "positive") and ds.n_classes == 3
    assert ds.subjects() == list(range(1, N_SUBJECTS + 1))
    assert ds.sessions() == [(s, k) for s in range(1, N_SUBJECTS + 1) for k in range(1, N_SESSIONS + 1)]
    assert len(ds) == N_SUBJECTS * N_SESSIONS * 15
    order = [(t.info.subject, t.info.session, t.info.trial) for t in ds]
    assert order == sorted(order)
    labels = np.array(SEED_LABELS)
    for t in ds.select(subjects=[10], sessions=[2]):
        i = t.info
        code = labels[i.trial - 1]
        assert i.label == code + 1 and i.label_name == {-1: "negative", 0: "neutral", 1: "positive"}[code]
        assert (i.valence, i.arousal) == {-1: (-1.0, 0.5), 0: (0.0, 0.0), 1: (1.0, 0.5)}[code]
        assert i.sfreq == 200.0 and i.ch_names == SEED_CHANNELS and i.n_times == 201 and i.n_chans == 62
        assert i.key == f"{PREFIXES[9]}_eeg{i.trial}" and i.source.name.startswith("10_")
    assert len(ds.source_files()) == N_SUBJECTS * N_SESSIONS
    assert [t.info.trial for t in ds.trials_in(ds.source_files()[3])] == list(range(1, 16))


@pytest.mark.parametrize("subject, session, trial", [(1, 1, 1), (1, 2, 15), (10, 1, 7), (11, 2, 3), (2, 2, 9)])
def test_load_returns_that_trial_time_first(seed_root, subject, session, trial):
    ds = load_dataset(seed_root, "seed")
    (t,) = ds.select(subjects=subject, sessions=session, trials=trial)
    x = t.load()
    assert x.shape == (201, 62) and x.dtype == np.float64 and x.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(x, trial_array(subject, session, trial, 201).T)


def test_building_reads_no_arrays_and_load_reads_one(seed_root, monkeypatch):
    calls: list[tuple[str, tuple]] = []
    real = _matfile.read_variables

    def counting(path, names, **kw):
        calls.append((Path(path).name, tuple(names)))
        return real(path, names, **kw)

    monkeypatch.setattr(_matfile, "read_variables", counting)
    tracemalloc.start()
    try:
        ds = load_dataset(seed_root, "seed")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [c for c in calls if c[0] != "label.mat"] == []
    data_bytes = sum(t.info.n_times * t.info.n_chans * 8 for t in ds)
    assert peak < data_bytes / 10, (peak, data_bytes)  # headers only (measured ~3% here)
    trial = ds.select(subjects=3, sessions=1, trials=4)[0]
    trial.load()
    assert [c for c in calls if c[0] != "label.mat"] == [(trial.info.source.name, (f"{PREFIXES[2]}_eeg4",))]


def test_new_layout_float_labels_and_root_variants(tmp_path):
    root = write_seed(tmp_path / "copy", n_subjects=2, n_sessions=1, trial_seconds=[1] * 15, layout="new",
                      label_dtype=np.float64)
    for where in (root, root / "SEED_EEG", root / "SEED_EEG" / "Preprocessed_EEG"):
        ds = load_dataset(where, "seed")
        assert ds.sessions() == [(1, 1), (2, 1)]
        assert [t.info.label for t in ds.select(subjects=1)] == [c + 1 for c in SEED_LABELS]
    assert detect_dataset(root) == "seed"
    feats = load_extracted_features(root, "seed", "de_LDS")
    assert len(feats) == 30 and feats[0][1].shape == (1, 62, 5) and feats[0][0].sfreq == 1.0
    # the 4-s variant of the newer release, with an asymmetry family (27 electrode pairs, no channel names)
    four = root / "SEED_EEG" / "ExtractedFeatures_4s"
    shutil.copytree(root / "SEED_EEG" / "ExtractedFeatures_1s", four)
    for path in four.glob("*_*.mat"):
        if path.name != "label.mat":
            _rewrite(path, **{f"dasm_LDS{k}": np.full((27, 3, 5), float(k)) for k in range(1, 16)})
    feats = load_extracted_features(root, "seed", "dasm_LDS", window="4s", subjects=[2])
    info, x = feats[6]
    assert info.sfreq == 0.25 and x.shape == (3, 27, 5) and (x == 7.0).all()
    assert info.ch_names == tuple(f"pair{i}" for i in range(1, 28)) and info.subject == 2
    with pytest.raises(ValueError, match=r"window must be one of \['1s', '4s'\]"):
        load_extracted_features(root, "seed", window="2s")


def test_name_none_detects(seed_root):
    ds = load_dataset(seed_root, None, subjects=[3])
    assert ds.name == "seed" and ds.subjects() == [3]


def test_stray_files_skipped_with_debug_log(seed_root, caplog):
    with caplog.at_level(logging.DEBUG, logger="eegaffect.datasets"):
        load_dataset(seed_root, "seed", subjects=[1])
    skipped = " ".join(r.getMessage() for r in caplog.records)
    assert ".DS_Store" in skipped and "readme.txt" in skipped and "subfolder" in skipped


def test_extracted_features_transposed_to_time_first(seed_root):
    feats = load_extracted_features(seed_root, "seed", "de_movingAve", subjects=[11])
    assert [(i.subject, i.session, i.trial) for i, _ in feats] == [(11, s, k) for s in (1, 2) for k in range(1, 16)]
    info, x = feats[17]
    stored = seed_features(11, 2, [1] * 15)[f"de_movingAve{info.trial}"]  # (62, T, 5) as in the file
    np.testing.assert_array_equal(x, stored.transpose(1, 0, 2))
    assert info.key == "de_movingAve3" and info.sfreq == 1.0 and info.n_times == 1 and info.ch_names == SEED_CHANNELS
    assert info.label == SEED_LABELS[2] + 1
    with pytest.raises(DatasetFormatError, match=r"de_LDS.*de_movingAve.*psd_LDS") as err:
        load_extracted_features(seed_root, "seed", "dasm_LDS", subjects=[1])
    assert "1_2013" in str(err.value)


def test_mne_info_has_montage_with_cerebellar_channels(seed_root):
    from eegaffect.montage import channel_positions

    trial = load_dataset(seed_root, "seed", subjects=[1])[0]
    info = trial.mne_info()
    assert info["sfreq"] == 200.0 and info.ch_names == list(SEED_CHANNELS)
    pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    np.testing.assert_allclose(pos, channel_positions(SEED_CHANNELS))
    cb1, o1 = pos[SEED_CHANNELS.index("CB1")], pos[SEED_CHANNELS.index("O1")]
    assert cb1[2] < o1[2]  # below O1


def test_select_and_pickle(seed_root):
    ds = load_dataset(seed_root, "seed")
    sub = ds.select(subjects=[2, 10], trials=range(1, 10))
    assert sub.subjects() == [2, 10] and len(sub) == 2 * N_SESSIONS * 9
    with pytest.raises(ValueError, match=r"no subject \[12\]"):
        ds.select(subjects=[12])
    with pytest.raises(ValueError, match=r"no trial \[16\]"):
        ds.select(trials=16)
    trial = sub[0]
    clone = pickle.loads(pickle.dumps(trial))
    assert clone.info == trial.info
    np.testing.assert_array_equal(clone.load(), trial.load())


def test_label_map_override(seed_root, tmp_path):
    custom = {"seed": {"negative": {"valence": -0.5, "arousal": 0.9}, "neutral": {"valence": 0, "arousal": -0.2},
                       "positive": {"valence": 0.5, "arousal": 0.9}}}
    ds = load_dataset(seed_root, "seed", label_map=custom, subjects=[1])
    assert {(t.info.label_name, t.info.valence, t.info.arousal) for t in ds} == {
        ("negative", -0.5, 0.9), ("neutral", 0.0, -0.2), ("positive", 0.5, 0.9)}
    path = tmp_path / "labels.yaml"
    path.write_text("seed:\n  negative: {valence: -1, arousal: 0}\n  neutral: {valence: 0, arousal: 0}\n")
    with pytest.raises(ConfigError, match="missing \\['positive'\\]"):
        load_dataset(seed_root, "seed", label_map=path)
    path.write_text("seed_iv:\n  happy: {valence: 2, arousal: 0}\n")
    with pytest.raises(ConfigError, match="less than or equal to 1"):
        load_dataset(seed_root, "seed", label_map=path)


def test_annotation_csv_beside_session_file(one_session):
    ds = load_dataset(one_session, "seed")
    assert ds[2].continuous_targets() is None
    src = ds[2].info.source
    csv = src.with_name(f"{src.stem}_{ds[2].info.key}.csv")
    csv.write_text("time_s,valence,arousal\n0.0,0.1,0.2\n0.5,0.3,-0.4\n")
    ds = load_dataset(one_session, "seed")
    np.testing.assert_array_equal(ds[2].continuous_targets(), [[0.0, 0.1, 0.2], [0.5, 0.3, -0.4]])
    csv.write_text("time_s,valence\n0,0.1\n")
    with pytest.raises(DatasetFormatError, match="missing \\['arousal'\\]"):
        ds[2].continuous_targets()
    csv.write_text("time_s,valence,arousal\n1,0.1,0.2\n0.5,0.3,0.4\n")
    with pytest.raises(DatasetFormatError, match="increase"):
        ds[2].continuous_targets()
    csv.write_text("time_s,valence,arousal\n0,0.1,0.2\n1,high,0.2\n")
    with pytest.raises(DatasetFormatError, match=r"line 3: expected numbers.*found \['1', 'high', '0.2'\]"):
        ds[2].continuous_targets()
    csv.write_text("time_s,valence,arousal\n0,1.5,0.2\n")
    with pytest.raises(DatasetFormatError, match=r"\[-1, 1\]"):
        ds[2].continuous_targets()


# ---------------------------------------------------------------------------------------------------------------
# bad input: one clear DatasetFormatError naming the file and what was expected


def test_missing_label_mat(one_session):
    (one_session / "Preprocessed_EEG" / "label.mat").unlink()
    with pytest.raises(DatasetFormatError, match=r"missing label\.mat.*'label' of shape \(1, 15\)"):
        load_dataset(one_session, "seed")


def test_label_mat_wrong_variable_or_codes(one_session):
    label = one_session / "Preprocessed_EEG" / "label.mat"
    scipy.io.savemat(label, {"labels": np.array([SEED_LABELS])})
    with pytest.raises(DatasetFormatError, match=r"label\.mat: expected the variable 'label', found \['labels'\]"):
        load_dataset(one_session, "seed")
    scipy.io.savemat(label, {"label": np.array([[2] + SEED_LABELS[1:]])})
    with pytest.raises(DatasetFormatError, match=r"codes \[-1, 0, 1\], found \[-1\.0, 0\.0, 1\.0, 2\.0\]"):
        load_dataset(one_session, "seed")
    scipy.io.savemat(label, {"label": np.ones((3, 5))})
    with pytest.raises(DatasetFormatError, match=r"found shape \(3, 5\)"):
        load_dataset(one_session, "seed")


def _rewrite(path: Path, **changes) -> None:
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    arrays.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del arrays[key]
    scipy.io.savemat(path, arrays, do_compression=True)


@pytest.mark.parametrize("change, message", [
    ({"djc_eeg4": np.zeros((64, 201))}, r"'djc_eeg4' should have shape \(62, n_times\).*found \(64, 201\)"),
    ({"djc_eeg4": np.zeros(201)}, r"'djc_eeg4' should have shape \(62, n_times\).*found \(1, 201\)"),
    ({"djc_eeg4": np.zeros((201, 62))}, r"found \(201, 62\) \(transposed\?"),
    ({"djc_eeg4": np.zeros((62, 201), dtype=np.int32)}, r"double \(float64\) array, found MATLAB class 'int32'"),
    ({"djc_eeg15": None}, r"expected 15 trial variables djc_eeg1 \.\. djc_eeg15.*missing trials \[15\]"),
    ({"djc_eeg16": np.zeros((62, 201))}, r"found 16; missing trials \[\], unexpected \[16\]"),
    ({"info": np.zeros(3)}, r"unexpected variable\(s\) \['info'\]"),
    ({"jl_eeg1": np.zeros((62, 201))}, r"one prefix, found prefixes \['djc', 'jl'\]"),
])
def test_bad_session_file(one_session, change, message):
    path = _session_file(one_session)
    _rewrite(path, **change)
    with pytest.raises(DatasetFormatError, match=message) as err:
        load_dataset(one_session, "seed")
    assert str(path) in str(err.value)


def test_extracted_features_in_raw_folder(one_session):
    path = _session_file(one_session)
    scipy.io.savemat(path, seed_features(1, 1, [1] * 15), do_compression=True)
    with pytest.raises(DatasetFormatError, match="look like extracted features"):
        load_dataset(one_session, "seed")


def test_truncated_file(one_session):
    path = _session_file(one_session)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(DatasetFormatError, match=r"truncated MAT file: data element \d+ needs bytes") as err:
        load_dataset(one_session, "seed")
    assert str(path) in str(err.value)
    path.write_bytes(raw[:60])
    with pytest.raises(DatasetFormatError, match="expected a MATLAB MAT file"):
        load_dataset(one_session, "seed")


def test_corrupt_compressed_data_fails_at_load(one_session):
    ds = load_dataset(one_session, "seed")
    path = _session_file(one_session)
    raw = bytearray(path.read_bytes())
    start = 128 + 8 + 200  # inside the first variable's zlib stream, after its header
    raw[start:start + 400] = bytes(400)
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetFormatError, match="corrupt or truncated") as err:
        ds[0].load()
    assert str(path) in str(err.value) and "djc_eeg1" in str(err.value)


def test_not_a_mat_file(one_session):
    _session_file(one_session).write_text("this is not MATLAB\n" * 20)
    with pytest.raises(DatasetFormatError, match=r"expected a MATLAB MAT file.*'this is not MATLAB"):
        load_dataset(one_session, "seed")


def test_seed_iv_file_in_seed_folder(one_session):
    path = _session_file(one_session)
    _rewrite(path, **{f"djc_eeg{k}": trial_array(1, 1, k, 201) for k in range(16, 25)})
    with pytest.raises(DatasetFormatError, match=r"expected 15 trial variables.*found 24"):
        load_dataset(one_session, "seed")


def test_no_session_files_and_mixed_folder(tmp_path, one_session):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(DatasetFormatError, match=r"expected a SEED Preprocessed_EEG folder.*found \['notes.txt'\]"):
        load_dataset(empty, "seed")
    with pytest.raises(DatasetFormatError, match="no known dataset layout"):
        detect_dataset(empty)
    (one_session / "eeg_raw_data" / "1").mkdir(parents=True)
    with pytest.raises(DatasetFormatError, match=r"mixed folder.*seed: Preprocessed_EEG/; seed-iv: eeg_raw_data/"):
        detect_dataset(one_session)


def test_unknown_name_and_missing_root(tmp_path):
    with pytest.raises(ValueError, match=r"unknown dataset 'mahnob'; expected one of \['seed', 'seed-iv'"):
        load_dataset(tmp_path, "mahnob")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset(tmp_path / "nope", "seed")


def test_mat_v73_files_are_read_through_h5py(one_session):
    """Copies re-saved with MATLAB's -v7.3 (HDF5) keep MATLAB shapes; h5py shows them transposed."""
    import h5py

    path = _session_file(one_session)
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    path.unlink()
    with h5py.File(path, "w", userblock_size=512) as fh:
        for key, value in arrays.items():
            fh.create_dataset(key, data=np.ascontiguousarray(value.T)).attrs["MATLAB_class"] = b"double"
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 .")
    ds = load_dataset(one_session, "seed")
    np.testing.assert_array_equal(ds[4].load(), trial_array(1, 1, 5, 201).T)


def test_synthetic_seed_from_sim_reads_like_the_fixture(tmp_path):
    """SIM's writer (eegaffect.datasets.synth) and this reader agree on the layout, labels and annotations."""
    from eegaffect.datasets import synth

    summary = synth.write_synthetic_seed(tmp_path / "synth", subjects=2, sessions=2, trial_seconds=2, seed=3,
                                         features=False, show_progress=False)
    ds = load_dataset(summary.root, None)
    assert ds.name == "seed" and ds.sessions() == [(1, 1), (1, 2), (2, 1), (2, 2)] and len(ds) == 4 * 15
    assert ds.source_files() == list(summary.session_files)
    assert [t.info.label for t in ds.select(subjects=2, sessions=2)] == [c + 1 for c in SEED_LABELS]
    for t in ds.select(subjects=2, trials=[1, 15]):
        assert t.info.key == f"{summary.prefixes[2]}_eeg{t.info.trial}" and t.info.n_times == 401
        x = t.load()
        np.testing.assert_array_equal(x, scipy.io.loadmat(t.info.source)[t.info.key].T)
        assert np.isfinite(x).all() and x.std() > 0
        targets = t.continuous_targets()
        assert targets is not None and targets.shape[1] == 3 and targets[0, 0] == 0.0
        assert np.abs(targets[:, 1:]).max() <= 1.0


def test_copy_of_fixture_in_other_folder_reads_identically(seed_root, tmp_path):
    """Reading is a function of the files only (no state kept between datasets)."""
    copy = tmp_path / "copy"
    shutil.copytree(seed_root / "Preprocessed_EEG", copy)
    a = load_dataset(seed_root, "seed", subjects=[11])
    b = load_dataset(copy, "seed", subjects=[11])
    assert [(t.info.subject, t.info.session, t.info.trial, t.info.key) for t in a] == \
        [(t.info.subject, t.info.session, t.info.trial, t.info.key) for t in b]
    np.testing.assert_array_equal(a[20].load(), b[20].load())


def test_label_map_defaults_match_packaged_yaml():
    from eegaffect.config import load_config

    assert load_config(LabelMapConfig, default="labels") == LabelMapConfig()
