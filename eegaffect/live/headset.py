"""A simulated headset in a child process, for the demo, the live benchmark and the end-to-end tests.

``python -m eegaffect.live.headset --name N ...`` runs a
:class:`~eegaffect.acquisition.simulate.SimulatedHeadset` over
:class:`~eegaffect.acquisition.simulator.SimulatedEEG` (EEG stream ``N`` and ground truth ``N-truth``) until
``--duration``, SIGTERM/SIGINT, or (with ``--parent-pid``) the death of its parent. :class:`HeadsetProcess` starts
and stops it and waits until its streams are visible; a parent killed with SIGKILL never gets to stop it, so the
child watches the parent itself (its parent pid changes, or the pipe on its stdin closes) and never publishes on
as an orphan. Unlike ``eegaffect simulate`` it lets the caller choose the signal unit, so the stream matches the unit a
model bundle was trained on.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Sequence

__all__ = ["HeadsetProcess", "main"]

logger = logging.getLogger("eegaffect.live.headset")


class HeadsetProcess:
    """Start ``python -m eegaffect.live.headset`` and wait for its EEG stream.

    Parameters
    ----------
    name : str
        EEG stream name (the ground truth is ``{name}-truth``).
    montage : str
        Channel set name of :data:`eegaffect.acquisition.channels.CHANNEL_SETS`.
    sfreq : float
        Sampling rate in Hz.
    seed : int
        Seed of the simulation (noise, events, trajectory; and the session's electrode traits).
    subject : int | None
        Seed of the simulated person (None: ``seed``).
    unit : {"V", "uV"}
        Unit of the samples.
    duration : float | None
        Seconds of signal (None: until stopped).
    index_channel : bool
        Add a ``sample_index`` channel.
    chunk_size : int | None
        Samples per push (default 1/20 s).
    physio : sequence of str
        Physiological devices of the simulated person (``ecg``, ``ppg``, ``eda``, ``resp``, ``temp``), each an
        outlet ``{name}-{kind}`` at its default rate (:data:`~eegaffect.acquisition.sim.PHYSIO_DEVICES`).
    realtime : bool
        Run the child's threads (its pushing and preparing threads, liblsl's sender threads) in ``SCHED_FIFO``
        where the OS allows it (:mod:`eegaffect.acquisition.realtime`): a device stamps and sends its samples on
        its own schedule, and a simulator whose pushes wait for a core behind other work adds that wait to the
        latency of what it feeds (normal priority where not permitted).
    lateness_file : str | Path | None
        Where the child saves, when it stops, each chunk's push lateness (``.npy``, shape (n_chunks, 2): the last
        sample's timestamp and the seconds from it to the push, :meth:`PacedPusher.push_lateness
        <eegaffect.acquisition.pusher.PacedPusher.push_lateness>`); read it with :meth:`push_lateness`.
    """

    def __init__(self, name: str, *, montage: str = "seed62", sfreq: float = 200.0, seed: int = 0,
                 subject: int | None = None, unit: str = "V", duration: float | None = None,
                 index_channel: bool = True, chunk_size: int | None = None, physio: Sequence[str] = (),
                 realtime: bool = True, lateness_file: str | os.PathLike | None = None):
        from eegaffect.acquisition.channels import CHANNEL_SETS

        if montage not in CHANNEL_SETS:
            raise ValueError(f"montage must be one of {sorted(CHANNEL_SETS)}, got {montage!r}")
        if unit not in ("V", "uV"):
            raise ValueError(f"unit must be 'V' or 'uV', got {unit!r}")
        self.name = name
        self.argv = [sys.executable, "-m", "eegaffect.live.headset", "--name", name, "--montage", montage,
                     "--sfreq", repr(float(sfreq)), "--seed", str(int(seed)), "--unit", unit]
        if subject is not None:
            self.argv += ["--subject", str(int(subject))]
        if duration is not None:
            self.argv += ["--duration", repr(float(duration))]
        if index_channel:
            self.argv.append("--index-channel")
        if chunk_size is not None:
            self.argv += ["--chunk-size", str(int(chunk_size))]
        self.argv += ["--parent-pid", str(os.getpid())]
        if realtime:
            self.argv.append("--realtime")
        self.lateness_file = None if lateness_file is None else os.fspath(lateness_file)
        if self.lateness_file is not None:
            self.argv += ["--lateness-file", self.lateness_file]
        from eegaffect.acquisition.sim.devices import PHYSIO_DEVICES

        bad = [k for k in physio if k not in PHYSIO_DEVICES]
        if bad:
            raise ValueError(f"physio must be some of {sorted(PHYSIO_DEVICES)}, got {bad}")
        self.physio = list(physio)
        if self.physio:
            self.argv += ["--physio", ",".join(self.physio)]
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> "HeadsetProcess":
        """Start the child and wait (up to ``timeout`` s) until its EEG stream is visible."""
        from eegaffect.acquisition.lsl import StreamNotFoundError, resolve_streams

        env = dict(os.environ, EEGAFFECT_PROGRESS="0")
        # the child's stdin is a pipe only this process writes to: when it dies (even by SIGKILL) the pipe closes
        self.process = subprocess.Popen(self.argv, env=env, stdin=subprocess.PIPE)
        t_end = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulated headset exited with code {self.process.returncode} before its "
                                   f"stream {self.name!r} appeared (command: {' '.join(self.argv)})")
            try:
                for name in [self.name, *(f"{self.name}-{k}" for k in self.physio)]:
                    resolve_streams(name=name, timeout=min(1.0, max(t_end - time.monotonic(), 0.1)))
                return self
            except StreamNotFoundError:
                if time.monotonic() > t_end:
                    self.stop()
                    raise

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate the child (SIGTERM, then SIGKILL after ``timeout``); return its exit code."""
        if self.process is None:
            return None
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode

    def push_lateness(self):
        """The push lateness the child saved when it stopped (see ``lateness_file``).

        Returns
        -------
        lateness : ndarray, shape (n_chunks, 2) | None
            Per chunk: its last sample's timestamp and the seconds from it to the push; None without a
            ``lateness_file`` or before the child saved it.
        """
        import numpy as np

        if self.lateness_file is None or not os.path.exists(self.lateness_file):
            return None
        return np.load(self.lateness_file)

    def __enter__(self) -> "HeadsetProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the child process."""
    import signal

    from eegaffect.acquisition.channels import CHANNEL_SETS
    from eegaffect.acquisition.simulate import SimulatedHeadset
    from eegaffect.acquisition.simulator import SimulatedEEG

    parser = argparse.ArgumentParser(prog="python -m eegaffect.live.headset")
    parser.add_argument("--name", required=True)
    parser.add_argument("--montage", default="seed62", choices=sorted(CHANNEL_SETS))
    parser.add_argument("--sfreq", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subject", type=int, default=None)
    parser.add_argument("--unit", default="V", choices=["V", "uV"])
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--index-channel", action="store_true")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="stop when this process (the parent) is gone or closes our stdin")
    parser.add_argument("--physio", default="", help="comma-separated devices: ecg, ppg, eda, resp, temp")
    parser.add_argument("--realtime", action="store_true",
                        help="run every thread of this process in SCHED_FIFO where permitted")
    parser.add_argument("--lateness-file", default=None, help="save each chunk's push lateness here (.npy) on exit")
    args = parser.parse_args(argv)
    if args.realtime:
        from eegaffect.acquisition.realtime import DEVICE_PRIORITY, set_realtime

        # before any thread starts: the pushing thread and liblsl's sender threads inherit it (above the session's
        # threads, as a device's hardware would be), the preparing thread too, at the lowest real-time priority
        set_realtime(DEVICE_PRIORITY, inherit=True)

    def _stop(signum, frame):
        # once: the parent both closes our stdin (the watch thread sends SIGTERM) and terminates us, and a second
        # KeyboardInterrupt raised while the outlets close would end the child with a traceback
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # the pushing thread waits at most this long for the interpreter lock while the preparing thread generates
    # samples ahead (acquisition.pusher): 0.5 ms instead of Python's 5 ms, in this process only
    sys.setswitchinterval(0.0005)
    if args.parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(args.parent_pid,), name="eegaffect-watch-parent",
                         daemon=True).start()
    source = SimulatedEEG(CHANNEL_SETS[args.montage], args.sfreq, seed=args.seed, subject=args.subject,
                          unit=args.unit)
    kinds = [k for k in args.physio.split(",") if k]
    if kinds:
        from eegaffect.acquisition.sim.devices import DeviceSpec, SimulatedPerson

        headset = SimulatedPerson(source, [DeviceSpec(k) for k in kinds], name=args.name,
                                  chunk_size=args.chunk_size, index_channel=args.index_channel,
                                  duration=args.duration, seed=args.seed, subject=args.subject)
    else:
        headset = SimulatedHeadset(source, name=args.name, chunk_size=args.chunk_size,
                                   index_channel=args.index_channel, duration=args.duration)
    try:
        headset.start()
        headset.join()
    except KeyboardInterrupt:
        pass
    finally:
        headset.close()
        if args.lateness_file:
            import numpy as np

            np.save(args.lateness_file, headset.push_lateness())
    return 0 if headset.error is None else 1


def _watch_parent(parent_pid: int, poll_s: float = 0.25) -> None:
    """Send ourselves SIGTERM (a clean stop) once the parent is gone: our parent pid is no longer ``parent_pid``
    (we were re-parented) or our stdin, a pipe only the parent writes to, reached end-of-file.
    """
    import select
    import signal

    fd = sys.stdin.fileno() if sys.stdin is not None else None
    while os.getppid() == parent_pid:
        if fd is not None:
            try:
                ready, _, _ = select.select([fd], [], [], poll_s)
                if ready and not os.read(fd, 4096):
                    break  # EOF: the parent closed the pipe or died
            except (OSError, ValueError):  # not a selectable pipe (e.g. stdin closed): watch the pid only
                fd = None
        else:
            time.sleep(poll_s)
    logger.info("parent process %d is gone: stopping the simulated headset", parent_pid)
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":  # pragma: no cover - run as a child process
    raise SystemExit(main())
