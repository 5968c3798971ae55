"""Inlet latency and CPU cost against mne-lsl's ``StreamLSL`` on the same outlet (``eegaffect bench acquisition``).

A separate process pushes ``n_chans`` x 1 kHz float32 data in chunks (each chunk stamped with
:func:`pylsl.local_clock` at push time). eegaffect's :class:`~eegaffect.acquisition.lsl.Stream` and mne-lsl's
``StreamLSL`` read that same outlet, one after the other, in the same run.

- Latency: the two readers take turns on the same outlet, each in its own process while the other is not
  running, as a user runs one of them (on a 2-core machine, mne-lsl's acquisition thread alone takes ~17 % of a
  core, and running both at once, or in one process where each library's threads hold the other's interpreter
  lock, measures the competition rather than the reader). Each process polls its reader every ~0.2 ms; each
  time the reader exposes the last sample of a pushed chunk (ours through ``read_new()``, mne-lsl through
  ``n_new_samples`` + ``get_data``), its age ``local_clock() - timestamp`` is recorded: the outlet stamps that
  sample with the push time, so this is the one-way push-to-available latency plus the polling step. A counter in
  channel 0 identifies chunk ends. Median and p99 in ms; both readers keep raw clock-synchronised timestamps (no
  dejitter).
- CPU: each reader alone (the other disconnected), the main thread asleep; the process CPU time
  (:func:`time.process_time`, all threads) over the window as a share of one core. It includes liblsl's receiver
  threads, which both readers have alike (mne-lsl starts a new acquisition thread per poll, so per-thread
  accounting cannot see all of its work); our worker thread's own share is reported beside it.

The pushing process and both readers' processes run their threads in ``SCHED_FIFO`` where the OS permits it
(:mod:`eegaffect.acquisition.realtime`; normal priority elsewhere): the pusher stands for a device, and a reader
for a consumer whose latency counts (the live session does the same). Our reader's latency is also split at our
worker's write into the ring buffer (``to_buffer``: push -> liblsl -> our worker; the rest is the polling step).

Each latency phase also records the hypervisor's steal time over it (``/proc/stat``, both cores together; absent
where the OS has none): in a virtual machine the host now and then stops a virtual core for ~100 ms, the chunks
pushed meanwhile arrive late together, for both readers alike, and a phase's ~310 chunk ends make its p99 the ~4th
worst, so one or two such pauses decide it (``docs/latency.md``). It is reported beside the numbers, not removed
from them.

Cases: ``latency-p99-64x1000``, ``latency-p99-256x1000`` (ms, ratio = mne-lsl / ours) and ``cpu-64x1000``
(% of one core, ratio = mne-lsl / ours); ratio > 1 means eegaffect is better.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

from eegaffect._docs import fill_doc

__all__ = ["run_benchmark", "latency_phase", "cpu_phase", "chunk_end_ages", "steal_seconds"]

_PUSHER = r"""
import sys, time
import numpy as np, pylsl
from eegaffect.acquisition.realtime import DEVICE_PRIORITY, set_realtime
set_realtime(DEVICE_PRIORITY, inherit=True)  # the device: it and liblsl's sender threads (started below) real-time
name, sid, n_chans, sfreq, chunk, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), \
    int(sys.argv[5]), float(sys.argv[6])
info = pylsl.StreamInfo(name, "EEG", n_chans, sfreq, pylsl.cf_float32, sid)
chs = info.desc().append_child("channels")
for k in range(n_chans):
    ch = chs.append_child("channel")
    ch.append_child_value("label", f"E{k + 1}"); ch.append_child_value("type", "eeg")
    ch.append_child_value("unit", "microvolts")
out = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=30)
data = np.random.default_rng(0).standard_normal((chunk, n_chans)).astype(np.float32)
print("ready", flush=True)
t0 = pylsl.local_clock(); k = 0
while pylsl.local_clock() - t0 < seconds:
    due = t0 + (k + 1) * chunk / sfreq
    delay = due - pylsl.local_clock()
    if delay > 0:
        time.sleep(delay)
    data[:, 0] = np.arange(k * chunk, (k + 1) * chunk)  # sample counter: chunk ends are recognisable
    out.push_chunk(data, pylsl.local_clock())
    k += 1
