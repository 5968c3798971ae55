"""Physiological devices of a live session: one inlet per device, its clock mapped onto the session's, its
features on the EEG pipeline's frame times, and its own health.

A live session reads the EEG stream (the reference: its frames define the frame times ``T_k``, in this machine's
:func:`pylsl.local_clock`) and, through :class:`PhysioInputs`, any number of physiological streams (ECG, PPG/BVP,
EDA, respiration, temperature), each from its own device, at its own rate, on its own clock, able to drop out.
Each device is a :class:`PhysioInput`:

- its inlet applies liblsl's clock synchronisation and the package's dejitter, and
  :class:`~eegaffect.live.device_clock.ClockAligner` maps its stamps onto the session clock (the rules there);
- its samples feed a :class:`~eegaffect.live.physio_frames.FramedPhysioPipeline` in order, lost samples and
  silences filled with NaN (never with made-up values), frame ``k`` ending at the EEG's ``T_k`` (the rules
  there);
- which modalities an update used goes out in the ``Affect`` stream's ``status`` channel
  (:mod:`eegaffect.live.modality_status`, which documents the encoding).

:class:`SessionPhysio` is what the live session holds: the devices, their frames for the model, their health for
the dashboard and the summary.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from eegaffect.live.device_clock import ClockAligner
from eegaffect.live.modality_status import missing_mask
from eegaffect.live.physio_frames import FramedPhysioPipeline

__all__ = ["CONTENT_TYPES", "PhysioInput", "PhysioInputs", "SessionPhysio"]

logger = logging.getLogger("eegaffect")

#: LSL content type (upper case) -> physiological kind.
CONTENT_TYPES = {"ECG": "ecg", "PPG": "ppg", "BVP": "ppg", "EDA": "eda", "GSR": "eda", "RESP": "resp",
                 "RESPIRATION": "resp", "TEMP": "temp", "TEMPERATURE": "temp"}


@dataclass
class _Counts:
    received: int = 0
    filled: int = 0  # NaN samples put where the device sent nothing (losses and silences)
    late: int = 0  # samples that came for time already filled, dropped
    frames: int = 0
    frames_valid: int = 0
    frames_missing: int = 0  # frames whose window was gone before it could be given (should stay 0)


class PhysioInput:
    """One physiological device of a live session: its stream, clock, pipeline and counts.

    Parameters
    ----------
    stream : Stream
        A connected :class:`~eegaffect.acquisition.lsl.Stream` of the device (regular, dejittered).
    kind : str
        Its signal kind (``ecg``, ``ppg``, ``eda``, ``resp``, ``temp``).
    config : PhysioConfig
        The frame clock's window/hop and the stages' settings.
    clock : str
        ``"lsl"`` or ``"arrival"`` (see :class:`ClockAligner`).
    stall_s : float
        A device silent this long has its time filled with NaN (so frames keep coming, NaN). Keep it longer than
        an inlet's reconnection: samples a recovering inlet delivers for time already filled are dropped.
    """

    def __init__(self, stream, kind: str, config, *, clock: str = "lsl", stall_s: float = 5.0):
        from eegaffect.acquisition.lsl import gap_limit

        if not stream.sfreq > 0:
            raise ValueError(f"stream {stream.name!r} has no nominal rate; physiological inputs must be regular")
        self.stream = stream
        self.kind = kind
        self.sfreq = float(stream.sfreq)
        self.aligner = ClockAligner(clock)
        self.pipeline = FramedPhysioPipeline(config, kind, self.sfreq)
        self.stall_s = float(stall_s)
        self._gap_limit = float(gap_limit(self.sfreq, 0.010))
        index = stream.index_channel
        self._column = next(i for i in range(stream.n_chans) if i != index)
        self._fed_t = np.empty(0)  # device stamps of buffered fed samples; _fed_base = absolute index of [0]
        self._fed_base = 0
        self._last_t = np.nan  # device stamp of the last fed sample
        self._pending: list[float] = []  # session frame ends not yet given to the pipeline
        self._frame_times: list[float] = []  # session frame ends given, in order
        #: device stamp of the last sample of each given frame (NaN: none yet); ``to_session`` of it is at most
        #: ``T_k`` and, while the device streams, within one sample period of it
        self.frame_last_stamps: list[float] = []
        self.frames: list[tuple[float, np.ndarray]] = []  # emitted (T_k, features), oldest first
        self.counts = _Counts()
        self._health0 = stream.health
        self.view = None  # PhysioView of the dashboard (enable_view), fed from the stage's outputs

    def enable_view(self) -> bool:
        """Keep a decimated copy of the stage's outputs for the dashboard (:mod:`eegaffect.live.physio_view`);
        returns False for a kind without a dashboard panel.
        """
        from eegaffect.live.physio_view import VIEW_KINDS, PhysioView

        if self.kind not in VIEW_KINDS:
            return False
        if self.view is None:
            self.view = PhysioView(self.kind, self.sfreq)
            self.pipeline.tap = self._tap
        return True

    def _tap(self, out) -> None:
        n = len(out.quality)
        if not n and not len(out.events):
            return
        times = self.aligner.to_session(self._fed_t[len(self._fed_t) - n:]) if n else np.empty(0)
        self.view.add(out, self.pipeline.n_seen - n, times, self._sample_times,
                      self.pipeline.continuous_at)

    def _sample_times(self, samples) -> np.ndarray:
        """Session times of fed samples (absolute indices; NaN where no longer kept)."""
        i = np.asarray(samples, dtype=np.int64) - self._fed_base
        ok = (i >= 0) & (i < len(self._fed_t))
        stamps = np.full(i.shape, np.nan)
        stamps[ok] = self._fed_t[i[ok]]
        return self.aligner.to_session(stamps)

    @property
    def name(self) -> str:
        """The device's LSL stream name."""
        return self.stream.name

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the device's frame features."""
        return self.pipeline.feature_names

    @property
    def decision_delay_s(self) -> float:
        """The device stage's fixed decision delay in seconds."""
        return self.pipeline.decision_delay / self.sfreq

    def add_frame(self, t_end: float) -> None:
        """The EEG emitted a frame ending at session time ``t_end``."""
        self._pending.append(float(t_end))

    def poll(self) -> list[tuple[float, np.ndarray]]:
        """Read what arrived, feed it, give the frame ends the device has reached; return the frames emitted.

        Returns
        -------
        frames : list of (float, ndarray shape (n_features,))
            ``(T_k, features)`` in order.
        """
        import pylsl

        data, ts = self.stream.read_new()
        now = pylsl.local_clock()  # right after the read: every sample read arrived before it
        chunks = []
        if len(ts):
            self.counts.received += len(ts)
            self.aligner.observe(float(ts[-1]), now)
            chunks.extend(self._place(np.asarray(data[:, self._column], dtype=np.float64), np.asarray(ts, float)))
        else:  # silent: fill the time the device should have covered by now, minus stall_s
            horizon = float(self.aligner.to_device(now - self.stall_s))
            if np.isfinite(self._last_t) and horizon - self._last_t > self._gap_limit:
                n = int(np.floor((horizon - self._last_t) * self.sfreq))
                if n > 0:
                    chunks.append(self._fill(n))
        out = []
        for x, t in chunks:
            self._record_fed(t)
            out.extend(self._step(x))
        out.extend(self._step(np.empty(0)))
        return out

    # -- placing samples on the device's time line -----------------------------------------------------------
    def _place(self, x: np.ndarray, ts: np.ndarray):
        if np.isfinite(self._last_t):
            late = ts <= self._last_t + 0.5 / self.sfreq
            if late.any():
                self.counts.late += int(late.sum())
                x, ts = x[~late], ts[~late]
        if not len(ts):
            return []
        parts = []
        prev = np.concatenate([[self._last_t], ts[:-1]])
        steps = np.diff(np.concatenate([[self._last_t], ts]))
        breaks = np.flatnonzero(np.isfinite(prev) & (steps > self._gap_limit))
        start = 0
        for b in breaks:
            if b > start:
                parts.append((x[start:b], ts[start:b]))
            last = ts[b - 1] if b > 0 else self._last_t
            n = int(round((ts[b] - last) * self.sfreq)) - 1
            if n > 0:
                parts.append(self._fill(n, last))
            start = b
        parts.append((x[start:], ts[start:]))
        self._last_t = float(ts[-1])
        return parts

    def _fill(self, n: int, after: float | None = None):
        after = self._last_t if after is None else after
        t = after + np.arange(1, n + 1) / self.sfreq
        self.counts.filled += n
        self._last_t = max(self._last_t, float(t[-1])) if np.isfinite(self._last_t) else float(t[-1])
        return np.full(n, np.nan), t

    def _record_fed(self, t: np.ndarray) -> None:
        keep_from = max(self.pipeline.oldest_kept, 0) - self._fed_base
        if keep_from > 0:
            self._fed_t = self._fed_t[keep_from:]
            self._fed_base += keep_from
        self._fed_t = np.concatenate([self._fed_t, t])

    # -- frames ----------------------------------------------------------------------------------------------
    def _step(self, x: np.ndarray):
        frames = self.pipeline.step(x)
        self._give_ends()
        frames = np.concatenate([frames, self.pipeline.step(np.empty(0))])  # frames whose end was just given
        out = []
        for row in frames:
            k = self.counts.frames
            t_end = self._frame_times[k]
            self.counts.frames += 1
            self.counts.frames_valid += int(np.isfinite(row).any())
            out.append((t_end, row))
        self.frames.extend(out)
        if len(self.frames) > 4096:
            del self.frames[:-2048]
        return out

    def _give_ends(self) -> None:
        if not len(self._fed_t) or not self.aligner.ready:
            return
        newest = self._fed_t[-1]
        while self._pending:
            d = float(self.aligner.to_device(self._pending[0]))
            if d > newest:
                break
            end = self._fed_base + int(np.searchsorted(self._fed_t, d, side="right"))
            prev = self.pipeline._ends[-1] if self.pipeline._ends else 0  # noqa: SLF001 (own subclass)
            end = max(end, prev)
            if end - self.pipeline._lookback < self.pipeline.oldest_kept and end > self.pipeline._lookback:
                self.counts.frames_missing += 1  # far too old for the buffer: never happens at live pace
            self.pipeline.add_end(end)
            self._frame_times.append(self._pending.pop(0))
            i = end - 1 - self._fed_base
            self.frame_last_stamps.append(float(self._fed_t[i]) if 0 <= i < len(self._fed_t) else np.nan)

    # -- reporting -------------------------------------------------------------------------------------------
    def newest_valid(self, t_ref: float, max_age_s: float) -> bool:
        """Whether the newest frame is within ``max_age_s`` of ``t_ref`` and has a finite feature."""
        if not self.frames:
            return False
        t, row = self.frames[-1]
        return t_ref - t <= max_age_s and bool(np.isfinite(row).any())

    def summary(self) -> dict:
        """Per-device counts for ``summary.json``."""
        h, h0 = self.stream.health, self._health0
        offsets = self.stream.clock_offsets
        return {"name": self.stream.name, "type": self.stream.type, "kind": self.kind,
                "source_id": self.stream.source_id, "sfreq": self.sfreq,
                "samples": h.n_received - h0.n_received, "lost": h.n_lost - h0.n_lost,
                "gaps": h.n_gaps - h0.n_gaps, "stalls": h.n_stalls - h0.n_stalls,
                "reconnects": h.n_reconnects - h0.n_reconnects,
                "nan_filled": self.counts.filled, "late_dropped": self.counts.late,
                "frames": self.counts.frames, "frames_valid": self.counts.frames_valid,
                "clock": {"mode": self.aligner.mode, "offset_s": self.aligner.offset_s,
                          "drift_ppm": self.aligner.drift_ppm,
                          "lsl_time_correction_s": offsets[-1][1] if offsets else None},
                "nan_reasons": dict(self.pipeline.nan_reasons)}


