"""Issue 17: ``live`` on ordinary streams it crashed on: rates other than the model's (128 Hz: Emotiv, DEAP,
DREAMER; 250/256/500/512/1000 Hz: research amplifiers) are resampled, or it says clearly why it cannot; a
string-format stream of text that is not numbers is one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS

RATES = [128.0, 250.0, 256.0, 500.0, 512.0, 1000.0]


@pytest.fixture(scope="module")
def bundle14(tmp_path_factory):
    """The demo architecture briefly trained on 14-channel simulated EEG at 200 Hz."""
    from eegaffect.perf.live import bench_bundle

    return bench_bundle(DREAMER_CHANNELS, tmp_path_factory.mktemp("bundle14") / "bundle", seed=0)


@pytest.mark.parametrize("sfreq", RATES)
def test_dashboard_accepts_any_stream_rate(sfreq):
    """The display filter is adapted to the stream's Nyquist before it is validated (a 75-Hz low-pass at 128 Hz
    was a pydantic traceback)."""
    from eegaffect.live.dashboard_state import DashboardState
    from eegaffect.pipeline import PipelineConfig

    state = DashboardState({"ch_names": list(DREAMER_CHANNELS), "sfreq": sfreq,
                            "pipeline": PipelineConfig().model_dump(mode="json")})
    assert state._filter is not None  # the band-pass/notch is shown, only the low-pass is dropped when too high


def test_model_runs_on_streams_at_other_rates(bundle14, rng):
    """Each rate is resampled to the model's 200 Hz: one finite frame per second, whatever the input rate."""
    from eegaffect.models.predictor import Predictor

    for sfreq in RATES:
        predictor = Predictor.load(bundle14, sfreq=sfreq)
        x = rng.standard_normal((int(6 * sfreq), len(DREAMER_CHANNELS))) * 1e-5
        live = [predictor.step(c) for c in np.array_split(x, 7)]
        offline = predictor.predict(x)
        assert len(offline) == 6, sfreq
        assert np.isfinite(offline.va).all(), sfreq
        np.testing.assert_allclose(np.concatenate([p.va for p in live]), offline.va, atol=1e-6)


def test_a_stream_too_slow_for_the_models_bands_is_refused(bundle14):
    from eegaffect.models.bundle import BundleError
    from eegaffect.models.predictor import Predictor

    with pytest.raises(BundleError, match=r"a stream at 64 Hz carries frequencies up to 32 Hz, but the model .* uses "
                                          r"bands up to 50 Hz \(trained at 200 Hz\): it needs a stream at 100 Hz"):
        Predictor.load(bundle14, sfreq=64.0)


