"""read_recording on real files of every supported format, written here in each format's own layout."""

from __future__ import annotations

import datetime as dt

import h5py
import numpy as np
import pytest
import scipy.io

from eegaffect.recordings import Recording, read_recording

SFREQ = 250.0
NAMES = ["Fz", "Cz", "Pz"]


@pytest.fixture
def signal(rng) -> np.ndarray:
    """(n_times, n_chans) test signal in microvolts."""
    return (20.0 * rng.standard_normal((500, 3))).astype(np.float64)


def _raw(signal):
    import mne

    info = mne.create_info(NAMES, SFREQ, "eeg")
    raw = mne.io.RawArray(signal.T * 1e-6, info, verbose="error")
    raw.set_meas_date(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    raw.set_annotations(mne.Annotations([0.4, 1.2], [0.0, 0.5], ["stim", "resp"],
                                        orig_time=raw.info["meas_date"]))
    return raw


def _check_against_mne(rec: Recording, path, fmt: str) -> None:
    import mne

    reference = mne.io.read_raw(path, preload=True, verbose="error")
    np.testing.assert_allclose(rec.data, reference.get_data().T * 1e6, rtol=1e-12, atol=1e-9)
    assert rec.data.shape == (500, 3) and rec.data.flags.c_contiguous
    assert (rec.sfreq, rec.ch_names, rec.ch_types, rec.ch_units) == (SFREQ, NAMES, ["eeg"] * 3,
                                                                     ["microvolts"] * 3)
    np.testing.assert_allclose(rec.timestamps, np.arange(500) / SFREQ)
    assert rec.format == fmt and rec.duration == pytest.approx(2.0)


@pytest.mark.parametrize("fmt, suffix, tolerance_uv, prefix", [("edf", ".edf", 0.05, ""),
                                                              ("bdf", ".bdf", 0.001, ""),
                                                              ("brainvision", ".vhdr", 0.2, "Comment/")])
def test_exported_formats(tmp_path, signal, fmt, suffix, tolerance_uv, prefix):
    import mne

    path = tmp_path / f"rec{suffix}"
    mne.export.export_raw(path, _raw(signal), fmt=fmt, verbose="error")
    rec = read_recording(path)
    _check_against_mne(rec, path, fmt)
    np.testing.assert_allclose(rec.data, signal, atol=tolerance_uv)  # quantisation of the format only
    assert [m.values for m in rec.markers] == [[f"{prefix}stim", f"{prefix}resp"]]
    np.testing.assert_allclose(rec.markers[0].timestamps, [0.4, 1.2], atol=1 / SFREQ)


def test_fif(tmp_path, signal):
    path = tmp_path / "rec_raw.fif"
    _raw(signal).save(path, verbose="error")
    rec = read_recording(path)
    _check_against_mne(rec, path, "fif")
    np.testing.assert_allclose(rec.data, signal, rtol=1e-6)
    np.testing.assert_allclose(rec.markers[0].timestamps, [0.4, 1.2], atol=1e-9)
    np.testing.assert_allclose(rec.markers[0].durations, [0.0, 0.5])


def test_eeglab_set(tmp_path, signal):
    """An EEGLAB .set as EEGLAB writes it: a MATLAB struct ``EEG`` with data in microvolts (nbchan, pnts)."""
    path = tmp_path / "rec.set"
    n_ch, n = len(NAMES), signal.shape[0]
    empty = np.array([])
    chanlocs = np.zeros(n_ch, dtype=[("labels", object), ("X", object), ("Y", object), ("Z", object),
                                     ("type", object)])
    for k, name in enumerate(NAMES):
        chanlocs[k] = (name, empty, empty, empty, "EEG")
    event = np.zeros(2, dtype=[("type", object), ("latency", object), ("duration", object)])
    event[0], event[1] = ("stim", 101.0, 0.0), ("resp", 301.0, 0.0)  # latencies are 1-based samples
    eeg = {"setname": "rec", "nbchan": float(n_ch), "trials": 1.0, "pnts": float(n), "srate": SFREQ, "xmin": 0.0,
           "xmax": (n - 1) / SFREQ, "data": signal.T.astype(np.float32), "chanlocs": chanlocs, "event": event,
           "icawinv": empty, "icasphere": empty, "icaweights": empty, "times": np.arange(n) / SFREQ * 1e3,
           "ref": "common", "epoch": empty}
    scipy.io.savemat(path, {"EEG": eeg}, appendmat=False, oned_as="row")
    rec = read_recording(path)
    _check_against_mne(rec, path, "eeglab")
    np.testing.assert_allclose(rec.data, signal.astype(np.float32), rtol=1e-6, atol=1e-4)
    assert rec.markers[0].values == ["stim", "resp"]
    np.testing.assert_allclose(rec.markers[0].timestamps, [0.4, 1.2], atol=1e-9)


def _write_eegaffect_h5(path, signal, timestamps):
    """The recorder's documented layout, written directly (the live round trip is in test_acquisition_recorder)."""
    with h5py.File(path, "w") as f:
        f.attrs.update({"format": "eegaffect-recording", "format_version": 1})
        streams = f.create_group("streams")
        g = streams.create_group("amp")
        g.create_dataset("data", data=signal.astype(np.float32), maxshape=(None, 3), chunks=(64, 3))
        g.create_dataset("timestamps", data=timestamps)
        g.create_dataset("clock_offsets", data=np.zeros((0, 2)))
        g.create_dataset("gaps", data=np.zeros((0, 4)))
        g.attrs.update({"name": "amp", "type": "EEG", "sfreq": SFREQ, "source_id": "amp-1", "ch_names": NAMES,
                        "ch_types": ["eeg"] * 3, "ch_units": ["microvolts"] * 3, "created_at": "now",
                        "eegaffect_version": "0"})
        m = streams.create_group("amp-markers")
        m.create_dataset("data", data=np.array([["go"], ["stop"]], dtype=object), dtype=h5py.string_dtype())
        m.create_dataset("timestamps", data=np.array([timestamps[10], timestamps[300]]))
        m.create_dataset("clock_offsets", data=np.zeros((0, 2)))
        m.create_dataset("gaps", data=np.zeros((0, 4)))
        m.attrs.update({"name": "amp-markers", "type": "Markers", "sfreq": 0.0, "source_id": "amp-1-markers",
                        "ch_names": ["marker"], "ch_types": ["marker"], "ch_units": ["none"],
                        "created_at": "now", "eegaffect_version": "0"})


def test_eegaffect_hdf5(tmp_path, signal):
    path = tmp_path / "rec.h5"
    ts = 1000.0 + np.arange(500) / SFREQ
    _write_eegaffect_h5(path, signal, ts)
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.data, signal.astype(np.float32))
    np.testing.assert_array_equal(rec.timestamps, ts)
    assert (rec.name, rec.format, rec.sfreq, rec.ch_names, rec.ch_units) == ("amp", "hdf5", SFREQ, NAMES,
                                                                             ["microvolts"] * 3)
    assert rec.markers[0].values == ["go", "stop"]
    np.testing.assert_array_equal(rec.markers[0].timestamps, ts[[10, 300]])
    with pytest.raises(ValueError, match="no stream named 'nope'"):
        read_recording(path, stream="nope")
    with pytest.raises(ValueError, match="not regularly sampled"):
        read_recording(path, stream="amp-markers")


