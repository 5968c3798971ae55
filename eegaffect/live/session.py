"""The live session: LSL stream -> channel map -> :class:`~eegaffect.models.predictor.Predictor` -> ``Affect`` outlet.

One loop in the caller's thread does the work; the acquisition worker of :class:`~eegaffect.acquisition.lsl.Stream`
fills the ring buffer in its own thread, and the dashboard (when any) runs in its own thread or process fed by a
queue, so neither can be blocked by the other.

Per update (``update_hz``, default 4 Hz) the loop waits until ``sfreq / update_hz`` new samples are there, reads
them, maps the stream's channels to the model's (by name; see :mod:`eegaffect.live.channels`), feeds them to
:meth:`Predictor.step` (which resamples to the model's rate, filters, computes features and runs the causal model)
and pushes the newest estimate to a :class:`~eegaffect.acquisition.outlet.PredictionOutlet`, stamped with the LSL
timestamp of the newest sample used. The model emits one estimate per feature frame (``hop_s``); between frames
the update repeats the newest estimate with status ok.

Gaps are never papered over: lost samples (found from the timestamps, exactly from a sample counter channel)
make every update :data:`~eegaffect.acquisition.outlet.STATUS_GAP` (NaN values) until a frame computed only
from samples after the gap exists. A gap of at least ``reset_after_gap_s`` or a reconnect restarts the predictor
(filters, windows and model context), so the session resumes cleanly. No data for longer than an update period
also gives gap updates. A model output that is not finite gives :data:`STATUS_INVALID`.

The session ends after ``duration`` seconds, on Ctrl-C (``KeyboardInterrupt``) or when ``stop_event`` is set,
and returns the summary (also written to ``out_dir/summary.json``)::

    {"updates", "duration_s", "latency_ms": {"p50", "p99", "max"}, "stages_ms": {stage: mean},
     "stage_percentiles_ms": {stage: {"p50", "p99", "max"}}, "samples_received", "samples_lost", "gaps",
     "reconnects", "ground_truth": {...} or null, "jitter_per_s": {...}, "dashboard": path or null, "stalls",
     "seconds_without_data", "invalid_updates", "source_changes", "seconds_unknown_loss"}

The latency stages (``stages_ms``, ``stage_percentiles_ms`` and the per-update columns of ``updates.csv``) are
described in :mod:`eegaffect.live.latency`: the stages on the path add up to each update's latency, and the
loop's work after the push (physiological devices, truth, dashboard hand-off) is timed beside them.
``jitter_per_s`` holds the mean |change| per second of the predicted valence and arousal over the valid frames
and, with a truth stream, of the truth at the same frames (``truth_valence``, ``truth_arousal``; null without).

A stream restarted under a new source_id (a device or simulator without a fixed one) is found again by name and
type after ``reresolve_after_s`` of silence and switched to: ``source_changes`` counts that (also a reconnect), and
``seconds_unknown_loss`` sums the lengths of those gaps, whose lost samples cannot be counted (the new source counts
from scratch) and are therefore not in ``samples_lost``.

A stream that stops shows in it: ``stalls`` counts the times the stream delivered nothing for at least
``stall_timeout_s`` (from the stream's health events), ``seconds_without_data`` sums those silences (from the last
sample before each to the next sample, or to the end of the session), ``gaps`` counts a stall still going on at
the end (the stream stopped) besides the gaps in the data, and ``invalid_updates`` counts the updates whose status
was not ok (gap or invalid, including those while the first window fills).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np

from eegaffect.acquisition.realtime import realtime_scope
from eegaffect.live.config import SUMMARY_KEYS, UNIT_SCALES, LiveConfig
from eegaffect.live.latency import STAGES, GCPauses, LatencyLog
from eegaffect.live.prediction_state import PredictionState, split_gaps
from eegaffect.live.record import (  # noqa: F401 - _Silence, _ground_truth: importable from here as before
    _ground_truth,
    _read_truth,
    _Record,
    _row,
    _Silence,
    _summarise,
    _write_outputs,
)

__all__ = ["LiveConfig", "LiveSession", "run_live", "UNIT_SCALES", "SUMMARY_KEYS"]

logger = logging.getLogger("eegaffect.live")

class Dashboard(Protocol):
    """What the session needs from a dashboard (see :mod:`eegaffect.live.dashboard_worker`)."""

    def start(self, init: dict) -> None: ...

    def submit(self, message: dict) -> None: ...

    def close(self) -> str | None: ...


class LiveSession:
    """Run a trained bundle on a live LSL stream.

    Parameters
    ----------
    stream : str
        Name of the EEG stream.
    bundle : str | Path
        Model bundle directory (:meth:`Predictor.load`).
    config : LiveConfig | None
        Settings (defaults when None).
    out_dir : str | Path | None
        Where ``summary.json``, ``updates.csv`` (and ``session.h5`` with ``record``) go; None writes nothing.
    dashboard : Dashboard | None
        Receives one message per update (never blocks; see :mod:`eegaffect.live.dashboard_worker`).
    source_id : str | None
        Also require this source_id for the EEG stream (when several streams share the name).

    Attributes
    ----------
    summary : dict | None
        The last run's summary (see the module docstring).
    details : dict
        The last run's extras: ``cpu_s`` (process CPU time during the loop, all threads), ``wall_s``,
        ``frames`` (valid model frames), ``interpolated`` (channels), ``unit_scale``, ``outlet`` (stream name),
        ``loop_span`` (:func:`pylsl.local_clock` when the update loop started and ended).
    outlet_name : str
        Name of the prediction stream.
    """

    def __init__(self, stream: str, bundle: str | Path, config: LiveConfig | None = None, *,
                 out_dir: str | Path | None = None, dashboard: Dashboard | None = None,
                 source_id: str | None = None):
        if not isinstance(stream, str) or not stream:
            raise ValueError(f"expected a stream name, got {stream!r}")
        config = LiveConfig() if config is None else config
        if not isinstance(config, LiveConfig):
            raise TypeError(f"config must be a LiveConfig, got {type(config).__name__}")
        bundle = Path(bundle)
        from eegaffect.models.predictor import Predictor

        self._predictor = Predictor.load(bundle)  # fail early (BundleError), before any stream is opened
        self._meta = self._predictor.meta
        self.stream_name = stream
        self.bundle = bundle
        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.dashboard = dashboard
        self.source_id = source_id
        self.summary: dict | None = None
        self.details: dict = {}
        self.outlet_name = config.outlet_name or f"{stream}-affect"
        self._ready = threading.Event()

    @property
    def ready(self) -> threading.Event:
        """Set once the stream, model and outlet are open (the first update follows)."""
        return self._ready

    def run(self, duration: float | None = None, stop_event: threading.Event | None = None) -> dict:
        """Run until ``duration`` seconds, ``stop_event`` or Ctrl-C; return (and write) the summary.

        Parameters
        ----------
        duration : float | None
            Seconds to run after the first update; None runs until stopped.
        stop_event : threading.Event | None
            Set it (from another thread) to stop.

        Returns
        -------
        summary : dict
            See the module docstring.
        """
        if duration is not None and not duration > 0:
            raise ValueError(f"duration must be > 0 seconds or None, got {duration}")
        return self._run(duration, stop_event or threading.Event())

    def _open_truth(self, stack: contextlib.ExitStack):
        """The ground-truth stream ``{stream}-truth``, connected (``stack`` disconnects it), or None."""
        from eegaffect.acquisition.lsl import Stream, StreamNotFoundError

        if not self.config.truth:
            return None
        try:
            truth = Stream(name=f"{self.stream_name}-truth", type="AffectTruth", timeout=self.config.truth_timeout_s,
                           bufsize=self.config.bufsize_s, index_channel=None, realtime=self.config.realtime).connect()
        except StreamNotFoundError:
            logger.info("no ground-truth stream %r found; CCC/RMSE will not be computed", f"{self.stream_name}-truth")
            return None
        stack.callback(truth.disconnect)
        return truth

    def _open_physio(self, stack: contextlib.ExitStack, predictor):
        """The physiological devices of ``config.physio`` / ``config.physio_types``, connected, or None."""
        from eegaffect.live.physio_inputs import SessionPhysio

        features = predictor.pipeline_config.features
        spec = predictor.chain.physio  # a fused model's features come from the signal path it was trained with
        physio = SessionPhysio.open(self.config, stack, features.window_s, features.hop_s,
                                    None if spec is None else spec.physio_config)
        for i in [] if physio is None or spec is None else physio.inputs.inputs:
            # a physio_config of the session's own may select other columns than the model reads
            want = predictor.physio_feature_names(i.kind) if i.kind in predictor.physio_kinds else None
            if want is not None and list(i.feature_names) != want:
                from eegaffect.config import ConfigError

                raise ConfigError(f"physio_config {self.config.physio_config}: the {i.kind} features "
                                  f"{list(i.feature_names)} are not the model's {want} (drop physio_config to use "
                                  "the bundle's signal path)")
        return physio

    def _open_recorder(self, stack: contextlib.ExitStack, truth, outlet, physio=None) -> None:
        """Record the EEG, truth and prediction streams to ``out_dir/session.h5`` (with ``record``); ``stack`` stops
        the recorder once it holds every pushed update, then disconnects its streams.
        """
        from eegaffect.acquisition.lsl import Stream
        from eegaffect.acquisition.recorder import Recorder

        if not self.config.record or self.out_dir is None:
            return
        cfg = self.config
        # the recording's own inlet on the EEG finds the session's gaps (same tolerances) and leaves reporting them
        # to the session's inlet: the log then says what the summary counts, once
        streams = [Stream(name=self.stream_name, source_id=self.source_id, bufsize=cfg.bufsize_s,
                          timeout=cfg.resolve_timeout_s, dejitter=False, jitter_tolerance_s=cfg.jitter_tolerance_s,
                          stall_timeout_s=cfg.stall_timeout_s, log_events=False,
                          reresolve_after_s=None if self.source_id else cfg.reresolve_after_s)]
        if truth is not None:
            streams.append(Stream(name=truth.name, type="AffectTruth", bufsize=cfg.bufsize_s, dejitter=False,
                                  index_channel=None))
        if physio is not None:
            streams.extend(physio.recorder_streams(cfg.bufsize_s, cfg.resolve_timeout_s))
        streams.append(Stream(source_id=outlet.source_id, bufsize=cfg.bufsize_s, dejitter=False, index_channel=None))
        for s in streams:
            s.connect()
            stack.callback(s.disconnect)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        recorder = Recorder(self.out_dir / "session.h5", streams, overwrite=True).start()

        def stop():
            _await_recorded_predictions(streams[-1], outlet)
            recorder.stop()

        stack.callback(stop)

    def _run(self, duration: float | None, stop: threading.Event) -> dict:
        import pylsl

        from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME, Stream
        from eegaffect.acquisition.outlet import PredictionOutlet
        from eegaffect.live.channels import match_channels
        from eegaffect.models.predictor import Predictor

        cfg = self.config
        closed: dict = {}
        # one stack closes everything opened below, last opened first: the recorder (once it holds every pushed
        # update) and its streams, the dashboard, the prediction outlet, the truth stream, the EEG stream
        with contextlib.ExitStack() as stack:
            # everything alive now (torch, the model, numpy: ~300 000 objects) leaves the garbage collector's view
            # for the session: a full collection over them took 0.1-0.2 s on a 2-core machine, and one during the
            # session would stop every thread that long; the collector still frees what the updates leave. Done
            # before any stream opens: the collection itself stops every thread once, and no stream sees it.
            gc.collect()
            gc.freeze()
            stack.callback(gc.unfreeze)
            eeg = Stream(name=self.stream_name, source_id=self.source_id, bufsize=cfg.bufsize_s,
                         timeout=cfg.resolve_timeout_s, require_regular=True, index_channel="auto",
                         jitter_tolerance_s=cfg.jitter_tolerance_s, stall_timeout_s=cfg.stall_timeout_s,
                         reresolve_after_s=None if self.source_id else cfg.reresolve_after_s, realtime=cfg.realtime)
            eeg.connect()
            stack.callback(eeg.disconnect)
            sfreq = eeg.sfreq
            ignore = list(cfg.ignore_channels) + ([eeg.ch_names[eeg.index_channel]] if eeg.index_channel is not None
                                                  else [INDEX_CHANNEL_NAME])
            cmap = match_channels(eeg.ch_names, self._meta["ch_names"], ignore=ignore,
                                  max_interpolated=cfg.interpolate, rename=cfg.rename)
            # the unit of the channels the model uses (a trigger or EXG channel dropped may have another)
            ch_units = [eeg.ch_units[p] for p in cmap.picks if 0 <= p < len(eeg.ch_units)]
            scale = _stream_scale(cfg, ch_units, self._meta)
            cmap = dataclasses.replace(cmap, scale=scale)
            # one line: which stream channel feeds which model channel, interpolated and unused ones
            logger.log(logging.WARNING if cmap.interpolated else logging.INFO, "%s", cmap.describe())
            if cfg.torch_threads is not None:
                import torch

                torch.set_num_threads(cfg.torch_threads)
            predictor = self._predictor
            if not np.isclose(predictor.sfreq, sfreq):
                predictor = Predictor.load(self.bundle, sfreq=sfreq)  # resamples the stream to the model's rate
            if cfg.warmup:
                logger.info("warm-up (JIT kernels, model) took %.2f s", _warmup_predictor(predictor))
            truth = self._open_truth(stack)
            outlet = PredictionOutlet(self.outlet_name, sfreq=cfg.update_hz)
            stack.callback(outlet.close)
            physio = self._open_physio(stack, predictor)
            if predictor.physio_kinds:  # a fused model: every kind it expects needs a device (or the explicit option)
                from eegaffect.live.physio_inputs import SessionPhysio

                physio = SessionPhysio.for_model(physio, predictor.physio_kinds,
                                                 predictor.pipeline_config.features.hop_s, cfg.allow_missing_physio)
            if self.dashboard is not None:
                stack.callback(lambda: closed.update(dashboard=self.dashboard.close()))
                self.dashboard.start({"ch_names": list(cmap.model_ch_names), "sfreq": sfreq,
                                      "pipeline": predictor.pipeline_config.model_dump(mode="json"),
                                      "n_codes": _n_codes(self._meta),
                                      "trail_s": cfg.dashboard_trail_s, "update_hz": cfg.update_hz,
                                      "stream": self.stream_name, "unit": _display_unit(cfg, ch_units, self._meta),
                                      "physio": None if physio is None else physio.dashboard_init()})
            self._open_recorder(stack, truth, outlet, physio)
            logger.info("live: %r (%d ch @ %g Hz) -> %s -> %r at %g Hz%s", self.stream_name, eeg.n_chans, sfreq,
                        self.bundle.name, outlet.name, cfg.update_hz,
                        "" if truth is None else f", ground truth {truth.name!r}")
            eeg.skip_start_burst(cfg.start_wait_s)  # the session starts with fresh samples
            if truth is not None:
                truth.read_new()
            health0 = eeg.health
            # the summary counts from here: say what the log already reported before (warm-up, start-up burst)
            logger.info("live: session starts; the summary counts from here (before it: %d samples received, %d "
                        "lost in %d gap(s))", health0.n_received, health0.n_lost, health0.n_gaps)
            if physio is not None:
                physio.start()
            self._ready.set()
            loop_span = [pylsl.local_clock()]
            record, latency, health, silence, cpu_s, wall = self._loop(eeg, truth, outlet, cmap, predictor,
                                                                       duration, stop, physio)
            loop_span.append(pylsl.local_clock())
            devices = None if physio is None else physio.summary()
        summary = _summarise(record, latency, health, health0, silence, wall, closed.get("dashboard"))
        if devices is not None:
            summary["devices"] = devices
        if silence.trailing_s is not None:
            logger.warning("stream %r stopped: no data for the last %.1f s of the session (counted as a gap)",
                           self.stream_name, silence.trailing_s)
        self.summary = summary
        self.details = {"cpu_s": cpu_s, "wall_s": summary["duration_s"], "frames": len(record.frame_ts),
                        "interpolated": cmap.interpolated, "unit_scale": scale, "outlet": self.outlet_name,
                        "physio_frames_in": dict(record.physio_in), "loop_span": tuple(loop_span)}
        if self.out_dir is not None:
            _write_outputs(self.out_dir, summary, record)
            if physio is not None:
                physio.write(self.out_dir)
        return summary

    def _loop(self, eeg, truth, outlet, cmap, predictor, duration, stop, physio=None):
        import pylsl

        from eegaffect.acquisition.outlet import STATUS_GAP, STATUS_INVALID, STATUS_OK

        cfg = self.config
        sfreq = eeg.sfreq
        period = 1.0 / cfg.update_hz
        n_update = max(1, int(round(sfreq * period)))
        state = PredictionState(predictor, sfreq, cfg.reset_after_gap_s, physio)
        record = _Record()
        latency = LatencyLog()
        last_ts = float("nan")
        t_start = time.perf_counter()
        cpu0 = time.process_time()
        deadline = None if duration is None else t_start + duration
        next_idle = t_start + period
        health0 = eeg.health
        received0 = health0.n_received
        silence = _Silence(pylsl.local_clock())
        pending = eeg.get_events()  # a stall that began before the first update goes on in the session
        silence.add(pending)
        pending = [e for e in pending if e.kind == "reconnect"]
        idle = False

        def health_message(elapsed: float) -> dict:
            # the session's counts, as in the summary (a stall going on is a gap until data come again)
            health = eeg.health
            message = {"received": health.n_received - received0, "lost": health.n_lost - health0.n_lost,
                       "gaps": health.n_gaps - health0.n_gaps + int(silence.since is not None),
                       "reconnects": health.n_reconnects - health0.n_reconnects, "stalls": silence.n_stalls,
                       "no_data_s": silence.total(pylsl.local_clock())}
            if physio is not None:
                message["devices"] = physio.health()
            return message

        def physio_message(elapsed: float):  # the devices' new panel data (after the push: off the latency path)
            return None if physio is None else physio.dashboard_data(elapsed)

        gc_pauses = GCPauses(pylsl.local_clock).install()
        # the loop's thread in SCHED_FIFO where permitted, as its inlets' workers (acquisition.realtime): on a busy
        # machine its wake-ups and its predict no longer wait behind other work; what it starts runs normal
        realtime = contextlib.ExitStack()
        realtime.enter_context(realtime_scope(cfg.realtime))
        try:
            while not stop.is_set():
                now = time.perf_counter()
                if deadline is not None and now >= deadline:
                    break
                # data are awaited up to two periods (chunks arrive with jitter); once none came, the idle gap updates
                # follow at the update rate
                wait = period if idle else 2 * period
                wait = wait if deadline is None else max(0.0, min(wait, deadline - now))
                eeg.wait(timeout=wait, n_samples=n_update)
                if deadline is not None and time.perf_counter() >= deadline:
                    break  # the session is over: no partial update from whatever trickled in while it ended
                t_wake = pylsl.local_clock()
                data, ts = eeg.read_new()
                t_written = eeg.written_at
                events = pending + eeg.get_events()
                pending = []
                reconnected = any(e.kind == "reconnect" for e in events)
                t_read = pylsl.local_clock()
                silence.add(events)
                idle = len(ts) == 0
                if idle:
                    truth_now = _read_truth(truth, record)
                    if physio is not None:
                        physio.step(record.frame_ts)
                    if time.perf_counter() >= next_idle:  # stalled stream: say so at the update rate
                        state.current = None
                        outlet.push_gap(missing_mask=_missing_mask(physio, STATUS_GAP))
                        elapsed = time.perf_counter() - t_start
                        record.rows.append(_row(elapsed, float("nan"), None, STATUS_GAP, False, None, truth_now))
                        next_idle = time.perf_counter() + period
                        if self.dashboard is not None:
                            self.dashboard.submit({"time": elapsed, "eeg": None, "va": None, "truth": truth_now,
                                                      "code": None, "status": STATUS_GAP, "latency_ms": None,
                                                      "health": health_message(elapsed),
                                                      "physio": physio_message(elapsed)})
                    continue
                x = cmap.apply(data)
                t_map = pylsl.local_clock()
                gaps = split_gaps(ts, last_ts, sfreq, cfg.jitter_tolerance_s)
                if reconnected:  # a new outlet: its samples do not continue the old ones
                    if gaps and gaps[0][0] == 0:
                        gaps[0] = (0, max(gaps[0][1], cfg.reset_after_gap_s))
                    else:
                        gaps.insert(0, (0, cfg.reset_after_gap_s))
                fresh = False
                start = 0
                cpu_pred = time.thread_time()
                for pos, seconds in gaps:
                    if pos > start:
                        fresh |= state.feed(x[start:pos], ts[start:pos], record)
                    state.gap(seconds)
                    start = pos
                fresh |= state.feed(x[start:], ts[start:], record)
                last_ts = float(ts[-1])
                t_pred = pylsl.local_clock()
                cpu_pred = time.thread_time() - cpu_pred
                current = state.current
                if current is None:
                    status, va, code = STATUS_GAP, None, None
                    outlet.push_gap(timestamp=last_ts, missing_mask=_missing_mask(physio, status))
                elif current[0] == "invalid":
                    status, va, code = STATUS_INVALID, None, None
                    outlet.push_invalid(timestamp=last_ts, missing_mask=_missing_mask(physio, status))
                else:
                    _, va, conf, code = current
                    status = STATUS_OK
                    outlet.push_prediction(float(va[0]), float(va[1]), conf, code, timestamp=last_ts,
                                           missing_mask=_missing_mask(physio, status))
                t_push = pylsl.local_clock()
                # the rest of the update is after the push: not on the latency path, timed as after-push stages
                stages = _path_stages(last_ts, t_written, t_wake, t_read, t_map, t_pred, t_push)
                stages["predict_cpu"] = cpu_pred
                stages["gc"] = gc_pauses.within(last_ts, t_push)
                if physio is not None:
                    physio.step(record.frame_ts)
                    stages["physio"] = pylsl.local_clock() - t_push
                t_truth = pylsl.local_clock()
                truth_now = _read_truth(truth, record)
                if truth is not None:
                    stages["truth"] = pylsl.local_clock() - t_truth
                total = float(sum(stages[s] for s in STAGES))
                elapsed = time.perf_counter() - t_start
                next_idle = time.perf_counter() + period
                if self.dashboard is not None:
                    t_dash = pylsl.local_clock()
                    self.dashboard.submit({
                        "time": elapsed, "eeg": x.astype(np.float32), "va": None if va is None else np.asarray(va),
                        "truth": truth_now, "code": code, "status": status, "latency_ms": total * 1e3,
                        "health": health_message(elapsed), "physio": physio_message(elapsed)})
                    stages["dashboard"] = pylsl.local_clock() - t_dash
                latency.add(stages)
                record.rows.append(_row(elapsed, last_ts, va, status, fresh, code, truth_now, total, stages))
        except KeyboardInterrupt:
            logger.info("stopping (Ctrl-C)")
        finally:
            gc_pauses.uninstall()
            realtime.close()
        eeg.disconnect()  # the summary's counts end here: no loss is logged after them (the recording closes later)
        silence.add(eeg.get_events())
        silence.close(pylsl.local_clock())
        return record, latency, eeg.health, silence, time.process_time() - cpu0, time.perf_counter() - t_start


def _path_stages(last_ts: float, written: float, wake: float, read: float, mapped: float, predicted: float,
                 pushed: float) -> dict[str, float]:
    """The :data:`~eegaffect.live.latency.STAGES` of an update from its clock readings (seconds, LSL clock).

    The newest sample's timestamp ``last_ts`` can be later than the loop's wake-up (a sample that arrived
    between the wake-up and the read; then transport and wake are 0), and the buffer's last write time can be
    later than the wake-up (a write between the wake-up and reading the write time; then wake is 0), so both are
    clipped into order; the stages still add up to ``pushed - last_ts`` whenever ``last_ts <= wake``.
    """
    written = wake if not np.isfinite(written) else min(max(written, last_ts), wake)
    transport = max(written - last_ts, 0.0)
    return {"transport": transport, "wake": max(wake - max(written, last_ts), 0.0), "read": read - wake,
            "channels": mapped - read, "predict": predicted - mapped, "push": pushed - predicted}


def _missing_mask(physio, status: int) -> int:
    """The Affect status's missing-modality mask of an update (0 without physiological devices)."""
    return 0 if physio is None else physio.missing_mask(status)