@pytest.mark.timeout(120)
def test_live_cli_on_a_128_hz_stream(bundle14, tmp_path, unique_name, rng, capsys):
    from eegaffect.acquisition.player import Player

    from eegaffect.cli import main

    data = (rng.standard_normal((128 * 4, len(DREAMER_CHANNELS))) * 20e-6).astype(np.float32)
    with Player(data, 128.0, list(DREAMER_CHANNELS), name=unique_name, loop=True, chunk_size=8) as player:
        player.start()
        rc = main(["live", "--stream", unique_name, "--model", str(bundle14), "--out", str(tmp_path / "run"),
                   "--duration", "4", "--headless", "--set", "truth=false"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["updates"] > 0 and summary["samples_received"] > 128 * 2


def test_text_that_is_not_a_number_names_value_and_channel():
    from eegaffect.live.channels import NonNumericStreamError, match_channels

    cmap = match_channels(["Cz", "Fz", "TRIG"], ["Fz", "Cz"], ignore=["TRIG"])
    numbers = np.array([["1.5", "2", "x"], ["-3e-6", "4", "y"]], dtype=object)
    np.testing.assert_array_equal(cmap.apply(numbers), [[2.0, 1.5], [4.0, -3e-6]])  # the ignored column is text
    with pytest.raises(NonNumericStreamError, match=r"not a number: 'abc' in channel 'Fz' \(stream column 1, "
                                                    r"sample 1 of the chunk\)"):
        cmap.apply(np.array([["1", "2", "0"], ["1", "abc", "0"]], dtype=object))


@pytest.mark.timeout(120)
def test_live_cli_on_a_non_numeric_string_stream(bundle14, tmp_path, unique_name, capsys):
    import threading

    import pylsl

    from eegaffect.cli import main

    info = pylsl.StreamInfo(unique_name, "EEG", len(DREAMER_CHANNELS), 128.0, pylsl.cf_string, unique_name)
    chans = info.desc().append_child("channels")
    for name in DREAMER_CHANNELS:
        ch = chans.append_child("channel")
        ch.append_child_value("label", name)
        ch.append_child_value("type", "EEG")
        ch.append_child_value("unit", "microvolts")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()

    def push():
        while not stop.is_set():
            outlet.push_chunk([["abc"] * len(DREAMER_CHANNELS)] * 8)
            stop.wait(8 / 128)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        rc = main(["live", "--stream", unique_name, "--model", str(bundle14), "--duration", "5", "--headless",
                   "--set", "truth=false"])
    finally:
        stop.set()
        pusher.join(5)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.startswith("eegaffect live:")]
    assert len(lines) == 1 and "not a number: 'abc' in channel 'AF3'" in lines[0], err


def _jittery_string_stream(name: str, sfreq: float, jitter_s: float, seed: int):
    """A string-format EEG outlet pushing numbers as text with timestamps jittered by N(0, jitter_s); returns
    (outlet, stop event, pushing thread)."""
    import threading
    import time

    import pylsl

    info = pylsl.StreamInfo(name, "EEG", len(DREAMER_CHANNELS), sfreq, pylsl.cf_string, name)
    chans = info.desc().append_child("channels")
    for ch_name in DREAMER_CHANNELS:
        ch = chans.append_child("channel")
        ch.append_child_value("label", ch_name)
        ch.append_child_value("type", "EEG")
        ch.append_child_value("unit", "microvolts")
    outlet = pylsl.StreamOutlet(info)
    stop = threading.Event()
    gen = np.random.default_rng(seed)

    def push():
        t0, k = pylsl.local_clock(), 0
        while not stop.is_set():
            now = pylsl.local_clock()
            while t0 + k / sfreq <= now:
                outlet.push_sample([f"{v:.3f}" for v in gen.normal(0, 20, len(DREAMER_CHANNELS))],
                                   t0 + k / sfreq + gen.normal(0, jitter_s))
                k += 1
            time.sleep(0.01)

    thread = threading.Thread(target=push, daemon=True)
    thread.start()
    return outlet, stop, thread


def _loss_warnings(err: str, name: str) -> list[int]:
    """Sample counts of the "N samples lost" warnings about stream ``name`` logged during the session."""
    import re

    session = err.split("live: session starts; the summary counts from here", 1)[1]
    return [int(n) for n in re.findall(rf"stream {re.escape(repr(name))}: (\d+) samples lost", session)]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("tolerance", [None, "0.03"])
def test_jittery_string_stream_log_and_summary_agree(bundle14, tmp_path, unique_name, capsys, tolerance):
    """Every "N samples lost" warning of the session is in the summary, and the summary's losses were all
    logged: with --record the recording's own inlet used the default jitter tolerance, and logged losses the
    session's (a user's wider tolerance) did not count ("0 lost, 0 gaps")."""
    from eegaffect.cli import main

    outlet, stop, thread = _jittery_string_stream(unique_name, 128.0, 0.004, seed=3)
    sets = [] if tolerance is None else ["--set", f"jitter_tolerance_s={tolerance}"]
    try:
        rc = main(["--log-level", "info", "live", "--stream", unique_name, "--model", str(bundle14), "--duration",
                   "6", "--headless", "--record", "--out", str(tmp_path / "run"), "--set", "truth=false", *sets])
    finally:
        stop.set()
        thread.join(5)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    warned = _loss_warnings(captured.err, unique_name)
    assert len(warned) == summary["gaps"] - summary["stalls"] and sum(warned) == summary["samples_lost"], \
        (warned, summary)
    if tolerance is not None:
        assert summary["samples_lost"] == 0 and warned == []


def test_health_monitor_counts_a_source_change_as_an_unknown_loss():
    from eegaffect.acquisition.lsl import HealthMonitor

    monitor = HealthMonitor("eeg", "a", 100.0, clock=lambda: 0.0, log_events=False)
    monitor.received(10, 5.0)
    gap = monitor.source_changed(7.51, "source_id 'a'", "source_id 'b'")
    health = monitor.snapshot()
    assert gap.reconnect and gap.n_samples == 0 and gap.seconds == pytest.approx(2.5)
    assert (health.n_reconnects, health.n_source_changes, health.n_lost) == (1, 1, 0)
    assert health.unknown_loss_s == pytest.approx(2.5)
    (event,) = monitor.get_events()
    assert event.kind == "reconnect" and "switched from source_id 'a' to a new source source_id 'b'" in event.message
    assert "unknown" in event.message


@pytest.mark.timeout(180)
@pytest.mark.parametrize("record", [False, True])
def test_live_switches_to_a_restarted_simulator_with_a_new_source_id(bundle14, tmp_path, unique_name, caplog,
                                                                      record):
    """The headset restarts under a new source_id: the session finds it by name after reresolve_after_s of
    silence, logs its identity, and reports the gap in seconds with its loss unknown (it never reconnected and
    counted the rest of the session as one gap with '0 lost'). With --record the recording follows it too."""
    import logging
    import threading
    import time

    import pylsl
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME
    from eegaffect.acquisition.outlet import STATUS_OK, Outlet
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.commands.live import format_summary
    from eegaffect.live.session import LiveConfig, LiveSession

    sfreq = 200.0
    caplog.set_level(logging.INFO, logger="eegaffect")
    names = list(DREAMER_CHANNELS) + [INDEX_CHANNEL_NAME]
    eeg = SimulatedEEG(list(DREAMER_CHANNELS), sfreq, seed=6, unit="V").generate(1400)[0]

    def push(outlet, rows, n):
        stamps = []
        for k in range(0, n, 20):
            idx = np.arange(k, k + 20)
            ts = pylsl.local_clock() + idx[:1] * 0 + np.arange(20) / sfreq
            outlet.push(np.column_stack([eeg[rows + idx], idx]), ts)
            stamps.append(ts)
            time.sleep(20 / sfreq)
        return np.concatenate(stamps)

    first = Outlet(unique_name, "EEG", names, sfreq, channel_format="float64", source_id=f"{unique_name}-a")
    session = LiveSession(unique_name, bundle14, LiveConfig(truth=False, reresolve_after_s=1.0, stall_timeout_s=0.5,
                                                            start_wait_s=0, record=record), out_dir=tmp_path / "run")
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("summary", session.run(duration=12)))
    worker.start()
    try:
        assert session.ready.wait(90) and first.wait_for_consumers(30)
        a = push(first, 0, 400)
        first.close()
        time.sleep(1.0)
        second = Outlet(unique_name, "EEG", names, sfreq, channel_format="float64", source_id=f"{unique_name}-b")
        assert second.wait_for_consumers(30), "the session never switched to the new source"
        if record:  # two inlets switch (the session's, the recording's), each on its own search; the first counts
            time.sleep(1.5)
        b = push(second, 400, 1000)
    finally:
        worker.join(90)
    summary = result["summary"]
    assert summary["source_changes"] == 1 and summary["reconnects"] == 1
    assert summary["samples_received"] == 1400 and summary["samples_lost"] == 0
    gap = b[0] - a[-1] - 1 / sfreq
    assert summary["seconds_unknown_loss"] == pytest.approx(gap, abs=0.05)
    assert f"switching to source_id '{unique_name}-b'" in caplog.text
    assert "the samples lost in it are unknown" in caplog.text
    assert "changed source 1 time(s)" in format_summary(summary)
    rows = [r.split(",") for r in (tmp_path / "run" / "updates.csv").read_text().splitlines()[1:]]
    after = [int(float(r[4])) for r in rows if r[1] and float(r[1]) > b[0]]
    assert STATUS_OK in after  # predicting again on the new source
    second.close()
    if record:  # the recording's own inlet switched as well: samples of both sources, the switch marked
        from eegaffect.acquisition.recorder import load_recording

        rec = load_recording(tmp_path / "run" / "session.h5")[unique_name]
        counters = rec.data[:, -1].astype(int)
        np.testing.assert_array_equal(counters[:400], np.arange(400))
        # the new source counts from 0 again; the recording's inlet may join it a moment after the session's
        assert len(counters) > 400 + 500 and counters[-1] == 999 and np.all(np.diff(counters[400:]) == 1)
        assert rec.source_changes == [(rec.timestamps[400], 400, f"{unique_name}-b")]
