"""What a live session keeps and writes: its per-update record, the stall accounting, ground-truth scoring and
the summary / ``updates.csv`` / ``frames.npz`` outputs (:class:`~eegaffect.live.session.LiveSession` fills them).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eegaffect.live.latency import AFTER_STAGES, DIAGNOSTICS, STAGES, LatencyLog
from eegaffect.targets import frame_targets

#: Per-update timing columns of ``updates.csv`` (ms): the latency stages, the after-push work, diagnostics.
TIMING_COLUMNS = STAGES + AFTER_STAGES + DIAGNOSTICS


@dataclass
class _Record:
    """Per-update history (one entry per update)."""

    rows: list[dict] = field(default_factory=list)
    frame_ts: list[float] = field(default_factory=list)
    frame_va: list[np.ndarray] = field(default_factory=list)
    truth_ts: list[np.ndarray] = field(default_factory=list)
    truth_va: list[np.ndarray] = field(default_factory=list)
    physio_in: dict[str, int] = field(default_factory=dict)  # kind -> physiological frames handed to a fused model


class _Silence:
    """Stalls of the EEG stream within the session, from its health events (``stall`` / ``resume``).

    Parameters
    ----------
    t0 : float
        :func:`pylsl.local_clock` at the start of the session; silence before it is not the session's.
    """

    def __init__(self, t0: float):
        self.t0 = float(t0)
        self.n_stalls = 0
        self.seconds = 0.0  # of the stalls that ended
        self.since: float | None = None  # local clock of the last sample before the stall going on
        self.trailing_s: float | None = None  # set by close(): the stall still going on at the end

    def add(self, events) -> None:
        for e in events:
            if e.kind == "stall" and self.since is None:
                self.since = max(e.time - e.seconds, self.t0)  # the stall began with the last sample
                self.n_stalls += 1
            elif e.kind == "resume" and self.since is not None:
                if e.time <= self.t0:  # over before the session began: not the session's
                    self.n_stalls -= 1
                self.seconds += max(e.time - self.since, 0.0)
                self.since = None

    def total(self, now: float) -> float:
        """Seconds without data so far (the stall going on counted up to ``now``)."""
        return self.seconds + (0.0 if self.since is None else max(now - self.since, 0.0))

    def close(self, now: float) -> None:
        if self.since is not None:
            self.trailing_s = max(now - self.since, 0.0)
            self.seconds += self.trailing_s
            self.since = None


def _read_truth(truth, record: _Record) -> np.ndarray | None:
    if truth is None:
        return None
    data, ts = truth.read_new()
    if len(ts) == 0:
        return record.truth_va[-1][-1] if record.truth_va else None
    record.truth_ts.append(np.asarray(ts, dtype=np.float64))
    record.truth_va.append(np.asarray(data, dtype=np.float64)[:, :2])
    return record.truth_va[-1][-1]


def _row(elapsed, ts, va, status, fresh, code, truth, latency_s=float("nan"), stages=None) -> dict:
    va = (float("nan"), float("nan")) if va is None else va
    truth = (float("nan"), float("nan")) if truth is None else truth
    row = {"time_s": elapsed, "lsl_timestamp": ts, "valence": float(va[0]), "arousal": float(va[1]),
           "status": int(status), "fresh": int(bool(fresh)), "code": -1 if code is None else int(code),
           "truth_valence": float(truth[0]), "truth_arousal": float(truth[1]), "latency_ms": latency_s * 1e3}
    for name in TIMING_COLUMNS:
        row[f"{name}_ms"] = float("nan") if stages is None else stages.get(name, float("nan")) * 1e3
    return row


def _truth_at_frames(record: _Record) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(frame times (n,), predictions (n, 2), truth interpolated at them (n, 2))`` of the valid frames inside
    the truth stream's time span; None without truth or with fewer than 2 such frames.
    """
    if not record.truth_ts or len(record.frame_ts) < 2:
        return None
    t_ts = np.concatenate(record.truth_ts)
    t_va = np.concatenate(record.truth_va)
    # the truth stream's samples in time order, one per time stamp (frame_targets wants them strictly increasing)
    t_ts, first = np.unique(t_ts, return_index=True)
    t_va = t_va[first]
    f_ts = np.asarray(record.frame_ts)
    f_va = np.asarray(record.frame_va)
    inside = (f_ts >= t_ts[0]) & (f_ts <= t_ts[-1])
    if inside.sum() < 2:
        return None
    f_ts, f_va = f_ts[inside], f_va[inside]
    return f_ts, f_va, frame_targets(f_ts, t_ts, t_va)


