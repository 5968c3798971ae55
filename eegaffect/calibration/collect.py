"""Calibration data: raw EEG and a label track, from a recording or a live LSL stream, turned into labelled
feature frames by the bundle's own pipeline; and scoring a bundle offline on a recording with truth
(see :mod:`eegaffect.calibration`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from eegaffect._logging import logger
from eegaffect.calibration.base import (
    CalibrationData,
    CalibrationError,
)
from eegaffect.calibration.pairing import device_signal, paired_frames

__all__ = ["collect_live", "collect_recording", "read_labels_csv", "recorded_devices", "score_recording"]


def recorded_devices(header, eeg_key: str, kinds: Sequence[str], duration: float | None = None) -> dict:
    """The physiological device streams of a recording (``eegaffect live --record`` stores them), one per kind.

    A stream's kind is its content type (:data:`eegaffect.live.physio_inputs.CONTENT_TYPES`). Its samples are
    placed on the EEG's clock by the recorded LSL stamps (seconds from the EEG stream's first sample) and cut
    to ``duration`` seconds.

    Parameters
    ----------
    header : RecordingHeader
        The open recording (:func:`eegaffect.recordings.open_recording`).
    eeg_key : str
        Key of its EEG stream.
    kinds : sequence of str
        Kinds wanted (the bundle's :attr:`~eegaffect.models.predictor.Predictor.physio_kinds`).
    duration : float | None
        Seconds of EEG used (None: all).

    Returns
    -------
    signals : dict of str to (ndarray, shape (n,), float)
        Per kind, its signal starting with the first EEG sample (:func:`device_signal`) and its rate.

    Raises
    ------
    CalibrationError
        A wanted kind without a stream, or with several.
    """
    from eegaffect.acquisition.channels import INDEX_CHANNEL_NAME
    from eegaffect.live.physio_inputs import CONTENT_TYPES

    t0 = header.streams[eeg_key].first_timestamp
    by_kind: dict[str, list] = {}
    for key, st in header.streams.items():
        kind = CONTENT_TYPES.get(str(st.type).upper())
        if key != eeg_key and kind in kinds:
            by_kind.setdefault(kind, []).append(key)
    missing = [k for k in kinds if k not in by_kind]
    several = {k: v for k, v in by_kind.items() if len(v) > 1}
    if missing or several:
        have = {k: (s.name, s.type) for k, s in header.streams.items()}
        raise CalibrationError(f"{header.path}: a fused bundle expecting {list(kinds)} calibrates on one device "
                               f"stream per kind (content type ECG, PPG/BVP, EDA, RESP or TEMP); "
                               + (f"none for {missing}" if missing else f"several for {several}")
                               + f"; the recording has streams {have} (record the session with its devices: "
                               "eegaffect live --physio NAME --record)")
    out = {}
    for kind in kinds:
        st = header.read_stream(by_kind[kind][0])
        index = [i for i, n in enumerate(st.ch_names) if n == INDEX_CHANNEL_NAME]
        col = next(i for i in range(np.shape(st.data)[1]) if i not in index)
        n = min(len(st.timestamps), len(st.data))
        t = np.asarray(st.timestamps[:n], np.float64) - t0
        x = np.asarray(st.data[:n], np.float64)[:, col]
        if duration is not None:
            x, t = x[t < duration], t[t < duration]
        out[kind] = (device_signal(x, t, float(st.sfreq)), float(st.sfreq))
    return out


def read_labels_csv(path: str | Path) -> np.ndarray:
    """A ``time_s, valence, arousal`` CSV as an array (n, 3) (the annotation format of the datasets)."""
    from eegaffect.datasets.base import DatasetFormatError, read_annotation_csv

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file {path} does not exist")
    try:
        return np.asarray(read_annotation_csv(path), dtype=np.float64)
    except DatasetFormatError as exc:
        raise CalibrationError(str(exc)) from None


def _map_channels(ch_names, ch_units, meta, interpolate: int, ignore: Sequence[str], unit: str | None,
                  rename: dict | None = None):
    """The live session's channel map: by name, then the unit of the channels used (dropped ones may differ)."""
    import dataclasses

    from eegaffect.live.channels import match_channels
    from eegaffect.live.session import UNIT_SCALES

    cmap = match_channels(ch_names, meta["ch_names"], ignore=list(ignore), max_interpolated=interpolate,
                          rename=rename)
    want, have = meta.get("unit"), unit
    if have is None:
        units = {str(ch_units[p]).lower() for p in cmap.picks if 0 <= p < len(ch_units) and ch_units[p]}
        have = units.pop() if len(units) == 1 else None
    if want is not None and have is not None and str(want).lower() in UNIT_SCALES \
            and str(have).lower() in UNIT_SCALES:
        cmap = dataclasses.replace(cmap, scale=UNIT_SCALES[str(have).lower()] / UNIT_SCALES[str(want).lower()])
    logger.log(logging.WARNING if cmap.interpolated else logging.INFO, "%s", cmap.describe())
    return cmap


def collect_recording(bundle: str | Path, path: str | Path, labels: str | Path | None = None, *,
                      duration: float | None = None, interpolate: int = 0, ignore: Sequence[str] = (),
                      unit: str | None = None, stream: str | None = None,
                      rename: dict | None = None) -> CalibrationData:
    """Labelled frames from a recording file (HDF5, XDF, EDF, ...).

    Parameters
    ----------
    bundle : str | Path
        The parent bundle.
    path : str | Path
        The recording.
    labels : str | Path | None
        A ``time_s, valence, arousal`` CSV (times from the recording's first EEG sample); None: the recording's
        own annotation (its ground-truth stream, or the CSV beside it; see :mod:`eegaffect.datasets.recording`).
    duration : float | None
        Use only the first ``duration`` seconds (None: all).
    interpolate : int
        Most missing model channels interpolated.
    ignore : sequence of str
        Recording channels to drop.
    unit : str | None
        Unit of the samples when the file does not say.
    stream : str | None
        Stream to read from an HDF5/XDF file (None: its EEG stream).
    rename : dict | None
        Explicit recording channel -> model channel names.

    Returns
    -------
    data : CalibrationData
    """
    from eegaffect.datasets import load_dataset
    from eegaffect.models.predictor import Predictor
    from eegaffect.recordings import open_recording

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"recording {path} does not exist")
    if duration is not None and not duration > 0:
        raise CalibrationError(f"--duration must be > 0 seconds, got {duration}")
    predictor = Predictor.load(bundle)
    ds = load_dataset(path, "recording", stream=stream) if stream else load_dataset(path, "recording")
    trial = ds.trials[0]
    info = trial.info
    header = open_recording(path)
    units = _units_of(header, info)
    if labels is not None:
        track, label_src = read_labels_csv(labels), str(labels)
    else:
        track = trial.continuous_targets()
        if track is None:
            raise CalibrationError(f"{path} has no ground-truth stream (type AffectTruth) and no annotation CSV "
                                   "beside it; give the labels with --labels FILE.csv (time_s, valence, arousal)")
        label_src = f"{path} (recorded ground truth)"
    kinds = list(predictor.physio_kinds)
    devices = recorded_devices(header, info.key, kinds, duration) if kinds else None
    cmap = _map_channels(info.ch_names, units, predictor.meta, interpolate, ignore, unit, rename)
    raw = trial.load()
    if duration is not None:
        raw = raw[: round(duration * info.sfreq)]
    eeg = cmap.apply(raw)
    features, va, rows = paired_frames(predictor, eeg, info.sfreq, track, devices)
    extra = {"interpolated": list(cmap.interpolated)}
    if kinds:
        extra["devices"] = {k: header.streams[key].name for key in header.streams
                            for k in kinds if header.streams[key].name and _kind_of(header.streams[key]) == k}
    return CalibrationData([features], [va], source=str(path), labels=label_src,
                           duration_s=len(eeg) / float(info.sfreq), extra=extra,
                           physio=None if rows is None else [rows])


