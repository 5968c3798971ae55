"""A fused bundle in a live session over real LSL: EEG + an ECG device from one simulated person; the model reads
the ECG frames; when the ECG device is dropped the predictions go on (the ECG's missing embedding) and the
``Affect`` status says ECG is missing; a session without a device the bundle expects stops at start with a clear
error unless told to run with it missing."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS
from eegaffect.acquisition.lsl import StreamMismatchError
from eegaffect.acquisition.sim import DeviceSpec, SimulatedEEG, SimulatedPerson
from lsl_helpers import run_session_with_person

from eegaffect.live.modality_status import decode_status
from eegaffect.live.session import LiveConfig, LiveSession


@pytest.mark.timeout(180)
def test_fused_bundle_reads_the_ecg_device_and_survives_its_drop(ecg_bundle, tmp_path, unique_name):
    drop_start, drop_len = 8.0, 6.0
    person = SimulatedPerson(SimulatedEEG(DREAMER_CHANNELS, 200.0, seed=6, subject=5),
                             [DeviceSpec("ecg", 256.0, drops=[(drop_start, drop_len)])],
                             name=unique_name, index_channel=True, duration=60.0, seed=6, subject=5)
    config = LiveConfig(physio=[f"{unique_name}-ecg"], record=True, start_wait_s=0.5)
    session = LiveSession(unique_name, ecg_bundle, config, out_dir=tmp_path / "run")
    with person:
        summary = run_session_with_person(session, person, duration=34.0, join_s=150)
    assert summary["samples_lost"] == 0 and summary["updates"] > 60
    # the fused model was handed the ECG device's frames (one per EEG frame)
    assert session.details["physio_frames_in"]["ecg"] >= 20
    with h5py.File(tmp_path / "run" / "session.h5", "r") as f:
        names = {str(f["streams"][g].attrs.get("name", g)): g for g in f["streams"]}
        affect = f["streams"][names[f"{unique_name}-affect"]]
        data, stamps = affect["data"][:], affect["timestamps"][:]
    rel = stamps - person.t_start
    decoded = [decode_status(s) for s in data[:, 4]]
    base = np.array([b for b, _ in decoded])
    ecg_missing = np.array(["ecg" in m for _, m in decoded])
    # stale once its newest frame is older than its decision delay + 2 hops + 1 s (~4.9 s): during the drop
    during = (rel > drop_start + 5.5) & (rel < drop_start + drop_len)
    # back once the NaN-filled stretch left the 10-s window, + the decision delay and the as-of lag
    after = rel > drop_start + drop_len + 10.0 + 5.0
    before = (rel > 6.0) & (rel < drop_start)
    assert during.any() and ecg_missing[during].all()
    assert after.any() and not ecg_missing[after].any()
    assert before.any() and not ecg_missing[before].any()
    # predictions go on through the drop: ok status, finite valence/arousal from the EEG + ECG missing embedding
    assert (base[during] == 0).all() and np.isfinite(data[during, :2]).all()
    assert (base[rel > 5.0] == 0).mean() > 0.95


@pytest.mark.timeout(120)
def test_session_without_an_expected_device_stops_at_start_or_runs_with_it_missing(ecg_bundle, tmp_path,
                                                                                    unique_name):
    person = SimulatedPerson(SimulatedEEG(DREAMER_CHANNELS, 200.0, seed=8, subject=5), [], name=unique_name,
                             index_channel=True, duration=30.0, seed=8)
    with person:
        session = LiveSession(unique_name, ecg_bundle, LiveConfig(start_wait_s=0.2, warmup=False, truth=False))
        with pytest.raises(StreamMismatchError, match=r"no device for \['ecg'\]"):
            session.run(duration=2.0)
        config = LiveConfig(start_wait_s=0.2, warmup=False, truth=False, allow_missing_physio=True, record=True)
        session = LiveSession(unique_name, ecg_bundle, config, out_dir=tmp_path / "run")
        summary = run_session_with_person(session, person, duration=5.0, join_s=60)
    assert summary["updates"] > 8
    with h5py.File(tmp_path / "run" / "session.h5", "r") as f:
        names = {str(f["streams"][g].attrs.get("name", g)): g for g in f["streams"]}
        status = f["streams"][names[f"{unique_name}-affect"]]["data"][:, 4]
    assert all("ecg" in decode_status(s)[1] for s in status)  # missing throughout, and said so