class PhysioInputs:
    """Every physiological device of a live session.

    Parameters
    ----------
    inputs : sequence of PhysioInput
        One per device (their kinds must differ: the modality mask has one bit per kind).
    """

    def __init__(self, inputs: Sequence[PhysioInput]):
        kinds = [i.kind for i in inputs]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"expected one device per kind, got kinds {kinds}")
        self.inputs = list(inputs)

    @classmethod
    def open(cls, names: Sequence[str] = (), types: Sequence[str] = (), *, config=None, clock: str = "lsl",
             bufsize_s: float = 30.0, timeout: float = 5.0, stall_s: float = 5.0,
             realtime: bool = False) -> "PhysioInputs":
        """Connect to devices by stream name and/or discover them by content type.

        Parameters
        ----------
        names : sequence of str
            Stream names; each stream's content type gives its kind (:data:`CONTENT_TYPES`).
        types : sequence of str
            Content types to discover (every visible stream of each, e.g. ``["ECG", "EDA"]``).
        config : PhysioConfig | None
            Frame clock and stages (default: packaged defaults).
        clock, stall_s
            See :class:`PhysioInput`.
        bufsize_s, timeout : float
            Ring buffer of each inlet and the resolve timeout, seconds.
        realtime : bool
            Each inlet's threads in ``SCHED_FIFO`` where permitted (the ``realtime`` of
            :class:`~eegaffect.acquisition.lsl.Stream`; a session gives all its streams its setting).

        Returns
        -------
        inputs : PhysioInputs
            Connected (call :meth:`close`).
        """
        from eegaffect.acquisition.lsl import Stream, StreamMismatchError, resolve_streams
        from eegaffect.physio.config import PhysioConfig

        config = PhysioConfig() if config is None else config
        wanted = [t.upper() for t in types]
        bad = [t for t in wanted if t not in CONTENT_TYPES]
        if bad:
            raise StreamMismatchError(f"unknown physiological content type(s) {bad}; expected some of "
                                      f"{sorted(CONTENT_TYPES)}")
        found = []
        for name in names:
            found.extend(("name", d) for d in resolve_streams(name=name, timeout=timeout))
        for t in wanted:
            found.extend(("type", d) for d in resolve_streams(type=t, timeout=timeout))
        inputs: list[PhysioInput] = []
        seen: set[str] = set()
        try:
            for _how, desc in found:
                if desc.source_id in seen:
                    continue
                seen.add(desc.source_id)
                kind = CONTENT_TYPES.get(desc.type.upper())
                if kind is None:
                    raise StreamMismatchError(f"stream {desc.name!r} has content type {desc.type!r}; a physiological "
                                              f"input needs one of {sorted(CONTENT_TYPES)}")
                stream = Stream(source_id=desc.source_id, bufsize=bufsize_s, timeout=timeout, require_regular=True,
                                index_channel="auto", realtime=realtime).connect()
                same = [i.name for i in inputs if i.kind == kind]
                if same:
                    stream.disconnect()
                    raise StreamMismatchError(f"streams {same[0]!r} and {desc.name!r} are both {kind} devices; the "
                                              f"session takes one device per kind (name the one to use with "
                                              f"--physio)")
                inputs.append(PhysioInput(stream, kind, config, clock=clock, stall_s=stall_s))
            return cls(inputs)
        except BaseException:
            for i in inputs:
                i.stream.disconnect()
            raise

    @property
    def kinds(self) -> list[str]:
        """Signal kinds of the devices, in input order."""
        return [i.kind for i in self.inputs]

    def add_frame(self, t_end: float) -> None:
        """The EEG emitted a frame ending at session time ``t_end``: every device will give its frame there."""
        for i in self.inputs:
            i.add_frame(t_end)

    def poll(self) -> dict[str, list[tuple[float, np.ndarray]]]:
        """Read every device; return the frames each emitted (kind -> ``[(T_k, features)]``)."""
        return {i.kind: i.poll() for i in self.inputs}

    def missing(self, t_ref: float, hop_s: float) -> list[str]:
        """Kinds whose newest frame is stale or all-NaN at EEG frame time ``t_ref`` (see the module docstring)."""
        return [i.kind for i in self.inputs
                if not i.newest_valid(t_ref, i.decision_delay_s + 2 * hop_s + 1.0)]

    def summary(self) -> dict:
        """Per-device summaries, by stream name."""
        return {i.name: i.summary() for i in self.inputs}

    def close(self) -> None:
        """Close every device's inlet."""
        for i in self.inputs:
            i.stream.disconnect()


