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