def test_xdf(tmp_path, signal):
    from dataset_fixtures import write_xdf

    path = tmp_path / "rec.xdf"
    ts = 50.0 + np.arange(500) / SFREQ
    write_xdf(path, [dict(name="amp", type="EEG", sfreq=SFREQ, ch_names=NAMES, ch_types=["eeg"] * 3, data=signal,
                          timestamps=ts),
                     dict(name="mk", type="Markers", sfreq=0, ch_names=["m"], ch_types=["markers"], data=[["a"]],
                          timestamps=[51.0])])
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.data, signal.astype(np.float32))
    np.testing.assert_allclose(rec.timestamps, ts)
    assert rec.format == "xdf" and rec.ch_names == NAMES and rec.markers[0].values == ["a"]


def test_errors_say_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_recording(tmp_path / "missing.edf")
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not a recording format"):
        read_recording(bad)
    plain = tmp_path / "other.h5"
    with h5py.File(plain, "w") as f:
        f.create_dataset("x", data=[1])
    with pytest.raises(ValueError, match="not an eegaffect recording"):
        read_recording(plain)


def test_open_recording_reads_metadata_then_samples_on_request(tmp_path, signal):
    """HDF5 headers hold no samples: samples written after opening are the ones read_data returns."""
    import pickle

    from eegaffect.recordings import open_recording

    path = tmp_path / "rec.h5"
    ts = 1000.0 + np.arange(500) / SFREQ
    _write_eegaffect_h5(path, signal, ts)
    header = open_recording(path)
    assert (header.format, list(header.streams)) == ("hdf5", ["amp", "amp-markers"])
    amp, markers = header.streams["amp"], header.streams["amp-markers"]
    assert (amp.sfreq, amp.ch_names, amp.n_times, amp.first_timestamp, amp.is_marker) == (SFREQ, tuple(NAMES), 500,
                                                                                         1000.0, False)
    assert markers.is_marker and markers.n_times == 2
    assert len(pickle.dumps(header)) < signal.nbytes / 4  # metadata only
    with h5py.File(path, "a") as f:
        f["streams/amp/data"][:] = 2 * signal.astype(np.float32)
    np.testing.assert_array_equal(header.read_data("amp"), 2 * signal.astype(np.float32))
    np.testing.assert_array_equal(header.read_data("amp", picks=[2, 0]), 2 * signal.astype(np.float32)[:, [2, 0]])
    assert header.read_markers()[0].values == ["go", "stop"]
    with pytest.raises(ValueError, match="holds markers"):
        header.read_data("amp-markers")
    with pytest.raises(ValueError, match=r"picks must lie in \[0, 3\)"):
        header.read_data("amp", picks=[3])
    with h5py.File(path, "a") as f:
        f["streams/amp/data"].resize((400, 3))
    with pytest.raises(ValueError, match="changed since the file was opened: 500 samples expected, 400 found"):
        header.read_data("amp")


