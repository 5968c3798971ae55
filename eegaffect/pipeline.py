"""Configuration of the signal path shared by the live session, dataset featurisation and the demo.

The path is: (resample to ``sfreq``) -> band-pass / notch filters -> filter bank -> windowed band features
(differential entropy or band power) -> optional smoothing. Every stage is a stateful kernel object from
:mod:`eegaffect.kernels` with ``step(chunk)``, so the same code runs live and offline.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from eegaffect.config import ConfigModel

__all__ = ["BandConfig", "FilterConfig", "FeatureConfig", "PipelineConfig", "DEFAULT_BANDS"]


class BandConfig(ConfigModel):
    """One frequency band, ``[low_hz, high_hz]``."""

    name: str
    low_hz: float = Field(gt=0)
    high_hz: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "BandConfig":
        if self.low_hz >= self.high_hz:
            raise ValueError(f"band {self.name!r}: low_hz must be below high_hz, got {self.low_hz} >= {self.high_hz}")
        return self


#: The five EEG bands used by default (Hz): delta 1-4, theta 4-8, alpha 8-14, beta 14-31, gamma 31-50.
DEFAULT_BANDS = [
    BandConfig(name="delta", low_hz=1.0, high_hz=4.0),
    BandConfig(name="theta", low_hz=4.0, high_hz=8.0),
    BandConfig(name="alpha", low_hz=8.0, high_hz=14.0),
    BandConfig(name="beta", low_hz=14.0, high_hz=31.0),
    BandConfig(name="gamma", low_hz=31.0, high_hz=50.0),
]


class FilterConfig(ConfigModel):
    """Causal pre-filtering: Butterworth band-pass (either edge may be off) and a notch at the line frequency."""

    highpass_hz: float | None = Field(0.5, gt=0, description="high-pass edge in Hz; null disables")
    lowpass_hz: float | None = Field(75.0, gt=0, description="low-pass edge in Hz; null disables")
    order: int = Field(4, ge=1, le=12, description="Butterworth order")
    line_hz: float | None = Field(50.0, gt=0, description="line frequency for the notch; null disables")
    notch_harmonics: int = Field(1, ge=1, le=10, description="number of line harmonics notched (1 = fundamental)")
    notch_q: float = Field(30.0, gt=0, description="quality factor of each notch")
    init: Literal["zeros", "steady"] = Field("steady", description="initial filter state")


class FeatureConfig(ConfigModel):
    """Windowed band features computed per channel and band."""

    kind: Literal["de", "band_power", "psd_de"] = "de"
    bands: list[BandConfig] = Field(default_factory=lambda: [b.model_copy() for b in DEFAULT_BANDS], min_length=1)
    filter_order: int = Field(4, ge=1, le=12, description="Butterworth order of each filter-bank band")
    window_s: float = Field(1.0, gt=0)
    hop_s: float = Field(1.0, gt=0)
    smoothing: Literal["none", "kalman", "rts"] = Field("none", description="LDS smoothing of feature sequences")


class PipelineConfig(ConfigModel):
    """The whole signal path."""

    sfreq: float = Field(200.0, gt=0, description="processing rate in Hz (input is resampled to it)")
    filters: FilterConfig = Field(default_factory=FilterConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)

    @model_validator(mode="after")
    def _below_nyquist(self) -> "PipelineConfig":
        nyq = self.sfreq / 2
        for band in self.features.bands:
            if band.high_hz >= nyq:
                raise ValueError(f"band {band.name!r} reaches {band.high_hz} Hz, at or above Nyquist ({nyq} Hz)")
        if self.filters.lowpass_hz is not None and self.filters.lowpass_hz >= nyq:
            raise ValueError(f"filters.lowpass_hz {self.filters.lowpass_hz} must be below Nyquist ({nyq} Hz)")
        return self