class SessionPhysio:
    """What :class:`~eegaffect.live.session.LiveSession` calls, at a few points, when physiological devices take
    part: open them, pass on the EEG frame ends, poll, say which modalities an update lacked, summarise, save.

    Parameters
    ----------
    inputs : PhysioInputs
        The connected devices.
    hop_s : float
        The EEG frame hop in seconds.
    """

    def __init__(self, inputs: PhysioInputs, hop_s: float, absent: Sequence[str] = ()):
        self.inputs = inputs
        self.hop_s = float(hop_s)
        #: kinds the model expects but the session has no device for (always missing; see :meth:`for_model`)
        self.absent = [k for k in absent if k not in inputs.kinds]
        self._n_frames = 0
        self._newest = np.nan
        self.frames: dict[str, list[tuple[float, np.ndarray]]] = {k: [] for k in inputs.kinds}
        self._handed: dict[str, int] = {k: 0 for k in inputs.kinds}

    @classmethod
    def for_model(cls, physio: "SessionPhysio | None", expected: Sequence[str], hop_s: float,
                  allow_missing: bool) -> "SessionPhysio | None":
        """The session's devices checked against the kinds a fused model expects.

        Parameters
        ----------
        physio : SessionPhysio | None
            The opened devices (None: none).
        expected : sequence of str
            Kinds the model expects (:attr:`eegaffect.models.predictor.Predictor.physio_kinds`).
        hop_s : float
            The EEG frame hop.
        allow_missing : bool
            Run when a kind has no device: it is missing throughout (its missing embedding; the ``Affect`` status
            says so). False: that is an error.

        Returns
        -------
        physio : SessionPhysio | None
            ``physio`` (with :attr:`absent` set), an empty one when only absent kinds remain, or None (EEG only).

        Raises
        ------
        StreamMismatchError
            A kind without a device, unless ``allow_missing``.
        """
        from eegaffect.acquisition.lsl import StreamMismatchError

        have = [] if physio is None else physio.inputs.kinds
        absent = [k for k in expected if k not in have]
        if absent and not allow_missing:
            raise StreamMismatchError(
                f"the model expects physiological inputs {list(expected)} but the session has no device for "
                f"{absent} (devices: {have or 'none'}); add them (--physio NAME or --physio-type TYPE), or run "
                "with them missing throughout (--allow-missing-physio / allow_missing_physio: true)")
        if not absent:
            return physio
        logger.warning("the model expects %s, but the session has no device for %s: they are missing "
                       "throughout (their missing embeddings)", list(expected), absent)
        if physio is None:
            return cls(PhysioInputs([]), hop_s, absent)
        physio.absent = list(absent)
        return physio

    def take_new(self, kinds: Sequence[str]) -> dict[str, list[tuple[float, np.ndarray]]]:
        """The frames of ``kinds`` emitted since the last call (``kind -> [(T_k, features)]``, session clock)."""
        out = {}
        for kind in kinds:
            rows = self.frames.get(kind)
            if rows is None:
                continue
            out[kind] = rows[self._handed[kind]:]
            self._handed[kind] = len(rows)
        return out

    @classmethod
    def open(cls, config, stack, window_s: float, hop_s: float,
             model_physio_config: dict | None = None) -> "SessionPhysio | None":
        """The devices a :class:`~eegaffect.live.session.LiveConfig` names (``physio``, ``physio_types``),
        connected (``stack`` closes them), or None when it names none; their frames have the EEG's
        ``window_s`` / ``hop_s``. ``model_physio_config``: the physiological signal path a fused model was trained
        with (its bundle's), used unless the config names its own ``physio_config`` (then a warning says so).
        """
        from eegaffect.config import load_config
        from eegaffect.physio.config import FrameConfig, PhysioConfig

        if not config.physio and not config.physio_types:
            return None
        if model_physio_config is not None and config.physio_config is None:
            physio_config = PhysioConfig.model_validate(model_physio_config)
        else:
            physio_config = load_config(PhysioConfig, config.physio_config, default="physio")
            if model_physio_config is not None and \
                    physio_config.model_dump(exclude={"frames"}) != \
                    PhysioConfig.model_validate(model_physio_config).model_dump(exclude={"frames"}):
                logger.warning("physio_config %s differs from the physiological signal path the model was trained "
                               "with (its bundle's): its features may not be what the model learned from",
                               config.physio_config)
        physio_config = physio_config.model_copy(update={"frames": FrameConfig(window_s=window_s, hop_s=hop_s)})
        inputs = PhysioInputs.open(config.physio, config.physio_types, config=physio_config,
                                   clock=config.clock_align,
                                   bufsize_s=config.bufsize_s, timeout=config.resolve_timeout_s,
                                   stall_s=config.physio_stall_s, realtime=config.realtime)
        stack.callback(inputs.close)
        logger.info("physiological inputs: %s (clock %s)",
                    ", ".join(f"{i.name!r} ({i.kind}, {i.sfreq:g} Hz)" for i in inputs.inputs), config.clock_align)
        return cls(inputs, hop_s)

    def recorder_streams(self, bufsize_s: float, timeout: float) -> list:
        """Unconnected :class:`~eegaffect.acquisition.lsl.Stream` objects of the devices for the recorder (raw
        stamps; the recorder stores each stream's clock offsets).
        """
        from eegaffect.acquisition.lsl import Stream

        return [Stream(source_id=i.stream.source_id, bufsize=bufsize_s, timeout=timeout, dejitter=False)
                for i in self.inputs.inputs]

    def start(self) -> None:
        """Drop what the devices sent before the session's first update; their counts (samples, lost, gaps) start
        here, as the EEG's do.
        """
        for i in self.inputs.inputs:
            i.stream.read_new()
            i._health0 = i.stream.health  # noqa: SLF001 - the session's start is the devices' too

    def step(self, frame_ts: Sequence[float]) -> None:
        """Pass on the EEG frames added since the last call (``frame_ts`` is the session's whole list) and poll."""
        for t in frame_ts[self._n_frames:]:
            self.inputs.add_frame(float(t))
            self._newest = float(t)
        self._n_frames = len(frame_ts)
        for kind, frames in self.inputs.poll().items():
            self.frames[kind].extend(frames)

    def missing_kinds(self) -> list[str]:
        """The devices' kinds without a usable frame now (all of them before the first frame)."""
        if np.isnan(self._newest):  # no frame yet: nothing from the devices either
            return list(self.inputs.kinds) + self.absent
        return list(self.inputs.missing(self._newest, self.hop_s)) + self.absent

    def missing_mask(self, base: int) -> int:
        """The missing-modality mask of an update of base status ``base`` (the ``Affect`` status is
        ``base + 16 * mask``; see the module docstring): the missing devices, and the EEG in a gap (``base == 2``).
        """
        return missing_mask(self.missing_kinds() + (["eeg"] if base == 2 else []))

    def summary(self) -> dict:
        """Per device (by stream name): samples, lost samples, gaps, NaN-filled and late samples, frames, clock."""
        return self.inputs.summary()

    def health(self) -> dict[str, str]:
        """One short dashboard row per device: ``kind -> "ok|missing L lost"`` (``L`` lost samples so far)."""
        missing = set(self.missing_kinds())
        rows = {}
        for i in self.inputs.inputs:
            lost = i.stream.health.n_lost - i._health0.n_lost
            rows[i.kind] = f"{'missing' if i.kind in missing else 'ok'} {lost} lost"
        return rows

    def dashboard_init(self) -> dict:
        """What the dashboard needs to lay out its physiology panels: ``kind -> {"name", "sfreq"}`` of the devices
        with a panel (:data:`~eegaffect.live.physio_view.VIEW_KINDS`), whose views are enabled from now on.
        """
        return {i.kind: {"name": i.name, "sfreq": i.sfreq} for i in self.inputs.inputs if i.enable_view()}

    def dashboard_data(self, elapsed: float) -> dict:
        """The devices' new panel data since the last call, for a dashboard message at session second ``elapsed``:
        ``kind -> {series: (times, values)}``, times in the dashboard's seconds since the session start.
        """
        import pylsl

        shift = float(elapsed) - pylsl.local_clock()
        return {i.kind: i.view.drain(shift) for i in self.inputs.inputs if i.view is not None}

    def write(self, out) -> None:
        """``physio_frames.npz``: per kind, ``{kind}_time`` (the EEG frame ends) and ``{kind}_features``, plus
        ``{kind}_names``.
        """
        from pathlib import Path

        arrays = {}
        for i in self.inputs.inputs:
            rows = self.frames[i.kind]
            arrays[f"{i.kind}_time"] = np.array([t for t, _ in rows], dtype=np.float64)
            arrays[f"{i.kind}_features"] = (np.vstack([r for _, r in rows]) if rows
                                            else np.empty((0, len(i.feature_names))))
            arrays[f"{i.kind}_names"] = np.array(i.feature_names)
        np.savez(Path(out) / "physio_frames.npz", **arrays)