def test_units_agree_between_read_recording_and_dataset_reader(tmp_path, rng):
    """MNE holds volts: every voltage channel (not only EEG) comes out in microvolts from both readers."""
    import mne

    from eegaffect.datasets import load_dataset

    uv = 20.0 * rng.standard_normal((3, 300))
    stim = np.zeros((1, 300))
    stim[0, 100] = 5.0
    path = tmp_path / "eog_raw.fif"
    raw = mne.io.RawArray(np.vstack([uv * 1e-6, stim]), mne.create_info(["HEOG", "VEOG", "ECG", "STI"], 100.0,
                                                                          ["eog", "eog", "ecg", "stim"]),
                          verbose="error")
    raw.save(path, verbose="error")
    rec = read_recording(path)
    assert rec.ch_units == ["microvolts"] * 3 + ["V"]
    np.testing.assert_allclose(rec.data[:, :3], uv.T, rtol=1e-6)
    np.testing.assert_array_equal(rec.data[:, 3], stim[0])  # not a voltage channel: as stored
    (trial,) = load_dataset(path, "recording")  # no EEG channel: the dataset keeps every channel
    assert trial.info.ch_names == ("HEOG", "VEOG", "ECG", "STI")
    np.testing.assert_array_equal(trial.load(), rec.data)


def test_missing_channel_metadata_gets_the_lsl_defaults(tmp_path, signal):
    """A recording written without channel attributes falls back to what LSL and XDF readers use."""
    from eegaffect.acquisition.lsl import fill_channel_info

    path = tmp_path / "bare.h5"
    _write_eegaffect_h5(path, signal, 1000.0 + np.arange(500) / SFREQ)
    with h5py.File(path, "a") as f:
        for key in ("ch_names", "ch_types", "ch_units"):
            del f["streams/amp"].attrs[key]
    rec = read_recording(path)
    assert (rec.ch_names, rec.ch_types, rec.ch_units) == (["ch1", "ch2", "ch3"], ["eeg"] * 3, ["unknown"] * 3)
    assert fill_channel_info(["Fz", None], [None, "eog"], [None, None], "") == (
        ["Fz", "ch2"], ["misc", "eog"], ["unknown", "unknown"], ["1 channel names", "1 channel types",
                                                                 "2 channel units"])
    with h5py.File(path, "a") as f:
        f["streams/amp"].attrs["ch_names"] = ["Fz", "Cz"]
    with pytest.raises(ValueError, match="stream 'amp' has 3 channels but 2 ch_names"):
        read_recording(path)


def test_readers_are_one_module_per_format_and_old_paths_re_export_them():
    """The recorder only writes and the player only plays: their reading names are the readers' objects."""
    from eegaffect.acquisition import player, readers, recorder
    from eegaffect.acquisition.readers import hdf5, xdf

    for name in ("load_recording", "read_stream_headers", "open_recording_file", "RecordedStream", "StreamHeader",
                 "FORMAT_NAME", "FORMAT_VERSION"):
        assert getattr(recorder, name) is getattr(readers, name), name
    for name in ("read_xdf", "read_recording_streams", "pick_streams"):
        assert getattr(player, name) is getattr(readers, name), name
    assert readers.load_recording.__module__ == hdf5.__name__ and readers.read_xdf.__module__ == xdf.__name__