"""


def run_benchmark(duration: float, chunk_size: int = 32) -> tuple[list, dict]:
    """Run every case; return the :class:`~eegaffect.perf.BenchCase` rows and a details dict.

    Parameters
    ----------
    duration : float
        Seconds per measured phase (latency per width; CPU per reader).
    chunk_size : int
        Samples per push.

    Returns
    -------
    cases : list of BenchCase
        ``latency-p99-64x1000``, ``latency-p99-256x1000``, ``cpu-64x1000``.
    details : dict
        Medians, p99s, CPU shares and notes.
    """
    from eegaffect.perf import BenchCase

    if not duration > 0:
        raise ValueError(f"duration must be > 0 seconds, got {duration}")
    details: dict = {"duration_s": duration, "chunk_size": chunk_size, "sfreq": 1000.0, "notes": []}
    cases = []
    for n_chans in (64, 256):
        lat = latency_phase(n_chans, 1000.0, chunk_size, duration)
        details[f"latency_{n_chans}x1000"] = lat
        cases.append(BenchCase.duration(f"latency-p99-{n_chans}x1000", "ms", lat["ours"]["p99_ms"],
                                        lat["mne_lsl"]["p99_ms"], "mne_lsl.stream.StreamLSL"))
        details["notes"].append(
            f"{n_chans}x1000 latency ms: eegaffect median {lat['ours']['median_ms']:.3f} / p99 "
            f"{lat['ours']['p99_ms']:.3f}; mne-lsl median {lat['mne_lsl']['median_ms']:.3f} / p99 "
            f"{lat['mne_lsl']['p99_ms']:.3f} ({lat['ours']['n']} / {lat['mne_lsl']['n']} updates)"
            + _steal_note(lat))
        if "to_buffer" in lat["ours"]:
            buf = lat["ours"]["to_buffer"]
            details["notes"].append(
                f"  eegaffect push -> ring buffer (liblsl and our worker): median {buf['median_ms']:.3f} / p99 "
                f"{buf['p99_ms']:.3f} ms; the rest is the reader's 0.2-ms poll up to read_new")
    cpu = cpu_phase(64, 1000.0, chunk_size, duration)
    details["cpu_64x1000"] = cpu
    cases.append(BenchCase.duration("cpu-64x1000", "% of one core", cpu["ours_pct"], cpu["mne_lsl_pct"],
                                    "mne_lsl.stream.StreamLSL"))
    details["notes"].append(f"64x1000 CPU: eegaffect {cpu['ours_pct']:.2f}% of a core (worker thread alone "
                            f"{cpu['ours_worker_pct']:.2f}%), mne-lsl {cpu['mne_lsl_pct']:.2f}%")
    return cases, details


def _start_pusher(n_chans: int, sfreq: float, chunk: int, seconds: float) -> tuple[subprocess.Popen, str, str]:
    name = f"bench-acq-{n_chans}-{uuid.uuid4().hex[:6]}"
    sid = f"{name}-src"
    proc = subprocess.Popen([sys.executable, "-c", _PUSHER, name, sid, str(n_chans), str(sfreq), str(chunk),
                             str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "ready" not in line:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(f"benchmark outlet process did not start (said {line!r})")
    return proc, name, sid


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()


def steal_seconds() -> float | None:
    """Time the hypervisor has taken from this machine's virtual cores since boot (``steal`` in ``/proc/stat``,
    all cores together), in seconds; None where the OS does not report it.
    """
    import os

    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _steal_note(lat: dict) -> str:
    steal = [lat[kind].get("steal_ms") for kind in ("ours", "mne_lsl")]
    if None in steal:
        return ""
    return f"; hypervisor steal during the phases {steal[0]:.0f} / {steal[1]:.0f} ms"


def _percentiles(ages: list[float]) -> dict:
    import numpy as np

    arr = np.asarray(ages, dtype=np.float64) * 1e3
    if arr.size == 0:
        return {"n": 0, "median_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {"n": int(arr.size), "median_ms": float(np.median(arr)), "p99_ms": float(np.percentile(arr, 99)),
            "max_ms": float(arr.max())}


def chunk_end_ages(index, ts, last_seen: int, chunk: int, now: float, ages: list) -> int:
    """Append ``now - timestamp`` of every newly seen chunk-end sample; return the newest index seen.

    The outlet stamps each pushed chunk with the push time, which is the timestamp of the chunk's *last*
    sample (earlier samples are back-dated at the nominal rate), so the age of a chunk end is the one-way
    push-to-available latency. Partial chunks (liblsl hands samples over as they are deserialised) are not
    counted until their last sample is there.

    Parameters
    ----------
    index : array-like, shape (n_samples,)
        The sample counter channel of the newly read samples.
    ts : array-like, shape (n_samples,)
        Their LSL time stamps in seconds.
    last_seen : int
        The newest counter value already accounted for (``-1`` at the start).
    chunk : int
        Samples per push.
    now : float
        :func:`pylsl.local_clock` at the read.
    ages : list of float
        Appended to, in seconds.

    Returns
    -------
    last_seen : int
        The newest counter value in ``index`` (``last_seen`` when it is empty).
    """
    import numpy as np

    index = np.asarray(index).astype(np.int64)
    ends = np.flatnonzero((index % chunk == chunk - 1) & (index > last_seen))
    ages.extend((now - np.asarray(ts)[ends]).tolist())
    return int(index.max()) if len(index) else last_seen


#: One latency reader: connects to the outlet, polls every ~0.2 ms and records the age of each chunk end it sees;
#: prints the ages (seconds) as one JSON line.
_READER = r"""
import json, sys, time
import numpy as np, pylsl
from eegaffect.perf.acquisition import chunk_end_ages
kind, name, sid, chunk, duration = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
from eegaffect.acquisition.realtime import set_realtime
set_realtime(inherit=True)  # the consumer, and the threads each reader starts (ours: also its own switch)
if kind == "ours":
    from eegaffect.acquisition.lsl import Stream
    stream = Stream(name=name, source_id=sid, bufsize=5.0, dejitter=False, timeout=10.0, realtime=True).connect()
    def newest():
        data, ts = stream.read_new()
        return (data[:, 0], ts) if len(ts) else None
