"""``eegaffect bench live``: simulator subprocess + live session, cases in the shared bench JSON shape."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_bench_live_json(tmp_path):
    from eegaffect.cli import main

    out = tmp_path / "live.json"
    assert main(["bench", "live", "--duration", "3", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    cases = {c["name"]: c for c in doc["cases"]}
    assert list(cases) == ["e2e-p99-62x200", "e2e-p99-64x1000", "cpu-62x200", "e2e-p99-62x200+physio"]
    for name, ref in (("e2e-p99-62x200", 10.0), ("e2e-p99-64x1000", 10.0), ("cpu-62x200", 30.0),
                      ("e2e-p99-62x200+physio", 10.0)):
        c = cases[name]
        assert c["reference"] == ref and c["ours"] > 0
        assert c["ratio"] == pytest.approx(c["reference"] / c["ours"])  # > 1: the target is met
    assert cases["cpu-62x200"]["unit"] == "% of one core" and cases["e2e-p99-62x200"]["unit"] == "ms"
    for label, sfreq in (("62x200", 200), ("64x1000", 1000), ("62x200+physio", 200)):
        d = doc["details"][label]
        assert d["updates"] >= 8 and d["samples_lost"] == 0
        assert d["samples_received"] == pytest.approx(3 * sfreq, rel=0.25)
        assert d["latency_ms"]["p99"] == pytest.approx(cases[f"e2e-p99-{label}"]["ours"])
        # the headset's share of transport: its chunks pushed during the session, never before they were due
        assert 0 <= d["source_late_ms"]["p50"] <= d["source_late_ms"]["p99"] <= d["source_late_ms"]["max"]
        assert d["steal_ms"] is None or d["steal_ms"] >= 0  # the hypervisor's steal over the session
    # the multimodal case: four devices at their own rates, each counted, none losing a sample
    # ... read by a fused model of the demo's fused recipe (both passes per frame), as the demo runs
    model = doc["details"]["62x200+physio"]["model"]
    assert model == {"physio": ["ecg", "ppg", "eda"], "eeg_pass_outputs": ["valence"]}
    devices = {d["type"]: d for d in doc["details"]["62x200+physio"]["devices"].values()}
    assert sorted(devices) == ["ECG", "EDA", "PPG", "RESP"]
    for kind, sfreq in (("ECG", 256), ("PPG", 64), ("EDA", 4), ("RESP", 32)):
        assert devices[kind]["sfreq"] == sfreq and devices[kind]["lost"] == 0
        assert devices[kind]["samples"] == pytest.approx(3 * sfreq, rel=0.35, abs=3)
    assert doc["machine"]["cpu_count"] >= 1


def test_bench_live_runs_only_the_cases_asked_and_refuses_unknown_ones(capsys):
    from eegaffect.cli import main
    from eegaffect.perf.live import CASES, BenchLiveConfig

    assert BenchLiveConfig(cases=["e2e-p99-62x200+physio"]).cases == ["e2e-p99-62x200+physio"]
    assert CASES[:3] == ("e2e-p99-62x200", "e2e-p99-64x1000", "cpu-62x200")  # the existing cases, unchanged
    assert main(["bench", "live", "--case", "e2e-p99-62x200+fnirs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--case" in err[0] and "e2e-p99-62x200+physio" in err[0]
