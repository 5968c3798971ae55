"""``eegaffect play FILE``: replay a recording (HDF5, XDF, EDF, BDF, FIF, BrainVision, EEGLAB) as an LSL stream."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.commands._outlet_names import add_allow_duplicate_option, refuse_names_in_use


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect play`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "play", help="replay a recording file as an LSL stream",
        description="Stream a recording as an LSL outlet at real-time pace (or --speed times faster), in chunks, "
                    "optionally looping; its markers/annotations go to a second outlet '{name}-markers'.")
    parser.add_argument("file", type=Path, metavar="FILE",
                        help="eegaffect .h5 recording, .xdf, .edf, .bdf, .fif, .vhdr or .set")
    parser.add_argument("--stream", default=None, help="stream to play from a multi-stream file (HDF5, XDF)")
    parser.add_argument("--name", default=None,
                        help="LSL stream name (default: the recorded name / file stem); refused when a stream of "
                             "that name (or NAME-markers for a file with markers) is already visible")
    parser.add_argument("--type", default=None, help="LSL content type (default EEG)")
    parser.add_argument("--source-id", default=None, help="outlet source_id (default: unique)")
    parser.add_argument("--speed", type=float, default=None, help="replay speed factor (default 1 = real time)")
    parser.add_argument("--chunk-size", type=int, default=None, help="samples per push (default 32)")
    parser.add_argument("--loop", action="store_true", default=None, help="start over at the end, until Ctrl-C")
    parser.add_argument("--index-channel", action="store_true", default=None,
                        help="append a sample_index channel (running sample count)")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    parser.add_argument("--wait-for-consumer", type=float, default=0.0, metavar="S",
                        help="wait up to S seconds for an inlet before the first push")
    add_allow_duplicate_option(parser)
    add_config_options(parser, "acquisition")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect play`` with the parsed ``args``; return the exit code."""
    from eegaffect.acquisition.player import Player
    from eegaffect.acquisition_config import AcquisitionConfig
    from eegaffect.commands._signals import sigterm_as_interrupt

    from eegaffect.config import validate_update

    config = config_from_args(args, AcquisitionConfig)
    play = validate_update(config.play, {"speed": args.speed, "chunk_size": args.chunk_size, "loop": args.loop,
                                         "index_channel": args.index_channel},
                           {"speed": "--speed", "chunk_size": "--chunk-size", "loop": "--loop",
                            "index_channel": "--index-channel"})
    if not args.file.exists():
        raise FileNotFoundError(f"recording {args.file} does not exist")
    rec = _read(args.file, args.stream)
    name = args.name or rec.name or args.file.stem
    markers = None
    if rec.markers:
        m = rec.markers[0]
        markers = (m.timestamps, m.values)
    refuse_names_in_use([name] + ([f"{name}-markers"] if markers else []), args, config.lsl.resolve_timeout_s)
    player = Player(rec.data, rec.sfreq, rec.ch_names, name=name,
                    type=args.type or "EEG", ch_types=rec.ch_types, ch_units=rec.ch_units, source_id=args.source_id,
                    chunk_size=play.chunk_size, speed=play.speed, loop=play.loop, index_channel=play.index_channel,
                    timestamps=rec.timestamps, markers=markers)
    print(f"playing {args.file.name}: {rec.n_chans} channels at {rec.sfreq:g} Hz, {rec.duration:.1f} s, as "
          f"stream {player.name!r} (source_id {player.source_id!r}) at {play.speed:g}x"
          f"{', looping' if play.loop else ''}", flush=True)
    t0 = time.perf_counter()
    with sigterm_as_interrupt():
        try:
            player.start(wait_for_consumers=args.wait_for_consumer or None)
            player.join(timeout=args.duration)
        except KeyboardInterrupt:
            pass
        finally:
            player.close()
    if player.error is not None:
        raise player.error
    print(f"pushed {player.n_pushed} samples in {time.perf_counter() - t0:.1f} s")
    return 0


def _read(path: Path, stream: str | None):
    """Read the recording; an unreadable file or a ``--stream`` the file lacks is the user's input error.

    :func:`~eegaffect.recordings.read_recording` documents ``ValueError`` for unsupported formats, corrupt files
    and files without a playable stream, so here (and only here) it becomes a :class:`UserInputError`.
    """
    from eegaffect.errors import UserInputError

    try:
        return _read_checked(path, stream)
    except UserInputError:
        raise
    except ValueError as exc:
        raise UserInputError(str(exc)) from exc


def _read_checked(path: Path, stream: str | None):
    from eegaffect.errors import UserInputError
    from eegaffect.recordings import open_recording, read_recording

    if stream is not None:
        header = open_recording(path)
        if header.format not in ("hdf5", "xdf"):
            raise UserInputError(f"{path}: --stream only applies to multi-stream files (HDF5, XDF), this is "
                                 f"{header.format}")
        if not any(stream in (key, s.name) for key, s in header.streams.items()):
            raise UserInputError(f"{path}: no stream {stream!r}; streams in the file (key: name): "
                                 f"{ {key: s.name for key, s in header.streams.items()} }")
    return read_recording(path, stream=stream)
