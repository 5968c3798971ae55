"""The synthetic SEED dataset: exact on-disk layout, the readers agree with it, labels drive the signal."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
import scipy.io
from scipy.signal import periodogram

from eegaffect.acquisition.channels import SEED_CHANNELS
from eegaffect.cli import main
from eegaffect.datasets import synth
from eegaffect.datasets.synth import (
    SEED_FEATURE_BANDS,
    SEED_LABELS,
    SEED_TRIAL_SECONDS,
    seed_trial_trajectory,
    write_synthetic_seed,
)

#: N per trial from DATA_FORMATS.md (written out independently of the module under test).
SEED_N = [47001, 46601, 41201, 47601, 37001, 39001, 47401, 43201, 53001, 47401, 47001, 46601, 47001, 47601, 41201]
FAMILIES = ("de_movingAve", "de_LDS", "psd_movingAve", "psd_LDS")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """2 subjects x 2 sessions x 15 trials of 2 s, with extracted features."""
    root = tmp_path_factory.mktemp("synth") / "SEED"
    summary = write_synthetic_seed(root, subjects=2, sessions=2, trial_seconds=2.0, seed=3, features=True,
                                   show_progress=False)
    return root, summary


def test_preprocessed_layout(tiny):
    root, summary = tiny
    raw = root / "Preprocessed_EEG"
    names = sorted(p.name for p in raw.iterdir())
    sessions = [n for n in names if re.fullmatch(r"\d+_\d{8}\.mat", n)]
    assert len(sessions) == 4 and "label.mat" in names and "readme.txt" in names
    assert [p.name for p in summary.session_files] == sorted(sessions, key=lambda n: (int(n.split("_")[0]), n))
    prefixes = {}
    for name in sessions:
        path = raw / name
        assert path.read_bytes()[:19] == b"MATLAB 5.0 MAT-file"
        # The first data element after the 128-byte header is zlib-compressed (miCOMPRESSED = 15).
        assert np.frombuffer(path.read_bytes()[128:132], dtype=np.uint32)[0] == 15
        info = scipy.io.whosmat(path)
        found = {}
        for var, shape, cls in info:
            m = re.fullmatch(r"(.+)_eeg(\d+)", var)
            assert m, var
            found[int(m.group(2))] = (m.group(1), shape, cls)
        assert sorted(found) == list(range(1, 16))
        assert {p for p, _, _ in found.values()} == {found[1][0]}, "one prefix per file"
        assert all(shape == (62, 401) and cls == "double" for _, shape, cls in found.values())
        prefixes.setdefault(int(name.split("_")[0]), set()).add(found[1][0])
        data = scipy.io.loadmat(path)[f"{found[1][0]}_eeg7"]
        assert data.dtype == np.float64 and data.shape == (62, 401)
        assert 3 < np.std(data) < 200, "microvolts, like SEED"
    assert all(len(p) == 1 for p in prefixes.values()), "a subject keeps its prefix across sessions"
    assert prefixes[1] != prefixes[2]
    assert {s: p.pop() for s, p in prefixes.items()} == summary.prefixes
    label = scipy.io.loadmat(raw / "label.mat")["label"]
    assert label.shape == (1, 15) and label.ravel().tolist() == list(SEED_LABELS)
    assert list(SEED_LABELS) == [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]
    assert "SYNTHETIC" in (raw / "readme.txt").read_text()


def test_sessions_are_dated_a_week_apart(tiny):
    root, _ = tiny
    dates = {}
    for path in (root / "Preprocessed_EEG").glob("*_*.mat"):
        m = re.fullmatch(r"(\d+)_(\d{8})\.mat", path.name)
        if m:
            dates.setdefault(int(m.group(1)), []).append(dt.datetime.strptime(m.group(2), "%Y%m%d").date())
    for days in dates.values():
        days.sort()
        assert all((b - a).days >= 7 for a, b in zip(days, days[1:]))


def test_extracted_features_layout_and_values(tiny):
    root, summary = tiny
    feat = root / "ExtractedFeatures"
    assert sorted(p.name for p in feat.iterdir()) == sorted([p.name for p in summary.feature_files] + ["label.mat"])
    for path in summary.feature_files:
        info = {name: (shape, cls) for name, shape, cls in scipy.io.whosmat(path)}
        assert set(info) == {f"{f}{k}" for f in FAMILIES for k in range(1, 16)}
        assert all(v == ((62, 2, 5), "double") for v in info.values())
    m = scipy.io.loadmat(summary.feature_files[0])
    # Two 1-s windows: the 5-window centred moving average gives both the mean of the two.
    np.testing.assert_allclose(m["psd_movingAve3"][:, 0], m["psd_movingAve3"][:, 1], rtol=1e-12)
    # psd is the PSD behind de = 0.5 ln(2 pi e P): the mean of P is at least the P of the mean DE (AM >= GM).
    gm = np.exp(2 * m["de_movingAve3"]) / (2 * np.pi * np.e)
    assert np.all(m["psd_movingAve3"] >= gm * (1 - 1e-12)) and np.all(m["psd_movingAve3"] < 3 * gm)


def test_trial_features_match_a_scipy_reference(rng):
    """de_movingAve = centred 5-window mean of 0.5 ln(2 pi e P_band), P from scipy's periodogram (SEED's Hann)."""
    eeg = rng.standard_normal((200 * 12 + 1, 3)) * np.array([5.0, 10.0, 20.0])
    out = synth._trial_features(eeg, 200.0, 4)
    n = 12
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1, 201) / 201)
    de = np.empty((n, 3, 5))
    for w in range(n):
        f, p = periodogram(eeg[w * 200:(w + 1) * 200], fs=200.0, window=window, detrend=False, axis=0)
        for b, (lo, hi) in enumerate(SEED_FEATURE_BANDS):
            de[w, :, b] = 0.5 * np.log(2 * np.pi * np.e * p[(f >= lo) & (f < hi)].mean(axis=0))
    ref = np.stack([de[max(0, w - 2):w + 3].mean(axis=0) for w in range(n)])
    np.testing.assert_allclose(out["de_movingAve4"], ref.transpose(1, 0, 2), rtol=1e-9)
    lds = out["de_LDS4"]
    assert lds.shape == (3, n, 5)
    assert np.abs(np.diff(lds, axis=1)).mean() < np.abs(np.diff(de.transpose(1, 0, 2), axis=1)).mean()


def test_reader_agrees(tiny):
    """eegaffect's own SEED reader reads the synthetic dataset: subjects, sessions, labels, data, ground truth."""
    from eegaffect.datasets import detect_dataset, load_dataset

    root, summary = tiny
    assert detect_dataset(root) == "seed"
    ds = load_dataset(root)
    assert ds.subjects() == [1, 2] and len(ds) == 60
    assert ds.sessions() == [(1, 1), (1, 2), (2, 1), (2, 2)]
    names = {1: "positive", 0: "neutral", -1: "negative"}
    for trial in ds:
        assert trial.info.label_name == names[SEED_LABELS[trial.info.trial - 1]]
        assert trial.info.ch_names == SEED_CHANNELS and trial.info.sfreq == 200.0
    trial = ds.select(subjects=2, sessions=2)[4]
    path = summary.session_files[3]
    key = f"{summary.prefixes[2]}_eeg{trial.info.trial}"
    np.testing.assert_array_equal(trial.load(), scipy.io.loadmat(path)[key].T)
    targets = trial.continuous_targets()
    assert targets.shape == (21, 3)
    np.testing.assert_allclose(targets[:, 0], np.arange(21) * 0.1, atol=1e-9)