def _kind_of(stream) -> str | None:
    from eegaffect.live.physio_inputs import CONTENT_TYPES

    return CONTENT_TYPES.get(str(stream.type).upper())


def _units_of(header, info) -> list[str]:
    stream = header.streams.get(info.key) if info.key is not None else None
    if stream is None:
        return []
    units = list(getattr(stream, "ch_units", []) or [])
    keep = set(info.ch_names)
    names = list(stream.ch_names)
    return [u for n, u in zip(names, units) if n in keep] if len(units) == len(names) else units


def collect_live(bundle: str | Path, stream: str, labels: str | Path | None, duration: float, *,
                 interpolate: int = 0, ignore: Sequence[str] = (), unit: str | None = None,
                 timeout: float = 10.0, rename: dict | None = None,
                 physio: Sequence[str] | None = None) -> CalibrationData:
    """Record ``duration`` seconds of a live EEG stream with its labels (and a fused bundle's device streams),
    then return labelled frames.

    For a fused bundle the device streams are collected alongside the EEG; each device's samples are placed on
    the EEG's samples by their LSL stamps (as the labels are), featurised by the bundle's physiological pipeline
    and paired with the EEG frames by the bundle's as-of rule (:func:`paired_frames`), so calibration sees what
    the live session will feed the model.

    Parameters
    ----------
    bundle : str | Path
        The parent bundle.
    stream : str
        Name of the EEG stream.
    labels : str | Path | None
        ``"truth"`` or None: the stream ``{stream}-truth`` (type ``AffectTruth``, what ``eegaffect simulate``
        publishes); a path ending in ``.csv``: ``time_s, valence, arousal`` with ``time_s`` in seconds from the
        first calibration sample (the stimulus schedule); any other text: the name of an ``AffectTruth`` stream.
    duration : float
        Seconds of EEG to collect.
    interpolate, ignore, unit, rename
        As for ``eegaffect live``.
    timeout : float
        Seconds to wait for the streams.
    physio : sequence of str | None
        A fused bundle's device streams by name, one per kind it expects (each stream's content type gives its
        kind); None: ``{stream}-{kind}`` for each kind (what ``eegaffect simulate --physio`` publishes).

    Returns
    -------
    data : CalibrationData
    """
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME, Stream
    from eegaffect.models.predictor import Predictor

    if not duration > 0:
        raise CalibrationError(f"--duration must be > 0 seconds, got {duration}")
    predictor = Predictor.load(bundle)
    csv_track = None
    truth_name = f"{stream}-truth"
    if labels is not None and str(labels) != "truth":
        if str(labels).lower().endswith(".csv"):
            csv_track = read_labels_csv(labels)
        else:
            truth_name = str(labels)
    eeg = Stream(name=stream, timeout=timeout, bufsize=max(30.0, duration + 10.0), require_regular=True,
                 index_channel="auto", dejitter=False)
    kinds = list(predictor.physio_kinds)
    if physio and not kinds:
        raise CalibrationError(f"bundle {bundle} is EEG-only; it takes no physiological streams (got "
                               f"{list(physio)})")
    truth = None
    devices: dict = {}
    eeg.connect()
    try:
        if kinds:
            devices = _connect_devices(kinds, physio, stream, timeout, max(30.0, duration + 10.0))
        if csv_track is None:
            truth = Stream(name=truth_name, type="AffectTruth", timeout=timeout, bufsize=max(30.0, duration + 10.0),
                           index_channel=None, dejitter=False).connect()
        ignore = list(ignore) + ([eeg.ch_names[eeg.index_channel]] if eeg.index_channel is not None
                                 else [INDEX_CHANNEL_NAME])
        units = list(eeg.ch_units)  # aligned with eeg.ch_names, which the channel map indexes
        cmap = _map_channels(eeg.ch_names, units, predictor.meta, interpolate, ignore, unit, rename)
        eeg.skip_start_burst(1.0)
        if truth is not None:
            truth.read_new()
        logger.info("calibration: collecting %.0f s of %r with labels from %s", duration, stream,
                    "a CSV" if truth is None else repr(truth.name))
        for dev in devices.values():
            dev.read_new()
        data, ts, t_data, t_ts, dev_data = _collect(eeg, truth, duration, eeg.sfreq, devices)
    finally:
        eeg.disconnect()
        if truth is not None:
            truth.disconnect()
        for dev in devices.values():
            dev.disconnect()
    if len(ts) < 2:
        raise CalibrationError(f"stream {stream!r} delivered {len(ts)} samples in {duration:g} s; expected a "
                               "flowing EEG stream")
    if truth is not None:
        if len(t_ts) < 2:
            raise CalibrationError(f"label stream {truth_name!r} delivered {len(t_ts)} samples in {duration:g} s")
        # label times as seconds of EEG since the first sample, through the EEG's own stamps (so a replay faster
        # or slower than real time pairs labels with the samples they were pushed with)
        pos = np.interp(t_ts, ts, np.arange(len(ts), dtype=np.float64), left=np.nan, right=np.nan)
        keep = np.isfinite(pos)
        track = np.column_stack([pos[keep] / eeg.sfreq, np.asarray(t_data, np.float64)[keep, :2]])
        label_src = f"lsl:{truth_name}"
    else:
        track, label_src = csv_track, str(labels)
    x = cmap.apply(data)
    signals = None
    if kinds:
        signals = {}
        for kind, (d, dts) in dev_data.items():
            dev = devices[kind]
            col = next(i for i in range(dev.n_chans) if i != dev.index_channel)
            # device stamps -> seconds of EEG since its first sample, through the EEG's own stamps (as the labels)
            pos = np.interp(dts, ts, np.arange(len(ts), dtype=np.float64), left=np.nan, right=np.nan)
            signals[kind] = (device_signal(d[:, col] if len(d) else np.zeros(0), pos / eeg.sfreq, dev.sfreq),
                             float(dev.sfreq))
            if not np.isfinite(signals[kind][0]).any():
                raise CalibrationError(f"device stream {dev.name!r} ({kind}) delivered no sample during the "
                                       f"{duration:g} s of calibration")
    features, va, rows = paired_frames(predictor, x, eeg.sfreq, track, signals)
    extra = {"interpolated": list(cmap.interpolated)}
    if kinds:
        extra["devices"] = {k: d.name for k, d in devices.items()}
    return CalibrationData([features], [va], source=f"lsl:{stream}", labels=label_src,
                           duration_s=len(x) / float(eeg.sfreq), extra=extra,
                           physio=None if rows is None else [rows])


