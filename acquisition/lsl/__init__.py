"""Streams in: find LSL streams and read one through a background acquisition worker.

The package keeps the layers of mne-lsl apart:

- :mod:`~eegaffect.acquisition.lsl._binding`: every use of pylsl beneath its public API (the ctypes
  :class:`ChunkPuller`, format codes, inlet flags);
- :mod:`~eegaffect.acquisition.lsl.discovery`: :func:`resolve_streams` / :func:`list_streams`,
  :class:`StreamDescription`, channel metadata (:func:`read_channel_info`) and the checks of what a caller expects;
- :mod:`~eegaffect.acquisition.lsl.health`: the gap rule (:func:`gap_limit`), counters, gap records and events
  (:class:`HealthMonitor`, :class:`StreamHealth`, :class:`StreamEvent`, :class:`GapRecord`), plain logic;
- :mod:`~eegaffect.acquisition.lsl.stream`: :class:`Stream`, an inlet read by one worker thread into a ring buffer
  (see there for timestamps and dejittering);
- :mod:`~eegaffect.acquisition.lsl.errors`: :class:`StreamNotFoundError`, :class:`StreamMismatchError`,
  :class:`MetadataWarning`.
"""

from __future__ import annotations

from eegaffect.acquisition.channels import INDEX_CHANNEL_NAME, fill_channel_info
from eegaffect.acquisition.lsl._binding import ChunkPuller
from eegaffect.acquisition.lsl.discovery import StreamDescription, list_streams, read_channel_info, resolve_streams
from eegaffect.acquisition.lsl.errors import MetadataWarning, StreamMismatchError, StreamNotFoundError
from eegaffect.acquisition.lsl.health import GapRecord, HealthMonitor, StreamEvent, StreamHealth, gap_limit
from eegaffect.acquisition.lsl.stream import Stream

__all__ = [
    "ChunkPuller",
    "StreamDescription",
    "StreamNotFoundError",
    "StreamMismatchError",
    "MetadataWarning",
    "StreamEvent",
    "StreamHealth",
    "GapRecord",
    "HealthMonitor",
    "gap_limit",
    "list_streams",
    "resolve_streams",
    "read_channel_info",
    "fill_channel_info",
    "Stream",
    "INDEX_CHANNEL_NAME",
]
