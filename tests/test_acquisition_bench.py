"""``eegaffect bench acquisition``: a short run checks the JSON shape shared by every bench command."""

from __future__ import annotations

import argparse
import json
import math

import pytest

from eegaffect.commands import bench_acquisition


def _run(argv: list[str]) -> int:
    """Parse and run ``eegaffect bench acquisition ARGV`` through the command's own registration."""
    parser = argparse.ArgumentParser(prog="eegaffect bench")
    bench_acquisition.register(parser.add_subparsers(dest="bench"))
    args = parser.parse_args(["acquisition", *argv])
    return args.func(args)


def test_chunk_end_ages_counts_each_complete_chunk_once():
    from eegaffect.perf.acquisition import chunk_end_ages

    ages: list[float] = []
    # chunks of 4: samples 0-3 complete, 4-5 partial; chunk ends 3 (t=0.3); 7 not there yet
    last = chunk_end_ages([0, 1, 2, 3, 4, 5], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], -1, 4, 1.0, ages)
    assert last == 5 and ages == pytest.approx([0.7])
    # a later read that overlaps the first: sample 3 is not counted again; 7 ends the second chunk
    last = chunk_end_ages([2, 3, 4, 5, 6, 7], [0.2, 0.3, 0.4, 0.5, 0.6, 0.7], last, 4, 2.0, ages)
    assert last == 7 and ages == pytest.approx([0.7, 1.3])
    assert chunk_end_ages([], [], last, 4, 3.0, ages) == 7



@pytest.mark.live
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_bench_acquisition_json_shape(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert _run(["--duration", "0.5", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {"machine", "cases"} <= set(doc)
    names = [c["name"] for c in doc["cases"]]
    assert names == ["latency-p99-64x1000", "latency-p99-256x1000", "cpu-64x1000"]
    for case in doc["cases"]:
        assert set(case) == {"name", "unit", "ours", "reference", "reference_name", "ratio"}
        assert case["reference_name"] == "mne_lsl.stream.StreamLSL"
        assert math.isfinite(case["ours"]) and case["ours"] > 0 and math.isfinite(case["reference"])
        assert case["ratio"] == pytest.approx(case["reference"] / case["ours"])
    lat = doc["details"]["latency_64x1000"]
    assert lat["ours"]["n"] > 0 and lat["ours"]["max_ms"] >= lat["ours"]["p99_ms"]
    for kind in ("ours", "mne_lsl"):  # the hypervisor's steal over each reader (None where not reported)
        assert lat[kind]["steal_ms"] is None or lat[kind]["steal_ms"] >= 0
    assert "latency-p99-64x1000" in capsys.readouterr().out


def test_steal_seconds_reads_proc_stat_or_says_none():
    import psutil

    from eegaffect.perf.acquisition import steal_seconds

    first = steal_seconds()
    if first is None:
        pytest.skip("no /proc/stat steal field here")
    reference = psutil.cpu_times().steal  # psutil reads the same field of /proc/stat, converted on its own
    assert 0 <= first <= steal_seconds()
    assert first == pytest.approx(reference, abs=0.5)  # read a moment apart: within a few clock ticks