def _frame_segments(times: np.ndarray) -> np.ndarray:
    """Lengths of the runs of frames without a gap between them (a step over 1.5 times the median step)."""
    if len(times) < 3:
        return np.array([len(times)])
    steps = np.diff(times)
    cuts = np.flatnonzero(steps > 1.5 * np.median(steps)) + 1
    return np.diff(np.concatenate([[0], cuts, [len(times)]]))


def _jitter(record: _Record) -> dict:
    """Mean |change| per second of the predicted valence/arousal over the valid frames (pairs across a gap left
    out), and of the truth at the same frames when there is one (:func:`eegaffect.benchmark.metrics.jitter`).
    """
    from eegaffect.benchmark.metrics import jitter

    out = {"valence": None, "arousal": None, "truth_valence": None, "truth_arousal": None}
    scored = _truth_at_frames(record)
    if scored is not None:
        f_ts, f_va, true = scored
        for prefix, va in (("", f_va), ("truth_", true)):
            m = jitter(va, f_ts, _frame_segments(f_ts))
            out[f"{prefix}valence"], out[f"{prefix}arousal"] = (None if not np.isfinite(v) else float(v) for v in m)
    elif len(record.frame_ts) >= 2:
        f_ts = np.asarray(record.frame_ts)
        m = jitter(np.asarray(record.frame_va), f_ts, _frame_segments(f_ts))
        out["valence"], out["arousal"] = (None if not np.isfinite(v) else float(v) for v in m)
    return out


def _ground_truth(record: _Record) -> dict | None:
    from eegaffect.benchmark.metrics import ccc, rmse

    scored = _truth_at_frames(record)
    if scored is None:
        return None
    f_ts, f_va, true = scored
    out = {}
    for k, name in enumerate(("valence", "arousal")):
        c = ccc(true[:, k], f_va[:, k])
        out[f"{name}_ccc"] = None if not np.isfinite(c) else float(c)
        out[f"{name}_rmse"] = float(rmse(true[:, k], f_va[:, k]))
    return out


def _summarise(record: _Record, latency: LatencyLog, health, health0, silence: _Silence, wall: float,
               dashboard_path) -> dict:
    """The summary; stream counters count from the first update (the warm-up's samples are not the session's);
    a stall still going on at the end is a gap (the data stopped and never came back).
    """
    from eegaffect.acquisition.outlet import STATUS_OK

    lat, stages = latency.summary_ms()
    return {
        "updates": len(record.rows),
        "duration_s": float(wall),
        "latency_ms": lat,
        "stages_ms": stages,
        "stage_percentiles_ms": latency.stage_percentiles_ms(),
        "samples_received": int(health.n_received - health0.n_received),
        "samples_lost": int(health.n_lost - health0.n_lost),
        "gaps": int(health.n_gaps - health0.n_gaps) + int(silence.trailing_s is not None),
        "reconnects": int(health.n_reconnects - health0.n_reconnects),
        "ground_truth": _ground_truth(record),
        "jitter_per_s": _jitter(record),
        "dashboard": None if dashboard_path is None else str(dashboard_path),
        "stalls": int(silence.n_stalls),
        "seconds_without_data": float(silence.seconds),
        "invalid_updates": int(sum(row["status"] != STATUS_OK for row in record.rows)),
        # a new source (new source_id) counts from scratch: the samples lost in its gap are not known, only its length
        "source_changes": int(health.n_source_changes - health0.n_source_changes),
        "seconds_unknown_loss": float(health.unknown_loss_s - health0.unknown_loss_s),
    }


def _write_outputs(out: Path, summary: dict, record: _Record) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    fields = ["time_s", "lsl_timestamp", "valence", "arousal", "status", "fresh", "code", "truth_valence",
              "truth_arousal", "latency_ms"] + [f"{name}_ms" for name in TIMING_COLUMNS]
    with open(out / "updates.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(record.rows)
    if record.frame_ts:
        np.savez(out / "frames.npz", lsl_timestamp=np.asarray(record.frame_ts), va=np.asarray(record.frame_va),
                 truth_timestamp=np.concatenate(record.truth_ts) if record.truth_ts else np.zeros(0),
                 truth_va=np.concatenate(record.truth_va) if record.truth_va else np.zeros((0, 2)))
