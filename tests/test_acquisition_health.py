"""Health and gap accounting of a stream, without LSL: the gap rule, counters, gap records and the event queue."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from eegaffect.acquisition.lsl import StreamEvent
from eegaffect.acquisition.lsl.health import HealthMonitor, counted_exactly, gap_limit
from eegaffect.kernels.timestamps import TimestampTracker


class _Clock:
    """A settable clock for event times."""

    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("sfreq, tol, expected", [
    (200.0, 0.010, 0.005 + 0.010),   # the jitter tolerance dominates
    (1000.0, 0.010, 0.001 + 0.010),
    (100.0, 0.001, 0.010 + 0.005),   # half a period dominates
    (250.0, 0.0, 0.004 + 0.002),
])
def test_gap_limit_is_one_period_plus_the_larger_of_half_a_period_and_the_tolerance(sfreq, tol, expected):
    assert gap_limit(sfreq, tol) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("sfreq, tol, match", [(0.0, 0.01, "sfreq > 0"), (-1.0, 0.01, "sfreq > 0"),
                                               (200.0, -0.001, "jitter_tolerance_s >= 0")])
def test_gap_limit_rejects_what_has_no_gaps(sfreq, tol, match):
    with pytest.raises(ValueError, match=match):
        gap_limit(sfreq, tol)


@pytest.mark.parametrize("sfreq, tol", [(200.0, 0.010), (100.0, 0.001), (1000.0, 0.003)])
def test_tracker_given_the_gap_limit_counts_a_gap_exactly_above_it(sfreq, tol):
    """The rule and the compiled tracker agree at the boundary: a step just below the limit loses nothing, one just
    above loses ``round(step * sfreq) - 1`` samples."""
    limit = gap_limit(sfreq, tol)
    for step, lossy in ((limit - 1e-7, False), (limit + 1e-7, True)):
        tracker = TimestampTracker(sfreq, limit, capacity=8)
        ts = np.array([10.0, 10.0 + 1 / sfreq, 10.0 + 1 / sfreq + step])
        lost, _, n_lossy = tracker.update(ts, np.zeros((3, 1)))
        assert n_lossy == int(lossy)
        assert lost[2] == (max(int(round(step * sfreq)) - 1, 0) if lossy else 0)


def test_losses_are_counted_recorded_and_queued():
    clock = _Clock(100.0)
    mon = HealthMonitor("eeg", "sid", 100.0, clock=clock)
    ts = 5.0 + np.arange(6) / 100.0
    lost = np.array([0, 0, 3, 0, 1, 0])
    assert mon.losses(ts, lost, np.array([False, False, True, False, False, False])) == 4
    assert mon.n_lost == 4
    assert [(g.timestamp, g.n_samples, g.seconds, g.reconnect) for g in mon.gaps] == \
        [(ts[2], 3, 0.03, False), (ts[4], 1, 0.01, False)]
    events = mon.get_events()
    assert [(e.kind, e.n_samples, e.exact, e.time) for e in events] == [("loss", 3, True, 100.0),
                                                                        ("loss", 1, False, 100.0)]
    assert "sample counter" in events[0].message and "from timestamps" in events[1].message
    assert mon.get_events() == []  # drained
    assert mon.snapshot().n_gaps == 2


def test_reconnect_counts_the_gap_since_the_last_sample_from_timestamps():
    mon = HealthMonitor("eeg", "sid", 100.0, clock=_Clock())
    mon.received(50, 10.0)
    gap = mon.reconnect(10.5)
    assert (gap.n_samples, gap.reconnect) == (49, True)
    assert gap.seconds == pytest.approx(0.49)
    assert (mon.n_reconnects, mon.n_lost, mon.n_received) == (1, 49, 50)
    (event,) = mon.get_events()
    assert event.kind == "reconnect" and "'sid'" in event.message and not event.exact


def test_counted_exactly_trusts_a_counter_only_where_it_went_forwards():
    index = 1
    data = np.array([[0.0, 10], [0.0, 13], [0.0, 14], [0.0, 2], [0.0, 5]])  # restarts between rows 2 and 3
    lost = np.array([1, 2, 0, 7, 2])
    assert counted_exactly(data, lost, index, prev_counter=8).tolist() == [True, True, False, False, True]
    assert counted_exactly(data, lost, index, prev_counter=None)[0]  # a stream's first sample: nothing before it
    assert not counted_exactly(data, lost, None, prev_counter=None).any()


def test_tracker_and_monitor_count_every_dropped_sample_of_a_counted_stream():
    """The worker's path without LSL: a counted stream with drops, cut into uneven chunks, with jittered stamps."""
    rng = np.random.default_rng(3)
    sfreq, n = 250.0, 2000
    counter = np.arange(n)
    keep = np.ones(n, bool)
    for start, length in ((100, 1), (400, 7), (1203, 30), (1900, 2)):
        keep[start:start + length] = False
    ts = 100.0 + counter / sfreq + rng.uniform(0, 0.002, n)
    data = np.column_stack([rng.standard_normal(n), counter])[keep]
    ts = ts[keep]
    limit = gap_limit(sfreq, 0.010)
    tracker = TimestampTracker(sfreq, limit, counter_col=1, capacity=64)
    mon = HealthMonitor("eeg", "sid", sfreq, clock=_Clock())
    start = 0
    while start < len(ts):
        stop = min(start + int(rng.integers(1, 64)), len(ts))
        prev = tracker.last_counter
        lost, _, n_lossy = tracker.update(ts[start:stop], data[start:stop])
        if n_lossy:
            mon.losses(ts[start:stop], lost, counted_exactly(data[start:stop], lost, 1, prev))
        mon.received(stop - start, ts[stop - 1])
        start = stop
    assert mon.n_lost == n - keep.sum() == 40
    assert [g.n_samples for g in mon.gaps] == [1, 7, 30, 2]
    assert all(e.exact for e in mon.get_events())
    assert mon.n_received == keep.sum()


