"""Settings of a live session (``eegaffect live``, ``configs/live.yaml``) and the constants its summary and unit
conversion share.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from eegaffect.config import ConfigModel

__all__ = ["LiveConfig", "UNIT_SCALES", "SUMMARY_KEYS"]


#: Stream channel units understood for unit conversion, as factors to volts.
UNIT_SCALES = {"volts": 1.0, "v": 1.0, "millivolts": 1e-3, "mv": 1e-3, "microvolts": 1e-6, "uv": 1e-6,
               "µv": 1e-6, "nanovolts": 1e-9, "nv": 1e-9}
#: Keys of the summary, in order.
SUMMARY_KEYS = ("updates", "duration_s", "latency_ms", "stages_ms", "stage_percentiles_ms", "samples_received",
                "samples_lost", "gaps", "reconnects", "ground_truth", "jitter_per_s", "dashboard", "stalls",
                "seconds_without_data", "invalid_updates", "source_changes", "seconds_unknown_loss")


class LiveConfig(ConfigModel):
    """Settings of ``eegaffect live`` (``configs/live.yaml``)."""

    update_hz: float = Field(4.0, gt=0, le=100, description="prediction updates per second")
    resolve_timeout_s: float = Field(10.0, gt=0, description="seconds to wait for the EEG stream")
    bufsize_s: float = Field(30.0, gt=0, description="ring buffer of the inlet, seconds")
    jitter_tolerance_s: float = Field(0.010, ge=0, description="timestamp steps within 1/sfreq + this are no gap")
    interpolate: int = Field(0, ge=0, le=8, description="most missing model channels interpolated (0: error)")
    ignore_channels: list[str] = Field(default_factory=list, description="stream channels to drop (besides a "
                                       "sample_index counter)")
    rename: dict[str, str] = Field(default_factory=dict, description="explicit stream channel name -> model "
                                   "channel name, for names the automatic matching cannot tell (--rename FILE)")
    unit: str | None = Field(None, description="unit of the stream's samples (volts, microvolts, ...); null: "
                             "read it from the stream's channel metadata")
    truth: bool = Field(True, description="look for a ground-truth stream ({name}-truth, type AffectTruth)")
    truth_timeout_s: float = Field(2.0, gt=0)
    outlet_name: str | None = Field(None, description="prediction stream name; null: '{stream}-affect'")
    reset_after_gap_s: float = Field(1.0, gt=0, description="gaps this long (and reconnects) restart the "
                                     "predictor")
    stall_timeout_s: float = Field(2.0, gt=0, description="no data for this long counts as a stall (summary: "
                                   "stalls, seconds_without_data; one still going on at the end is a gap)")
    reresolve_after_s: float | None = Field(
        5.0, gt=0, description="no data for this long: look for the stream by name and type under a new source_id "
                               "(a restarted device or simulator) and switch to it (summary: source_changes, "
                               "seconds_unknown_loss); null: never (also when the session was given a source_id)")
    record: bool = Field(False, description="record the raw stream, ground truth and predictions to "
                         "out/session.h5")
    sessions_dir: str = Field("sessions", min_length=1, description="with record and no out folder: each "
                              "session is recorded into a new dated folder SESSIONS_DIR/YYYY-MM-DD_HHMMSS (never "
                              "over an earlier one); relative: to the working directory")
    torch_threads: int | None = Field(1, ge=1, description="torch CPU threads of this process (the model is "
                                      "small: one thread has the lowest, steadiest latency); null keeps torch's")
    realtime: bool = Field(True, description="run the session's loop and its inlets' threads in SCHED_FIFO where the "
                           "OS permits it (CAP_SYS_NICE or an rtprio limit; otherwise normal priority, said once "
                           "in the log): on a busy machine their wake-ups then do not wait behind other work")
    warmup: bool = Field(True, description="compile kernels and run the model once before the first sample")
    start_wait_s: float = Field(1.0, ge=0, le=30, description="at start, wait this long at most for the stream's "
                                "data to flow, and skip the burst LSL delivers then (Stream.skip_start_burst)")
    dashboard_trail_s: float = Field(30.0, gt=0, description="seconds of V/A trail on the dashboard")
    # physiological devices (eegaffect.live.physio_inputs)
    physio: list[str] = Field(default_factory=list, description="physiological stream names (ECG, PPG, EDA, "
                              "RESP, TEMP content types), one device each")
    physio_types: list[str] = Field(default_factory=list, description="content types to discover physiological "
                                    "streams by (every visible stream of each)")
    clock_align: Literal["lsl", "arrival"] = Field("lsl", description="device clocks: 'lsl' = LSL's "
                                                   "time_correction; 'arrival' = plus an offset/drift estimate "
                                                   "from arrival times (devices stamping with their own clock)")
    physio_stall_s: float = Field(5.0, gt=0, description="a device silent this long has its time filled with NaN "
                                  "(its frames go on, NaN); longer than an inlet's reconnection, whose samples "
                                  "would otherwise come late and be dropped")
    physio_config: str | None = Field(None, description="physio YAML (the 'eegaffect physio' config: stages, "
                                      "lookbacks); null: the packaged one. Its frame window/hop are the EEG's")
    allow_missing_physio: bool = Field(False, description="a fused model expecting a physiological kind the "
                                       "session has no device for: run with it missing throughout (its missing "
                                       "embedding, said by the Affect status) instead of stopping with an error")

    @field_validator("physio_types")
    @classmethod
    def _known_physio_types(cls, value: list[str]) -> list[str]:
        from eegaffect.live.physio_inputs import CONTENT_TYPES

        bad = [t for t in value if t.upper() not in CONTENT_TYPES]
        if bad:
            raise ValueError(f"unknown physiological content type(s) {bad}; expected some of {sorted(CONTENT_TYPES)}")
        return [t.upper() for t in value]
