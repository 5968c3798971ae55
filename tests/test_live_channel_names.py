"""A real-world channel set end to end: an EDF with PhysioNet-EEGMMI spellings and other decorations, played with
``eegaffect play`` and read by ``eegaffect live`` with a SEED-62 bundle, interpolating the four truly missing
channels (PO5, PO6, CB1, CB2) and dropping the ones the model does not know."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
from eegaffect.acquisition.channels import SEED_CHANNELS
from lsl_helpers import reap
from test_live_channels import EEGMMI

EDF_SFREQ = 160.0  # EEGMMI's rate; the SEED bundle runs at 200 Hz, so the session resamples too

#: EEGMMI's spellings with a few other decorations devices write, and a trigger channel.
DECORATED = {"T7..": "T3", "P8..": "EEG T6-REF", "Fp1.": "EEG Fp1-REF", "Fp2.": "Fp2-A1", "Fz..": "EEG Fz",
             "Oz..": "OZ"}


def _write_edf(path, seconds: float, seed: int = 4) -> list[str]:
    """An EDF (edfio) with the 64 EEGMMI electrodes (decorated names) + TRIGGER, simulated EEG in microvolts."""
    import edfio
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.montage import channel_key

    canonical = [channel_key(n) for n in EEGMMI]
    eeg, _ = SimulatedEEG(canonical, EDF_SFREQ, seed=seed, unit="uV").generate(int(seconds * EDF_SFREQ))
    labels = [DECORATED.get(n, n) for n in EEGMMI] + ["TRIGGER"]
    trigger = np.zeros(len(eeg))
    trigger[:: int(EDF_SFREQ)] = 1.0
    signals = [edfio.EdfSignal(eeg[:, i], EDF_SFREQ, label=label, physical_dimension="uV",
                               physical_range=(-2000.0, 2000.0)) for i, label in enumerate(labels[:-1])]
    signals.append(edfio.EdfSignal(trigger, EDF_SFREQ, label="TRIGGER", physical_range=(0.0, 1.0)))
    edfio.Edf(signals).write(path)
    return labels


@pytest.fixture(scope="module")
def seed_bundle(tmp_path_factory):
    from eegaffect.perf.live import bench_bundle

    return bench_bundle(SEED_CHANNELS, tmp_path_factory.mktemp("seed62") / "bundle", seed=0)


@pytest.mark.timeout(240)
def test_play_an_edf_with_decorated_names_into_live_with_a_seed_bundle(seed_bundle, tmp_path, unique_name, caplog):
    from eegaffect.cli import main

    path = tmp_path / "S001R01.edf"
    labels = _write_edf(path, 30.0)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "eegaffect", "play", str(path), "--name", unique_name,
                             "--wait-for-consumer", "60", "--loop"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        caplog.set_level(logging.INFO, logger="eegaffect")
        rc = main(["live", "--stream", unique_name, "--model", str(seed_bundle), "--interpolate", "4",
                   "--headless", "--duration", "6", "--out", str(out), "--set", "truth=false"])
        proc.terminate()
        proc.communicate(timeout=30)
    finally:
        reap(proc)
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["updates"] >= 15 and summary["samples_lost"] == 0
    updates = (out / "updates.csv").read_text().splitlines()[1:]
    assert any(row.split(",")[2] not in ("nan", "") for row in updates)  # valid estimates came out
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("channels:")]
    assert len(lines) == 1, lines  # one line says how the stream's channels were mapped
    line = lines[0]
    assert line.startswith("channels: 58 of 62 model channels from the stream")
    for shown in ("Fc5. -> FC5", "C3.. -> C3", "T3 -> T7", "EEG T6-REF -> P8", "EEG Fp1-REF -> FP1",
                  "Fp2-A1 -> FP2", "EEG Fz -> FZ"):
        assert shown in line, shown
    assert "4 interpolated: PO5, PO6, CB1, CB2" in line
    assert "7 stream channel(s) not used: Af7., Afz., Af8., T9.., T10., Iz.., TRIGGER" in line
    assert len(labels) == 65


@pytest.mark.timeout(120)
def test_live_refuses_the_edf_without_interpolation_in_one_line(seed_bundle, tmp_path, unique_name, capsys):
    from eegaffect.cli import main

    path = tmp_path / "S001R01.edf"
    _write_edf(path, 10.0)
    proc = subprocess.Popen([sys.executable, "-m", "eegaffect", "play", str(path), "--name", unique_name,
                             "--loop"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rc = main(["live", "--stream", unique_name, "--model", str(seed_bundle), "--headless", "--duration", "2",
                   "--set", "truth=false", "--set", "resolve_timeout_s=30"])
    finally:
        reap(proc)
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing: ['PO5', 'PO6', 'CB1', 'CB2']" in err[0] and "--interpolate" in err[0]
