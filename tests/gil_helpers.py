"""Whether a call releases the interpreter lock: another thread counts the times it gets it while the call runs."""

from __future__ import annotations

import sys
import threading
import time


def other_thread_progress(call, seconds: float = 0.2) -> int:
    """How often a waiting thread gets the interpreter lock while ``call()`` runs repeatedly for ``seconds``.

    The switch interval is 10 s meanwhile (set before the other thread starts waiting), so that thread only gets
    the lock where ``call`` releases it itself: 0 when it never does. The other thread gives the lock back at once
    (``time.sleep(0)``) each time it has counted.
    """
    count, go, stop = [0], threading.Event(), threading.Event()

    def counter():
        go.wait()
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)

    before = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    thread = threading.Thread(target=counter, daemon=True)
    try:
        thread.start()
        go.set()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            call()
        progress = count[0]
    finally:
        stop.set()
        sys.setswitchinterval(before)
        thread.join()
    return progress
