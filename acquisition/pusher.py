"""Paced pushing: the worker thread shared by the players and the simulated headset.

:class:`PacedPusher` owns the timing (a push timeline on :func:`pylsl.local_clock`, a chunk pushed when its last
sample is due, a speed factor), the thread, stopping and error keeping; subclasses say what to push and where.
"""

from __future__ import annotations

import abc
import logging
import threading
from collections import deque

import numpy as np
import pylsl
from eegaffect.acquisition.realtime import demote_realtime

__all__ = ["PacedPusher"]

logger = logging.getLogger("eegaffect.acquisition.pusher")


class PacedPusher(abc.ABC):
    """Base of the players: a worker thread that pushes chunks to LSL outlets when they are due.

    Sample ``i`` of the push timeline is stamped ``t_start + rel_i / speed``, where ``t_start`` is
    :func:`pylsl.local_clock` when pushing starts and ``rel_i`` the subclass's relative time of the sample; a chunk
    is pushed when its last sample is due, so a replay never runs ahead of the clock.

    What a chunk needs before it can be pushed (a simulator generating its samples: milliseconds of CPU, tens of
    them for a whole generator block on a busy machine) is computed ahead by ``_prepare`` in a second thread,
    ``PREPARE_AHEAD`` chunks ahead; the pushing thread only waits and pushes, so a chunk is late only by that
    thread's own wake-up and, while the other thread computes, by the wait for the interpreter lock (at most
    :func:`sys.getswitchinterval`; the headset's own process lowers it to 0.5 ms). (Computing samples at the due
    time stamped them with the due time but pushed them milliseconds later: the simulated headset's 1-s generator
    blocks delayed every 20th push of 64 channels at 1 kHz by 13 ms on an idle 2-core machine and 30-90 ms on a
    loaded one, the tail of ``eegaffect bench live``; prepared in the pushing thread between pushes they still
    made the next push late whenever a block took longer than a chunk period. The preparing thread keeps the
    pushing thread's priority: at a lower one, the OS preempted it while it held the interpreter lock, and the
    pushing thread waited for it, up to 0.1 s on a loaded machine.)

    Subclasses implement four hooks (:class:`~eegaffect.acquisition.player.Player`,
    :class:`~eegaffect.acquisition.sim.SimulatedHeadset`), and may implement ``_prepare``:

    - ``_plan(i) -> (m, rel_times) | None``: the next ``m`` samples, starting at global sample ``i``, and their
      relative times in seconds, shape ``(m,)``; None when done;
    - ``_prepare(i, m) -> object``: compute what pushing those samples needs (default: nothing, None); called in
      order, ahead of time;
    - ``_emit(i, m, timestamps, prepared)``: push those samples with their timestamps, shape ``(m,)``;
      ``prepared`` is what ``_prepare`` returned for them;
    - ``_wait_consumers(timeout)``: wait up to ``timeout`` seconds for an inlet on the main outlet;
    - ``_close_outlets()``: destroy the outlets.

    Parameters
    ----------
    speed : float
        1 = real time, 10 = ten times faster.
    """

    #: Chunks kept prepared ahead of the one being pushed (0.5 s of the simulated headset's 1/20-s chunks: more
    #: than one generator block takes on a loaded machine).
    PREPARE_AHEAD = 10
    #: Chunks whose push lateness is kept (:meth:`push_lateness`): 2.8 hours of 1/20-s chunks.
    LATENESS_KEPT = 200_000

    def __init__(self, speed: float):
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (1 = real time), got {speed}")
        self._speed = float(speed)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._n_pushed = 0
        self._t_start = float("nan")
        self._lateness: deque[tuple[float, float]] = deque(maxlen=self.LATENESS_KEPT)
        self.error: BaseException | None = None

    @property
    def n_pushed(self) -> int:
        """Samples pushed so far."""
        return self._n_pushed

    @property
    def t_start(self) -> float:
        """:func:`pylsl.local_clock` time of sample 0 (NaN before start)."""
        return self._t_start

    def push_lateness(self) -> np.ndarray:
        """When each chunk was pushed relative to its last sample's timestamp: the source's share of a consumer's
        latency (a late wake-up of the pushing thread, a wait for the interpreter lock).

        Returns
        -------
        lateness : ndarray, shape (n_chunks, 2)
            Per chunk pushed (the last :attr:`LATENESS_KEPT`), oldest first: the timestamp of its last sample and
            the seconds from it to the push (:func:`pylsl.local_clock` when ``_emit`` started).
        """
        rows = list(self._lateness)
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), 2)

    @property
    def is_alive(self) -> bool:
        """Whether the background pushing thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, wait_for_consumers: float | None = None) -> "PacedPusher":
        """Start pushing in a background thread.

        Parameters
        ----------
        wait_for_consumers : float | None
            First wait up to this many seconds for an inlet to connect (so a test's inlet sees sample 0).
        """
        if self.is_alive:
            raise RuntimeError("already playing")
        self._stop.clear()
        self._done.clear()
        self._thread = threading.Thread(target=self._guarded_run, args=(wait_for_consumers,),
                                        name=f"eegaffect-{type(self).__name__.lower()}", daemon=True)
        self._thread.start()
        return self

    def run(self, duration: float | None = None, wait_for_consumers: float | None = None) -> int:
        """Push in the calling thread until done, ``duration`` seconds of wall time passed, or :meth:`stop`.

        Returns
        -------
        n_pushed : int
            Samples pushed.
        """
        self.start(wait_for_consumers)
        try:
            self._thread.join(timeout=duration)
        finally:
            self.stop()
        return self._n_pushed

    def stop(self) -> None:
        """Stop pushing (the outlets stay open until :meth:`close`)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until everything was pushed; return whether it finished."""
        return self._done.wait(timeout)

    def close(self) -> None:
        """Stop and destroy the outlets."""
        self.stop()
        self._close_outlets()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _guarded_run(self, wait_for_consumers: float | None) -> None:
        try:
            if wait_for_consumers:
                self._wait_consumers(float(wait_for_consumers))
            self._run()
        except BaseException as exc:  # keep the error for the owner; a thread cannot raise to it
            self.error = exc
            logger.error("%s stopped: %s", type(self).__name__, exc)
        finally:
            self._done.set()

    def _run(self) -> None:
        ahead = _Ahead(self, self.PREPARE_AHEAD)
        preparer = threading.Thread(target=ahead.run, name=f"eegaffect-{type(self).__name__.lower()}-prepare",
                                    daemon=True)
        preparer.start()
        try:
            first = ahead.pop(self._stop)  # sample 0 is prepared before the clock starts: not pushed late either
            self._t_start = pylsl.local_clock()
            chunk = first
            while chunk is not None and not self._stop.is_set():
                i, m, rel, prepared = chunk
                stamps = self._t_start + rel / self._speed
                delay = stamps[-1] - pylsl.local_clock()
                if delay > 0 and self._stop.wait(delay):
                    break
                t_push = pylsl.local_clock()
                self._emit(i, m, stamps, prepared)
                self._lateness.append((float(stamps[-1]), t_push - float(stamps[-1])))
                self._n_pushed = i + m
                chunk = ahead.pop(self._stop)
        finally:
            ahead.close()
            preparer.join(timeout=10)

    # subclass hooks
    @abc.abstractmethod
    def _plan(self, i: int) -> tuple[int, np.ndarray] | None:
        """The next samples from global sample ``i``: ``(m, rel_times)``, or None when done."""

    def _prepare(self, i: int, m: int):
        """What pushing samples ``i .. i + m - 1`` needs, computed ahead of their due time (default: None)."""
        return None

    @abc.abstractmethod
    def _emit(self, i: int, m: int, timestamps: np.ndarray, prepared=None) -> None:
        """Push samples ``i .. i + m - 1`` stamped ``timestamps``, shape (m,); ``prepared``: what
        :meth:`_prepare` returned for them.
        """

    @abc.abstractmethod
    def _wait_consumers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a consumer of the main outlet."""

    @abc.abstractmethod
    def _close_outlets(self) -> None:
        """Destroy the outlets."""


class _Ahead:
    """The chunks of a :class:`PacedPusher` planned and prepared ahead, by :meth:`run` in their own thread."""

    def __init__(self, pusher: PacedPusher, depth: int):
        self._pusher = pusher
        self._depth = max(1, int(depth))
        self._ready: deque = deque()  # (i, m, rel_times, prepared), in order
        self._cond = threading.Condition()
        self._ended = False  # the plan is over (or the preparer stopped)
        self._closed = False
        self._error: BaseException | None = None

    def run(self) -> None:
        # a real-time policy inherited from the pushing thread (a simulated device's process): the lowest
        # real-time priority, so that a wake-up of the pushing thread never waits for this thread's work
        demote_realtime()
        i = 0
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._closed or len(self._ready) < self._depth)
                    if self._closed:
                        return
                plan = self._pusher._plan(i)
                if plan is None:
                    return
                m, rel = plan
                chunk = (i, m, np.asarray(rel, dtype=np.float64), self._pusher._prepare(i, m))
                with self._cond:
                    self._ready.append(chunk)
                    self._cond.notify_all()
                i += m
        except BaseException as exc:  # handed to the pushing thread, which raises it
            self._error = exc
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def pop(self, stop: threading.Event, poll_s: float = 0.1):
        """The next chunk ``(i, m, rel_times, prepared)``; None when the plan is over or ``stop`` is set."""
        with self._cond:
            while not self._ready and not self._ended:
                if stop.is_set():
                    return None
                self._cond.wait(poll_s)
            if self._ready:
                chunk = self._ready.popleft()
                self._cond.notify_all()
                return chunk
        if self._error is not None:
            raise self._error
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

