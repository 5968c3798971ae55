"""Errors caused by what the user gave (files, options, streams), which the CLI reports as one line.

:class:`UserInputError` is the base of every user-facing error class of eegaffect (configs, dataset files,
bundles, prototype files, reports, channel sets): they subclass it in their own modules, so
:func:`user_error_types` needs no list of them. The acquisition layer (``eegaffect.acquisition``) may not import
this module (it imports only pylsl, numpy, h5py and the kernels), so its three error classes are the one
exception, named in :data:`_ACQUISITION_ERRORS` and looked up only when their module is already loaded. Anything
else (a bug) still raises.
"""

from __future__ import annotations

import sys

__all__ = ["UserInputError", "user_error_types"]


class UserInputError(ValueError):
    """Bad input from the user; the message says what was expected and what was found."""


#: (module, class name) of the acquisition layer's user-facing errors, which cannot subclass UserInputError.
_ACQUISITION_ERRORS: tuple[tuple[str, str], ...] = (
    ("eegaffect.acquisition.lsl", "StreamNotFoundError"),
    ("eegaffect.acquisition.lsl", "StreamMismatchError"),
    ("eegaffect.acquisition.recorder", "RecorderError"),
)

#: Operating-system errors about a path the user named.
_PATH_ERRORS: tuple[type[OSError], ...] = (FileNotFoundError, FileExistsError, NotADirectoryError,
                                           IsADirectoryError, PermissionError)


def user_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes that mean "bad input", not "bug".

    Returns
    -------
    types : tuple of type
        :class:`UserInputError` (the base of :class:`~eegaffect.config.ConfigError`,
        :class:`~eegaffect.models.bundle.BundleError`, :class:`~eegaffect.datasets.base.DatasetFormatError`,
        :class:`~eegaffect.distill.prototypes.PrototypeFileError`, :class:`~eegaffect.viz.report.ReportError`,
        :class:`~eegaffect.live.channels.ChannelMismatchError`), the path errors, and the acquisition errors of
        loaded modules (an exception cannot be an instance of a class whose module was never loaded, and
        importing pylsl just to compare would slow every error path).
    """
    found: list[type[BaseException]] = [UserInputError, *_PATH_ERRORS]
    for module_name, class_name in _ACQUISITION_ERRORS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)
