"""``eegaffect physio``: real recordings in, events/features/figure out; bad input is one line and exit 2."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from eegaffect.cli import main
from eegaffect.kernels import physio_base
from physio_helpers import ecg_template, kind_signal, package_file, place, regular_beats


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("eegaffect physio: ") and "Traceback" not in err, err
    return lines[0]


def test_opensignals_ecg_gives_beats_features_and_figure(tmp_path, capsys):
    path = package_file("pyhrv", "files/SampleECG.txt")
    out = tmp_path / "out"
    assert main(["physio", str(path), "--kind", "ecg", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1000 Hz" in printed and "SampleECG.txt:A2" in printed  # rate and channel from the header
    events = _rows(out / "events.csv")
    assert len(events) >= 25 and {e["type"] for e in events} == {"beat"}
    assert list(events[0])[:3] == ["time_s", "type", "sample"] and "ibi_s" in events[0] and "flags" in events[0]
    assert float(events[1]["time_s"]) == pytest.approx(int(events[1]["sample"]) / 1000.0)
    features = _rows(out / "features.csv")
    assert len(features) == 22  # 22.35 s, 1 s frames
    assert float(features[-1]["time_s"]) == 22.0
    assert 60 < float(features[-1]["ecg_hr_mean_bpm"]) < 100
    assert (out / "physio.png").stat().st_size > 10_000


def test_csv_with_a_millisecond_time_column(tmp_path):
    path = package_file("heartpy", "data/data2.csv")
    assert main(["physio", str(path), "--kind", "ppg", "--out", str(tmp_path / "o")]) == 0
    assert len(_rows(tmp_path / "o" / "features.csv")) == 128  # 15000 samples at 116.99 Hz


def test_npy_and_edf_inputs(tmp_path, rng, capsys):
    import mne

    sfreq = 250.0
    tpl, c = ecg_template(sfreq)
    n = int(20 * sfreq)
    x = place(tpl, c, regular_beats(rng, 20.0, sfreq), n) + 0.01 * rng.standard_normal(n)
    np.save(tmp_path / "ecg.npy", np.column_stack([rng.standard_normal(n), x]))
    assert main(["physio", str(tmp_path / "ecg.npy"), "--kind", "ecg", "--sfreq", "250", "--column", "1",
                 "--out", str(tmp_path / "a")]) == 0
    raw = mne.io.RawArray(np.vstack([rng.standard_normal(n), x]) * 1e-3,
                          mne.create_info(["X", "ECG"], sfreq, ["misc", "ecg"]), verbose="error")
    mne.export.export_raw(tmp_path / "ecg.edf", raw, fmt="edf", verbose="error")
    assert main(["physio", str(tmp_path / "ecg.edf"), "--kind", "ecg", "--out", str(tmp_path / "b")]) == 0
    assert "ecg.edf:ECG" in capsys.readouterr().out  # the channel of type ecg, without --column
    a, b = _rows(tmp_path / "a" / "events.csv"), _rows(tmp_path / "b" / "events.csv")
    assert len(a) == len(b) >= 20
    assert [e["sample"] for e in a] == [e["sample"] for e in b]


def test_bad_input_is_one_line(tmp_path, capsys):
    data = package_file("heartpy", "data/data.csv")
    line = _one_line_error(capsys, ["physio", str(data), "--kind", "ppg", "--out", str(tmp_path / "o")])
    assert "no sampling rate" in line and "--sfreq" in line
    line = _one_line_error(capsys, ["physio", str(package_file("heartpy", "data/data2.csv")), "--kind", "ppg",
                                    "--column", "pulse", "--out", str(tmp_path / "o")])
    assert "no column 'pulse'; columns: ['timer', 'hr']" in line
    flat = tmp_path / "flat.npy"
    np.save(flat, np.full(1000, 3.0))
    line = _one_line_error(capsys, ["physio", str(flat), "--kind", "ecg", "--sfreq", "250", "--out",
                                    str(tmp_path / "o")])
    assert "flat" in line
    line = _one_line_error(capsys, ["physio", str(tmp_path / "missing.csv"), "--kind", "ecg", "--out",
                                    str(tmp_path / "o")])
    assert "missing.csv" in line
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    line = _one_line_error(capsys, ["physio", str(data), "--kind", "ppg", "--sfreq", "100", "--out",
                                    str(tmp_path / "full")])
    assert "not empty" in line and "--overwrite" in line
    assert main(["physio", str(data), "--kind", "ppg", "--sfreq", "100", "--out", str(tmp_path / "full"),
                 "--overwrite"]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["physio", str(data), "--kind", "eeg", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert not (tmp_path / "o").exists()


def test_kind_without_its_stage_module(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(physio_base.STAGE_MODULES, "eda", "no_such_stage_module")
    data = package_file("heartpy", "data/data.csv")
    line = _one_line_error(capsys, ["physio", str(data), "--kind", "eda", "--sfreq", "100", "--out",
                                    str(tmp_path / "o")])
    assert "'eda' stage is not available" in line


@pytest.mark.parametrize("suffix", [".h5", ".xdf"])
def test_multi_stream_recording_with_stream_choice(tmp_path, rng, suffix):
    from dataset_fixtures import write_eegaffect_h5, write_xdf

    sfreq = 250.0
    tpl, c = ecg_template(sfreq)
    n = int(20 * sfreq)
    x = place(tpl, c, regular_beats(rng, 20.0, sfreq), n) + 0.01 * rng.standard_normal(n)
    path = tmp_path / f"session{suffix}"
    streams = [{"name": "eeg", "type": "EEG", "sfreq": 200.0, "data": rng.standard_normal((4000, 2)),
                "ch_names": ["C3", "C4"], "ch_types": ["eeg", "eeg"]},
               {"name": "chest", "type": "ECG", "sfreq": sfreq, "data": x[:, None], "ch_names": ["ecg"],
                "ch_types": ["ecg"]}]
    (write_eegaffect_h5 if suffix == ".h5" else write_xdf)(path, streams)
    assert main(["physio", str(path), "--kind", "ecg", "--stream", "chest", "--column", "ecg",
                 "--out", str(tmp_path / "o")]) == 0
    beats = _rows(tmp_path / "o" / "events.csv")
    assert len(beats) >= 20 and float(beats[5]["ibi_s"]) == pytest.approx(0.8, rel=0.1)


def test_any_stage_kind_gets_events_features_and_figure(tmp_path, monkeypatch, capsys):
    """A kind whose stage is not a heart stage (here the test's counting stage standing in for respiration)."""
    import eegaffect.physio.pipeline as physio_pipeline
    from test_physio_pipeline import CountingStage

    monkeypatch.setattr(physio_pipeline, "load_stage_class", lambda kind: CountingStage)
    np.save(tmp_path / "belt.npy", np.sin(np.arange(3000) / 50.0))
    assert main(["physio", str(tmp_path / "belt.npy"), "--kind", "resp", "--sfreq", "100", "--out",
                 str(tmp_path / "o")]) == 0
    events = _rows(tmp_path / "o" / "events.csv")
    assert len(events) == 60 and events[1] == {"time_s": "0.500000", "type": "tick", "sample": "50", "value": "0"}
    features = _rows(tmp_path / "o" / "features.csv")
    assert list(features[0]) == ["time_s", "resp_mean", "resp_n_events"] and len(features) == 30
    assert (tmp_path / "o" / "physio.png").stat().st_size > 10_000


def test_a_peak_event_with_an_onset_gets_an_onset_row():
    from eegaffect.commands.physio import event_rows

    events = np.zeros(2, [("sample", np.int64), ("onset_sample", np.int64), ("amplitude", np.float64)])
    events["sample"] = [100, 300]
    events["onset_sample"] = [60, 250]
    assert event_rows(events, "scr_peak") == [(60, "scr_onset", 0), (100, "scr_peak", 0), (250, "scr_onset", 1),
                                              (300, "scr_peak", 1)]
    assert event_rows(events, "breath") == [(100, "breath", 0), (300, "breath", 1)]


#: Kind -> (event types in events.csv, a feature column that must have finite values at the end).
_KIND_OUTPUT = {"ecg": ({"beat"}, "ecg_hr_mean_bpm"), "ppg": ({"beat"}, "ppg_hr_mean_bpm"),
                "eda": ({"scr_peak", "scr_onset"}, "eda_scl"), "resp": ({"breath"}, "resp_rate"),
                "temp": (set(), "temp_slope"), "emg": (set(), "emg_rms")}


@pytest.mark.parametrize("kind", sorted(_KIND_OUTPUT))
def test_every_kind_from_a_csv_file(tmp_path, capsys, kind):
    x, sfreq = kind_signal(kind)
    path = tmp_path / f"{kind}.csv"
    t = np.arange(len(x)) / sfreq
    np.savetxt(path, np.column_stack([t, x]), delimiter=",", header="time_s,signal", comments="", fmt="%.6f")
    out = tmp_path / "out"
    assert main(["physio", str(path), "--kind", kind, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{sfreq:g} Hz" in printed and f"{kind}.csv:signal" in printed
    types, feature = _KIND_OUTPUT[kind]
    events = _rows(out / "events.csv")
    assert {e["type"] for e in events} == types
    if types:
        assert len(events) >= 4 and f"{len(events)} rows in events.csv" in printed
    else:
        assert f"no events ({kind} has none)" in printed
    features = _rows(out / "features.csv")
    assert len(features) == int(len(x) / sfreq)  # 1 s frames (packaged config)
    assert np.isfinite(float(features[-1][feature]))
    assert (out / "physio.png").stat().st_size > 10_000


@pytest.mark.parametrize("kind", sorted(_KIND_OUTPUT))
def test_the_figure_of_every_kind_shows_events_and_outputs(kind):
    from eegaffect.physio import PhysioConfig, PhysioPipeline
    from eegaffect.physio.figure import physio_figure

    x, sfreq = kind_signal(kind)
    x[len(x) // 2: len(x) // 2 + 3] = np.nan
    pipe = PhysioPipeline(PhysioConfig(), kind, sfreq)
    result = pipe.run(x)
    fig = physio_figure(x, sfreq, result, pipe.stage, kind, f"{kind}.npy:0")
    axes = fig.axes
    labels = [[line.get_label() for line in ax.get_lines()] for ax in axes]
    assert labels[0][0] == f"{kind}.npy:0" and axes[0].get_title() == f"{kind}.npy:0 ({kind}, {sfreq:g} Hz)"
    assert "flagged (nan/flat/clipped)" in [h.get_label() for h in axes[0].collections]
    undecided = [p for p in axes[0].patches if "decision delay" in p.get_label()]
    assert len(undecided) == (1 if pipe.decision_delay else 0)
    n_events = len(result.output.events)
    if n_events:
        marker = [ln for ln in axes[0].get_lines() if ln.get_marker() == "o"][0]
        assert len(marker.get_xdata()) == n_events
        np.testing.assert_allclose(marker.get_xdata(), result.output.events["sample"] / sfreq)
    if kind in ("ecg", "ppg"):
        assert [ax.get_title() for ax in axes[1:]] == ["tachogram", "Poincare plot"]
    elif kind == "eda":  # conductance with its tonic level, then the phasic part with onsets and peaks
        assert labels[1] == ["skin conductance (uS)", "tonic level (uS)"]
        assert axes[2].get_ylabel() == "phasic (uS)"
        assert [ln.get_marker() for ln in axes[2].get_lines()][1:] == ["o", "^"]
        assert "scr onset" in labels[0]
    else:
        expected = {"resp": ["cleaned (band-passed)", "rate (breaths/min)"], "temp": ["slope (degC/min)"],
                    "emg": [""]}[kind]
        assert [ax.get_ylabel() for ax in axes[1:]] == expected
        if kind == "temp":
            assert labels[0][1] == "smoothed"
            assert np.isfinite(axes[1].get_lines()[0].get_ydata()).any()
        if kind == "emg":
            assert labels[1] == ["high-passed", "RMS envelope"]
    assert axes[-1].get_xlabel() == "time (s)" or kind in ("ecg", "ppg")
