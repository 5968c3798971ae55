"""Issue 15: real-time scheduling of the live path's threads (where the OS permits it) and the simulated headset's
push lateness: policies set and restored, inherited only when asked, and nothing lost or reordered over real LSL."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest
from eegaffect.acquisition.realtime import realtime_scope, set_realtime, thread_policy
from lsl_helpers import RampSource, read_samples

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling policies")


def _permitted() -> bool:
    """Whether this process may use SCHED_FIFO (probed in a throw-away thread)."""
    result = []
    t = threading.Thread(target=lambda: result.append(set_realtime()))
    t.start()
    t.join()
    return bool(result[0])


def _policy_of(native_id: int) -> int:
    """Scheduling policy of a thread of this process, from /proc (field 41 of its stat)."""
    with open(f"/proc/self/task/{native_id}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[38])


def _in_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join(10)
    return out[0]


def test_priority_is_checked():
    with pytest.raises(ValueError, match="1..99"):
        set_realtime(0)
    with pytest.raises(ValueError, match="1..99"):
        set_realtime(100)


@linux_only
def test_scope_sets_fifo_where_permitted_and_restores_the_policy():
    def run():
        before = thread_policy()
        with realtime_scope(False) as off:
            unchanged = thread_policy()
        with realtime_scope(True) as done:
            inside = thread_policy()
        return before, off, unchanged, done, inside, thread_policy()

    before, off, unchanged, done, inside, after = _in_thread(run)
    assert off is False and unchanged == before
    assert after == before  # restored, whether or not it was changed
    if done:
        assert inside[0] & ~os.SCHED_RESET_ON_FORK == os.SCHED_FIFO and inside[1] >= 1
    else:
        assert inside == before


@linux_only
def test_threads_inherit_the_policy_only_when_asked():
    if not _permitted():
        pytest.skip("SCHED_FIFO not permitted here")

    def child_policy(inherit: bool) -> int:
        with realtime_scope(True, inherit=inherit):
            return _in_thread(lambda: thread_policy()[0])

    assert _in_thread(lambda: child_policy(True)) == os.SCHED_FIFO
    assert _in_thread(lambda: child_policy(False)) == os.SCHED_OTHER


@pytest.mark.live
@pytest.mark.timeout(60)
def test_realtime_stream_reads_every_sample_in_order_and_records_push_lateness(unique_name):
    from eegaffect.acquisition.lsl import Stream
    from eegaffect.acquisition.simulate import SimulatedHeadset

    sfreq, n = 500.0, 400
    headset = SimulatedHeadset(RampSource(4, sfreq), name=unique_name, chunk_size=25, index_channel=True,
                               duration=n / sfreq)
    main_before = thread_policy()
    with headset, Stream(name=unique_name, timeout=5, dejitter=False, realtime=True) as stream:
        headset.start(wait_for_consumers=5)
        assert headset.join(10)
        data, ts = read_samples(stream, n, 5)
        health = stream.health
        worker_policy = _policy_of(stream._thread.native_id)
    assert thread_policy() == main_before  # opening the inlet in a real-time scope left the caller as it was
    if _permitted():
        assert worker_policy == os.SCHED_FIFO
    np.testing.assert_array_equal(data[:, -1], np.arange(n))  # sample counter: nothing lost, nothing reordered
    np.testing.assert_array_equal(data[:, 1], np.arange(n) + 1000.0)
    assert np.all(np.diff(ts) > 0) and health.n_lost == 0
    # one row per chunk: the stamp of its last sample on the push timeline, pushed never before it was due
    late = headset.push_lateness()
    assert late.shape == (n // 25, 2)
    np.testing.assert_allclose(late[:, 0], headset.t_start + (np.arange(25, n + 1, 25) - 1) / sfreq, atol=1e-9)
    assert np.all(late[:, 1] >= 0)


@pytest.mark.live
@pytest.mark.timeout(120)
def test_headset_process_saves_its_push_lateness(unique_name, tmp_path):
    from eegaffect.acquisition.lsl import Stream

    from eegaffect.live.headset import HeadsetProcess

    path = tmp_path / "lateness.npy"
    headset = HeadsetProcess(unique_name, montage="dreamer14", sfreq=128.0, index_channel=True, realtime=True,
                             lateness_file=path)
    assert headset.push_lateness() is None
    with headset, Stream(name=unique_name, timeout=10, realtime=True) as stream:
        data, ts = read_samples(stream, 256, 20)
    assert headset.process.returncode == 0
    late = headset.push_lateness()
    assert late.ndim == 2 and late.shape[1] == 2 and len(late) >= 256 // 6
    assert np.all(np.diff(late[:, 0]) > 0) and np.all(late[:, 1] >= 0)
    counter = data[:, -1]
    np.testing.assert_array_equal(np.diff(counter), 1)  # consecutive, whatever the start
    assert np.all(np.diff(ts) > 0)


def _rt_priority_of(native_id: int) -> int:
    """Real-time priority of a thread of this process, from /proc (field 40 of its stat)."""
    with open(f"/proc/self/task/{native_id}/stat") as fh:
        return int(fh.read().rsplit(")", 1)[1].split()[37])


@linux_only
@pytest.mark.live
@pytest.mark.timeout(60)
def test_a_real_time_headsets_preparing_thread_runs_below_its_pushing_thread(unique_name):
    from eegaffect.acquisition.realtime import DEVICE_PRIORITY
    from eegaffect.acquisition.simulate import SimulatedHeadset

    if not _permitted():
        pytest.skip("SCHED_FIFO not permitted here")
    headset = SimulatedHeadset(RampSource(2, 200.0), name=unique_name, index_channel=True)
    seen = {}

    def start_as_device():  # as the headset's process does: real-time, inherited by the threads it starts
        set_realtime(DEVICE_PRIORITY, inherit=True)
        headset.start()

    with headset:
        _in_thread(start_as_device)
        for _ in range(100):  # the threads start and set themselves up
            threads = {t.name: t.native_id for t in threading.enumerate() if t.name.startswith("eegaffect-sim")}
            if len(threads) == 2 and headset.n_pushed:
                break
            threading.Event().wait(0.05)
        for name, tid in threads.items():
            seen[name] = (_policy_of(tid), _rt_priority_of(tid))
        headset.stop()
    assert seen == {"eegaffect-simulatedheadset": (os.SCHED_FIFO, DEVICE_PRIORITY),
                    "eegaffect-simulatedheadset-prepare": (os.SCHED_FIFO, 1)}