def run_live(stream: str, bundle: str | Path, config: LiveConfig | None = None, *, duration: float | None = None,
             out_dir: str | Path | None = None, dashboard: Dashboard | None = None) -> dict:
    """Convenience wrapper: ``LiveSession(...).run(duration)``; returns the summary."""
    return LiveSession(stream, bundle, config, out_dir=out_dir, dashboard=dashboard).run(duration)


# ---------------------------------------------------------------------------------------------------------------
# helpers of the session (plain functions of their arguments)
# ---------------------------------------------------------------------------------------------------------------
def _stream_scale(config: LiveConfig, ch_units: list[str], meta: dict) -> float:
    """Factor converting the stream's unit to the bundle's (1 when either is unknown)."""
    want = meta.get("unit")
    have = config.unit
    if have is None:
        units = {u.lower() for u in ch_units}
        have = units.pop() if len(units) == 1 else None
    if want is None or have is None:
        return 1.0
    if str(want).lower() not in UNIT_SCALES or str(have).lower() not in UNIT_SCALES:
        logger.warning("cannot convert stream unit %r to the bundle's %r; samples are used as they are", have, want)
        return 1.0
    return UNIT_SCALES[str(have).lower()] / UNIT_SCALES[str(want).lower()]


def _display_unit(config: LiveConfig, ch_units: list[str], meta: dict) -> str | None:
    """Unit of the samples the session hands on (the bundle's when known, else the stream's; None: unknown)."""
    if meta.get("unit") is not None:
        return str(meta["unit"])
    if config.unit is not None:
        return config.unit
    units = {u for u in ch_units if u}
    return units.pop() if len(units) == 1 else None


