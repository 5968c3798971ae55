"""The package logger and its verbosity control.

There is one logger, ``logging.getLogger("eegaffect")``; modules log through it (or a child of it) and never
``print`` (the CLI is the only place that prints).
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("eegaffect")
logger.addHandler(logging.NullHandler())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time, so a replaced or closed stream is never kept."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; the property always resolves anew
        pass


def set_log_level(level: str | int = "info") -> None:
    """Set the package logger's level and attach a console handler once.

    Parameters
    ----------
    level : str | int
        One of ``"debug"``, ``"info"``, ``"warning"``, ``"error"`` or a :mod:`logging` level number.
    """
    if isinstance(level, str):
        key = level.lower()
        if key not in _LEVELS:
            raise ValueError(f"log level must be one of {sorted(_LEVELS)}, got {level!r}")
        level = _LEVELS[key]
    logger.setLevel(level)
    if not any(isinstance(h, _CurrentStderrHandler) for h in logger.handlers):
        handler = _CurrentStderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
