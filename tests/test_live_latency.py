"""Per-update latency accounting of the live session (eegaffect.live.latency) and the output jitter metric."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from eegaffect.live.latency import AFTER_STAGES, DIAGNOSTICS, STAGES, GCPauses, LatencyLog, percentiles_ms


def _stages(rng) -> dict:
    return {s: float(rng.uniform(1e-5, 5e-3)) for s in STAGES}


def test_latency_log_totals_are_the_stage_sums_and_percentiles_are_numpys(rng):
    log = LatencyLog()
    rows = []
    for k in range(200):
        st = _stages(rng)
        if k % 2:  # the after-push work and diagnostics only where measured
            st.update(dashboard=1e-3 * k, predict_cpu=0.5 * st["predict"], gc=0.0)
        rows.append(st)
        assert log.add(st) == pytest.approx(sum(st[s] for s in STAGES), rel=1e-12)
    total_ms = np.array([sum(r[s] for s in STAGES) for r in rows]) * 1e3
    lat, means = log.summary_ms()
    assert lat == pytest.approx({"p50": np.percentile(total_ms, 50), "p99": np.percentile(total_ms, 99),
                                 "max": total_ms.max()})
    assert means == pytest.approx({s: 1e3 * np.mean([r[s] for r in rows]) for s in STAGES})
    stats = log.stage_percentiles_ms()
    assert list(stats) == list(STAGES + AFTER_STAGES + DIAGNOSTICS)
    for s in STAGES:
        ms = np.array([r[s] for r in rows]) * 1e3
        assert stats[s] == pytest.approx({"p50": np.median(ms), "p99": np.percentile(ms, 99), "max": ms.max()})
    dash = np.array([1e-3 * k for k in range(1, 200, 2)]) * 1e3  # only the updates that measured it
    assert stats["dashboard"]["p99"] == pytest.approx(np.percentile(dash, 99))
    assert stats["physio"] == {"p50": None, "p99": None, "max": None}  # never measured: no device
    np.testing.assert_allclose(log.column_s("predict"), [r["predict"] for r in rows])


def test_latency_log_refuses_missing_or_unknown_stages():
    log = LatencyLog()
    with pytest.raises(ValueError, match="missing \\['push'\\]"):
        log.add({s: 0.0 for s in STAGES if s != "push"})
    with pytest.raises(ValueError, match="unknown \\['render'\\]"):
        log.add({**{s: 0.0 for s in STAGES}, "render": 1.0})
    assert log.summary_ms() == ({"p50": None, "p99": None, "max": None}, {s: None for s in STAGES})
    assert percentiles_ms([np.nan]) == {"p50": None, "p99": None, "max": None}


@pytest.mark.parametrize("written, last_ts, wake", [(10.004, 10.0, 10.005),  # the usual order
                                                    (9.0, 10.0, 10.005),  # an older write: all of it transport
                                                    (10.009, 10.0, 10.005),  # a write after the wake-up
                                                    (float("nan"), 10.0, 10.005)])  # no write time known
def test_path_stages_add_up_to_the_latency(written, last_ts, wake):
    from eegaffect.live.session import _path_stages

    st = _path_stages(last_ts, written, wake, wake + 1e-4, wake + 2e-4, wake + 2.2e-3, wake + 2.3e-3)
    assert list(st) == list(STAGES) and all(v >= 0 for v in st.values())
    assert sum(st.values()) == pytest.approx(wake + 2.3e-3 - last_ts, abs=1e-12)
    if written == 10.004:
        assert st["transport"] == pytest.approx(0.004) and st["wake"] == pytest.approx(0.001)
    # a sample newer than the wake-up (it arrived between the wake-up and the read): nothing before the wake-up
    late = _path_stages(wake + 5e-5, written, wake, wake + 1e-4, wake + 2e-4, wake + 3e-4, wake + 4e-4)
    assert late["transport"] == 0 and late["wake"] == 0


def test_gc_pauses_count_the_collections_inside_the_window():
    clock = time.perf_counter
    with GCPauses(clock) as pauses:
        garbage = [[] for _ in range(20000)]
        for a, b in zip(garbage[::2], garbage[1::2]):
            a.append(b)
            b.append(a)  # cycles: the collector has work
        del garbage, a, b
        t0 = clock()
        gc.collect()
        t1 = clock()
    assert 0 < pauses.within(t0, t1) <= t1 - t0
    assert pauses.within(t1 + 1.0, t1 + 2.0) == 0.0
    assert pauses._callback not in gc.callbacks


def test_jitter_is_the_mean_absolute_change_per_second():
    from eegaffect.benchmark.metrics import jitter

    t = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.5])
    y = np.array([[0.0, 1.0], [0.5, 1.0], [0.25, np.nan], [0.75, 0.0], [5.0, 5.0], [5.5, 4.0], [6.0, 4.0]])
    got = jitter(y, t, lengths=[4, 3])  # the step 3 s -> 10 s is across segments: left out
    # by hand: valence |0.5| + |-0.25| + |0.5| over 3 s, then |0.5| + |0.5| over 2.5 s
    assert got[0] == pytest.approx((0.5 + 0.25 + 0.5 + 0.5 + 0.5) / (3.0 + 2.5))
    # arousal: the pairs touching the NaN are left out: |0| over 1 s, then |-1| + |0| over 2.5 s
    assert got[1] == pytest.approx((0.0 + 1.0 + 0.0) / (1.0 + 2.5))
    # without times: per step; one segment; a single series
    assert jitter([0.0, 1.0, 3.0, 2.0]) == pytest.approx([4.0 / 3.0])
    assert np.isnan(jitter(np.zeros((1, 2)))).all()
    with pytest.raises(ValueError, match="summing to 4 rows"):
        jitter(np.zeros((4, 2)), lengths=[2, 1])
    with pytest.raises(ValueError, match="one time per row"):
        jitter(np.zeros((4, 2)), times=[0.0, 1.0])


def test_live_jitter_scores_frames_and_truth_and_skips_gaps():
    from eegaffect.live.record import _jitter, _Record

    rec = _Record()
    frame_ts = [100.0, 101.0, 102.0, 103.0, 108.0, 109.0]  # a gap of 5 s between the 4th and 5th frame
    va = [[0.0, 0.0], [0.3, -0.1], [0.1, -0.1], [0.4, 0.2], [-0.5, 0.9], [-0.3, 0.8]]
    rec.frame_ts.extend(frame_ts)
    rec.frame_va.extend(np.asarray(v) for v in va)
    got = _jitter(rec)
    assert got["valence"] == pytest.approx((0.3 + 0.2 + 0.3 + 0.2) / 4.0)
    assert got["arousal"] == pytest.approx((0.1 + 0.0 + 0.3 + 0.1) / 4.0)
    assert got["truth_valence"] is None and got["truth_arousal"] is None
    # with a truth stream: a linear ramp of valence 0.05/s and a constant arousal, scored at the frames
    t_truth = np.arange(99.0, 110.0, 0.005)
    rec.truth_ts.append(t_truth)
    rec.truth_va.append(np.column_stack([0.05 * (t_truth - 99.0), np.full(t_truth.size, 0.2)]))
    got = _jitter(rec)
    assert got["truth_valence"] == pytest.approx(0.05) and got["truth_arousal"] == pytest.approx(0.0)
    assert got["valence"] == pytest.approx((0.3 + 0.2 + 0.3 + 0.2) / 4.0)


def test_bench_live_prints_every_stage_of_every_case():
    from eegaffect.perf.live import format_stages

    st = {s: {"p50": 0.1, "p99": 0.2, "max": 0.3} for s in STAGES}
    st["physio"] = {"p50": None, "p99": None, "max": None}
    st["dashboard"] = {"p50": 1.0, "p99": 2.0, "max": 3.0}
    text = format_stages({"62x200": {"stage_percentiles_ms": st}, "62x200+physio": {"stage_percentiles_ms": st},
                          "notes": ["not a case"]})
    lines = text.splitlines()
    assert lines[0].startswith("62x200 stages (ms)") and any(x.startswith("62x200+physio stages") for x in lines)
    assert sum("transport" in x for x in lines) == 2
    assert not any(x.strip().startswith("physio") for x in lines)  # not measured: no line
    assert any("dashboard (after push)" in x and "2.000" in x for x in lines)


def test_bench_live_splits_the_headsets_share_out_of_transport():
    from eegaffect.perf.live import _source_late, format_stages

    st = {s: {"p50": 0.1, "p99": 0.2, "max": 0.3} for s in STAGES}
    # chunks stamped 0..9 s, pushed 1 ms late except one 50 ms late at 5 s; the session's loop ran from 2 to 8 s
    lateness = np.column_stack([np.arange(10.0), np.full(10, 0.001)])
    lateness[5, 1] = 0.050
    late = _source_late(lateness, (2.0, 8.0))
    assert late["p50"] == pytest.approx(1.0) and late["max"] == pytest.approx(50.0)
    assert _source_late(lateness, (2.0, 4.5))["max"] == pytest.approx(1.0)  # outside the loop: not counted
    assert _source_late(None, (0.0, 1.0))["p99"] is None
    text = format_stages({"64x1000": {"stage_percentiles_ms": st, "source_late_ms": late},
                          "62x200": {"stage_percentiles_ms": st, "source_late_ms": _source_late(None, (0, 1))}})
    lines = text.splitlines()
    at = [k for k, x in enumerate(lines) if "of which source" in x]
    assert len(at) == 1 and "transport" in lines[at[0] - 1] and "50.000" in lines[at[0]]
