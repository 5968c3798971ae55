"""Paced pushing: the worker thread shared by the players and the simulated headset.

:class:`PacedPusher` owns the timing (a push timeline on :func:`pylsl.local_clock`, a chunk pushed when its last
sample is due, a speed factor), the thread, stopping and error keeping; subclasses say what to push and where.
"""

from __future__ import annotations

import abc
import logging
import threading

import numpy as np
import pylsl

__all__ = ["PacedPusher"]

logger = logging.getLogger("eegaffect.acquisition.pusher")


class PacedPusher(abc.ABC):
    """Base of the players: a worker thread that pushes chunks to LSL outlets when they are due.

    Sample ``i`` of the push timeline is stamped ``t_start + rel_i / speed``, where ``t_start`` is
    :func:`pylsl.local_clock` when pushing starts and ``rel_i`` the subclass's relative time of the sample; a chunk
    is pushed when its last sample is due, so a replay never runs ahead of the clock.

    Subclasses implement four hooks (:class:`~eegaffect.acquisition.player.Player`,
    :class:`~eegaffect.acquisition.sim.SimulatedHeadset`):

    - ``_plan(i) -> (m, rel_times) | None``: the next ``m`` samples, starting at global sample ``i``, and their
      relative times in seconds, shape ``(m,)``; None when done;
    - ``_emit(i, m, timestamps)``: push those samples with their timestamps, shape ``(m,)``;
    - ``_wait_consumers(timeout)``: wait up to ``timeout`` seconds for an inlet on the main outlet;
    - ``_close_outlets()``: destroy the outlets.

    Parameters
    ----------
    speed : float
        1 = real time, 10 = ten times faster.
    """

    def __init__(self, speed: float):
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (1 = real time), got {speed}")
        self._speed = float(speed)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._n_pushed = 0
        self._t_start = float("nan")
        self.error: BaseException | None = None

    @property
    def n_pushed(self) -> int:
        """Samples pushed so far."""
        return self._n_pushed

    @property
    def t_start(self) -> float:
        """:func:`pylsl.local_clock` time of sample 0 (NaN before start)."""
        return self._t_start

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
        self._t_start = pylsl.local_clock()
        i = 0
        while not self._stop.is_set():
            plan = self._plan(i)
            if plan is None:
                break
            m, rel = plan
            stamps = self._t_start + np.asarray(rel, dtype=np.float64) / self._speed
            delay = stamps[-1] - pylsl.local_clock()
            if delay > 0 and self._stop.wait(delay):
                break
            self._emit(i, m, stamps)
            i += m
            self._n_pushed = i

    # subclass hooks
    @abc.abstractmethod
    def _plan(self, i: int) -> tuple[int, np.ndarray] | None:
        """The next samples from global sample ``i``: ``(m, rel_times)``, or None when done."""

    @abc.abstractmethod
    def _emit(self, i: int, m: int, timestamps: np.ndarray) -> None:
        """Push samples ``i .. i + m - 1`` stamped ``timestamps``, shape (m,)."""

    @abc.abstractmethod
    def _wait_consumers(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a consumer of the main outlet."""

    @abc.abstractmethod
    def _close_outlets(self) -> None:
        """Destroy the outlets."""
