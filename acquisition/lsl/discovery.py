"""Discovery: find LSL streams, describe them, and read and check their channel metadata.

:func:`resolve_streams` finds streams by name, type and/or source_id and, when nothing matches, says which
streams *are* visible. :func:`read_channel_info` reads a full stream description's channels, with the defaults
of :func:`~eegaffect.acquisition.channels.fill_channel_info` where entries are missing.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pylsl
from eegaffect.acquisition.channels import INDEX_CHANNEL_NAME, fill_channel_info
from eegaffect.acquisition.lsl._binding import format_name
from eegaffect.acquisition.lsl.errors import MetadataWarning, StreamMismatchError, StreamNotFoundError

__all__ = ["StreamDescription", "list_streams", "resolve_streams", "read_channel_info"]


@dataclass(frozen=True)
class StreamDescription:
    """What the resolver knows about one visible stream (no channel metadata: that needs an inlet).

    Attributes
    ----------
    name, type, source_id, hostname, uid : str
        LSL identity of the stream.
    n_chans : int
        Channel count.
    sfreq : float
        Nominal rate in Hz (0 for irregular streams).
    channel_format : str
        ``"float32"``, ``"float64"``, ``"int8"`` ... ``"int64"`` or ``"string"``.
    """

    name: str
    type: str
    n_chans: int
    sfreq: float
    source_id: str
    channel_format: str
    hostname: str = ""
    uid: str = ""
    _info: object = field(default=None, repr=False, compare=False)

    @classmethod
    def from_info(cls, info: pylsl.StreamInfo) -> "StreamDescription":
        """Describe a :class:`pylsl.StreamInfo` (keeping it, so an inlet can be opened from it)."""
        return cls(name=info.name(), type=info.type(), n_chans=info.channel_count(),
                   sfreq=float(info.nominal_srate()), source_id=info.source_id(),
                   channel_format=format_name(info),
                   hostname=info.hostname(), uid=info.uid(), _info=info)

    @property
    def is_regular(self) -> bool:
        """Whether the stream declares a nominal sampling rate."""
        return self.sfreq > 0

    def summary(self) -> str:
        """One line: ``name (type, N ch, R Hz, format, source_id=...)``."""
        rate = f"{self.sfreq:g} Hz" if self.is_regular else "irregular"
        return (f"{self.name!r} (type {self.type!r}, {self.n_chans} ch, {rate}, {self.channel_format}, "
                f"source_id={self.source_id!r})")



def list_streams(timeout: float = 1.0) -> list[StreamDescription]:
    """Every stream visible within ``timeout`` seconds.

    Parameters
    ----------
    timeout : float
        Seconds to wait for answers (liblsl recommends at least 0.5).

    Returns
    -------
    streams : list of StreamDescription
        Sorted by name, then source_id.
    """
    if timeout <= 0:
        raise ValueError(f"expected timeout > 0 seconds, got {timeout}")
    found = [StreamDescription.from_info(i) for i in pylsl.resolve_streams(wait_time=float(timeout))]
    return sorted(found, key=lambda d: (d.name, d.source_id, d.uid))


def resolve_streams(name: str | None = None, type: str | None = None, source_id: str | None = None,
                    timeout: float = 5.0, minimum: int = 1) -> list[StreamDescription]:
    """Find the streams matching every given property.

    Parameters
    ----------
    name, type, source_id : str | None
        Properties to match exactly (``None`` matches anything).
    timeout : float
        Seconds to wait for at least ``minimum`` matches.
    minimum : int
        Number of matches to wait for.

    Returns
    -------
    streams : list of StreamDescription
        The matches (at least one).

    Raises
    ------
    StreamNotFoundError
        Nothing matched; the message lists the visible streams (name, type, channels, rate, source_id).
    """
    query = {"name": name, "type": type, "source_id": source_id}
    for key, value in query.items():
        if value is not None and (not isinstance(value, str) or "'" in value):
            raise ValueError(f"{key} must be a string without single quotes, got {value!r}")
    if timeout <= 0 or minimum < 1:
        raise ValueError(f"expected timeout > 0 and minimum >= 1, got timeout={timeout}, minimum={minimum}")
    return _resolve(query, float(timeout), int(minimum))


def _resolve(query: dict, timeout: float, minimum: int) -> list[StreamDescription]:
    parts = [f"{k}='{v}'" for k, v in query.items() if v is not None]
    if parts:
        infos = pylsl.resolve_bypred(" and ".join(parts), minimum=minimum, timeout=timeout)
    else:
        infos = pylsl.resolve_streams(wait_time=timeout)
    found = [StreamDescription.from_info(i) for i in infos]
    if found:
        return sorted(found, key=lambda d: (d.name, d.source_id, d.uid))
    # the listing is for the error message: give it a full second whatever the query's own timeout (a loaded machine
    # answers a resolve query slowly, and an empty list would wrongly say nothing is there)
    visible = list_streams(timeout=1.0)
    wanted = ", ".join(f"{k}={v!r}" for k, v in query.items() if v is not None) or "any stream"
    listing = "\n".join(f"  - {d.summary()}" for d in visible) or "  (none)"
    raise StreamNotFoundError(f"no LSL stream with {wanted} found within {timeout:g} s; visible streams:\n"
                              f"{listing}")



def read_channel_info(info: pylsl.StreamInfo, warn: bool = True) -> tuple[list[str], list[str], list[str]]:
    """Channel names, types and units from a full stream description (``desc/channels/channel``).

    Missing entries fall back to documented defaults, with a :class:`MetadataWarning`: names ``"ch1"`` ...
    ``"chN"``, types the stream type in lower case (``"eeg"``; ``"misc"`` when the stream has no type), units
    ``"unknown"``.

    Parameters
    ----------
    info : pylsl.StreamInfo
        A *full* description (``StreamInlet.info()``); resolver results have an empty ``desc``.
    warn : bool
        Emit the warning when defaults are used.

    Returns
    -------
    ch_names, ch_types, ch_units : list of str
        One entry per channel.
    """
    n = info.channel_count()
    names: list[str | None] = [None] * n
    types: list[str | None] = [None] * n
    units: list[str | None] = [None] * n
    ch = info.desc().child("channels").child("channel")
    i = 0
    while not ch.empty() and i < n:
        names[i] = ch.child_value("label") or None
        types[i] = ch.child_value("type") or None
        units[i] = ch.child_value("unit") or None
        ch = ch.next_sibling("channel")
        i += 1
    names, types, units, missing = fill_channel_info(names, types, units, info.type())
    if missing and warn:
        warnings.warn(f"stream {info.name()!r} (source_id={info.source_id()!r}) lacks {', '.join(missing)} in "
                      f"desc/channels; using defaults (names ch1..ch{n}, type {info.type().lower() or 'misc'!r}, "
                      "unit 'unknown')", MetadataWarning, stacklevel=3)
    return names, types, units



def _restarted_uid(desc: StreamDescription, uid: str) -> str | None:
    """The uid of the outlet now behind ``desc``'s source_id and name when it is not ``uid`` (a restarted outlet
    keeps its source_id but gets a new uid); None when it is the same outlet, or when the resolver cannot tell.
    """
    try:
        infos = pylsl.resolve_byprop("source_id", desc.source_id, minimum=1, timeout=1.0)
    except Exception:  # resolver trouble: cannot tell, report a plain gap
        return None
    uids = {i.uid() for i in infos if i.name() == desc.name}
    if not uids or uid in uids:
        return None
    return min(uids)


def _find_index_channel(request, names: list[str]) -> int | None:
    """Position of the sample-counter channel a :class:`~eegaffect.acquisition.lsl.Stream` was asked for.

    Parameters
    ----------
    request : str | int | None
        A channel name, a position, ``"auto"`` (the channel named
        :data:`~eegaffect.acquisition.channels.INDEX_CHANNEL_NAME`, any case, when present) or None.
    names : list of str
        The stream's channel names.

    Returns
    -------
    index : int | None
        The position, or None (no counter).

    Raises
    ------
    StreamMismatchError
        When the named or numbered channel does not exist.
    """
    if request is None:
        return None
    if isinstance(request, (int, np.integer)) and not isinstance(request, bool):
        if not 0 <= int(request) < len(names):
            raise StreamMismatchError(f"index_channel {request} is out of range for {len(names)} channels")
        return int(request)
    if request == "auto":
        upper = [n.upper() for n in names]
        return upper.index(INDEX_CHANNEL_NAME.upper()) if INDEX_CHANNEL_NAME.upper() in upper else None
    if request not in names:
        raise StreamMismatchError(f"index_channel {request!r} is not among the stream's channels {names}")
    return names.index(request)


def _validate_description(desc: StreamDescription, expect: dict, sfreq_tol: float) -> None:
    """Check a resolved stream against ``expect`` (keys ``require_regular``, ``sfreq``, ``n_chans``; None: any),
    the rate to a relative tolerance ``sfreq_tol``; raise :class:`StreamMismatchError` naming both sides.
    """
    if expect["require_regular"] and not desc.is_regular:
        raise StreamMismatchError(f"expected a regularly sampled stream, but {desc.summary()} is irregular "
                                  "(nominal rate 0)")
    if expect["sfreq"] is not None:
        want = float(expect["sfreq"])
        if abs(desc.sfreq - want) > sfreq_tol * max(want, 1.0):
            raise StreamMismatchError(f"expected a nominal rate of {want:g} Hz, but {desc.summary()} declares "
                                      f"{desc.sfreq:g} Hz")
    if expect["n_chans"] is not None and desc.n_chans != int(expect["n_chans"]):
        raise StreamMismatchError(f"expected {int(expect['n_chans'])} channels, but {desc.summary()} has "
                                  f"{desc.n_chans}")


def _validate_channels(desc: StreamDescription, names: list[str], index: int | None, expect: dict) -> None:
    """Check channel names (all but the counter at ``index``) against ``expect["ch_names"]`` (None: any),
    case-insensitively and in order; raise :class:`StreamMismatchError` listing what is missing and extra.
    """
    want = expect["ch_names"]
    if want is None:
        return
    got = [n for i, n in enumerate(names) if i != index]
    if [n.upper() for n in got] == [n.upper() for n in want]:
        return
    got_u, want_u = {n.upper() for n in got}, {n.upper() for n in want}
    missing = [n for n in want if n.upper() not in got_u]
    extra = [n for n in got if n.upper() not in want_u]
    detail = f"missing: {missing[:10]}, extra: {extra[:10]}" if missing or extra else "same names, other order"
    raise StreamMismatchError(f"expected {len(want)} channels matching the montage, but {desc.summary()} has "
                              f"{len(got)} that do not match ({detail})")
