"""Generic recordings as a dataset: eegaffect HDF5, XDF, FIF, EDF and BrainVision files with annotation CSVs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dataset_fixtures import write_eegaffect_h5, write_xdf  # noqa: E402

from eegaffect.datasets import DatasetFormatError, detect_dataset, load_dataset  # noqa: E402

EEG4 = ["Fz", "Cz", "Pz", "Oz"]


def _eeg(rng, n_times, n_chans=4):
    return rng.standard_normal((n_times, n_chans)).astype(np.float32) * 20


def _index_stream(data, sfreq=250.0, name="eeg"):
    """EEG plus a trailing sample-index channel of type misc (dropped by the reader)."""
    idx = np.arange(len(data), dtype=np.float32)[:, None]
    return {"name": name, "type": "EEG", "sfreq": sfreq, "ch_names": EEG4 + ["index"],
            "ch_types": ["eeg"] * 4 + ["misc"], "data": np.hstack([data, idx])}


@pytest.fixture
def folder(tmp_path, rng):
    import mne

    arrays = {}
    (tmp_path / "sub-01" / "ses-01").mkdir(parents=True)
    (tmp_path / "sub-02" / "ses-02").mkdir(parents=True)
    arrays["h5"] = _eeg(rng, 500)
    markers = {"name": "markers", "type": "Markers", "sfreq": 0.0, "data": ["start", "stop"]}
    truth = {"name": "truth", "type": "Affect", "sfreq": 1.0, "ch_names": ["valence", "arousal"],
             "ch_types": ["misc", "misc"], "data": np.zeros((2, 2), dtype=np.float32)}
    write_eegaffect_h5(tmp_path / "sub-01" / "ses-01" / "a.h5", [markers, _index_stream(arrays["h5"]), truth])
    (tmp_path / "sub-01" / "ses-01" / "a.csv").write_text("time_s,valence,arousal\n0,0.5,-0.2\n1,0.1,0.4\n")
    arrays["xdf"] = _eeg(rng, 300)
    write_xdf(tmp_path / "sub-01" / "ses-01" / "b.xdf", [_index_stream(arrays["xdf"], 200.0), markers])
    arrays["fif"] = _eeg(rng, 400, 3).astype(np.float64)
    info = mne.create_info(EEG4[:3] + ["EOG1"], 100.0, ["eeg"] * 3 + ["eog"])
    raw = mne.io.RawArray(np.vstack([arrays["fif"].T, np.zeros((1, 400))]) * 1e-6, info, verbose="error")
    raw.save(tmp_path / "sub-02" / "ses-02" / "c_raw.fif", verbose="error")
    eeg_only = raw.copy().pick("eeg")  # EDF and BrainVision do not store channel types: export EEG only
    mne.export.export_raw(tmp_path / "sub-02" / "ses-02" / "d.edf", eeg_only, fmt="edf", verbose="error")
    mne.export.export_raw(tmp_path / "sub-02" / "ses-02" / "e.vhdr", eeg_only, fmt="brainvision", verbose="error")
    (tmp_path / "notes.txt").write_text("stray\n")
    return tmp_path, arrays


def test_folder_of_recordings(folder):
    root, arrays = folder
    assert detect_dataset(root / "sub-01" / "ses-01") == "recording"
    ds = load_dataset(root, "recording")
    assert ds.name == "recording" and ds.class_names == ()
    summary = [(t.info.subject, t.info.session, t.info.trial, t.info.source.name, t.info.sfreq, t.info.n_times)
               for t in ds]
    assert summary == [(1, 1, 1, "a.h5", 250.0, 500), (1, 1, 2, "b.xdf", 200.0, 300),
                       (2, 2, 1, "c_raw.fif", 100.0, 400), (2, 2, 2, "d.edf", 100.0, 400),
                       (2, 2, 3, "e.vhdr", 100.0, 400)]
    h5, xdf, fif, edf, vhdr = ds.trials
    assert h5.info.ch_names == tuple(EEG4) and xdf.info.ch_names == tuple(EEG4)  # index channel dropped
    assert fif.info.ch_names == edf.info.ch_names == vhdr.info.ch_names == tuple(EEG4[:3])  # EOG dropped
    np.testing.assert_array_equal(h5.load(), arrays["h5"])
    np.testing.assert_array_equal(xdf.load(), arrays["xdf"])
    np.testing.assert_allclose(fif.load(), arrays["fif"], rtol=1e-6, atol=1e-9)  # volts in the file, uV out
    np.testing.assert_allclose(edf.load(), arrays["fif"], atol=0.01)  # EDF stores 16-bit integers
    np.testing.assert_allclose(vhdr.load(), arrays["fif"], atol=0.01)
    assert h5.info.valence == pytest.approx(0.3) and h5.info.arousal == pytest.approx(0.1)
    np.testing.assert_array_equal(h5.continuous_targets(), [[0, 0.5, -0.2], [1, 0.1, 0.4]])
    assert xdf.info.valence is None and xdf.continuous_targets() is None
    info = h5.mne_info()
    assert info.ch_names == EEG4 and info["sfreq"] == 250.0 and np.abs(info["chs"][0]["loc"][:3]).sum() > 0


def test_single_file_and_stream_choice(tmp_path, rng):
    path = tmp_path / "two.h5"
    first, second = _eeg(rng, 50), _eeg(rng, 70)
    write_eegaffect_h5(path, [_index_stream(first, name="cap-a"), _index_stream(second, name="cap-b")])
    with pytest.raises(DatasetFormatError, match=r"two\.h5: expected exactly one EEG stream.*found 2 among.*cap-a"):
        load_dataset(path, "recording")
    ds = load_dataset(path, "recording", stream="cap-b")
    np.testing.assert_array_equal(ds[0].load(), second)
    with pytest.raises(DatasetFormatError, match="expected one stream named 'cap-c'"):
        load_dataset(path, "recording", stream="cap-c")


def test_killed_recorder_file_uses_complete_rows(tmp_path, rng):
    """A recorder killed between flushing data and timestamps leaves one longer than the other."""
    import h5py

    path = tmp_path / "killed.h5"
    data = _eeg(rng, 100)
    write_eegaffect_h5(path, [_index_stream(data)])
    with h5py.File(path, "a") as fh:
        fh["streams/eeg/data"].resize((120, 5))
    ds = load_dataset(path, "recording")
    assert ds[0].info.n_times == 100
    np.testing.assert_array_equal(ds[0].load(), data)


def test_bad_recordings(tmp_path, rng):
    import h5py

    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(DatasetFormatError, match=r"broken\.h5: not a readable HDF5 file"):
        load_dataset(bad, "recording")
    with h5py.File(tmp_path / "other.h5", "w") as fh:
        fh.create_dataset("x", data=np.zeros(3))
    with pytest.raises(DatasetFormatError, match=r"other\.h5: expected an eegaffect recording.*found top-level keys"):
        load_dataset(tmp_path / "other.h5", "recording")
    (tmp_path / "cut.xdf").write_bytes(b"XDF:\x08")
    with pytest.raises(DatasetFormatError, match=r"cut\.xdf: the XDF file holds no stream"):
        load_dataset(tmp_path / "cut.xdf", "recording")
    (tmp_path / "junk.xdf").write_bytes(b"<xml>not xdf</xml>")
    with pytest.raises(DatasetFormatError, match=r"junk\.xdf: expected an XDF file starting 'XDF:', found b'<xml'"):
        load_dataset(tmp_path / "junk.xdf", "recording")
    (tmp_path / "junk_raw.fif").write_bytes(b"not a fif file at all" * 10)
    with pytest.raises(DatasetFormatError, match=r"junk_raw\.fif: MNE cannot read this file"):
        load_dataset(tmp_path / "junk_raw.fif", "recording")
    (tmp_path / "table.csv").write_text("a,b\n")
    with pytest.raises(DatasetFormatError, match=r"expected a recording file.*found 'table\.csv'"):
        load_dataset(tmp_path / "table.csv", "recording")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetFormatError, match="expected recording files"):
        load_dataset(empty, "recording")
    markers_only = tmp_path / "m.xdf"
    write_xdf(markers_only, [{"name": "mk", "type": "Markers", "sfreq": 0, "data": ["a"]}])
    with pytest.raises(DatasetFormatError, match=r"m\.xdf: expected exactly one EEG stream.*mk \(type Markers"):
        load_dataset(markers_only, "recording")


def _truth_stream(values, sfreq, name="eeg-truth", t0=100.0):
    return {"name": name, "type": "AffectTruth", "sfreq": sfreq, "ch_names": ["valence", "arousal"],
            "ch_types": ["valence", "arousal"], "data": values.astype(np.float32), "t0": t0}


@pytest.mark.parametrize("fmt", ["h5", "xdf"])
def test_recorded_ground_truth_stream_gives_continuous_targets(tmp_path, rng, fmt):
    """A simulated session recorded with its {name}-truth stream (type AffectTruth) carries its own targets."""
    eeg = _eeg(rng, 200)
    va = np.column_stack([np.linspace(-0.5, 0.5, 200), np.full(200, 0.25)])
    prediction = {"name": "model", "type": "Affect", "sfreq": 200.0, "ch_names": ["valence", "arousal"],
                  "ch_types": ["misc", "misc"], "data": np.full((200, 2), 0.9, dtype=np.float32)}
    streams = [prediction, _index_stream(eeg, 200.0), _truth_stream(va[:100], 200.0, t0=100.25)]
    path = tmp_path / f"sim.{fmt}"
    (write_eegaffect_h5 if fmt == "h5" else write_xdf)(path, streams)
    (t,) = load_dataset(path, "recording")
    targets = t.continuous_targets()
    assert targets.shape == (100, 3)
    np.testing.assert_allclose(targets[:, 0], 0.25 + np.arange(100) / 200.0, atol=1e-6)  # relative to EEG start
    np.testing.assert_allclose(targets[:, 1:], va[:100], atol=1e-6)  # float32 in the files
    assert t.info.valence == pytest.approx(va[:100, 0].mean(), abs=1e-6) and t.info.arousal == pytest.approx(0.25)
    # a CSV beside the file takes precedence; a prediction stream (type Affect) is never taken as ground truth
    path.with_suffix(".csv").write_text("time_s,valence,arousal\n0,0.1,0.2\n")
    (t,) = load_dataset(path, "recording")
    np.testing.assert_array_equal(t.continuous_targets(), [[0, 0.1, 0.2]])
    path.with_suffix(".csv").unlink()
    (write_eegaffect_h5 if fmt == "h5" else write_xdf)(path, streams[:2])
    (t,) = load_dataset(path, "recording")
    assert t.continuous_targets() is None and t.info.valence is None


def test_trials_stay_lazy_and_picklable(tmp_path, rng):
    """Opening keeps metadata only: samples are read on load, so a file changed after opening is noticed."""
    import pickle

    import h5py

    first = _eeg(rng, 400)
    write_eegaffect_h5(tmp_path / "a.h5", [_index_stream(first)])
    write_xdf(tmp_path / "b.xdf", [_index_stream(first)])
    ds = load_dataset(tmp_path, "recording")
    h5, xdf = (pickle.loads(pickle.dumps(t)) for t in ds.trials)  # trials go to worker processes
    assert len(pickle.dumps(ds.trials)) < first.nbytes / 4
    with h5py.File(tmp_path / "a.h5", "a") as fh:
        fh["streams/eeg/data"][:, :4] = -first
    np.testing.assert_array_equal(h5.load(), -first)
    write_xdf(tmp_path / "b.xdf", [_index_stream(first[:300])])
    with pytest.raises(DatasetFormatError, match=r"b\.xdf: stream 'eeg' changed since the file was opened: 400 "
                                                 "samples expected, 300 found"):
        xdf.load()
