"""Settings of the acquisition commands (``eegaffect streams|simulate|play|record`` and ``bench acquisition``).

Packaged as ``configs/acquisition.yaml``; command-line flags override the file's values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from eegaffect.config import ConfigModel

__all__ = ["AcquisitionConfig", "LSLConfig", "SimulateConfig", "PlayConfig", "RecordConfig",
           "BenchAcquisitionConfig"]


class LSLConfig(ConfigModel):
    """How streams are found and read."""

    resolve_timeout_s: float = Field(5.0, gt=0, description="seconds to wait for a stream to appear")
    bufsize_s: float = Field(30.0, gt=0, description="ring buffer length of each inlet in seconds")
    jitter_tolerance_s: float = Field(0.010, ge=0, description="timestamp steps within this are not gaps")


class SimulateConfig(ConfigModel):
    """The simulated headset."""

    montage: Literal["seed62", "standard32", "standard64"] = "seed62"
    sfreq: float = Field(200.0, ge=100, description="sampling rate in Hz")
    duration_s: float | None = Field(None, gt=0, description="stop after this many seconds (null: Ctrl-C)")
    name: str = Field("eegaffect-sim", min_length=1, description="EEG stream name ({name}-truth for the truth)")
    seed: int = Field(0, ge=0)
    trajectory: str | None = Field(None, description="CSV (time_s, valence, arousal); null: seeded random walk")
    chunk_size: int | None = Field(None, ge=1, description="samples per push (null: 1/20 s)")
    index_channel: bool = Field(False, description="append a sample_index channel")
    line_hz: float | None = Field(50.0, gt=0, description="line-noise frequency; null disables")
    physio: list[Literal["ecg", "ppg", "eda", "resp", "temp"]] = Field(
        default_factory=list, description="physiological devices, one outlet each ({name}-{kind})")
    physio_sfreq: dict[Literal["ecg", "ppg", "eda", "resp", "temp"], float] = Field(
        default_factory=lambda: {"ecg": 256.0, "ppg": 64.0, "eda": 4.0, "resp": 32.0, "temp": 4.0},
        description="rate of each device in Hz")
    clock_offset_s: dict[Literal["ecg", "ppg", "eda", "resp", "temp"], float] = Field(
        default_factory=dict, description="device clock offset from this machine's, seconds")
    clock_drift_ppm: dict[Literal["ecg", "ppg", "eda", "resp", "temp"], float] = Field(
        default_factory=dict, description="device clock drift, parts per million (within +-1000)")
    drop: dict[Literal["ecg", "ppg", "eda", "resp", "temp"], list[tuple[float, float]]] = Field(
        default_factory=dict, description="per device, (start_s, duration_s) stretches it sends nothing")


class PlayConfig(ConfigModel):
    """Replay of a file."""

    speed: float = Field(1.0, gt=0, description="1 = real time")
    chunk_size: int = Field(32, ge=1)
    loop: bool = False
    index_channel: bool = False


class RecordConfig(ConfigModel):
    """The HDF5 recorder."""

    flush_interval_s: float = Field(0.5, gt=0, le=1.0, description="seconds between flushes (at most 1)")
    reresolve_after_s: float | None = Field(
        5.0, gt=0, description="a regular stream silent this long: look for it by name and type under a new "
                               "source_id (a device restarted without a fixed one) and go on recording from it "
                               "(the file's source_changes say where); null: never")


class BenchAcquisitionConfig(ConfigModel):
    """``eegaffect bench acquisition``."""

    duration_s: float = Field(10.0, gt=0, description="seconds measured per case and library")
    chunk_size: int = Field(32, ge=1, description="samples per push of the benchmark outlet")


class AcquisitionConfig(ConfigModel):
    """All acquisition settings."""

    lsl: LSLConfig = Field(default_factory=LSLConfig)
    simulate: SimulateConfig = Field(default_factory=SimulateConfig)
    play: PlayConfig = Field(default_factory=PlayConfig)
    record: RecordConfig = Field(default_factory=RecordConfig)
    bench: BenchAcquisitionConfig = Field(default_factory=BenchAcquisitionConfig)
