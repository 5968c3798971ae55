"""Live sessions end to end through real LSL: simulated headset subprocess -> session -> prediction consumer.

The model is a bundle with the demo architecture trained briefly on 14-channel simulated EEG (DREAMER's
montage keeps the tests light); its quality does not matter here, only that the whole path works, gaps are
flagged and never filled, and the outputs have the documented shape.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import time

import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS
from eegaffect.acquisition.lsl import Stream, resolve_streams
from eegaffect.acquisition.outlet import STATUS_GAP, STATUS_OK, Outlet

from eegaffect.live.session import SUMMARY_KEYS

SFREQ = 200.0


@pytest.fixture(scope="module")
def bundle14(tmp_path_factory):
    from eegaffect.perf.live import bench_bundle

    return bench_bundle(DREAMER_CHANNELS, tmp_path_factory.mktemp("bundle14") / "bundle", seed=0)


def _start_cli(argv: list) -> tuple[threading.Thread, threading.Event, dict]:
    """Run ``eegaffect argv`` in a thread; ``result["rc"]`` holds its exit code, ``done`` is set when it ends."""
    from eegaffect.cli import main

    done, result = threading.Event(), {}

    def run():
        try:
            result["rc"] = main(argv)
        finally:
            done.set()

    worker = threading.Thread(target=run)
    worker.start()
    return worker, done, result


def _consume(name: str, done: threading.Event, rows: list, timeout: float = 90.0) -> None:
    """Collect (timestamp, values) of the prediction stream until ``done`` and no more data arrive."""
    with Stream(name=name, timeout=timeout, index_channel=None, dejitter=False, bufsize=60) as consumer:
        while True:
            consumer.wait(timeout=0.3)
            data, ts = consumer.read_new()
            rows.extend(zip(ts.tolist(), data.tolist()))
            if done.is_set() and not len(ts):
                return


def _read_updates(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_demo_end_to_end_with_prediction_consumer(bundle14, tmp_path, unique_name):
    from eegaffect.cli import main

    out = tmp_path / "run"
    argv = ["demo", "--model", str(bundle14), "--headless", "--duration", "8", "--calibrate", "0", "--out", str(out),
            "--set", "montage=dreamer14", "--set", f"stream_name={unique_name}", "--set", "seed=3"]
    worker, done, result = _start_cli(argv)
    rows = []
    _consume(f"{unique_name}-{os.getpid()}-affect", done, rows)
    worker.join(60)
    assert result["rc"] == 0

    summary = json.loads((out / "summary.json").read_text())
    # the demo's person wears ECG, EDA and respiration devices; the demo says which model it ran
    assert tuple(summary) == (*SUMMARY_KEYS, "devices", "demo_model")
    assert sorted(d["kind"] for d in summary["devices"].values()) == ["ecg", "eda", "resp"]
    assert all(d["lost"] == 0 and d["samples"] > 0 for d in summary["devices"].values())
    assert 20 <= summary["updates"] <= 40  # 4 Hz for 8 s
    assert summary["samples_lost"] == 0 and summary["gaps"] == 0 and summary["reconnects"] == 0
    assert summary["samples_received"] == pytest.approx(8 * SFREQ, rel=0.2)
    lat = summary["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert set(summary["stages_ms"]) == {"transport", "wake", "read", "channels", "predict", "push"}
    stages = summary["stage_percentiles_ms"]
    # the demo's devices are stepped after every push: their stage ("physio", after the push) is measured too
    for name in ("transport", "wake", "read", "channels", "predict", "push", "truth", "dashboard", "predict_cpu",
                 "physio"):
        assert 0 <= stages[name]["p50"] <= stages[name]["p99"] <= stages[name]["max"], name
    jit = summary["jitter_per_s"]
    assert all(jit[k] is not None and jit[k] >= 0 for k in ("valence", "arousal", "truth_valence", "truth_arousal"))
    gt = summary["ground_truth"]
    assert gt is not None and set(gt) == {"valence_ccc", "valence_rmse", "arousal_ccc", "arousal_rmse"}
    # the session's CCC/RMSE pair each valid frame with the truth interpolated at the frame's LSL time stamp:
    # recompute them from the frames it wrote, with the formulas written out here
    frames = np.load(out / "frames.npz")
    f_ts, f_va = frames["lsl_timestamp"], frames["va"]
    order = np.argsort(frames["truth_timestamp"], kind="stable")
    t_ts, t_va = frames["truth_timestamp"][order], frames["truth_va"][order]
    inside = (f_ts >= t_ts[0]) & (f_ts <= t_ts[-1])
    assert inside.sum() >= len(f_ts) - 2  # the truth stream covers the session's frames
    for k, name in enumerate(("valence", "arousal")):
        true, pred = np.interp(f_ts[inside], t_ts, t_va[:, k]), f_va[inside, k]
        rmse = np.sqrt(np.mean((true - pred) ** 2))
        lin = 2 * np.mean((true - true.mean()) * (pred - pred.mean())) / (
            true.var() + pred.var() + (true.mean() - pred.mean()) ** 2)
        assert gt[f"{name}_rmse"] == pytest.approx(rmse, rel=1e-9) and rmse > 0
        assert gt[f"{name}_ccc"] == pytest.approx(lin, rel=1e-9, abs=1e-12)
    assert summary["dashboard"] == str(out / "dashboard.png") and (out / "dashboard.png").stat().st_size > 10_000

    updates = _read_updates(out / "updates.csv")
    assert len(updates) == summary["updates"]
    timed = [u for u in updates if np.isfinite(u["latency_ms"])]
    assert timed and all(u["dashboard_ms"] >= 0 and u["predict_cpu_ms"] >= 0 for u in timed)
    # the stages on the path add up to each update's latency
    path = ("transport", "wake", "read", "channels", "predict", "push")
    np.testing.assert_allclose([sum(u[f"{s}_ms"] for s in path) for u in timed], [u["latency_ms"] for u in timed],
                               rtol=1e-9, atol=1e-9)
    # what a consumer received over LSL is what the session pushed: same statuses, NaN exactly on non-ok rows
    assert len(rows) >= summary["updates"] - 2
    values = np.array([r[1] for r in rows])
    status = values[:, 4].astype(int) % 16  # the base status (status // 16: the devices missing at the update)
    assert set(status) <= {STATUS_OK, STATUS_GAP}
    ok = status == STATUS_OK
    assert ok.sum() >= summary["updates"] // 2
    assert np.all(np.isfinite(values[ok, :3])) and np.all(np.abs(values[ok, :2]) <= 1.5)
    assert np.all(np.isnan(values[~ok, :2]))
    assert list(status[-ok.sum():]) == [STATUS_OK] * int(ok.sum())  # gap status only while the first window fills

    assert main(["report", str(out)]) == 0
    page = (out / "report" / "report.html").read_text()
    assert "Latency distribution" in page and "Predicted vs. true trajectory" in page
    assert (out / "report" / "report.pdf").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_gaps_are_flagged_never_filled_and_session_resumes(bundle14, tmp_path, unique_name, rng):
    """Samples lost for 0.5 s (kept state) and 1.5 s (predictor restarted): gap updates with NaN, then ok again."""
    import pylsl
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME
    from eegaffect.acquisition.simulator import SimulatedEEG

    out = tmp_path / "run"
    names = list(DREAMER_CHANNELS) + [INDEX_CHANNEL_NAME]
    outlet = Outlet(unique_name, "EEG", names, SFREQ, channel_format="float64", ch_units="volts")
    sim = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=5, unit="V")
    argv = ["live", "--stream", unique_name, "--model", str(bundle14), "--headless", "--duration", "14",
            "--out", str(out), "--set", "truth=false", "--set", "start_wait_s=0", "--record"]
    worker, done, result = _start_cli(argv)
    rows = []
    consumer = threading.Thread(target=_consume, args=(f"{unique_name}-affect", done, rows))
    consumer.start()
    resolve_streams(name=f"{unique_name}-affect", timeout=90)
    # the session's inlet connects asynchronously, and the session drops what it holds when it starts (at once:
    # start_wait_s=0): push once its loop runs, which its first update (a gap: no data yet) shows
    assert outlet.wait_for_consumers(30)
    deadline = time.monotonic() + 30
    while not rows and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows, "the session made no update within 30 s"
    # three segments pushed at twice real time, 100 and 300 samples (0.5 s, 1.5 s) missing between them; the short
    # gap does not fall on a frame boundary, so the frame overlapping it must be flagged
    plan = [(0, 660), (760, 600), (1660, 600)]
    eeg = sim.generate(sum(n for _, n in plan))[0]
    t0 = pylsl.local_clock()
    used = 0
    for start, n in plan:
        for k in range(0, n, 20):
            idx = start + k + np.arange(20)
            chunk = np.column_stack([eeg[used + k:used + k + 20], idx])
            outlet.push(chunk, t0 + idx / SFREQ)
            time.sleep(20 / SFREQ / 2)
        used += n
    worker.join(60)
    consumer.join(60)
    outlet.close()
    assert result["rc"] == 0

    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples_lost"] == 400
    # the two gaps in the data, and the data stop ~5 s into the 14 s session: a stall still going on at the end,
    # which counts as a gap too
    assert summary["gaps"] == 2 + 1 and summary["stalls"] == 1
    assert 14 - 6.5 <= summary["seconds_without_data"] <= 14 - 4
    assert summary["samples_received"] == 1860
    updates = _read_updates(out / "updates.csv")
    stamps = np.array([u["lsl_timestamp"] for u in updates]) - t0
    status = np.array([int(u["status"]) for u in updates])
    va = np.array([[u["valence"], u["arousal"]] for u in updates])
    assert np.all(np.isnan(va[status != STATUS_OK])) and np.all(np.isfinite(va[status == STATUS_OK]))
    window_s = 1.0
    for (prev_start, prev_n), (start, n) in zip(plan[:-1], plan[1:]):
        seg = np.flatnonzero((stamps >= start / SFREQ) & (stamps < (start + n) / SFREQ))
        ok = seg[status[seg] == STATUS_OK]
        # never fabricated: an ok estimate after a gap needs a whole window of samples after the gap
        assert np.all(stamps[ok] >= (start - 1.25) / SFREQ + window_s), (start, stamps[ok])  # dejitter: +-1 ms
        assert status[seg[-1]] == STATUS_OK  # and the session resumed
        if start == plan[1][0]:  # the frame straddling the short gap was flagged (kept state, no restart)
            last_prev = np.flatnonzero(stamps < (prev_start + prev_n) / SFREQ + 1e-9)[-1]
            assert STATUS_GAP in status[last_prev + 1:ok[0]], (start, status[last_prev + 1:ok[0] + 1])
    # updates after the data stopped report gaps, not the last estimate
    assert status[-1] == STATUS_GAP and np.isnan(stamps[-1])
    # --record: the raw stream (every sample received, with its counter) and the predictions, in one HDF5 file
    from eegaffect.acquisition.recorder import load_recording

    rec = load_recording(out / "session.h5")
    raw = rec[unique_name]
    expected_idx = np.concatenate([start + np.arange(n) for start, n in plan])
    np.testing.assert_array_equal(raw.data[:, -1], expected_idx)
    np.testing.assert_allclose(raw.data[:, :-1], eeg, rtol=1e-6)
    pred = rec[f"{unique_name}-affect"]
    assert pred.ch_names == ["valence", "arousal", "confidence", "code", "status"]
    assert summary["updates"] - 3 <= len(pred.data) <= summary["updates"]
    # the consumer saw the same: NaN and status 2 around the gaps
    got = np.array([r[1] for r in rows])
    assert {STATUS_OK, STATUS_GAP} <= set(got[:, 4].astype(int))
    assert np.all(np.isnan(got[got[:, 4] == STATUS_GAP, :2]))


@pytest.mark.timeout(120)
def test_channel_mismatch_is_a_clear_error(bundle14, unique_name):
    from eegaffect.live.channels import ChannelMismatchError
    from eegaffect.live.session import LiveConfig, LiveSession

    names = [c for c in DREAMER_CHANNELS if c != "AF3"] + ["EXG1"]
    with Outlet(unique_name, "EEG", names, SFREQ):
        session = LiveSession(unique_name, bundle14, LiveConfig(truth=False, warmup=False))
        # the missing model channel is the error; the extra EXG1 alone would only be dropped (and logged)
        with pytest.raises(ChannelMismatchError, match=r"missing: \['AF3'\], not in the model: \['EXG1'\]"):
            session.run(duration=1.0)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_cli_reports_user_errors_without_traceback(bundle14, tmp_path, unique_name, capsys):
    from eegaffect.cli import main

    assert main(["live", "--stream", unique_name, "--model", str(tmp_path / "nope"), "--headless"]) == 2
    assert "bundle directory" in capsys.readouterr().err
    assert main(["live", "--stream", unique_name, "--model", str(bundle14), "--headless",
                 "--set", "resolve_timeout_s=0.5"]) == 2
    assert f"no LSL stream with name={unique_name!r}" in capsys.readouterr().err
    # --record without --out (no stream here): the dated session folder made for it is removed again
    assert main(["live", "--stream", unique_name, "--model", str(bundle14), "--record", "--headless",
                 "--set", "resolve_timeout_s=0.5", "--set", f"sessions_dir={tmp_path / 'sessions'}"]) == 2
    assert not any((tmp_path / "sessions").iterdir())


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_record_without_out_writes_a_dated_session_folder(bundle14, tmp_path, unique_name, capsys):
    """``live --record`` without ``--out``: everything goes to a new SESSIONS_DIR/YYYY-MM-DD_HHMMSS, printed."""
    import re

    import pylsl
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME
    from eegaffect.acquisition.recorder import load_recording
    from eegaffect.acquisition.simulator import SimulatedEEG

    sessions = tmp_path / "sessions"
    earlier = sessions / "2000-01-01_000000"  # an earlier session's folder is never written into
    earlier.mkdir(parents=True)
    names = list(DREAMER_CHANNELS) + [INDEX_CHANNEL_NAME]
    eeg = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=8, unit="V").generate(400)[0]
    outlet = Outlet(unique_name, "EEG", names, SFREQ, channel_format="float64", ch_units="volts")
    worker, done, result = _start_cli(["live", "--stream", unique_name, "--model", str(bundle14), "--headless",
                                       "--duration", "6", "--record", "--set", "truth=false", "--set",
                                       "start_wait_s=0", "--set", f"sessions_dir={sessions}"])
    rows = []
    consumer = threading.Thread(target=_consume, args=(f"{unique_name}-affect", done, rows))
    consumer.start()
    # push once the session's loop runs (its recorder started before), which its first update shows
    deadline = time.monotonic() + 120
    while not rows and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rows, "the session made no update within 120 s"
    t0 = pylsl.local_clock()
    for k in range(0, 400, 20):
        idx = k + np.arange(20)
        outlet.push(np.column_stack([eeg[idx], idx]), t0 + idx / SFREQ)
        time.sleep(20 / SFREQ / 2)
    worker.join(90)
    consumer.join(60)
    outlet.close()
    assert result["rc"] == 0
    folders = sorted(p for p in sessions.iterdir() if p != earlier)
    assert len(folders) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\d_\d{6}(-\d+)?", folders[0].name)
    assert not any(earlier.iterdir())
    out = capsys.readouterr().out
    assert f"live: recording to {folders[0]}" in out and f"outputs: {folders[0]}" in out
    assert {"summary.json", "updates.csv", "session.h5"} <= {p.name for p in folders[0].iterdir()}
    raw = load_recording(folders[0] / "session.h5")[unique_name]
    np.testing.assert_array_equal(raw.data[:, -1], np.arange(400))  # every sample pushed, by its counter


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_session_resumes_after_the_outlet_restarts(bundle14, tmp_path, unique_name):
    """The headset's outlet goes away and comes back (same source_id): one reconnect, gap updates, then ok."""
    import pylsl
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.live.session import LiveConfig, LiveSession

    names = list(DREAMER_CHANNELS) + [INDEX_CHANNEL_NAME]
    sim = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=6, unit="V")
    eeg = sim.generate(1600)[0]
    source_id = f"{unique_name}-sid"
    outlet = Outlet(unique_name, "EEG", names, SFREQ, channel_format="float64", source_id=source_id)
    session = LiveSession(unique_name, bundle14, LiveConfig(truth=False), out_dir=tmp_path / "run")
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("summary", session.run(duration=16)))
    worker.start()
    assert session.ready.wait(90)
    t0 = pylsl.local_clock()

    def push(out, first, n, counter0):
        for k in range(0, n, 20):
            idx = first + k + np.arange(20)
            out.push(np.column_stack([eeg[idx - first + (0 if first == 0 else 600)], counter0 + idx - first]),
                     t0 + idx / SFREQ)
            time.sleep(20 / SFREQ / 2)

    push(outlet, 0, 600, 0)
    outlet.close()
    time.sleep(2.0)
    outlet = Outlet(unique_name, "EEG", names, SFREQ, channel_format="float64", source_id=source_id)
    assert outlet.wait_for_consumers(30)  # liblsl's inlet recovers by itself
    # the restarted device counts from 0 again; its clock went on (2 s of stream time missing)
    push(outlet, 1000, 1000, 0)
    worker.join(90)
    outlet.close()
    summary = result["summary"]
    assert summary["reconnects"] == 1
    assert summary["samples_received"] == 1600
    updates = _read_updates(tmp_path / "run" / "updates.csv")
    stamps = np.array([u["lsl_timestamp"] for u in updates]) - t0
    status = np.array([int(u["status"]) for u in updates])
    after = np.flatnonzero(stamps >= 1000 / SFREQ)
    assert status[after[-1]] == STATUS_OK  # resumed
    ok = after[status[after] == STATUS_OK]
    assert np.all(stamps[ok] >= (1000 - 1.25) / SFREQ + 1.0)  # first estimate needs a full window after it


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_stream_that_stops_shows_in_summary_and_dashboard(bundle14, tmp_path, unique_name):
    """The outlet sends 2 s and goes away: one stall, the trailing silence as a gap, gap updates counted."""
    import pylsl
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.commands.live import format_summary
    from eegaffect.live.dashboard_worker import ThreadDashboard
    from eegaffect.live.session import LiveConfig, LiveSession

    names = list(DREAMER_CHANNELS) + [INDEX_CHANNEL_NAME]
    eeg = SimulatedEEG(list(DREAMER_CHANNELS), SFREQ, seed=7, unit="V").generate(400)[0]
    outlet = Outlet(unique_name, "EEG", names, SFREQ, channel_format="float64", ch_units="volts")
    dashboard = ThreadDashboard(tmp_path / "dash.png")
    # start_wait_s=0: the session starts at once (the outlet sends only once it is ready), so the only silence
    # longer than the 0.5 s stall timeout is the trailing one
    session = LiveSession(unique_name, bundle14, LiveConfig(truth=False, stall_timeout_s=0.5, start_wait_s=0),
                          out_dir=tmp_path / "run", dashboard=dashboard)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("summary", session.run(duration=6)))
    worker.start()
    assert session.ready.wait(90)
    assert outlet.wait_for_consumers(30)  # the session's inlet has connected: no early sample goes unseen
    t_first = time.perf_counter()
    t0 = pylsl.local_clock()
    for k in range(0, 400, 20):
        idx = k + np.arange(20)
        outlet.push(np.column_stack([eeg[idx], idx]), t0 + idx / SFREQ)
        time.sleep(20 / SFREQ)
    t_stop = time.perf_counter()
    outlet.close()
    worker.join(90)
    summary = result["summary"]
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["samples_received"] == 400 and summary["samples_lost"] == 0 and summary["reconnects"] == 0
    assert summary["stalls"] == 1
    assert summary["gaps"] == 1  # no sample missing between received ones: the gap is the trailing stall
    silent = 6.0 - (t_stop - t_first)  # the session ran 6 s from its first update, the data stopped at t_stop
    assert silent - 0.6 <= summary["seconds_without_data"] <= silent + 0.6
    status = np.array([int(u["status"]) for u in _read_updates(tmp_path / "run" / "updates.csv")])
    assert summary["invalid_updates"] == int(np.sum(status != STATUS_OK)) >= 4 * (silent - 1.0)
    assert status[-1] == STATUS_GAP
    text = format_summary(summary)
    assert "1 gaps" in text and "stalled 1 time(s)" in text and f"{summary['invalid_updates']} of" in text
    # the dashboard kept updating after the data stopped: it shows the stall and the gap status
    state = dashboard.state
    assert state.status == STATUS_GAP and state.health["stalls"] == 1 and state.health["gaps"] == 1
    assert state.health["received"] == 400 and state.unit == "volts"  # the samples' unit: scale bar in µV
    assert state.health["no_data_s"] > 0.5 and (tmp_path / "dash.png").is_file()