def _connect_devices(kinds: Sequence[str], names: Sequence[str] | None, stream: str, timeout: float,
                     bufsize: float) -> dict:
    """The device streams of a fused bundle's kinds, connected, by kind (each checked by its content type)."""
    from eegaffect.acquisition.lsl import Stream
    from eegaffect.live.physio_inputs import CONTENT_TYPES

    names = [f"{stream}-{k}" for k in kinds] if not names else list(names)
    devices: dict = {}
    try:
        for name in names:
            dev = Stream(name=name, timeout=timeout, bufsize=bufsize, require_regular=True, index_channel="auto",
                         dejitter=False).connect()
            kind = CONTENT_TYPES.get(dev.type.upper())
            if kind not in kinds or kind in devices:
                dev.disconnect()
                what = kind or "not a physiological kind"
                taken = f" and already has {devices[kind].name!r} for {kind}" if kind in devices else ""
                raise CalibrationError(f"device stream {name!r} has content type {dev.type!r} ({what}); this "
                                       f"bundle expects one stream for each of {list(kinds)}{taken}")
            devices[kind] = dev
        missing = [k for k in kinds if k not in devices]
        if missing:
            raise CalibrationError(f"this bundle fuses {list(kinds)}; no device stream given for {missing} "
                                   f"(got {names}; name one per kind with --physio NAME)")
    except BaseException:
        for dev in devices.values():
            dev.disconnect()
        raise
    return devices


