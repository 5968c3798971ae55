"""Players and the simulated headset over real LSL: pacing, speed, looping, files, ground truth, CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pylsl
import pytest
from dataset_fixtures import write_xdf
from eegaffect.acquisition.lsl import Stream, resolve_streams
from eegaffect.acquisition.player import Player, read_xdf
from eegaffect.acquisition.recorder import Recorder, load_recording
from eegaffect.acquisition.simulate import TRUTH_CHANNELS, TRUTH_TYPE, SimulatedHeadset
from lsl_helpers import RampSource, read_samples, reap, wait_until

pytestmark = pytest.mark.live


@pytest.mark.timeout(60)
def test_real_time_pace_speed_factor_and_timestamps(unique_name):
    sfreq, n = 200.0, 200
    source = np.arange(n, dtype=np.float32)[:, None]
    for speed, expected_s in ((1.0, 1.0), (4.0, 0.25)):
        name = f"{unique_name}-{speed:g}"
        with Player(source, sfreq, ["x"], name=name, chunk_size=10, speed=speed) as player:
            with Stream(name=name, timeout=5, dejitter=False) as stream:
                player.start(wait_for_consumers=5)
                t0 = time.perf_counter()
                assert player.join(10)
                elapsed = time.perf_counter() - t0
                data, ts = read_samples(stream, n, 5)
        np.testing.assert_array_equal(data[:, 0], np.arange(n))
        assert expected_s * 0.9 < elapsed < expected_s + 1.5  # never ahead of the clock; slack for a busy CI
        # the push timeline: sample k stamped t_start + k / (sfreq * speed)
        np.testing.assert_allclose(ts, player.t_start + np.arange(n) / (sfreq * speed), atol=1e-6)


@pytest.mark.timeout(60)
def test_looping_continues_the_index_channel(unique_name):
    source = np.array([[10.0], [20.0], [30.0]], np.float32)
    with Player(source, 500.0, ["x"], name=unique_name, chunk_size=2, loop=True, speed=2,
                index_channel=True) as player:
        with Stream(name=unique_name, timeout=5) as stream:
            player.start(wait_for_consumers=5)
            data, _ = read_samples(stream, 20, 10)
            player.stop()
    idx = data[:20, 1].astype(int)
    np.testing.assert_array_equal(idx, np.arange(20))
    np.testing.assert_array_equal(data[:20, 0], source[idx % 3, 0])


def test_paced_pusher_is_abstract_and_both_players_are_pushers():
    from eegaffect.acquisition.pusher import PacedPusher

    with pytest.raises(TypeError, match="abstract"):
        PacedPusher(1.0)

    class _NoEmit(PacedPusher):
        def _plan(self, i):
            return None

        def _wait_consumers(self, timeout):
            pass

        def _close_outlets(self):
            pass

    with pytest.raises(TypeError, match="_emit"):
        _NoEmit(1.0)
    assert issubclass(Player, PacedPusher) and issubclass(SimulatedHeadset, PacedPusher)


def test_player_validates_its_input():
    with pytest.raises(ValueError, match="3 channel names"):
        Player(np.zeros((5, 3)), 100.0, ["a", "b"])
    with pytest.raises(ValueError, match="sfreq must be > 0"):
        Player(np.zeros((5, 1)), 0.0, ["a"])
    with pytest.raises(ValueError, match="speed must be > 0"):
        Player(np.zeros((5, 1)), 100.0, ["a"], speed=0)
    with pytest.raises(ValueError, match="5 timestamps"):
        Player(np.zeros((5, 1)), 100.0, ["a"], timestamps=np.zeros(4))


@pytest.mark.timeout(90)
def test_recording_replays_from_hdf5_with_its_markers(tmp_path, unique_name, rng):
    sfreq, n = 250.0, 500
    source = rng.standard_normal((n, 3)).astype(np.float32)
    path = tmp_path / "rec.h5"
    with Player(source, sfreq, ["a", "b", "c"], name=unique_name, speed=5,
                markers=(np.array([0.4, 1.2]), ["one", "two"])) as player:
        with Stream(name=unique_name, timeout=5, dejitter=False) as eeg, \
                Stream(name=f"{unique_name}-markers", timeout=5) as mk:
            with Recorder(path, [eeg, mk], flush_interval=0.2):
                player.start(wait_for_consumers=5)
                assert player.join(10)
                time.sleep(0.5)
    replay_name = f"{unique_name}-replay"
    player = Player.from_file(path, name=replay_name, speed=5, index_channel=True)
    with player, Stream(name=replay_name, timeout=5, dejitter=False) as again, \
            Stream(name=f"{replay_name}-markers", timeout=5) as markers:
        player.start(wait_for_consumers=5)
        data, ts = read_samples(again, n, 10)
        assert markers.wait(timeout=5, n_samples=2)
        mdata, mts = markers.read_new()
    np.testing.assert_array_equal(data[:, :3], source)
    assert mdata[:, 0].tolist() == ["one", "two"]
    # recorded at 5x (timestamps on the push timeline), replayed at 5x again: 25x compressed
    np.testing.assert_allclose(mts - ts[0], np.array([0.4, 1.2]) / 25, atol=0.005)
    rec = load_recording(path)[unique_name]
    np.testing.assert_allclose(np.diff(ts), np.diff(rec.timestamps) / 5, atol=1e-6)


def test_read_xdf_streams_and_metadata(tmp_path, rng):
    data = rng.standard_normal((300, 2)).astype(np.float32)
    ts = 100.0 + np.arange(300) / 100.0
    path = tmp_path / "lab.xdf"
    write_xdf(path, [dict(name="EEG-amp", type="EEG", sfreq=100, ch_names=["Cz", "Pz"], ch_types=["eeg", "eeg"],
                          data=data, timestamps=ts),
                     dict(name="Markers", type="Markers", sfreq=0, ch_names=["m"], ch_types=["markers"],
                          data=[["start"], ["stop"]], timestamps=[100.5, 102.0])])
    streams = read_xdf(path)
    eeg, mk = streams["EEG-amp"], streams["Markers"]
    np.testing.assert_array_equal(eeg.data, data)
    np.testing.assert_allclose(eeg.timestamps, ts)
    assert (eeg.sfreq, eeg.ch_names, eeg.ch_types, eeg.source_id) == (100.0, ["Cz", "Pz"], ["eeg", "eeg"],
                                                                       "EEG-amp-id")
    assert mk.is_marker and mk.data[:, 0].tolist() == ["start", "stop"]
    player = Player.from_file(path, name="xdf-replay-unused")
    try:
        assert player.n_times == 300 and player.marker_outlet is not None
    finally:
        player.close()


@pytest.mark.timeout(60)
def test_simulated_headset_pushes_eeg_and_aligned_ground_truth(unique_name):
    source = RampSource(4, 250.0)
    headset = SimulatedHeadset(source, name=unique_name, chunk_size=25, speed=5, index_channel=True,
                               duration=2.0)
    n = 500
    # raw timestamps: the dejitter line assumes real-time pace, and this replay runs at 5x
    with headset, Stream(name=unique_name, type="EEG", timeout=5, dejitter=False) as eeg, \
            Stream(name=f"{unique_name}-truth", type=TRUTH_TYPE, timeout=5, dejitter=False) as truth:
        assert truth.ch_names == list(TRUTH_CHANNELS) and eeg.ch_units[:4] == ["microvolts"] * 4
        headset.truth_outlet.wait_for_consumers(5)
        headset.start(wait_for_consumers=5)
        assert headset.join(10) and headset.error is None
        data, ts = read_samples(eeg, n, 10)
        va, va_ts = read_samples(truth, n, 10)
    k = data[:, -1].astype(int)
    np.testing.assert_array_equal(k, np.arange(n))
    np.testing.assert_array_equal(data[:, :4], k[:, None] + 1000.0 * np.arange(4)[None, :])
    np.testing.assert_allclose(va, np.column_stack([np.sin(k / 50.0), np.cos(k / 50.0)]), atol=1e-6)
    np.testing.assert_allclose(va_ts, ts, atol=1e-3)


@pytest.mark.timeout(60)
def test_simulated_headset_with_the_real_generator(unique_name):
    from eegaffect.acquisition.channels import SEED_CHANNELS
    from eegaffect.acquisition.simulator import SimulatedEEG

    sim = SimulatedEEG(SEED_CHANNELS, 200.0, seed=3, unit="uV")
    reference = SimulatedEEG(SEED_CHANNELS, 200.0, seed=3, unit="uV").generate(400)
    headset = SimulatedHeadset(sim, name=unique_name, speed=4, duration=2.0)
    with headset, Stream(name=unique_name, timeout=5, ch_names=SEED_CHANNELS, sfreq=200.0) as eeg:
        headset.start(wait_for_consumers=5)
        assert headset.join(10)
        data, _ = read_samples(eeg, 400, 10)
    np.testing.assert_allclose(data, reference[0].astype(np.float32), rtol=1e-6, atol=1e-4)


def _cli(*args, timeout=90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eegaffect", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.timeout(120)
def test_cli_simulate_streams_and_record(tmp_path, unique_name):
    csv = tmp_path / "trajectory.csv"
    csv.write_text("time_s,valence,arousal\n0,0.5,-0.25\n600,0.5,-0.25\n")
    proc = subprocess.Popen([sys.executable, "-m", "eegaffect", "simulate", "--montage", "standard32", "--sfreq",
                             "250", "--duration", "30", "--name", unique_name, "--seed", "1", "--index-channel",
                             "--trajectory", str(csv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = resolve_streams(name=unique_name, timeout=30)
        assert found[0].n_chans == 33 and found[0].sfreq == 250.0
        listing = _cli("streams", "--timeout", "1.0")
        assert listing.returncode == 0 and unique_name in listing.stdout and f"{unique_name}-truth" in listing.stdout
        out = tmp_path / "sim.h5"
        rec = _cli("record", "--stream", unique_name, "--stream", f"{unique_name}-truth", "--out", str(out),
                   "--duration", "1.5")
        assert rec.returncode == 0, rec.stderr
        proc.terminate()  # SIGTERM: the simulate command stops cleanly
        stdout, _ = proc.communicate(timeout=30)
    finally:
        reap(proc)
    assert proc.returncode == 0 and "pushed" in stdout
    streams = load_recording(out)
    eeg, truth = streams[unique_name], streams[f"{unique_name}-truth"]
    assert eeg.data.shape[1] == 33 and eeg.data.shape[0] >= 250 and truth.data.shape[1] == 2
    np.testing.assert_array_equal(np.diff(eeg.data[:, -1]), 1)
    np.testing.assert_allclose(truth.data, np.tile([0.5, -0.25], (len(truth.data), 1)))  # the scripted CSV


@pytest.mark.timeout(120)
def test_cli_play_replays_a_file(tmp_path, unique_name, rng):
    from eegaffect.acquisition.outlet import Outlet

    path = tmp_path / "src.h5"
    source = rng.standard_normal((400, 2)).astype(np.float32)
    with Outlet(unique_name, "EEG", ["a", "b"], 200.0) as outlet, \
            Stream(name=unique_name, timeout=5, dejitter=False) as stream:
        with Recorder(path, [stream], flush_interval=0.2):
            outlet.wait_for_consumers(5)
            outlet.push(source, pylsl.local_clock() - 2.0 + np.arange(400) / 200.0)
            assert stream.wait(timeout=5, n_samples=1) and wait_until(lambda: stream.health.n_received == 400, 10)
            time.sleep(0.3)
    name = f"{unique_name}-cli"
    proc = subprocess.Popen([sys.executable, "-m", "eegaffect", "play", str(path), "--name", name, "--speed", "4",
                             "--index-channel", "--wait-for-consumer", "30"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        with Stream(name=name, timeout=30) as replay:
            data, _ = read_samples(replay, 400, 20)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        reap(proc)
    assert proc.returncode == 0, stderr
    np.testing.assert_array_equal(data[:, :2], source[data[:, 2].astype(int)])
    assert "pushed 400 samples" in stdout