else:
    from mne_lsl.stream import StreamLSL
    stream = StreamLSL(5.0, name=name, source_id=sid).connect(acquisition_delay=0.001,
                                                              processing_flags=["clocksync"], timeout=5.0)
    window = 4 * chunk / stream.info["sfreq"]
    def newest():
        if not stream.n_new_samples:
            return None
        data, ts = stream.get_data(winsize=window, picks=[0])
        return data[0], ts
# liblsl starts a new inlet's data flow 0.3-1.3 s after it connects, with the samples pushed since in one burst:
# wait for that, then let the reader settle (first clock-offset estimates), so the burst is history for both
start = time.perf_counter()
while not stream.n_new_samples and time.perf_counter() - start < 20:
    time.sleep(0.01)
time.sleep(1.0)
seen = -1
got = newest()
if got is not None:
    seen = int(np.max(got[0]))  # what is already held is history: only chunks ending later count
ages, written = [], []
end = time.perf_counter() + duration
while time.perf_counter() < end:
    got = newest()
    if got is not None:
        now = pylsl.local_clock()
        n_before = len(ages)
        seen = chunk_end_ages(got[0], got[1], seen, chunk, now, ages)
        if kind == "ours":  # the part up to our worker's write into the buffer (the rest: the reader's poll)
            written.extend(a - (now - stream.written_at) for a in ages[n_before:])
    time.sleep(0.0002)