def _collect(eeg, truth, duration: float, sfreq: float, devices: Mapping | None = None):
    need = round(duration * sfreq)
    parts, stamps, t_parts, t_stamps = [], [], [], []
    devices = dict(devices or {})
    dev_parts: dict = {k: ([], []) for k in devices}

    def read_devices():
        for kind, dev in devices.items():
            d, ts = dev.read_new()
            if len(ts):
                dev_parts[kind][0].append(np.asarray(d, np.float64))
                dev_parts[kind][1].append(np.asarray(ts, np.float64))

    got = 0
    deadline = time.monotonic() + duration + 10.0
    while got < need and time.monotonic() < deadline:
        eeg.wait(timeout=0.5, n_samples=1)
        d, ts = eeg.read_new()
        if len(ts):
            parts.append(np.asarray(d, np.float64))
            stamps.append(np.asarray(ts, np.float64))
            got += len(ts)
        if truth is not None:
            td, tts = truth.read_new()
            if len(tts):
                t_parts.append(np.asarray(td, np.float64))
                t_stamps.append(np.asarray(tts, np.float64))
        read_devices()
    read_devices()
    if truth is not None:
        td, tts = truth.read_new()
        if len(tts):
            t_parts.append(np.asarray(td, np.float64))
            t_stamps.append(np.asarray(tts, np.float64))
    data = np.concatenate(parts)[:need] if parts else np.zeros((0, eeg.n_chans))
    ts = np.concatenate(stamps)[:need] if stamps else np.zeros(0)
    t_data = np.concatenate(t_parts) if t_parts else np.zeros((0, 2))
    t_ts = np.concatenate(t_stamps) if t_stamps else np.zeros(0)
    dev_data = {k: (np.concatenate(d) if d else np.zeros((0, devices[k].n_chans)),
                    np.concatenate(t) if t else np.zeros(0)) for k, (d, t) in dev_parts.items()}
    return data, ts, t_data, t_ts, dev_data


