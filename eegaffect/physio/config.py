"""Configuration of the physiological signal path (``configs/physio.yaml``): the frame clock and one stage
section per signal kind.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from eegaffect.config import ConfigModel
from eegaffect.pipeline import FeatureConfig

__all__ = ["FrameConfig", "StageConfig", "PhysioConfig", "KINDS"]

#: Signal kinds, as in :data:`eegaffect.kernels.physio_base.STAGE_MODULES`.
KINDS = ("ecg", "ppg", "eda", "resp", "temp", "emg")


class FrameConfig(ConfigModel):
    """The frame clock, the EEG pipeline's: frame ``k`` ends at ``k * hop_s + window_s`` seconds from the first
    sample (defaults: :class:`~eegaffect.pipeline.FeatureConfig`'s).
    """

    window_s: float = Field(default_factory=lambda: FeatureConfig().window_s, gt=0,
                            description="window of a frame in seconds (the EEG features' window_s)")
    hop_s: float = Field(default_factory=lambda: FeatureConfig().hop_s, gt=0,
                         description="seconds between frames (the EEG features' hop_s)")


class StageConfig(ConfigModel):
    """One signal kind's stage."""

    lookback_s: float | None = Field(
        None, gt=0, description="seconds of signal the features of a frame are computed over, ending at the frame's "
                                "end (null or shorter than frames.window_s: the frame's own window)")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="keyword arguments of the stage class (kernels/<module>.py)")
    features: list[str] | None = Field(
        None, description="the stage's features to compute, by name (the stage's names, e.g. hr_mean_bpm, or the "
                          "column names, ecg_hr_mean_bpm); the frames keep the stage's order. null: all of them")

    @field_validator("features")
    @classmethod
    def _check_features(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("features is empty; select at least one feature (null: all of the stage's)")
            twice = sorted({name for name in value if value.count(name) > 1})
            if twice:
                raise ValueError(f"features lists {twice} more than once")
        return value


class PhysioConfig(ConfigModel):
    """The physiological signal path: frame clock and per-kind stage settings."""

    frames: FrameConfig = Field(default_factory=FrameConfig)
    ecg: StageConfig = Field(default_factory=lambda: StageConfig(lookback_s=60.0))
    ppg: StageConfig = Field(default_factory=lambda: StageConfig(lookback_s=60.0))
    eda: StageConfig = Field(default_factory=lambda: StageConfig(lookback_s=60.0))
    resp: StageConfig = Field(default_factory=lambda: StageConfig(lookback_s=30.0))
    temp: StageConfig = Field(default_factory=lambda: StageConfig(lookback_s=30.0))
    emg: StageConfig = Field(default_factory=StageConfig)

    def stage(self, kind: str) -> StageConfig:
        """The section of ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"unknown physiological signal kind {kind!r}; expected one of {list(KINDS)}")
        return getattr(self, kind)
