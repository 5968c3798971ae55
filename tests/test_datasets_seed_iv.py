"""SEED-IV reader on a miniature copy in the real layout (session folders, built-in label table)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

sys.path.insert(0, str(Path(__file__).parent))

from dataset_fixtures import SEED_CHANNELS, SEED_IV_LABELS, seed_features, trial_array, write_seed_iv  # noqa: E402

from eegaffect.datasets import DatasetFormatError, detect_dataset, load_dataset, load_extracted_features  # noqa: E402


@pytest.fixture(scope="module")
def seed_iv_root(tmp_path_factory) -> Path:
    return write_seed_iv(tmp_path_factory.mktemp("seed_iv") / "SEED_IV", n_subjects=2)


def test_structure_labels_and_targets(seed_iv_root):
    assert detect_dataset(seed_iv_root) == "seed-iv"
    ds = load_dataset(seed_iv_root, "seed-iv")
    assert ds.class_names == ("neutral", "sad", "fear", "happy") and ds.n_classes == 4
    assert ds.sessions() == [(s, k) for s in (1, 2) for k in (1, 2, 3)] and len(ds) == 2 * 3 * 24
    points = {"neutral": (0.0, 0.0), "sad": (-0.7, -0.5), "fear": (-0.7, 0.8), "happy": (0.8, 0.5)}
    for session in (1, 2, 3):
        trials = ds.select(subjects=2, sessions=session)
        assert [t.info.label for t in trials] == SEED_IV_LABELS[session]
        for t in trials:
            assert (t.info.valence, t.info.arousal) == points[t.info.label_name]
            assert t.info.sfreq == 200.0 and t.info.ch_names == SEED_CHANNELS
            assert t.info.source.parent.name == str(session) and t.info.key.startswith("ha_eeg")


@pytest.mark.parametrize("subject, session, trial", [(1, 1, 1), (2, 3, 24), (1, 2, 13)])
def test_load_exact(seed_iv_root, subject, session, trial):
    # root may also be eeg_raw_data itself
    for root in (seed_iv_root, seed_iv_root / "eeg_raw_data"):
        (t,) = load_dataset(root, "seed-iv").select(subjects=subject, sessions=session, trials=trial)
        assert t.info.n_times == 201 + trial
        np.testing.assert_array_equal(t.load(), trial_array(subject, session, trial, 201 + trial).T)


def test_feature_smooth(seed_iv_root):
    feats = load_extracted_features(seed_iv_root, "seed-iv", "de_LDS", subjects=[2])
    assert len(feats) == 3 * 24
    info, x = feats[24 + 5]  # session 2, trial 6
    assert (info.subject, info.session, info.trial) == (2, 2, 6) and info.sfreq == 0.25
    assert info.label == SEED_IV_LABELS[2][5]
    windows = [2 + k % 3 for k in range(24)]
    np.testing.assert_array_equal(x, seed_features(2, 2, windows, families=("de_LDS",))["de_LDS6"].transpose(1, 0, 2))
    with pytest.raises(DatasetFormatError, match=r"families in the file: \['de_LDS', 'de_movingAve'\]"):
        load_extracted_features(seed_iv_root, "seed-iv", "psd_LDS")


def test_errors(tmp_path):
    root = write_seed_iv(tmp_path / "S4", n_subjects=1, sessions=(1,), features=False)
    folder = root / "eeg_raw_data" / "1"
    path = next(folder.glob("1_*.mat"))
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    del arrays["cz_eeg24"]
    scipy.io.savemat(path, arrays, do_compression=True)
    with pytest.raises(DatasetFormatError, match=r"expected 24 trial variables cz_eeg1 \.\. cz_eeg24.*\[24\]"):
        load_dataset(root, "seed-iv")
    scipy.io.savemat(folder / "1_20160601.mat", {"cz_eeg1": np.zeros((62, 10))})
    with pytest.raises(DatasetFormatError, match="one file per subject in a session folder"):
        load_dataset(root, "seed-iv")
    with pytest.raises(DatasetFormatError, match=r"session sub-folders 1/, 2/, 3/"):
        load_dataset(tmp_path, "seed-iv")
    with pytest.raises(ValueError, match="extracted features exist for 'seed' and 'seed-iv' only"):
        load_extracted_features(root, "dreamer")
