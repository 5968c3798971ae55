"""Real-time scheduling of the threads on the live path, where the OS allows it.

On a machine whose cores are busy with other work, a thread of the live path (a device's pushing thread, liblsl's
sender and receiver, the inlet's worker, the session's loop) that wakes up waits for a core behind whatever runs
there: with the fair scheduler that wait was 2-5 ms at p99 and up to 10-30 ms at the tail on a 2-core machine at
load 2-5 (``docs/latency.md``), on every one of the half-dozen wake-ups an update needs. A ``SCHED_FIFO`` thread
preempts the fair-scheduled work at once: the same probe woke 0.12-0.14 ms late at p99.

Raising a thread to ``SCHED_FIFO`` needs ``CAP_SYS_NICE`` or an ``RLIMIT_RTPRIO`` above 0 (``ulimit -r``;
``/etc/security/limits.conf``: ``@audio - rtprio 20`` is how audio software gets it). Without either, the calls
here return False and everything runs at normal priority, as before. The kernel keeps 5 % of each second for
fair-scheduled tasks (``sched_rt_runtime_us``), so a real-time thread cannot lock the machine up.

Python threads share one interpreter lock: a real-time thread that needs it while a normal thread of the same
process holds it and waits for a core waits with it. So every Python thread of a process that runs on the live
path gets the same policy (the session's loop and all its inlets' workers; the simulated headset's whole process).
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

__all__ = ["DEFAULT_PRIORITY", "DEVICE_PRIORITY", "set_realtime", "demote_realtime", "realtime_scope",
           "thread_policy"]

logger = logging.getLogger("eegaffect.acquisition.realtime")

#: ``SCHED_FIFO`` priority of the live path's threads (1-99; low: above every normal thread, below the kernel's
#: own real-time threads and audio servers).
DEFAULT_PRIORITY = 10
#: Priority of a (simulated) device's pushing threads: above its consumers, as a device's own hardware would be.
DEVICE_PRIORITY = DEFAULT_PRIORITY + 1

_refusal_logged = False


def thread_policy() -> tuple[int, int]:
    """The calling thread's scheduling policy (``os.SCHED_*``, with ``os.SCHED_RESET_ON_FORK`` or-ed in when set)
    and priority; ``(-1, 0)`` where the platform has no ``os.sched_getscheduler``.
    """
    if not hasattr(os, "sched_getscheduler"):
        return -1, 0
    return os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


def set_realtime(priority: int = DEFAULT_PRIORITY, *, inherit: bool = False) -> bool:
    """Put the calling thread in ``SCHED_FIFO`` at ``priority``.

    Parameters
    ----------
    priority : int
        1 (lowest) to 99.
    inherit : bool
        Whether threads and processes the calling thread starts from now on inherit the policy (False sets
        ``SCHED_RESET_ON_FORK``: they start at normal priority).

    Returns
    -------
    done : bool
        False where the OS refuses (no ``CAP_SYS_NICE`` or ``RLIMIT_RTPRIO``; said once in the log at INFO) or has
        no ``SCHED_FIFO``.
    """
    global _refusal_logged
    if not 1 <= int(priority) <= 99:
        raise ValueError(f"priority must be in 1..99, got {priority}")
    if not hasattr(os, "sched_setscheduler") or not hasattr(os, "SCHED_FIFO"):
        return False
    policy = os.SCHED_FIFO if inherit else os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
    try:
        os.sched_setscheduler(0, policy, os.sched_param(int(priority)))
    except OSError as exc:  # EPERM without the capability or limit
        if not _refusal_logged:
            _refusal_logged = True
            logger.info("real-time scheduling of the live path is not permitted here (%s; it needs CAP_SYS_NICE or "
                        "an rtprio limit, ulimit -r): its threads run at normal priority", exc.strerror or exc)
        return False
    return True


def demote_realtime() -> bool:
    """Move the calling thread, if it runs real-time (e.g. inherited from the thread that started it), to the
    lowest ``SCHED_FIFO`` priority: still never preempted by normal work while it holds the interpreter lock, but
    below every other real-time thread (for a thread that computes ahead, such as a simulator's generator).

    Returns
    -------
    demoted : bool
        False when the thread was not real-time (nothing changed).
    """
    policy, _ = thread_policy()
    if policy < 0 or policy & ~getattr(os, "SCHED_RESET_ON_FORK", 0) not in (os.SCHED_FIFO, os.SCHED_RR):
        return False
    os.sched_setscheduler(0, policy, os.sched_param(1))
    return True


def _restore(state: tuple[int, int]) -> None:
    policy, priority = state
    if policy >= 0:
        os.sched_setscheduler(0, policy, os.sched_param(priority))


@contextlib.contextmanager
def realtime_scope(enabled: bool = True, priority: int = DEFAULT_PRIORITY, *,
                   inherit: bool = False) -> Iterator[bool]:
    """Run a block with the calling thread in ``SCHED_FIFO`` (:func:`set_realtime`), then restore its policy.

    Parameters
    ----------
    enabled : bool
        False: change nothing (yields False).
    priority : int
        1 to 99.
    inherit : bool
        Whether threads started inside the block inherit the policy (e.g. liblsl's receiver thread, started when
        an inlet opens).

    Yields
    ------
    done : bool
        Whether the thread runs real-time inside the block.
    """
    if not enabled:
        yield False
        return
    before = thread_policy()
    done = set_realtime(priority, inherit=inherit)
    try:
        yield done
    finally:
        if done:
            _restore(before)
