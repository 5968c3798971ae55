"""Helpers shared by the live-LSL tests (test_acquisition_*.py): wait for a condition, read exactly n samples."""

from __future__ import annotations

import time

import numpy as np


def wait_until(predicate, timeout: float, poll: float = 0.02) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds passed; return its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


def read_samples(stream, n: int, timeout: float) -> tuple[np.ndarray, np.ndarray]:
    """Read from a connected :class:`~eegaffect.acquisition.lsl.Stream` until ``n`` samples arrived (or timeout).

    Returns
    -------
    data : ndarray, shape (n_received, n_chans)
    timestamps : ndarray, shape (n_received,)
    """
    parts, stamps, got = [], [], 0
    end = time.monotonic() + timeout
    while got < n and time.monotonic() < end:
        stream.wait(timeout=0.2)
        data, ts = stream.read_new()
        parts.append(data)
        stamps.append(ts)
        got += len(ts)
    return np.concatenate(parts), np.concatenate(stamps)


def reap(proc) -> None:
    """Make sure a child process is gone (kill it if it still runs), wait for it and close its pipes.

    For ``finally`` blocks of tests that run a player, recorder or CLI command in a subprocess.
    """
    if proc.poll() is None:
        proc.kill()
    proc.communicate()  # waits, drains and closes the pipes (a no-op on pipes already closed)


class RampSource:
    """Deterministic stand-in generator for a simulated headset: channel c of sample k is ``k + 1000 c``; the
    truth is a (sin, cos) ramp of k."""

    def __init__(self, n_chans: int, sfreq: float):
        self.ch_names = [f"C{c}" for c in range(n_chans)]
        self.sfreq = sfreq
        self.unit = "uV"
        self._k = 0

    def generate(self, n: int):
        """The next ``n`` samples: EEG (n, n_chans) and valence/arousal (n, 2)."""
        k = self._k + np.arange(n)
        self._k += n
        eeg = k[:, None] + 1000.0 * np.arange(len(self.ch_names))[None, :]
        va = np.column_stack([np.sin(k / 50.0), np.cos(k / 50.0)])
        return eeg, va


def run_session_with_person(session, person, duration: float, join_s: float = 120.0) -> dict:
    """Run ``session`` for ``duration`` s in a thread, start ``person`` (an entered ``SimulatedPerson``) once the
    session's inlets are open, so they see it from its first sample, and return the session's summary.

    Fails when the session is not ready within 60 s, does not end within ``join_s`` or the person failed.
    """
    import threading

    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(summary=session.run(duration=duration)), daemon=True)
    thread.start()
    assert session.ready.wait(60)
    person.start()
    thread.join(join_s)
    assert not thread.is_alive() and person.error is None
    return result["summary"]
