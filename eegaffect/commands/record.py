"""``eegaffect record``: record LSL streams into one crash-safe HDF5 file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect record`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "record", help="record LSL streams (EEG, physiology, markers) into an HDF5 file",
        description="Record one or more LSL streams into one HDF5 file (/streams/{name}/data, timestamps, "
                    "clock_offsets, gaps, source_changes), flushed at least once a second. A stream restarted "
                    "under a new source_id is followed after record.reresolve_after_s of silence. Stops after "
                    "--duration or on Ctrl-C, closing the file cleanly.")
    parser.add_argument("--stream", dest="streams", action="append", required=True, metavar="NAME",
                        help="name of a stream to record (repeatable)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.h5", help="output file")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="seconds to record")
    parser.add_argument("--overwrite", action="store_true", help="replace FILE.h5 if it exists")
    add_config_options(parser, "acquisition")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect record`` with the parsed ``args``; return the exit code."""
    from eegaffect.acquisition.lsl import Stream
    from eegaffect.acquisition.recorder import Recorder
    from eegaffect.acquisition_config import AcquisitionConfig
    from eegaffect.commands._signals import sigterm_as_interrupt

    config = config_from_args(args, AcquisitionConfig)
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"{args.out} already exists; pass --overwrite to replace it")
    streams = []
    recorder = None
    with sigterm_as_interrupt():
        try:
            for name in args.streams:
                streams.append(Stream(name=name, bufsize=config.lsl.bufsize_s,
                                      timeout=config.lsl.resolve_timeout_s, dejitter=False,
                                      jitter_tolerance_s=config.lsl.jitter_tolerance_s,
                                      reresolve_after_s=config.record.reresolve_after_s).connect())
            recorder = Recorder(args.out, streams, overwrite=args.overwrite,
                                flush_interval=config.record.flush_interval_s)
            recorder.start()
            print(f"recording {', '.join(repr(s.name) for s in streams)} to {args.out}; "
                  f"{'Ctrl-C to stop' if args.duration is None else f'{args.duration:g} s'}", flush=True)
            t0 = time.perf_counter()
            try:
                while recorder.recording and (args.duration is None or time.perf_counter() - t0 < args.duration):
                    time.sleep(0.1)
            except KeyboardInterrupt:
                pass
        finally:
            # Stop acquiring first, then let the recorder write what the ring buffers hold: every sample
            # counted as received is then either in the file or reported as not written below.
            for s in streams:
                s.disconnect()
            if recorder is not None:
                recorder.stop()
    for s, written, changes in zip(streams, recorder.n_written.values(), recorder.n_source_changes.values()):
        line = _stream_line(s.name, s.health, written, stopped=recorder.error is not None)
        print(line if not changes else f"{line}; followed {changes} restart(s) under a new source_id (now "
                                       f"{s.source_id!r})")
    print(f"wrote {args.out} ({sum(recorder.n_written.values())} samples)")
    if recorder.error is not None:
        # a write failure while recording (disk full, I/O error) is a runtime failure, not bad input (status 2,
        # which the CLI keeps for errors found before anything ran): status 1, the file holding what was flushed
        print(f"eegaffect record: {recorder.error}", file=sys.stderr)
        return 1
    return 0


def _stream_line(name: str, health, written: int, stopped: bool = False) -> str:
    """One stream's counts: written to the file first, and any received sample that is not in the file.

    ``stopped``: the recording stopped at a write error (the samples after it are not in the file).
    """
    line = (f"{name}: {written} samples written, {health.n_received} samples received, {health.n_lost} lost, "
            f"{health.n_overrun} overwritten, {health.n_reconnects} reconnects")
    missing = health.n_received - written
    if missing > 0:
        if stopped:
            why = "the recording stopped at the write error below"
        elif health.n_overrun:
            why = "overwritten in the ring buffer before they were written"
        else:
            why = "not written"
        line += f"; WARNING: {missing} received sample(s) are not in the file ({why})"
    return line