def test_display_unit_of_the_dashboard():
    """The dashboard's scale bar unit: the bundle's when it has one, else the configured or the stream's unit."""
    from eegaffect.live.session import LiveConfig, _display_unit

    assert _display_unit(LiveConfig(), ["volts", "volts"], {"unit": "V"}) == "V"
    assert _display_unit(LiveConfig(unit="uV"), ["volts"], {}) == "uV"
    assert _display_unit(LiveConfig(), ["microvolts", "microvolts"], {}) == "microvolts"
    assert _display_unit(LiveConfig(), ["microvolts", "volts"], {}) is None


def test_silence_counts_only_the_sessions_stalls():
    """Stall/resume events (as the stream's worker emits them) against the session's start time."""
    from eegaffect.acquisition.lsl import StreamEvent

    from eegaffect.live.session import _Silence

    silence = _Silence(t0=100.0)
    # a stall entirely before the session, one going on when it starts, one inside it, one going on at the end
    silence.add([StreamEvent("stall", 92.0, seconds=2.0), StreamEvent("resume", 95.0, seconds=5.0),
                 StreamEvent("stall", 99.0, seconds=2.0)])
    assert silence.n_stalls == 1 and silence.total(101.0) == pytest.approx(1.0)
    silence.add([StreamEvent("resume", 103.0, seconds=6.0), StreamEvent("loss", 104.0, n_samples=3),
                 StreamEvent("stall", 110.0, seconds=2.0), StreamEvent("resume", 111.5, seconds=3.5)])
    assert silence.n_stalls == 2 and silence.total(120.0) == pytest.approx(3.0 + 3.5)
    silence.add([StreamEvent("stall", 125.0, seconds=2.0)])
    assert silence.trailing_s is None
    silence.close(130.0)
    assert silence.n_stalls == 3 and silence.trailing_s == pytest.approx(7.0)
    assert silence.seconds == pytest.approx(3.0 + 3.5 + 7.0) and silence.total(140.0) == silence.seconds