def test_same_seed_same_data(tiny, tmp_path):
    root, summary = tiny
    again = write_synthetic_seed(tmp_path / "again", subjects=1, sessions=1, trial_seconds=2.0, seed=3,
                                 features=False, show_progress=False)
    assert again.session_files[0].name == summary.session_files[0].name
    a, b = scipy.io.loadmat(again.session_files[0]), scipy.io.loadmat(summary.session_files[0])
    keys = [k for k in a if not k.startswith("__")]
    assert len(keys) == 15
    for key in keys:
        np.testing.assert_array_equal(a[key], b[key])
    other = write_synthetic_seed(tmp_path / "other", subjects=1, sessions=1, trial_seconds=2.0, seed=4,
                                 features=False, show_progress=False)
    c = scipy.io.loadmat(other.session_files[0])
    assert other.prefixes != summary.prefixes or other.session_files[0].name != summary.session_files[0].name
    assert not np.allclose(c[f"{other.prefixes[1]}_eeg1"], a[f"{summary.prefixes[1]}_eeg1"])


def test_labels_drive_trajectory_and_eeg(tmp_path):
    """Positive trials have positive ground-truth valence and more temporal gamma than negative ones."""
    summary = write_synthetic_seed(tmp_path / "d", subjects=1, sessions=1, trial_seconds=30.0, seed=1,
                                   features=True, show_progress=False)
    from eegaffect.acquisition.simulator import trajectory_from_csv

    valence = {1: [], 0: [], -1: []}
    for k, label in enumerate(SEED_LABELS, start=1):
        csv = summary.session_files[0].with_name(f"{summary.session_files[0].stem}_{summary.prefixes[1]}_eeg{k}.csv")
        va = trajectory_from_csv(csv).values
        assert np.all(np.abs(va) <= 0.95)
        valence[label].append(va[len(va) // 2:, 0].mean())  # second half: the emotion has built up
    assert min(valence[1]) > 0.15 and max(valence[-1]) < -0.15 and max(abs(v) for v in valence[0]) < 0.4
    feats = scipy.io.loadmat(summary.feature_files[0])
    t7, t8 = SEED_CHANNELS.index("T7"), SEED_CHANNELS.index("T8")
    gamma = {k: feats[f"de_LDS{k}"][[t7, t8], 10:, 4].mean() for k in range(1, 16)}
    pos = np.mean([gamma[k] for k, lab in enumerate(SEED_LABELS, 1) if lab == 1])
    neg = np.mean([gamma[k] for k, lab in enumerate(SEED_LABELS, 1) if lab == -1])
    assert pos > neg


def test_trajectory_follows_label_with_variation():
    pos = seed_trial_trajectory(1, 60.0, seed=5)
    neg = seed_trial_trajectory(-1, 60.0, seed=5)
    assert pos.times_s[-1] == pytest.approx(60.0) and np.allclose(np.diff(pos.times_s), 0.1)
    assert pos([55.0])[0, 0] > 0.2 and neg([55.0])[0, 0] < -0.2
    assert np.std(pos.values[300:, 0]) > 0.01, "within-trial variation"
    with pytest.raises(ValueError, match="SEED label code"):
        seed_trial_trajectory(2, 10.0, seed=0)


def test_real_trial_lengths(tmp_path):
    """trial_seconds=None gives SEED's exact N per trial (two channels keep this fast)."""
    summary = write_synthetic_seed(tmp_path / "real", subjects=1, sessions=1, trial_seconds=None,
                                   channels=["FP1", "O2"], features=False, line_hz=None, show_progress=False)
    shapes = {name: shape for name, shape, _ in scipy.io.whosmat(summary.session_files[0])}
    prefix = summary.prefixes[1]
    assert [shapes[f"{prefix}_eeg{k}"] for k in range(1, 16)] == [(2, n) for n in SEED_N]
    assert [200 * t + 1 for t in SEED_TRIAL_SECONDS] == SEED_N and sum(SEED_TRIAL_SECONDS) == 3394
    assert summary.seconds_of_eeg == pytest.approx(sum(n / 200 for n in SEED_N))


def test_refuses_to_mix_datasets_unless_overwrite(tmp_path):
    out = tmp_path / "d"
    write_synthetic_seed(out, subjects=1, sessions=2, trial_seconds=1.0, seed=0, features=False,
                         show_progress=False)
    (out / "Preprocessed_EEG" / "my_notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="mix two datasets"):
        write_synthetic_seed(out, subjects=1, sessions=1, trial_seconds=1.0, seed=9, features=False,
                             show_progress=False)
    summary = write_synthetic_seed(out, subjects=1, sessions=1, trial_seconds=1.0, seed=9, features=False,
                                   overwrite=True, show_progress=False)
    left = sorted(p.name for p in (out / "Preprocessed_EEG").glob("*.mat"))
    assert left == sorted([summary.session_files[0].name, "label.mat"])
    assert (out / "Preprocessed_EEG" / "my_notes.txt").read_text() == "keep me"
    assert not list(out.rglob("*.partial"))


def test_bad_arguments():
    with pytest.raises(ValueError, match="subjects"):
        write_synthetic_seed("unused", subjects=0)
    with pytest.raises(ValueError, match="trial_seconds"):
        write_synthetic_seed("unused", trial_seconds=-1.0)


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["datasets", "synth-seed", str(out), "--subjects", "1", "--sessions", "1", "--trial-seconds", "1",
            "--seed", "2", "--set", "features=false"]
    assert main(args) == 0
    assert "wrote 1 session file" in capsys.readouterr().out
    assert len(list((out / "Preprocessed_EEG").glob("1_*.mat"))) == 1
    assert not (out / "ExtractedFeatures").exists()
    assert main(args) == 1
    assert "mix two datasets" in capsys.readouterr().err
    assert main(["datasets", "synth-seed", str(out), "--subjects", "0"]) == 2
    assert "subjects" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["datasets", "synth-seed", str(out), "--real-lengths", "--trial-seconds", "3"])
    assert info.value.code == 2


def test_packaged_config_validates():
    from eegaffect.config import load_config
    from eegaffect.config_schemas import SCHEMAS

    cfg = load_config(SCHEMAS["synth_seed"], default="synth_seed")
    assert cfg.subjects == 3 and cfg.sessions == 3 and cfg.trial_seconds == 60.0 and cfg.features == "auto"
    # What --real-lengths and --set features=no turn into.
    cfg = load_config(SCHEMAS["synth_seed"], None, ["trial_seconds=null", "features=no"], default="synth_seed")
    assert cfg.trial_seconds is None and cfg.features is False


def test_invalid_montage_fails_before_writing(tmp_path):
    with pytest.raises(ValueError, match="EXG1"):
        write_synthetic_seed(tmp_path / "x", channels=["FP1", "EXG1"], show_progress=False)
    assert not (tmp_path / "x").exists()
