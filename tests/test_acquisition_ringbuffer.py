"""RingBuffer against a plain-Python reference model: contents, order, windows and exact overrun counts."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from eegaffect.acquisition.ringbuffer import RingBuffer


class _Reference:
    """Obviously-correct model: a list of every sample ever written and a read cursor."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.rows: list[np.ndarray] = []
        self.ts: list[float] = []
        self.read = 0
        self.overrun = 0

    def write(self, data, ts):
        self.rows.extend(data)
        self.ts.extend(ts)
        oldest_kept = max(0, len(self.rows) - self.capacity)
        if self.read < oldest_kept:
            self.overrun += oldest_kept - self.read
            self.read = oldest_kept

    def read_new(self, max_samples=None):
        end = len(self.rows) if max_samples is None else min(len(self.rows), self.read + max_samples)
        out = (self.rows[self.read:end], self.ts[self.read:end])
        self.read = end
        return out

    def window(self, n):
        n = min(n, len(self.rows))
        return self.rows[len(self.rows) - n:], self.ts[len(self.ts) - n:]


@pytest.mark.parametrize("capacity", [1, 7, 64])
def test_random_writes_and_reads_match_reference(capacity, rng):
    ring, ref = RingBuffer(capacity, 3, np.float64), _Reference(capacity)
    counter = 0
    for _ in range(400):
        n = int(rng.integers(0, 2 * capacity + 3))
        data = np.arange(counter, counter + n, dtype=np.float64)[:, None] * np.array([1.0, -1.0, 0.5])
        ts = np.arange(counter, counter + n) / 100.0
        counter += n
        lost = ring.write(data, ts)
        before = ref.overrun
        ref.write(list(data), list(ts))
        assert lost == ref.overrun - before
        action = rng.integers(0, 3)
        if action == 0:
            max_samples = None if rng.random() < 0.5 else int(rng.integers(0, capacity + 2))
            got, got_ts = ring.read_new(max_samples)
            want, want_ts = ref.read_new(max_samples)
            np.testing.assert_array_equal(got, np.asarray(want).reshape(-1, 3))
            np.testing.assert_array_equal(got_ts, np.asarray(want_ts))
        elif action == 1:
            n_win = int(rng.integers(0, capacity + 1))
            got, got_ts = ring.get_window(n_win)
            want, want_ts = ref.window(n_win)
            np.testing.assert_array_equal(got, np.asarray(want).reshape(-1, 3))
            np.testing.assert_array_equal(got_ts, np.asarray(want_ts))
        assert ring.n_overrun == ref.overrun
        assert ring.n_new == len(ref.rows) - ref.read


def test_overrun_of_a_stalled_reader_is_exact():
    ring = RingBuffer(100, 1)
    for start in range(0, 1000, 30):
        n = min(30, 1000 - start)
        ring.write(np.arange(start, start + n, dtype=np.float32)[:, None], np.arange(start, start + n) * 1.0)
    assert ring.n_overrun == 900 and ring.n_written == 1000
    data, ts = ring.read_new()
    np.testing.assert_array_equal(data[:, 0], np.arange(900, 1000))
    np.testing.assert_array_equal(ts, np.arange(900, 1000))


def test_returns_copies_and_keeps_dtype():
    ring = RingBuffer(4, 2, np.int16)
    ring.write(np.ones((3, 2), np.int16), np.zeros(3))
    data, _ = ring.get_window(3)
    data[:] = 7
    again, _ = ring.read_new()
    assert again.dtype == np.int16 and np.all(again == 1)


def test_string_samples():
    ring = RingBuffer(3, 1, object)
    ring.write(np.array([["a"], ["b"], ["c"], ["d"]], dtype=object), np.arange(4.0))
    data, ts = ring.read_new()
    assert data[:, 0].tolist() == ["b", "c", "d"] and ts.tolist() == [1.0, 2.0, 3.0] and ring.n_overrun == 1


@pytest.mark.parametrize("bad, match", [
    (dict(data=np.zeros((2, 3)), timestamps=np.zeros(2)), r"shape \(n, 2\)"),
    (dict(data=np.zeros((2, 2)), timestamps=np.zeros(3)), "expected 2 timestamps"),
])
def test_write_validates_shapes(bad, match):
    with pytest.raises(ValueError, match=match):
        RingBuffer(4, 2).write(**bad)


def test_constructor_and_window_validation():
    with pytest.raises(ValueError, match="n_samples > 0"):
        RingBuffer(0, 2)
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(4, 2).get_window(5)


def test_concurrent_writer_and_reader_lose_nothing_when_the_buffer_suffices():
    ring = RingBuffer(10_000, 2)
    total = 200_000
    got = []

    def writer():
        for start in range(0, total, 100):
            block = np.arange(start, start + 100, dtype=np.float64)
            ring.write(np.column_stack([block, -block]), block)

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive() or ring.n_new:
        data, _ = ring.read_new()
        got.append(data[:, 0])
    thread.join()
    seen = np.concatenate(got)
    if ring.n_overrun == 0:
        np.testing.assert_array_equal(seen, np.arange(total))
    else:  # the reader was descheduled for long: what it missed is counted exactly
        assert len(seen) + ring.n_overrun == total


@pytest.mark.parametrize("compiled", [True, False])
def test_compiled_and_numpy_copies_agree(compiled, rng):
    """Both copy paths (the compiled loops, and NumPy for object samples or NUMBA_DISABLE_JIT) keep the same
    contents, through wrap-arounds, with data of another dtype (cast) and non-contiguous data."""
    import numba

    if compiled and numba.config.DISABLE_JIT:
        pytest.skip("the compiled copies need numba's JIT")
    ring = RingBuffer(50, 4, np.float32)
    ring._compiled = compiled
    ref = _Reference(50)
    counter = 0
    for i in range(200):
        n = int(rng.integers(1, 40))
        data = (np.arange(counter, counter + n, dtype=np.float64)[:, None] * np.array([1.0, 2.0, 3.0, 4.0]))
        if i % 3 == 1:
            data = np.asfortranarray(data)
        elif i % 3 == 2:
            data = data.astype(np.float32)
        ts = np.arange(counter, counter + n) / 10.0
        counter += n
        ring.write(data, ts)
        ref.write(list(data), list(ts))
        if i % 2:
            got, got_ts = ring.read_new()
            want, want_ts = ref.read_new()
            np.testing.assert_array_equal(got, np.asarray(want, dtype=np.float32).reshape(-1, 4))
            np.testing.assert_array_equal(got_ts, np.asarray(want_ts))
            assert got.dtype == np.float32
    assert ring.n_overrun == ref.overrun


def test_numeric_copies_hold_the_interpreter_lock():
    """Writing and reading a 32 x 256 float32 chunk never hands the interpreter lock to another thread (NumPy's
    copy of 500+ elements would: the acquisition worker then waits to get it back, docs/latency.md)."""
    import numba
    from gil_helpers import other_thread_progress

    if numba.config.DISABLE_JIT:
        pytest.skip("the compiled copies need numba's JIT")
    ring = RingBuffer(5000, 256, np.float32)
    chunk, ts = np.ones((32, 256), np.float32), np.arange(32.0)

    def write_and_read():
        ring.write(chunk, ts)
        ring.read_new()

    assert other_thread_progress(write_and_read) == 0
    # the check itself sees a release: NumPy's own copy of the same chunk
    target = np.empty_like(chunk)
    assert other_thread_progress(lambda: np.copyto(target, chunk)) > 0