def score_recording(bundle: str | Path, path: str | Path, stream: str | None = None) -> dict:
    """CCC and RMSE of a bundle run offline over a recording, against the recording's ground truth.

    The recording is read as :func:`collect_recording` reads it (the EEG stream, its ground-truth stream or
    annotation CSV), its channels mapped by name as a live session maps them, and the bundle run from a fresh
    start with :meth:`~eegaffect.models.predictor.Predictor.predict` (a fused bundle with the recording's device
    streams, :func:`recorded_devices`); each output is paired with the truth at its stamp.

    Parameters
    ----------
    bundle : str | Path
        The bundle to score.
    path : str | Path
        A recording with a ground truth (e.g. the ``session.h5`` of ``eegaffect live --record``).
    stream : str | None
        Name of its EEG stream (None: its one stream of type EEG).

    Returns
    -------
    scores : dict
        ``valence_ccc``, ``arousal_ccc`` (None where undefined), ``valence_rmse``, ``arousal_rmse``,
        ``n_frames``.
    """
    from eegaffect.benchmark.metrics import ccc, rmse
    from eegaffect.datasets import load_dataset
    from eegaffect.live.channels import match_channels
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import frame_targets

    trial = (load_dataset(path, "recording", stream=stream) if stream else load_dataset(path, "recording")).trials[0]
    track = trial.continuous_targets()
    if track is None:
        raise CalibrationError(f"{path} has no ground truth to score against")
    parent = Predictor.load(bundle)
    cmap = match_channels(trial.info.ch_names, parent.meta["ch_names"], max_interpolated=8)
    devices = None
    if parent.physio_kinds:  # a fused bundle gets the recorded devices, paired by its as-of rule
        from eegaffect.recordings import open_recording

        devices = recorded_devices(open_recording(path), trial.info.key, parent.physio_kinds)
    pred = Predictor.load(bundle, sfreq=trial.info.sfreq).predict(cmap.apply(trial.load()), physio=devices)
    true = frame_targets(pred.time_s, track[:, 0], track[:, 1:3])
    keep = np.all(np.isfinite(true), axis=1) & np.all(np.isfinite(pred.va), axis=1)
    out: dict = {"n_frames": int(keep.sum())}
    for k, name in enumerate(("valence", "arousal")):
        c = ccc(true[keep, k], pred.va[keep, k]) if keep.sum() > 1 else float("nan")
        out[f"{name}_ccc"] = float(c) if np.isfinite(c) else None
        out[f"{name}_rmse"] = float(rmse(true[keep, k], pred.va[keep, k])) if keep.any() else None
    return out
