"""Errors of the LSL layer (resolving, validating, reading stream metadata)."""

from __future__ import annotations

__all__ = ["StreamNotFoundError", "StreamMismatchError", "MetadataWarning"]


class StreamNotFoundError(LookupError):
    """No visible LSL stream matches the request; the message lists the streams that are visible."""


class StreamMismatchError(ValueError):
    """A stream does not match what the caller expects (channels, rate, regularity); the message names both."""


class MetadataWarning(UserWarning):
    """A stream lacks channel metadata; documented defaults are used instead."""

