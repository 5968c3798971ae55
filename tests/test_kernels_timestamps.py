"""TimestampTracker against a plain NumPy reference (the per-chunk array expressions it replaces)."""

import numpy as np
import pytest
from eegaffect.kernels.timestamps import TimestampTracker
from hypothesis import given, settings
from hypothesis import strategies as st


class ReferenceTracker:
    """NumPy version: diff/round/cumsum per chunk, state in Python attributes."""

    def __init__(self, sfreq, tolerance, counter_col=None, halflife_samples=1000.0):
        self.sfreq, self.tol, self.col, self.h = sfreq, tolerance, counter_col, halflife_samples
        self.last_ts = self.last_c = None
        self.k, self.offset = 0, np.nan

    def update(self, ts, data=None):
        n = len(ts)
        prev_ts = ts[0] - 1 / self.sfreq if self.last_ts is None else self.last_ts
        steps = np.diff(ts, prepend=prev_ts)
        lost = np.zeros(n, np.int64)
        by_time = np.arange(n)
        if self.col is not None:
            counter = data[:, self.col].astype(np.float64).astype(np.int64)
            prev_c = counter[0] - 1 if self.last_c is None else self.last_c
            jumps = np.diff(counter, prepend=prev_c) - 1
            lost[:] = np.where(jumps > 0, jumps, 0)
            by_time = np.flatnonzero(jumps < 0)
            self.last_c = int(counter[-1])
        big = by_time[steps[by_time] > self.tol]
        lost[big] = np.maximum(np.round(steps[big] * self.sfreq).astype(np.int64) - 1, 0)
        self.last_ts = float(ts[-1])
        k = self.k + np.arange(n) + np.cumsum(lost)
        self.k = int(k[-1]) + 1
        mean = float((ts - k / self.sfreq).mean())
        if np.isnan(self.offset):
            self.offset = mean
        else:
            self.offset += (1 - 0.5 ** (n / self.h)) * (mean - self.offset)
        return lost, self.offset + k / self.sfreq


def _stream(rng, n=600, sfreq=250.0, drops=((100, 3), (350, 40)), counter_restart=None):
    """Jittered timestamps of a regular stream with samples dropped, and a counter column."""
    k = np.arange(n + sum(d for _, d in drops))
    keep = np.ones(len(k), bool)
    for at, count in drops:
        keep[at:at + count] = False
    k = k[keep]
    ts = 1000.0 + k / sfreq + rng.uniform(0, 0.002, len(k))
    ts = np.maximum.accumulate(ts)
    counter = k.astype(np.float64)
    if counter_restart is not None:
        counter[counter_restart:] -= counter[counter_restart]  # device restarted its counter
    data = np.column_stack([rng.standard_normal(len(k)), counter]).astype(np.float32)
    return ts, data


def _cuts(n, sizes):
    """Chunk edges taking the sizes in turn (cyclically) until ``n``; zero sizes give empty chunks."""
    edges, pos, i = [0], 0, 0
    if not any(sizes):
        sizes = list(sizes) + [1]
    while pos < n:
        pos = min(n, pos + int(sizes[i % len(sizes)]))
        edges.append(pos)
        i += 1
    return edges


@pytest.mark.parametrize("counter", [None, 1])
def test_lost_and_dejittered_line_equal_the_numpy_reference(rng, counter):
    sfreq = 250.0
    ts, data = _stream(rng, counter_restart=300 if counter else None)
    tol = 1 / sfreq + max(0.5 / sfreq, 0.010)
    ours = TimestampTracker(sfreq, tol, counter_col=counter, halflife_samples=500.0, capacity=64)
    ref = ReferenceTracker(sfreq, tol, counter_col=counter, halflife_samples=500.0)
    edges = _cuts(len(ts), rng.integers(1, 64, 100))
    total_lost = 0
    for a, b in zip(edges[:-1], edges[1:]):
        if a == b:
            continue
        lost, line, n_lossy = ours.update(ts[a:b], data[a:b])
        ref_lost, ref_line = ref.update(ts[a:b], data[a:b])
        np.testing.assert_array_equal(lost, ref_lost)
        np.testing.assert_allclose(line, ref_line, rtol=0, atol=1e-9)
        assert n_lossy == np.count_nonzero(ref_lost)
        total_lost += int(lost.sum())
    assert total_lost == 43  # both drops found, by the counter or by the timestamps
    assert ours.last_timestamp == ts[-1]


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=20), counter=st.sampled_from([None, 1]))
def test_lost_counts_do_not_depend_on_chunking(sizes, counter):
    ts, data = _stream(np.random.default_rng(3), n=300, drops=((50, 2), (200, 7)))
    tol = 0.006
    whole, _, _ = TimestampTracker(250.0, tol, counter_col=counter, capacity=len(ts)).update(ts, data)
    whole = whole.copy()
    tracker = TimestampTracker(250.0, tol, counter_col=counter, capacity=64)
    parts = []
    edges = _cuts(len(ts), sizes)
    for a, b in zip(edges[:-1], edges[1:]):
        lost, _, _ = tracker.update(ts[a:b], data[a:b])
        parts.append(lost.copy())
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_restart_starts_a_new_segment(rng):
    ts, data = _stream(rng, n=100, drops=())
    tracker = TimestampTracker(250.0, 0.006, counter_col=1)
    tracker.update(ts[:50], data[:50])
    tracker.restart()
    later = ts[50:] + 5.0  # a new outlet, 5 s later, counter from 0
    restarted = data[50:].copy()
    restarted[:, 1] -= restarted[0, 1]
    lost, line, n_lossy = tracker.update(later, restarted)
    assert n_lossy == 0 and lost.sum() == 0
    np.testing.assert_allclose(line - line[0], np.arange(50) / 250.0, atol=1e-12)  # k restarts at 0
    assert tracker.last_counter == 49


def test_clear_errors():
    with pytest.raises(ValueError, match="sfreq must be a finite number > 0"):
        TimestampTracker(0.0, 0.01)
    tracker = TimestampTracker(100.0, 0.015, counter_col=2, capacity=8)
    with pytest.raises(ValueError, match=r"expected at most 8 float64 timestamps"):
        tracker.update(np.arange(9.0))
    with pytest.raises(ValueError, match=r"expected the chunk's data, shape \(3, > 2\) with the counter column, "
                                         r"got \(3, 2\)"):
        tracker.update(np.arange(3.0), np.zeros((3, 2)))


def test_update_keeps_the_interpreter_lock():
    """The kernel runs in an acquisition worker between pulling a chunk and writing it into the ring buffer: it
    takes microseconds, and releasing the lock there would make the worker wait to get it back (docs/latency.md)."""
    import numba
    from gil_helpers import other_thread_progress

    if numba.config.DISABLE_JIT:
        pytest.skip("needs numba's JIT")
    tracker = TimestampTracker(1000.0, 0.01, counter_col=0, capacity=32)
    data = np.zeros((32, 256), np.float32)
    stamps = np.arange(1_000_000) / 1000.0  # made here: np.arange itself releases the lock
    k = [0]

    def update():
        tracker.update(stamps[k[0]:k[0] + 32], data)
        k[0] = (k[0] + 32) % (len(stamps) - 32)

    assert other_thread_progress(update) == 0