stream.disconnect()
print(json.dumps({"ages": ages, "written": written}), flush=True)
"""


@fill_doc
def latency_phase(n_chans: int, sfreq: float, chunk: int, duration: float) -> dict:
    """Push-to-available latency of each reader in turn on one outlet, each in its own process, the other not running.

    Parameters
    ----------
    %(bench_outlet)s

    Returns
    -------
    latency : dict
        ``{"ours": {"n", "median_ms", "p99_ms", "max_ms", "steal_ms"}, "mne_lsl": {...}}`` (``steal_ms``: the
        hypervisor's steal time over the reader's process, both cores; None where not reported).
    """
    proc, name, sid = _start_pusher(n_chans, sfreq, chunk, 2 * duration + 60.0)
    try:
        out = {}
        for kind in ("ours", "mne_lsl"):
            steal0 = steal_seconds()
            ages, written = _reader_ages(kind, name, sid, chunk, duration)
            steal1 = steal_seconds()
            out[kind] = _percentiles(ages)
            out[kind]["steal_ms"] = None if steal0 is None or steal1 is None else 1e3 * (steal1 - steal0)
            if written:
                out[kind]["to_buffer"] = _percentiles(written)
        return out
    finally:
        _stop(proc)


def _reader_ages(kind: str, name: str, sid: str, chunk: int, duration: float) -> tuple[list, list]:
    """Run one latency reader process (``ours`` or ``mne_lsl``) for ``duration`` seconds; return its chunk-end
    ages and (ours only, else empty) their part up to the worker's write into the ring buffer, seconds.
    """
    import json

    reader = subprocess.run([sys.executable, "-c", _READER, kind, name, sid, str(chunk), str(duration)],
                            capture_output=True, text=True, timeout=duration + 60.0)
    lines = reader.stdout.strip().splitlines()
    if reader.returncode != 0 or not lines:
        tail = " | ".join(reader.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"benchmark reader {kind!r} failed (exit {reader.returncode}): {tail}")
    result = json.loads(lines[-1])
    return result["ages"], result["written"]


@fill_doc
def cpu_phase(n_chans: int, sfreq: float, chunk: int, duration: float) -> dict:
    """CPU share of this process while each reader alone holds the outlet (the main thread asleep).

    Parameters
    ----------
    %(bench_outlet)s

    Returns
    -------
    cpu : dict
        ``ours_pct``, ``ours_worker_pct`` (our worker thread alone) and ``mne_lsl_pct``, in % of one core.
    """
    from mne_lsl.stream import StreamLSL

    from eegaffect.acquisition.lsl import Stream

    proc, name, sid = _start_pusher(n_chans, sfreq, chunk, 2 * duration + 20.0)
    try:
        ours = Stream(name=name, source_id=sid, bufsize=duration + 5.0, dejitter=False, timeout=10.0).connect()
        time.sleep(min(1.0, duration))
        worker0, cpu0, t0 = ours.health.worker_cpu_s, time.process_time(), time.perf_counter()
        time.sleep(duration)
        cpu1, t1, worker1 = time.process_time(), time.perf_counter(), ours.health.worker_cpu_s
        ours.disconnect()
        ours_pct = 100 * (cpu1 - cpu0) / (t1 - t0)
        worker_pct = 100 * (worker1 - worker0) / (t1 - t0)

        theirs = StreamLSL(5.0, name=name, source_id=sid).connect(acquisition_delay=0.001,
                                                                  processing_flags=["clocksync"], timeout=5.0)
        time.sleep(min(1.0, duration))
        cpu0, t0 = time.process_time(), time.perf_counter()
        time.sleep(duration)
        cpu1, t1 = time.process_time(), time.perf_counter()
        theirs.disconnect()
        return {"ours_pct": ours_pct, "ours_worker_pct": worker_pct,
                "mne_lsl_pct": 100 * (cpu1 - cpu0) / (t1 - t0)}
    finally:
        _stop(proc)
