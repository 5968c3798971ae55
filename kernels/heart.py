"""Causal heart-beat detection for ECG (R peaks) and PPG/BVP (systolic peaks): the stages :class:`ECGStage` and
:class:`PPGStage`.

Each decided beat goes through the interval rule of :mod:`eegaffect.kernels.ibi` (inter-beat intervals, artefact
correction, instantaneous heart rate); the window features are the HRV features of :mod:`eegaffect.kernels.hrv`.
Their public names (beat flags, :data:`BEAT_DTYPE`, :data:`HRV_FEATURES`, :func:`hrv_features`) are importable
from here as well.

Both stages follow :class:`~eegaffect.kernels.physio_base.PhysioStage`: ``step(chunk)`` with carried state,
``process(x)`` the same code, identical outputs on any chunking. Per call, the quality check runs, then one
compiled kernel takes every sample through hold-last-good-value, the filters and the detector. The filters are
designed with :mod:`eegaffect.kernels.filtering` (Butterworth sections) and run in the kernel as scalar
direct-form II transposed biquads, the recursion of :func:`scipy.signal.sosfilt`, started in the steady state of
the first sample (:func:`scipy.signal.sosfilt_zi`); :class:`~eegaffect.kernels.filtering.SOSFilter` itself is
built for many channels and would pad a single one to a full vector of lanes.

The code lives in :mod:`eegaffect.kernels.heart_base` (shared stage base), :mod:`eegaffect.kernels.ecg` and
:mod:`eegaffect.kernels.ppg` (one detector each); this module gathers their public names and compiles both
kernels in :func:`warmup`.
"""

from __future__ import annotations

import numpy as np

from .ecg import ECGStage
from .heart_base import HeartStage
from .hrv import HRV_FEATURES, hrv_features
from .ibi import (
    BEAT_DTYPE,
    FLAG_CORRECTED,
    FLAG_ECTOPIC,
    FLAG_EXTRA,
    FLAG_GAP,
    FLAG_INSERTED,
    FLAG_LONG,
    FLAG_NAMES,
    FLAG_SHORT,
    FLAG_SPLIT,
    beat_events,  # noqa: F401 - importable from here as before the split
)
from .ppg import PPGStage

__all__ = ["FLAG_INSERTED", "FLAG_EXTRA", "FLAG_ECTOPIC", "FLAG_SHORT", "FLAG_LONG", "FLAG_GAP", "FLAG_SPLIT",
           "FLAG_NAMES", "FLAG_CORRECTED", "BEAT_DTYPE", "HRV_FEATURES", "HeartStage", "ECGStage", "PPGStage",
           "hrv_features", "warmup"]


def warmup() -> None:
    """Compile the ECG and PPG kernels on a short synthetic signal."""
    t = np.arange(400) / 100.0
    x = np.sin(2 * np.pi * 1.2 * t) ** 15
    x[50:60] = np.nan
    for cls in (ECGStage, PPGStage):
        stage = cls(100.0)
        stage.step(x[:200])
        stage.step(x[200:])