def test_overruns_are_all_queued_but_logged_at_most_every_five_seconds(caplog):
    clock = _Clock(0.0)
    mon = HealthMonitor("eeg", "sid", 100.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="eegaffect"):
        for t in (0.0, 1.0, 4.9, 5.1, 6.0):
            clock.t = t
            mon.overrun(10, 1.0)
    assert len(mon.get_events()) == 5
    assert len([r for r in caplog.records if "overwritten" in r.getMessage()]) == 2


def test_stalls_resumes_and_errors_are_events():
    mon = HealthMonitor("eeg", "sid", 100.0, clock=_Clock(7.0))
    mon.stall(2.5)
    mon.resume(3.0)
    mon.error("pull failed: boom")
    events = mon.get_events()
    assert [(e.kind, e.seconds) for e in events] == [("stall", 2.5), ("resume", 3.0), ("error", 0.0)]
    assert all(isinstance(e, StreamEvent) and e.time == 7.0 for e in events)
    assert mon.snapshot().n_stalls == 1


def test_event_queue_keeps_the_newest():
    mon = HealthMonitor("eeg", "sid", 100.0, clock=_Clock(), max_events=3)
    for k in range(5):
        mon.error(f"e{k}")
    assert [e.message for e in mon.get_events()] == ["e2", "e3", "e4"]


def test_snapshot_reports_the_worker_cpu_share():
    mon = HealthMonitor("eeg", "sid", 100.0, clock=_Clock())
    mon.received(10, 3.0)
    health = mon.snapshot(n_overrun=4, worker_cpu_s=0.5, worker_wall_s=2.0)
    assert (health.n_received, health.n_overrun, health.last_timestamp) == (10, 4, 3.0)
    assert health.cpu_share == 0.25
    assert mon.snapshot().cpu_share == 0.0  # no wall time yet


def test_irregular_streams_have_no_gaps():
    mon = HealthMonitor("markers", "sid", 0.0, clock=_Clock())
    with pytest.raises(ValueError, match="irregular"):
        mon.reconnect(1.0)
    with pytest.raises(ValueError, match="irregular"):
        mon.losses(np.zeros(1), np.ones(1, int))
