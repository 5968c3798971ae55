"""eegaffect: continuous valence/arousal estimation from EEG, live over LSL or offline from datasets.

Importing the package is light: heavy dependencies (torch, mne, matplotlib, stable-baselines3) are imported
inside the modules that need them.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from eegaffect._logging import logger, set_log_level

try:
    __version__ = _version("eegaffect")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "logger", "set_log_level"]
