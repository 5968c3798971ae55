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
    assert list(cases) == ["e2e-p99-62x200", "e2e-p99-64x1000", "cpu-62x200"]
    for name, ref in (("e2e-p99-62x200", 10.0), ("e2e-p99-64x1000", 10.0), ("cpu-62x200", 30.0)):
        c = cases[name]
        assert c["reference"] == ref and c["ours"] > 0
        assert c["ratio"] == pytest.approx(c["reference"] / c["ours"])  # > 1: the target is met
    assert cases["cpu-62x200"]["unit"] == "% of one core" and cases["e2e-p99-62x200"]["unit"] == "ms"
    for label, sfreq in (("62x200", 200), ("64x1000", 1000)):
        d = doc["details"][label]
        assert d["updates"] >= 8 and d["samples_lost"] == 0
        assert d["samples_received"] == pytest.approx(3 * sfreq, rel=0.25)
        assert d["latency_ms"]["p99"] == pytest.approx(cases[f"e2e-p99-{label}"]["ours"])
    assert doc["machine"]["cpu_count"] >= 1
