"""Generic recordings as a dataset: eegaffect HDF5 recordings, XDF files and every format MNE reads.

``root`` is one file or a folder of files (sub-folders are searched too). Each file is one trial. Numbering:
``sub-<n>`` / ``ses-<n>`` in the path (BIDS style) give subject and session, otherwise both are 1; trials are
numbered in sorted path order within a (subject, session).

Formats
-------
- eegaffect HDF5 recordings (``.h5``/``.hdf5``, the layout of :mod:`eegaffect.acquisition.recorder`): the EEG
  stream is read lazily with h5py (only its ``data`` dataset, only on :meth:`Trial.load`).
- XDF (``.xdf``/``.xdfz``, LabRecorder) through pyxdf. XDF has no per-stream index, so opening reads the file once
  for the metadata and :meth:`Trial.load` reads it again.
- EDF, BDF, GDF, FIF, BrainVision, EEGLAB through ``mne.io.read_raw(preload=False)``; data are returned in
  microvolts (MNE holds volts) to match the HDF5 and dataset readers.

Stream choice (HDF5, XDF): ``stream=NAME`` picks a stream by name; by default the one stream of type ``EEG``
(case-insensitive), or the only regularly sampled numeric stream. Channels: where channel types are known and some
are ``eeg``, only those are kept (a sample-index or ``misc`` channel is dropped).

Annotations: a CSV ``{file stem}.csv`` beside the file (``time_s,valence,arousal``) gives the continuous target of
:meth:`Trial.continuous_targets`. Without a CSV, a recorded ground-truth stream is used: a stream of type
``AffectTruth`` (what ``eegaffect simulate`` publishes as ``{name}-truth``, channels ``valence`` and ``arousal``),
its LSL timestamps taken relative to the EEG stream's first sample. The trial-level ``valence``/``arousal`` are
the means of the annotation. Recordings have no discrete classes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from eegaffect.datasets._detect import RECORDING_SUFFIXES, is_recording_file
from eegaffect.datasets.base import DatasetFormatError, EEGDataset, Trial, TrialInfo, check_targets, read_annotation_csv
from eegaffect.datasets.labels import LabelMapConfig

__all__ = ["read_dataset", "annotation_path"]

logger = logging.getLogger("eegaffect.datasets")

NAME = "recording"
_SUB_RE = re.compile(r"sub-(\d+)")
_SES_RE = re.compile(r"ses-(\d+)")
#: LSL stream type of a recorded valence/arousal ground truth (see eegaffect.acquisition.simulate).
TRUTH_TYPE = "AffectTruth"


@dataclass(frozen=True)
class _Meta:
    sfreq: float
    ch_names: tuple[str, ...]
    n_times: int
    key: str
    picks: tuple[int, ...] | None  # column indices kept (HDF5 / XDF), None = all
    truth: str | None = None  # HDF5 group / XDF stream name of a recorded ground truth


def read_dataset(root: Path, *, label_map: LabelMapConfig, stream: str | None = None) -> EEGDataset:
    """Open one recording file or a folder of them (metadata only).

    Parameters
    ----------
    root : Path
        A recording file or a folder searched recursively for files with a known suffix.
    label_map : LabelMapConfig
        Unused (recordings carry no discrete labels); accepted for a uniform reader signature.
    stream : str | None
        Name of the stream to read from HDF5 / XDF files; None picks the EEG stream.

    Returns
    -------
    dataset : EEGDataset
    """
    root = Path(root)
    if root.is_file():
        if not is_recording_file(root):
            raise DatasetFormatError(f"{root}: expected a recording file ({', '.join(RECORDING_SUFFIXES)}), found "
                                     f"{root.name!r}")
        files = [root]
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file() and is_recording_file(p))
        if not files:
            raise DatasetFormatError(f"{root}: expected recording files ({', '.join(RECORDING_SUFFIXES)}), found "
                                     f"none among {sorted(p.name for p in root.iterdir())[:12]}")
    counters: dict[tuple[int, int], int] = {}
    trials = []
    for path in files:
        subject, session = _numbers(path)
        counters[(subject, session)] = trial = counters.get((subject, session), 0) + 1
        meta = _read_meta(path, stream)
        csv_path = annotation_path(path)
        truth = partial(_truth, path, meta) if meta.truth is not None else None
        valence = arousal = None
        targets = read_annotation_csv(csv_path) if csv_path.is_file() else None
        if targets is None and truth is not None:
            targets = check_targets(truth(), f"{path} (stream {meta.truth!r})")
        if targets is not None:
            valence, arousal = float(targets[:, 1].mean()), float(targets[:, 2].mean())
        info = TrialInfo(dataset=NAME, subject=subject, session=session, trial=trial, label=None, label_name=None,
                         valence=valence, arousal=arousal, sfreq=meta.sfreq, ch_names=meta.ch_names,
                         n_times=meta.n_times, source=path, key=meta.key)
        trials.append(Trial(info, partial(_load, path, meta), annotation=csv_path if csv_path.is_file() else None,
                            targets_loader=truth))
    return EEGDataset(NAME, trials, (), root)


def annotation_path(path: Path) -> Path:
    """The annotation CSV that belongs to a recording file (``rec.h5`` -> ``rec.csv``)."""
    name = path.name
    for suffix in sorted(RECORDING_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return path.with_name(name[: -len(suffix)] + ".csv")
    return path.with_suffix(".csv")


def _numbers(path: Path) -> tuple[int, int]:
    text = str(path)
    subs, sess = _SUB_RE.findall(text), _SES_RE.findall(text)
    return (int(subs[-1]) if subs else 1), (int(sess[-1]) if sess else 1)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".h5", ".hdf5")):
        return "hdf5"
    if name.endswith((".xdf", ".xdfz")):
        return "xdf"
    return "mne"


def _read_meta(path: Path, stream: str | None) -> _Meta:
    kind = _kind(path)
    if kind == "hdf5":
        return _hdf5_meta(path, stream)
    if kind == "xdf":
        return _xdf_read(path, stream)[0]
    return _mne_meta(path)


def _load(path: Path, meta: _Meta) -> np.ndarray:
    kind = _kind(path)
    if kind == "hdf5":
        return _hdf5_load(path, meta)
    if kind == "xdf":
        data = _xdf_read(path, meta.key)[1]
        if data.shape[0] != meta.n_times:
            raise DatasetFormatError(f"{path}: stream {meta.key!r} changed since the dataset was opened: "
                                     f"{meta.n_times} samples expected, {data.shape[0]} found")
        return data
    return _mne_load(path)


# ---------------------------------------------------------------------------------------------------------------
# choosing a stream (HDF5 and XDF)


def _choose(path: Path, streams: list[dict], wanted: str | None) -> dict:
    """``streams``: dicts with name, type, sfreq, numeric."""
    described = [f"{s['name']} (type {s['type']}, {s['sfreq']:g} Hz)" for s in streams]
    if wanted is not None:
        hits = [s for s in streams if s["name"] == wanted]
        if len(hits) != 1:
            raise DatasetFormatError(f"{path}: expected one stream named {wanted!r}, found {len(hits)} among "
                                     f"{described}")
        return hits[0]
    eeg = [s for s in streams if str(s["type"]).lower() == "eeg"]
    if len(eeg) == 1:
        return eeg[0]
    regular = [s for s in streams if s["numeric"] and s["sfreq"] > 0]
    if not eeg and len(regular) == 1:
        return regular[0]
    raise DatasetFormatError(f"{path}: expected exactly one EEG stream (type 'EEG'), found {len(eeg)} among "
                             f"{described}; choose one with stream=NAME")


def _find_truth(streams: list[dict], eeg: dict) -> dict | None:
    truths = [s for s in streams if str(s["type"]).lower() == TRUTH_TYPE.lower() and s is not eeg]
    named = [s for s in truths if s["name"] == f"{eeg['name']}-truth"]
    if len(named) == 1:
        return named[0]
    if len(truths) == 1:
        return truths[0]
    if truths:
        logger.debug("several %s streams (%s) and none named %s-truth: no ground truth used", TRUTH_TYPE,
                     [s["name"] for s in truths], eeg["name"])
    return None


def _truth_columns(path: Path, ch_names: list[str] | None, n_chans: int) -> list[int]:
    names = [c.lower() for c in (ch_names or [])]
    if "valence" in names and "arousal" in names:
        return [names.index("valence"), names.index("arousal")]
    if n_chans == 2:
        return [0, 1]
    raise DatasetFormatError(f"{path}: the {TRUTH_TYPE} stream should have channels 'valence' and 'arousal', "
                             f"found {ch_names}")


def _as_targets(t0: float, timestamps: np.ndarray, values: np.ndarray) -> np.ndarray:
    n = min(len(timestamps), len(values))
    return np.column_stack([np.asarray(timestamps[:n], dtype=np.float64) - t0,
                            np.asarray(values[:n], dtype=np.float64)])


def _truth(path: Path, meta: _Meta) -> np.ndarray:
    if _kind(path) == "hdf5":
        with _open_h5(path) as fh:
            eeg, truth = fh["streams"][meta.key], fh["streams"][meta.truth]
            cols = _truth_columns(path, _text_list(truth.attrs.get("ch_names")), truth["data"].shape[1])
            return _as_targets(float(eeg["timestamps"][0]), truth["timestamps"][()], truth["data"][()][:, cols])
    return _xdf_read(path, meta.key)[2]


def _eeg_picks(ch_types: list[str] | None, n_chans: int) -> tuple[int, ...] | None:
    if not ch_types or len(ch_types) != n_chans:
        return None
    picks = tuple(i for i, t in enumerate(ch_types) if str(t).lower() == "eeg")
    return picks if picks and len(picks) < n_chans else None


# ---------------------------------------------------------------------------------------------------------------
# eegaffect HDF5


def _open_h5(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "already open for write" in str(exc) or "SWMR" in str(exc):
            return h5py.File(path, "r", swmr=True)  # the recorder was killed while writing
        raise DatasetFormatError(f"{path}: not a readable HDF5 file ({exc}); truncated or corrupt") from None


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _text_list(value) -> list[str] | None:
    if value is None:
        return None
    return [_text(v) for v in np.asarray(value).ravel().tolist()]


def _hdf5_meta(path: Path, wanted: str | None) -> _Meta:
    import h5py

    with _open_h5(path) as fh:
        groups = fh.get("streams")
        if not isinstance(groups, h5py.Group) or not len(groups):
            raise DatasetFormatError(f"{path}: expected an eegaffect recording with a /streams/{{name}} group per "
                                     f"stream, found top-level keys {sorted(fh.keys())}")
        streams = []
        for gname, g in groups.items():
            data = g.get("data")
            if not isinstance(data, h5py.Dataset) or data.ndim != 2:
                raise DatasetFormatError(f"{path}: expected /streams/{gname}/data of shape (n_times, n_chans), "
                                         f"found {getattr(data, 'shape', 'nothing')}")
            streams.append({"name": _text(g.attrs.get("name", gname)), "group": gname,
                            "type": _text(g.attrs.get("type", "")), "sfreq": float(g.attrs.get("sfreq", 0.0)),
                            "numeric": h5py.check_string_dtype(data.dtype) is None})
        chosen = _choose(path, streams, wanted)
        g = groups[chosen["group"]]
        if chosen["sfreq"] <= 0 or not chosen["numeric"]:
            raise DatasetFormatError(f"{path}: stream {chosen['name']!r} is not regularly sampled numeric data "
                                     f"(sfreq {chosen['sfreq']:g}); expected an EEG stream")
        n_chans = g["data"].shape[1]
        ch_names = _text_list(g.attrs.get("ch_names")) or [f"ch{i + 1}" for i in range(n_chans)]
        if len(ch_names) != n_chans:
            raise DatasetFormatError(f"{path}: stream {chosen['name']!r} has {n_chans} channels but "
                                     f"{len(ch_names)} ch_names")
        picks = _eeg_picks(_text_list(g.attrs.get("ch_types")), n_chans)
        n_times = g["data"].shape[0]
        if "timestamps" in g:
            n_times = min(n_times, g["timestamps"].shape[0])  # a killed recorder may have flushed one first
        truth = _find_truth(streams, chosen)
        if truth is not None and (n_times == 0 or "timestamps" not in g
                                  or "timestamps" not in groups[truth["group"]]):
            truth = None
    names = tuple(ch_names[i] for i in picks) if picks else tuple(ch_names)
    return _Meta(chosen["sfreq"], names, int(n_times), chosen["group"], picks,
                 None if truth is None else truth["group"])


def _hdf5_load(path: Path, meta: _Meta) -> np.ndarray:
    with _open_h5(path) as fh:
        dset = fh["streams"][meta.key]["data"]
        data = dset[: meta.n_times]
    if meta.picks is not None:
        data = data[:, list(meta.picks)]
    return np.asarray(data, dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------
# XDF


def _xdf_read(path: Path, wanted: str | None) -> tuple[_Meta, np.ndarray, np.ndarray | None]:
    import pyxdf

    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"XDF:" and not path.name.lower().endswith(".xdfz"):
        raise DatasetFormatError(f"{path}: expected an XDF file starting 'XDF:', found {magic!r}")
    try:
        streams, _ = pyxdf.load_xdf(str(path), verbose=False)
    except Exception as exc:  # pyxdf raises many kinds on corrupt files
        raise DatasetFormatError(f"{path}: cannot read the XDF file ({type(exc).__name__}: {exc})") from None
    if not streams:  # pyxdf logs and returns what it could read from a truncated file
        raise DatasetFormatError(f"{path}: the XDF file holds no stream (expected at least an EEG stream; the file "
                                 "is empty or truncated)")
    described = []
    for s in streams:
        info = s["info"]
        fmt = info.get("channel_format", ["float32"])[0]
        described.append({"name": info["name"][0], "type": info.get("type", [""])[0],
                          "sfreq": float(info.get("nominal_srate", ["0"])[0]), "numeric": fmt != "string",
                          "stream": s})
    chosen = _choose(path, described, wanted)
    if chosen["sfreq"] <= 0 or not chosen["numeric"]:
        raise DatasetFormatError(f"{path}: stream {chosen['name']!r} is not regularly sampled numeric data; "
                                 "expected an EEG stream")
    s = chosen["stream"]
    data = np.asarray(s["time_series"], dtype=np.float64)
    n_chans = int(s["info"]["channel_count"][0])
    if data.ndim != 2 or data.shape[1] != n_chans:
        data = data.reshape(-1, n_chans)
    ch_names, ch_types = _xdf_channels(s["info"], n_chans)
    picks = _eeg_picks(ch_types, n_chans)
    if picks is not None:
        data = data[:, list(picks)]
        ch_names = [ch_names[i] for i in picks]
    truth = _find_truth(described, chosen)
    targets = None
    if truth is not None and len(s["time_stamps"]):
        t = truth["stream"]
        n_truth = int(t["info"]["channel_count"][0])
        values = np.asarray(t["time_series"], dtype=np.float64).reshape(-1, n_truth)
        cols = _truth_columns(path, _xdf_channels(t["info"], n_truth)[0], n_truth)
        targets = _as_targets(float(s["time_stamps"][0]), np.asarray(t["time_stamps"]), values[:, cols])
    meta = _Meta(chosen["sfreq"], tuple(ch_names), int(data.shape[0]), chosen["name"], picks,
                 None if targets is None else truth["name"])
    return meta, np.ascontiguousarray(data), targets


def _xdf_channels(info: dict, n_chans: int) -> tuple[list[str], list[str] | None]:
    try:
        channels = info["desc"][0]["channels"][0]["channel"]
        names = [c["label"][0] for c in channels]
        types = [c.get("type", [""])[0] for c in channels]
        if len(names) == n_chans:
            return names, types
    except (KeyError, IndexError, TypeError):
        pass
    return [f"ch{i + 1}" for i in range(n_chans)], None


# ---------------------------------------------------------------------------------------------------------------
# MNE-readable formats


def _mne_raw(path: Path):
    import mne

    try:
        return mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as exc:  # MNE raises ValueError, RuntimeError, OSError, ... by format
        raise DatasetFormatError(f"{path}: MNE cannot read this file ({type(exc).__name__}: {exc})") from None


def _mne_meta(path: Path) -> _Meta:
    raw = _mne_raw(path)
    picks = raw.copy().pick("eeg").ch_names if "eeg" in raw.get_channel_types() else raw.ch_names
    return _Meta(float(raw.info["sfreq"]), tuple(picks), int(raw.n_times), "eeg", None)


def _mne_load(path: Path) -> np.ndarray:
    raw = _mne_raw(path)
    kind = "eeg" if "eeg" in raw.get_channel_types() else "all"
    data = raw.get_data(picks=kind, units="uV" if kind == "eeg" else None)
    return np.ascontiguousarray(data.T, dtype=np.float64)
