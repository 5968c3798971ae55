"""The package logger and its verbosity control.

There is one logger, ``logging.getLogger("eegaffect")``; modules log through it (or a child of it) and never
``print`` (the CLI is the only place that prints).
"""

from __future__ import annotations

import logging

logger = logging.getLogger("eegaffect")
logger.addHandler(logging.NullHandler())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


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
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.NullHandler)
               for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
