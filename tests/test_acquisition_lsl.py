"""Streams in and out over real LSL on this machine: resolve, metadata, validation, alignment, health counters.

Every outlet gets a unique name and source_id; every test has a timeout. Players run in threads here, and in a
subprocess where the scenario needs a real process restart.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import threading
import time

import numpy as np
import pylsl
import pytest
from eegaffect.acquisition.lsl import (
    INDEX_CHANNEL_NAME,
    ChunkPuller,
    MetadataWarning,
    Stream,
    StreamMismatchError,
    StreamNotFoundError,
    list_streams,
    resolve_streams,
)
from eegaffect.acquisition.lsl._binding import local_clock, open_inlet, was_clock_reset
from eegaffect.acquisition.outlet import STATUS_GAP, STATUS_INVALID, STATUS_OK, Outlet, PredictionOutlet
from eegaffect.acquisition.player import Player
from gil_helpers import other_thread_progress
from lsl_helpers import read_samples, reap, wait_until

pytestmark = pytest.mark.live


@pytest.mark.timeout(30)
def test_resolve_lists_visible_streams_when_nothing_matches(unique_name):
    with Outlet(unique_name, "EEG", ["Cz", "Pz"], 250.0, source_id=f"{unique_name}-sid"):
        found = resolve_streams(name=unique_name, timeout=5)
        assert [(d.name, d.n_chans, d.sfreq, d.source_id) for d in found] == \
            [(unique_name, 2, 250.0, f"{unique_name}-sid")]
        assert any(d.name == unique_name for d in list_streams(timeout=1.0))
        with pytest.raises(StreamNotFoundError) as info:
            resolve_streams(name=f"{unique_name}-absent", timeout=0.5)
        msg = str(info.value)
        assert f"{unique_name}-absent" in msg and unique_name in msg and "2 ch" in msg and "250 Hz" in msg
        assert f"{unique_name}-sid" in msg
    with pytest.raises(ValueError, match="single quotes"):
        resolve_streams(name="it's")


@pytest.mark.timeout(30)
def test_channel_metadata_from_the_stream_description(unique_name):
    names = ["Fp1", "Fp2", "EOG", INDEX_CHANNEL_NAME]
    with Outlet(unique_name, "EEG", names, 500.0, ch_types=["eeg", "eeg", "eog", "misc"],
                ch_units=["microvolts", "microvolts", "microvolts", "samples"]):
        with Stream(name=unique_name, timeout=5) as stream:
            assert stream.ch_names == names
            assert stream.ch_types == ["eeg", "eeg", "eog", "misc"]
            assert stream.ch_units == ["microvolts", "microvolts", "microvolts", "samples"]
            assert stream.index_channel == 3 and stream.sfreq == 500.0 and stream.dtype == np.float32


@pytest.mark.timeout(30)
def test_missing_metadata_uses_documented_defaults_with_a_warning(unique_name):
    info = pylsl.StreamInfo(unique_name, "EEG", 3, 100.0, pylsl.cf_float32, unique_name)
    outlet = pylsl.StreamOutlet(info)
    stream = Stream(name=unique_name, timeout=5)
    with pytest.warns(MetadataWarning, match="channel names"):
        stream.connect()
    try:
        assert stream.ch_names == ["ch1", "ch2", "ch3"]
        assert stream.ch_types == ["eeg"] * 3 and stream.ch_units == ["unknown"] * 3
    finally:
        stream.disconnect()
        del outlet


@pytest.mark.timeout(40)
def test_validation_names_what_was_expected_and_what_was_found(unique_name):
    names = ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "O1", "O2"]
    with Outlet(unique_name, "EEG", names, 250.0):
        with pytest.raises(StreamMismatchError) as info:
            Stream(name=unique_name, n_chans=62, timeout=5).connect()
        assert "expected 62 channels" in str(info.value) and "has 8" in str(info.value)
        with pytest.raises(StreamMismatchError) as info:
            Stream(name=unique_name, ch_names=names[:6] + ["Oz", "Pz"], timeout=5).connect()
        msg = str(info.value)
        assert "missing: ['Oz', 'Pz']" in msg and "extra: ['O1', 'O2']" in msg
        with pytest.raises(StreamMismatchError, match="nominal rate of 200 Hz.*declares 250 Hz"):
            Stream(name=unique_name, sfreq=200, timeout=5).connect()
        # case-insensitive names (SEED writes FP1, MNE Fp1) are accepted
        with Stream(name=unique_name, ch_names=[n.upper() for n in names], sfreq=250, n_chans=8, timeout=5):
            pass
    with Outlet(f"{unique_name}-irr", "Markers", ["m"], 0.0, channel_format="string"):
        with pytest.raises(StreamMismatchError, match="regularly sampled.*irregular"):
            Stream(name=f"{unique_name}-irr", require_regular=True, timeout=5).connect()


@pytest.mark.timeout(60)
def test_exact_alignment_of_replayed_data_via_the_index_channel(unique_name, rng):
    sfreq, n = 1000.0, 2500
    source = rng.standard_normal((n, 6)).astype(np.float32)
    player = Player(source, sfreq, [f"E{k}" for k in range(6)], name=unique_name, chunk_size=17,
                    index_channel=True)
    with player, Stream(name=unique_name, timeout=5, bufsize=5) as stream:
        player.start(wait_for_consumers=5)
        data, ts = read_samples(stream, n, timeout=20)
        assert player.join(5) and player.error is None
    idx = data[:, -1].astype(np.int64)
    np.testing.assert_array_equal(idx, np.arange(n))
    np.testing.assert_array_equal(data[:, :-1], source[idx])
    health = stream.health
    assert (health.n_received, health.n_lost, health.n_overrun, health.n_reconnects) == (n, 0, 0, 0)
    # dejittered: spacing at the nominal rate, close to when the player meant each sample
    assert np.all(np.diff(ts) > 0)
    np.testing.assert_allclose(np.diff(ts), 1 / sfreq, atol=2e-5)
    np.testing.assert_allclose(ts, player.t_start + idx / sfreq, atol=3e-3)


@pytest.mark.timeout(60)
def test_stalled_consumer_overrun_is_counted_exactly(unique_name):
    sfreq, n, capacity = 1000.0, 1500, 250
    source = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    player = Player(source, sfreq, ["a", "b", "c"], name=unique_name, chunk_size=25, speed=5, index_channel=True)
    with player, Stream(name=unique_name, timeout=5, bufsize=capacity / sfreq) as stream:
        assert stream.buffer_size == capacity
        player.start(wait_for_consumers=5)
        assert player.join(10)
        assert wait_until(lambda: stream.health.n_received == n, 10)
        health = stream.health
        data, _ = stream.read_new()
    assert health.n_overrun == n - capacity and health.n_lost == 0
    np.testing.assert_array_equal(data[:, -1], np.arange(n - capacity, n))
    events = [e for e in stream.get_events() if e.kind == "overrun"]
    assert sum(e.n_samples for e in events) == n - capacity


def _push_with_skips(outlet: Outlet, sfreq: float, n_chunks: int, chunk: int, skips: dict[int, int]):
    t0 = pylsl.local_clock()
    k = 0
    for c in range(n_chunks):
        k += skips.get(c, 0)
        block = np.zeros((chunk, outlet.n_chans), np.float32)
        block[:, -1] = np.arange(k, k + chunk)
        due = t0 + (k + chunk) / sfreq
        time.sleep(max(0.0, due - pylsl.local_clock()))
        outlet.push(block, t0 + (k + np.arange(chunk)) / sfreq)
        k += chunk


@pytest.mark.timeout(60)
@pytest.mark.parametrize("use_counter", [True, False])
def test_lost_samples_exactly_from_counter_and_from_timestamps(unique_name, use_counter):
    sfreq = 1000.0
    with Outlet(unique_name, "EEG", ["a", INDEX_CHANNEL_NAME], sfreq) as outlet:
        index = "auto" if use_counter else None
        # the outlet stamps exactly, so no jitter tolerance is needed beyond half a sample
        with Stream(name=unique_name, timeout=5, index_channel=index, jitter_tolerance_s=0.0) as stream:
            outlet.wait_for_consumers(5)
            _push_with_skips(outlet, sfreq, 40, 20, {10: 37, 25: 3})
            assert wait_until(lambda: stream.health.n_received == 800, 10)
            health = stream.health
            events = stream.get_events()
    assert health.n_lost == 40 and health.n_gaps == 2
    losses = [(e.n_samples, e.exact) for e in events if e.kind == "loss"]
    assert losses == [(37, use_counter), (3, use_counter)]
    assert [g.n_samples for g in stream.gaps] == [37, 3]


_RESTART_PLAYER = r"""
import sys, numpy as np
from eegaffect.acquisition.player import Player
name, sid = sys.argv[1], sys.argv[2]
p = Player(np.zeros((1000, 2), np.float32), 500.0, ["a", "b"], name=name, source_id=sid, chunk_size=10, loop=True,
           index_channel=True)
