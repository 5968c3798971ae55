"""``eegaffect bench physio --quick``: every case runs, both sides agree on what they measure, JSON written."""

from __future__ import annotations

import json

import pytest

from eegaffect.cli import main

pytest.importorskip("neurokit2")


@pytest.mark.timeout(240)
def test_bench_physio_quick(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "physio", "--quick", "--set", "repeats=1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    names = [c["name"] for c in doc["cases"]]
    assert names[:2] == ["ecg-offline-10min-1000hz", "ppg-offline-10min-64hz"]
    assert names[-1] == "ecg-stream-32x1000hz"
    assert all(c["ratio"] > 1 for c in doc["cases"])
    assert "p99" in printed and doc["details"]["ecg-stream-32x1000hz"]["ours_p99_us"] > 0
    eda = doc["details"].get("eda-offline-10min-32hz", {})
    assert ("eda-offline-10min-32hz" in names) != ("skipped" in eda)
    assert doc["details"]["ecg-offline-10min-1000hz"]["our_events"] > 15  # 20 s at 70 bpm
