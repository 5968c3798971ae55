"""Errors caused by what the user gave (files, options, streams), which the CLI reports as one line.

:class:`UserInputError` is the shared base for plain bad-input errors raised by the commands; the project's
specific error classes (configs, dataset files, bundles, prototype files, LSL streams, recorder) are listed by
:func:`user_error_types` so that :func:`eegaffect.cli.main` prints their message, not a traceback. Anything
else (a bug) still raises.
"""

from __future__ import annotations

import sys

__all__ = ["UserInputError", "user_error_types"]


class UserInputError(ValueError):
    """Bad input from the user; the message says what was expected and what was found."""


#: (module, class name) of the project's user-facing error classes besides :class:`UserInputError`.
_USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("eegaffect.datasets.base", "DatasetFormatError"),
    ("eegaffect.models.bundle", "BundleError"),
    ("eegaffect.distill.prototypes", "PrototypeFileError"),
    ("eegaffect.viz.report", "ReportError"),
    ("eegaffect.live.channels", "ChannelMismatchError"),
    ("eegaffect.acquisition.lsl", "StreamNotFoundError"),
    ("eegaffect.acquisition.lsl", "StreamMismatchError"),
    ("eegaffect.acquisition.recorder", "RecorderError"),
)

#: Operating-system errors about a path the user named.
_PATH_ERRORS: tuple[type[OSError], ...] = (FileNotFoundError, FileExistsError, NotADirectoryError,
                                           IsADirectoryError, PermissionError)


def user_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes that mean "bad input", not "bug".

    Only modules already imported are consulted: an exception cannot be an instance of a class whose module was
    never loaded, and importing heavy modules (torch, pylsl) just to compare would slow every error path.

    Returns
    -------
    types : tuple of type
        :class:`UserInputError` (and so :class:`~eegaffect.config.ConfigError`), the path errors and the project's
        specific error classes of the loaded modules.
    """
    found: list[type[BaseException]] = [UserInputError, *_PATH_ERRORS]
    for module_name, class_name in _USER_ERRORS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)