print("ready", flush=True)
p.run(duration=60)
"""


def _spawn_player(name: str, sid: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _RESTART_PLAYER, name, sid], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.timeout(90)
def test_outlet_restart_recovers_and_reports_the_gap(unique_name, tmp_path):
    from eegaffect.acquisition.recorder import Recorder, load_recording

    sid = f"{unique_name}-sid"
    first = _spawn_player(unique_name, sid)
    second = None
    try:
        with Stream(name=unique_name, source_id=sid, timeout=10, stall_timeout_s=0.5, dejitter=False) as stream, \
                Recorder(tmp_path / "restart.h5", [stream], flush_interval=0.2) as recorder:
            assert wait_until(lambda: stream.health.n_received > 200, 15)
            first.kill()
            first.wait()
            killed_at = pylsl.local_clock()
            assert wait_until(lambda: any(e.kind == "stall" for e in stream.get_events()), 10)
            time.sleep(0.5)
            second = _spawn_player(unique_name, sid)
            assert wait_until(lambda: stream.health.n_reconnects == 1, 30), stream.health
            received_before = stream.health.n_received
            assert wait_until(lambda: stream.health.n_received > received_before + 100, 10)
            events = stream.get_events()
    finally:
        for proc in (first, second):
            if proc is not None:
                reap(proc)
    reconnect = [e for e in events if e.kind == "reconnect"]
    assert len(reconnect) == 1
    gap = reconnect[0]
    assert gap.seconds > pylsl.local_clock() - killed_at - 60 and gap.seconds >= 0.5
    assert gap.n_samples == pytest.approx(gap.seconds * 500.0, abs=1.5)
    assert stream.gaps[-1].reconnect and stream.gaps[-1].n_samples == gap.n_samples
    assert stream.health.n_lost >= gap.n_samples
    assert recorder.error is None
    recorded = load_recording(tmp_path / "restart.h5")[unique_name]
    assert recorded.gaps[-1].tolist() == pytest.approx([gap.timestamp, gap.n_samples, gap.seconds, 1.0])
    # one jump in time (the restart), at the reported gap; every other step is one sample of the counter
    # (the new player counts from 0 again, which may or may not happen to continue the old count)
    jumps = np.flatnonzero(np.diff(recorded.timestamps) > 0.1)
    assert len(jumps) == 1 and recorded.timestamps[jumps[0] + 1] == pytest.approx(gap.timestamp)
    steps = np.delete(np.diff(recorded.data[:, -1].astype(np.int64)), jumps)
    np.testing.assert_array_equal(steps, 1)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("fmt, dtype", [("float32", np.float32), ("int16", np.int16)])
def test_chunk_puller_fills_its_buffers_and_times_out_empty(unique_name, fmt, dtype):
    outlet = Outlet(unique_name, "EEG", ["a", "b", "c"], 100.0, channel_format=fmt)
    try:
        info = resolve_streams(name=unique_name, timeout=5)[0]
        inlet = pylsl.StreamInlet(info._info, max_buflen=10)
        inlet.open_stream(timeout=5)
        assert outlet.wait_for_consumers(5)
        puller = ChunkPuller(inlet, capacity=8, timeout=0.05)
        assert puller.data.shape == (8, 3) and puller.data.dtype == dtype
        assert puller.pull() == 0  # nothing pushed: the wait times out
        sent = np.arange(30, dtype=dtype).reshape(10, 3)
        stamps = 50.0 + np.arange(10) / 100.0
        outlet.push(sent, stamps)
        got, got_ts = [], []
        end = time.monotonic() + 5
        while sum(map(len, got)) < 10 and time.monotonic() < end:
            n = puller.pull()
            got.append(puller.data[:n].copy())
            got_ts.append(puller.timestamps[:n].copy())
        np.testing.assert_array_equal(np.concatenate(got), sent)  # at most 8 per pull, in order, none lost
        assert max(map(len, got)) <= 8
        np.testing.assert_allclose(np.concatenate(got_ts), stamps, atol=1e-9)
        # the worker's calls between a chunk's first sample and the ring buffer keep the interpreter lock: the
        # pull of the rest (timeout 0) and the clock-reset check (docs/latency.md)
        assert puller._pull_held._flags_ & ctypes._FUNCFLAG_PYTHONAPI
        assert not puller._pull._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # the first pull waits: it releases it
        assert was_clock_reset(inlet) is False
        assert other_thread_progress(lambda: was_clock_reset(inlet)) == 0
        inlet.close_stream()
    finally:
        outlet.close()


@pytest.mark.timeout(30)
def test_chunk_puller_keeps_the_interpreter_lock_only_once_the_clock_offset_is_known(unique_name):
    """liblsl's clock synchronisation asks for the offset inside a pull and waits up to 5 s while there is no estimate
    (before the first, after a recovery): the pull of the rest of a chunk keeps the interpreter lock only once the
    offset is known, so that wait never holds every other thread of the process."""
    outlet = Outlet(unique_name, "EEG", ["a"], 100.0)
    try:
        info = resolve_streams(name=unique_name, timeout=5)[0]
        inlet = pylsl.StreamInlet(info._info, max_buflen=10)  # nothing has asked for its offset yet
        inlet.open_stream(timeout=5)
        assert outlet.wait_for_consumers(5)
        puller = ChunkPuller(inlet, capacity=8, timeout=1.0)
        calls = []
        released, held = puller._pull, puller._pull_held
        puller._pull = lambda *args: calls.append("released") or released(*args)
        puller._pull_held = lambda *args: calls.append("held") or held(*args)

        def pull_three(first):
            outlet.push(np.arange(first, first + 3, dtype=np.float32)[:, None], 50.0 + np.arange(3) / 100.0)
            assert wait_until(lambda: inlet.samples_available() >= 3, 5)
            calls.clear()
            assert puller.pull() == 3

        pull_three(0)  # the first question about the offset is asked here: no estimate yet
        assert calls == ["released", "released"]
        inlet.time_correction(timeout=5.0)  # the estimate
        assert puller.offset_known()
        pull_three(3)
        assert calls == ["released", "held"]
        inlet.close_stream()
    finally:
        outlet.close()


@pytest.mark.timeout(30)
def test_open_inlet_starts_the_clock_offset_estimate(unique_name):
    """liblsl estimates an inlet's clock offset (~0.6 s of probes) only once asked, and its clock synchronisation
    first asks at the first pulled sample, waiting up to 5 s: a source gone before the estimate was complete made
    every pull wait 5 s and fail (eegaffect record then never followed the source's successor). open_inlet starts
    the estimate with the inlet."""
    outlet = Outlet(unique_name, "EEG", ["a"], 100.0)
    try:
        info = resolve_streams(name=unique_name, timeout=5)[0]
        inlet = open_inlet(info._info, max_buflen=10)
        time.sleep(2.0)  # nothing asks for the offset meanwhile
        inlet.time_correction(timeout=0.3)  # an estimate started only now would take ~0.6 s: TimeoutError
        assert ChunkPuller(inlet, capacity=8, timeout=0.05).offset_known()
    finally:
        outlet.close()


@pytest.mark.timeout(30)
def test_failing_pulls_do_not_keep_the_worker_from_looking_for_another_source():
    """Each pull of a sample left by a source that went away before liblsl estimated its clock offset waits 5 s in
    liblsl's clock synchronisation and fails with a timeout: the worker still notices the silence and looks for
    another source between such pulls (it went straight back to pulling, so it never looked while any was left)."""

    class FailingPuller:
        data, timestamps = np.zeros((8, 1), np.float32), np.zeros(8)
        n_pulls = 0

        def pull(self):
            self.n_pulls += 1
            time.sleep(0.05)  # liblsl's wait, shortened
            raise pylsl.util.TimeoutError("the operation failed due to a timeout.")

    class GoneInlet:
        def time_correction(self, timeout):
            raise pylsl.util.TimeoutError("the operation failed due to a timeout.")

    stream = Stream(name="gone", stall_timeout_s=0.02, reresolve_after_s=0.04, poll_timeout_s=0.01,
                    realtime=False, log_events=False)
    puller, searches = FailingPuller(), []

    def look(silent_s):
        searches.append(silent_s)
        stream._stop.set()
        return False

    stream._puller, stream._inlet, stream._switch_source = puller, GoneInlet(), look
    stream._description = type("Description", (), {"sfreq": 100.0})()
    worker = threading.Thread(target=stream._run, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive() and searches
    assert puller.n_pulls == 1  # looked after the first failed pull
    kinds = [e.kind for e in stream.get_events()]
    assert kinds[:2] == ["error", "stall"]


def test_local_clock_is_pylsl_s_and_keeps_the_interpreter_lock():
    before = pylsl.local_clock()
    now = local_clock()
    assert before <= now <= pylsl.local_clock()
    assert other_thread_progress(local_clock) == 0
    assert other_thread_progress(pylsl.local_clock) > 0  # pylsl's releases it (the check sees a release)


@pytest.mark.timeout(30)
def test_skip_start_burst_drops_what_is_held_and_waits_at_most_max_wait(unique_name):
    outlet = Outlet(unique_name, "EEG", ["a"], 100.0)
    try:
        with Stream(name=unique_name, timeout=5, dejitter=False) as stream:
            assert outlet.wait_for_consumers(5)
            t0 = time.monotonic()
            assert stream.skip_start_burst(max_wait_s=0.3) is False  # silent outlet
            assert 0.3 <= time.monotonic() - t0 < 2.0
            outlet.push(np.arange(50.0)[:, None], 10.0 + np.arange(50) / 100.0)
            assert stream.skip_start_burst(max_wait_s=5) is True
            assert stream.n_new_samples == 0  # the burst is gone
            outlet.push(np.array([[99.0]]), 11.0)
            data, _ = read_samples(stream, 1, 5)
            assert data[:, 0].tolist() == [99.0]  # what comes after it is read as usual
    finally:
        outlet.close()


@pytest.mark.timeout(30)
def test_get_window_wait_and_read_new_limits(unique_name):
    sfreq, n = 200.0, 300
    source = np.arange(n, dtype=np.float32)[:, None]
    with Player(source, sfreq, ["x"], name=unique_name, chunk_size=20, speed=4) as player:
        with Stream(name=unique_name, timeout=5, bufsize=2.0) as stream:
            player.start(wait_for_consumers=5)
            assert stream.wait(timeout=5, n_samples=n)
            win, win_ts = stream.get_window(0.5)
            np.testing.assert_array_equal(win[:, 0], np.arange(n - 100, n))
            assert len(win_ts) == 100
            first, _ = stream.read_new(max_samples=50)
            rest, _ = stream.read_new()
            np.testing.assert_array_equal(np.concatenate([first, rest])[:, 0], np.arange(n))
            assert not stream.wait(timeout=0.05)
            with pytest.raises(ValueError, match="raise bufsize"):
                stream.get_window(5.0)


@pytest.mark.timeout(30)
def test_prediction_outlet_publishes_affect_with_status(unique_name):
    outlet = PredictionOutlet(unique_name, sfreq=0.0)
    with outlet, Stream(name=unique_name, type="Affect", timeout=5) as stream:
        assert stream.ch_names == ["valence", "arousal", "confidence", "code", "status"]
        outlet.wait_for_consumers(5)
        outlet.push_prediction(0.25, -0.5, confidence=0.75, code=17)
        outlet.push_invalid()
        outlet.push_gap()
        assert stream.wait(timeout=5, n_samples=3)
        data, _ = stream.read_new()
        with pytest.raises(ValueError, match="finite"):
            outlet.push_prediction(float("nan"), 0.0)
    np.testing.assert_allclose(data[0], [0.25, -0.5, 0.75, 17, STATUS_OK])
    assert np.isnan(data[1, :2]).all() and data[1, 4] == STATUS_INVALID
    assert np.isnan(data[2, :2]).all() and data[2, 4] == STATUS_GAP


@pytest.mark.timeout(30)
def test_marker_strings_round_trip(unique_name):
    with Outlet(unique_name, "Markers", ["marker"], 0.0, channel_format="string") as outlet:
        with Stream(name=unique_name, timeout=5) as stream:
            outlet.wait_for_consumers(5)
            for value in ["start", "stimulus é", "stop"]:
                outlet.push([value])
            assert stream.wait(timeout=5, n_samples=3)
            data, ts = stream.read_new()
    assert data[:, 0].tolist() == ["start", "stimulus é", "stop"] and np.all(np.diff(ts) >= 0)


def test_outlet_validates_pushes_and_metadata(unique_name):
    with pytest.raises(ValueError, match="unique"):
        Outlet(unique_name, "EEG", ["a", "a"], 100.0)
    with pytest.raises(ValueError, match="channel_format"):
        Outlet(unique_name, "EEG", ["a"], 100.0, channel_format="complex")
    with Outlet(unique_name, "EEG", ["a", "b"], 100.0) as outlet:
        with pytest.raises(ValueError, match=r"shape \(n_times, 2\)"):
            outlet.push(np.zeros((4, 3)))
        with pytest.raises(ValueError, match="4 timestamps"):
            outlet.push(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(RuntimeError, match="closed"):
        outlet.push(np.zeros((1, 2)))
