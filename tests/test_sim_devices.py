"""The simulated person with several devices over real LSL: one outlet per device, device rates and types, unique
source_ids, clock offset and drift in the stamps, dropouts, the same trajectory as the EEG, and the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from eegaffect.acquisition.channels import SEED_CHANNELS
from eegaffect.acquisition.lsl import Stream, resolve_streams
from eegaffect.acquisition.sim import PHYSIO_DEVICES, DeviceSpec, SimulatedEEG, SimulatedPerson, scripted_trajectory
from eegaffect.acquisition.sim.physiology import simulate_physiology
from lsl_helpers import read_samples, reap

CHANNELS = SEED_CHANNELS[:4]


def _trajectory():
    return scripted_trajectory([(0.0, 0.6, -0.5), (2.0, -0.4, 0.8)])


def test_device_spec_defaults_and_errors():
    spec = DeviceSpec("eda")
    assert spec.sfreq == 4.0 and spec.type == "EDA"
    assert {k: v[:2] for k, v in PHYSIO_DEVICES.items()} == {
        "ecg": ("ECG", 256.0), "ppg": ("PPG", 64.0), "eda": ("EDA", 4.0), "resp": ("RESP", 32.0),
        "temp": ("TEMP", 4.0)}
    with pytest.raises(ValueError, match="unknown device kind 'emgx'"):
        DeviceSpec("emgx")
    with pytest.raises(ValueError, match="within \\+-1000, got 5000"):
        DeviceSpec("ecg", clock_drift_ppm=5000)
    with pytest.raises(ValueError, match="drops must be"):
        DeviceSpec("ecg", drops=[(1.0, 0.0)])
    with pytest.raises(ValueError, match="one device per kind"):
        SimulatedPerson(SimulatedEEG(CHANNELS, 200.0), [DeviceSpec("ecg"), DeviceSpec("ecg")])


@pytest.mark.timeout(60)
def test_person_publishes_each_device_with_its_clock_and_drops(unique_name):
    """ECG and EDA outlets: their types, rates and source_ids; every pushed value is the physiology of its true
    sampling time; the stamps carry the device clock (offset + drift) exactly; a drop withholds exactly its
    samples (the sample_index channel shows which)."""
    duration, speed = 3.0, 3.0
    specs = [DeviceSpec("ecg", 128.0, clock_offset_s=0.25, clock_drift_ppm=100.0),
             DeviceSpec("eda", 4.0, drops=[(1.0, 0.5)])]
    source = SimulatedEEG(CHANNELS, 200.0, seed=2, trajectory=_trajectory())
    person = SimulatedPerson(source, specs, name=unique_name, speed=speed, index_channel=True, duration=duration,
                             seed=5)
    with person, Stream(name=f"{unique_name}-ecg", type="ECG", timeout=5, dejitter=False) as ecg, \
            Stream(name=f"{unique_name}-eda", type="EDA", timeout=5, dejitter=False) as eda:
        assert ecg.sfreq == 128.0 and eda.sfreq == 4.0 and ecg.ch_names == ["ecg", "sample_index"]
        assert ecg.ch_units[0] == "millivolts" and eda.ch_units[0] == "microsiemens"
        ids = {person.source_id, person.truth_outlet.source_id, ecg.source_id, eda.source_id}
        assert len(ids) == 4 and ecg.source_id == f"{person.source_id}-ecg"
        eda_outlet = person.devices["eda"].outlet
        eda_outlet.wait_for_consumers(5)
        person.start(wait_for_consumers=5)
        assert person.join(15) and person.error is None
        n_ecg = int(round(duration * 128.0 * (1 + 1e-4)))
        x_ecg, t_ecg = read_samples(ecg, n_ecg, 10)
        x_eda, t_eda = read_samples(eda, 10, 10)
    counts = person.device_counts()
    # ECG: every sample, on the device's clock
    j = x_ecg[:, 1].astype(int)
    np.testing.assert_array_equal(j, np.arange(len(j)))
    assert len(j) == n_ecg == counts["ecg"]["pushed"] and counts["ecg"]["dropped"] == 0
    true_rate = 128.0 * (1 + 1e-4)
    true_t = person.t_start + j / true_rate / speed
    expected = true_t + 0.25 + 100e-6 * (true_t - person.t_start)
    # (liblsl's clock sync adds its time_correction, tens of microseconds on one machine)
    np.testing.assert_allclose(t_ecg, expected, atol=1e-3, rtol=0)
    assert np.ptp(t_ecg - expected) < 1e-9
    assert abs(np.median(t_ecg - true_t) - 0.25) < 0.01
    reference = simulate_physiology({"ecg": true_rate}, (n_ecg + 1) / true_rate, source.trajectory, seed=5,
                                    subject=5)["ecg"][:n_ecg, 0]
    np.testing.assert_allclose(x_ecg[:, 0], reference.astype(np.float32), rtol=1e-6, atol=1e-6)
    # EDA: 12 samples, the 2 of [1.0, 1.5) s withheld
    k = x_eda[:, 1].astype(int)
    np.testing.assert_array_equal(k, [0, 1, 2, 3, 6, 7, 8, 9, 10, 11])
    assert counts["eda"] == {"pushed": 10, "dropped": 2}
    np.testing.assert_allclose(t_eda, person.t_start + k / 4.0 / speed, atol=1e-3, rtol=0)


@pytest.mark.timeout(60)
def test_person_devices_follow_the_eeg_trajectory(unique_name):
    """The same trajectory drives the EEG's ground truth and the physiology: with arousal scripted from -1 to +1
    the simulated respiration rate rises (breaths counted on the streamed belt signal)."""
    traj = scripted_trajectory([(0.0, 0.0, -1.0), (30.0, 0.0, -1.0), (30.01, 0.0, 1.0), (60.0, 0.0, 1.0)])
    source = SimulatedEEG(CHANNELS, 200.0, seed=1, trajectory=traj)
    person = SimulatedPerson(source, [DeviceSpec("resp", 32.0)], name=unique_name, speed=30.0, duration=60.0,
                             seed=1, index_channel=True)
    with person, Stream(name=f"{unique_name}-resp", type="RESP", timeout=5, dejitter=False, bufsize=70) as resp, \
            Stream(name=f"{unique_name}-truth", timeout=5, dejitter=False, bufsize=70) as truth:
        person.truth_outlet.wait_for_consumers(5)
        person.start(wait_for_consumers=5)
        assert person.join(15) and person.error is None
        x, _ = read_samples(resp, 60 * 32, 10)
        va, _ = read_samples(truth, 60 * 200, 10)
    assert va[0, 1] == pytest.approx(-1.0) and va[-1, 1] == pytest.approx(1.0)
    sig = np.convolve(x[:, 0], np.ones(8) / 8, mode="same")  # belt noise off the zero crossings

    def breaths(part):
        return int(np.sum((part[:-1] < 0) & (part[1:] >= 0)))

    calm, aroused = breaths(sig[:30 * 32]), breaths(sig[30 * 32:])
    assert aroused >= calm + 2, (calm, aroused)


def _cli(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eegaffect", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.timeout(90)
def test_cli_simulate_publishes_every_device(unique_name):
    proc = subprocess.Popen([sys.executable, "-m", "eegaffect", "simulate", "--montage", "standard32", "--duration",
                             "30", "--name", unique_name, "--physio", "all", "--physio-sfreq", "ecg=500",
                             "--clock-offset", "eda=0.25", "--clock-drift", "eda=100", "--drop", "temp=5:5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        found = {}
        for kind, (ctype, rate, _) in PHYSIO_DEVICES.items():
            desc = resolve_streams(name=f"{unique_name}-{kind}", timeout=30)
            assert len(desc) == 1 and desc[0].type == ctype
            assert desc[0].sfreq == (500.0 if kind == "ecg" else rate)
            found[kind] = desc[0].source_id
        assert len(set(found.values())) == len(found)
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        reap(proc)
    assert proc.returncode == 0, stderr
    assert "EDA stream" in stdout and "clock +0.25 s +100 ppm" in stdout and "silent 5-10 s" in stdout


@pytest.mark.parametrize("args, message", [
    (["--physio", "ecg,xyz"], "--physio 'ecg,xyz': expected 'all' or a comma-separated list"),
    (["--physio", "ecg", "--drop", "ecg=5"], "--drop 'ecg=5': expected KIND=VALUE"),
    (["--physio", "ecg", "--clock-drift", "ecg=5000"], "ecg clock_drift_ppm must lie within +-1000"),
    (["--physio", "ecg", "--physio-sfreq", "emgx=10"], "--physio-sfreq"),
])
def test_cli_simulate_device_errors_are_one_line(args, message):
    result = _cli("simulate", "--duration", "1", "--allow-duplicate-name", *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
