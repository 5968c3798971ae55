"""``eegaffect bench kernels --quick``: the run completes, agrees with the references, and writes the shared JSON
shape (no timing assertions: speed is reported by the benchmark, not tested)."""

from __future__ import annotations

import json
import math

import pytest

from eegaffect.cli import main

FILTER_CASES = ["offline-62x", "offline-64x", "stream-10x62", "stream-32x64", "stream-50x256"]
DE_CASES = ["de-session-62x", "de-session-scipy-62x"]


def test_bench_kernels_quick_json_shape(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "kernels", "--quick", "--json", str(out), "--set", "min_time_s=0.01"]) == 0
    doc = json.loads(out.read_text())
    assert {"machine", "cases", "details"} <= set(doc)
    assert doc["machine"]["cpu_count"] >= 1
    names = [c["name"] for c in doc["cases"]]
    for prefix in FILTER_CASES + DE_CASES:  # the quick run carries its smaller shapes in the offline names
        assert sum(n.startswith(prefix) for n in names) == 1, (prefix, names)
    for case in doc["cases"]:
        assert set(case) == {"name", "unit", "ours", "reference", "reference_name", "ratio"}
        assert math.isfinite(case["ours"]) and case["ours"] > 0
        assert math.isfinite(case["reference"]) and case["reference"] > 0
        if case["unit"] == "us/call":
            assert case["ratio"] == pytest.approx(case["reference"] / case["ours"])
        elif case["unit"] == "s/session":
            assert case["ratio"] == pytest.approx(case["reference"] / case["ours"])
        else:
            assert case["unit"] == "Msamples*ch/s"
            assert case["ratio"] == pytest.approx(case["ours"] / case["reference"])
    details = doc["details"]
    assert details["quick"] is True and details["config"]["min_time_s"] == 0.01
    for group in ("filtering_offline", "filtering_stream"):
        for info in details[group].values():
            assert info["max_abs_diff"] < 1e-8  # signals of scale ~20: relative agreement well below 1e-9
    printed = capsys.readouterr().out
    assert "stream-32x64" in printed and f"wrote {out}" in printed


def test_bench_kernels_config_errors_exit_2(capsys):
    assert main(["bench", "kernels", "--quick", "--set", "filter.high_hz=150"]) == 2
    assert "high_hz" in capsys.readouterr().err
    assert main(["bench", "kernels", "--quick", "--set", "repeats=0"]) == 2
    assert "repeats" in capsys.readouterr().err
