"""Per-user calibration: its settings (:class:`CalibrateConfig`), its error and the labelled frames it
works on (:class:`CalibrationData`), with the defaults and the fewest frames accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import Field

from eegaffect.config import ConfigModel
from eegaffect.errors import UserInputError

__all__ = ["DEFAULT_LR", "DEFAULT_STEPS", "MIN_FRAMES", "CalibrateConfig", "CalibrationData",
           "CalibrationError"]

#: Gradient steps and learning rates of the two modes when not given. Chosen on leave-one-subject-out folds of a
#: synthetic SEED (4 subjects, 3 calibration trials): more steps overfit the few calibration trials (the fit on
#: them keeps improving while held-out trials get worse; see docs/calibration.md).
DEFAULT_STEPS = {"readout": 30, "full": 100}
DEFAULT_LR = {"readout": 1e-3, "full": 3e-4}
#: Fewest labelled frames calibration accepts (normalisation statistics from fewer are too noisy).
MIN_FRAMES = 20


class CalibrateConfig(ConfigModel):
    """Settings of ``eegaffect calibrate`` (``configs/calibrate.yaml``)."""

    full: bool = Field(False, description="fine-tune every network weight (VQ-VAE encoder + transformer; the "
                       "codebook is kept), not only the readout")
    steps: int | None = Field(None, ge=0, description="gradient steps (full batch over the calibration frames); "
                              "null: 30 (readout), 100 (full); 0: normalisation statistics only")
    lr: float | None = Field(None, gt=0, description="learning rate; null: 1e-3 (readout), 3e-4 (full)")
    anchor: float = Field(1e-2, ge=0, description="L2 pull of the adapted weights back to the parent's")
    match_rate: float | None = Field(1.5, gt=0, description="after the fit, scale the output smoother's time "
                                     "constants until the output on the calibration frames moves at most this many "
                                     "times as fast as the labels (mean |change| per second); null: keep the "
                                     "parent's smoother")
    rescale: bool = Field(True, description="recompute the scales (standard deviations) of the EEG "
                          "normalisation with its means; false: only the means (offsets), the parent's scales are "
                          "kept")
    physio_rescale: bool = Field(False, description="the same for a fused bundle's physiological features (off: "
                                 "their means only; a few minutes' spread of the slow features is too small)")
    seed: int = Field(0, ge=0)
    interpolate: int = Field(0, ge=0, le=8, description="most missing model channels interpolated (0: error)")
    ignore_channels: list[str] = Field(default_factory=list, description="data channels never to use")
    rename: dict[str, str] = Field(default_factory=dict, description="explicit data channel -> model channel names")
    unit: str | None = Field(None, description="unit of the samples when the stream/file does not say")
    timeout_s: float = Field(10.0, gt=0, description="seconds to wait for the live streams")


class CalibrationError(UserInputError):
    """Calibration data or settings are unusable (too few labelled frames, labels that do not cover the EEG...)."""


@dataclass
class CalibrationData:
    """Labelled feature frames to calibrate on, kept per segment (trial or recording).

    Attributes
    ----------
    features : list of ndarray, shape (n_frames_i, n_chans, n_bands)
        Feature frames of each segment, from the bundle's pipeline.
    va : list of ndarray, shape (n_frames_i, 2)
        Valence/arousal label of each frame.
    source : str
        Where the EEG came from (``"lsl:NAME"``, a recording path...).
    labels : str
        Where the labels came from.
    duration_s : float
        Seconds of EEG used.
    extra : dict
        More for the calibration record (interpolated channels, device streams...).
    physio : list of dict of str to ndarray, shape (n_frames_i, n_features_k) | None
        A fused bundle's calibration data: per segment and physiological kind, the frame each labelled EEG frame
        uses by the bundle's as-of rule (NaN rows: missing; a kind left out is missing); None for an EEG-only
        bundle.
    """

    features: list[np.ndarray]
    va: list[np.ndarray]
    source: str = ""
    labels: str = ""
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)
    physio: list[dict] | None = None

    @property
    def n_frames(self) -> int:
        """Labelled frames over all segments."""
        return int(sum(len(v) for v in self.va))
