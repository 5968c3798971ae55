"""``eegaffect bench physio`` (logic in :mod:`eegaffect.perf.physio`): every case runs, JSON written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eegaffect.cli import main
from eegaffect.perf.physio import OFFLINE_CASES, BenchPhysioConfig, offline_case, run_benchmark, simulate


@pytest.mark.timeout(240)
def test_bench_physio_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "physio", "--quick", "--set", "repeats=1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    names = [c["name"] for c in doc["cases"]]
    assert names == ["ecg-offline-10min-1000hz", "ppg-offline-10min-64hz", "eda-offline-10min-32hz",
                     "ecg-stream-32x1000hz"]
    assert all(c["ratio"] > 1 for c in doc["cases"])
    assert "p99" in printed and doc["details"]["ecg-stream-32x1000hz"]["ours_p99_us"] > 0
    assert doc["details"]["ecg-offline-10min-1000hz"]["our_events"] > 15  # 20 s at 70 bpm
    assert doc["details"]["eda-offline-10min-32hz"]["our_events"] >= 1


def test_public_functions_of_the_perf_module():
    assert [k for k, _, _ in OFFLINE_CASES] == ["ecg", "ppg", "eda"]
    eda = simulate("eda", 600, 32.0, seed=3)
    assert eda.min() > 0  # a conductance over ten minutes (the drift is small)
    case, info = offline_case("ppg", 64.0, "ppg_process", 20, repeats=1)
    assert case.name == "ppg-offline-10min-64hz" and case.unit == "s" and info["our_events"] > 15
    assert case.ratio == pytest.approx(info["reference_s"] / info["ours_s"])
    with pytest.raises(ValueError, match="no simulator for kind 'emg'"):
        simulate("emg", 10, 100.0, seed=0)
    assert BenchPhysioConfig().repeats == 3 and callable(run_benchmark)
    assert np.isfinite(eda).all()