def _warmup_predictor(predictor, rng_seed: int = 0) -> float:
    from eegaffect import kernels

    t0 = time.perf_counter()
    kernels.warmup()
    rng = np.random.default_rng(rng_seed)
    n = int(round(predictor.sfreq * (predictor.pipeline_config.features.window_s
                                     + 2 * predictor.pipeline_config.features.hop_s)))
    x = rng.standard_normal((n, predictor.n_chans))
    predictor.step(x[: n // 2])
    predictor.step(x[n // 2:])
    predictor.reset()
    return time.perf_counter() - t0


def _await_recorded_predictions(recorded, outlet, timeout: float = 2.0) -> None:
    """Wait (up to ``timeout`` s) until the recorder's inlet on the prediction outlet has every update this
    session pushed, so that stopping the recorder right after the last push does not leave the newest ones out
    of the file (they are in flight on loopback for a millisecond, much longer on a loaded machine).
    """
    if outlet is None:
        return
    end = time.monotonic() + timeout
    while recorded.health.n_received < outlet.n_pushed and time.monotonic() < end:
        time.sleep(0.01)
    if recorded.health.n_received < outlet.n_pushed:
        logger.warning("the recording holds %d of the %d updates pushed (the rest were still in flight after "
                       "%.0f s)", recorded.health.n_received, outlet.n_pushed, timeout)


def _n_codes(meta: dict) -> int:
    """Codebook size of a bundle's quantiser for the dashboard's code panel; 0 without a quantiser (the default
    since issue 18), whose code is always -1.
    """
    vq = meta["model"]["vqvae"]
    return int(vq.get("n_codes", 0)) if vq.get("quantize", True) else 0
