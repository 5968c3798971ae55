"""Generic recordings as a dataset: eegaffect HDF5 recordings, XDF files and every format MNE reads.

``root`` is one file or a folder of files (sub-folders are searched too). Each file is one trial. Numbering:
``sub-<n>`` / ``ses-<n>`` in the path (BIDS style) give subject and session, otherwise both are 1; trials are
numbered in sorted path order within a (subject, session).

Formats
-------
Files are opened with :func:`eegaffect.recordings.open_recording` (the one reader of these formats, shared with
:func:`~eegaffect.recordings.read_recording`): opening a dataset reads metadata only and :meth:`Trial.load` reads
the samples.

- eegaffect HDF5 recordings (``.h5``/``.hdf5``, the layout of :mod:`eegaffect.acquisition.recorder`): h5py reads
  the attributes and shapes on open and only the EEG stream's ``data`` dataset on :meth:`Trial.load`.
- XDF (``.xdf``/``.xdfz``, LabRecorder) through pyxdf. XDF has no per-stream index, so opening reads the file once
  for the metadata and :meth:`Trial.load` reads it again.
- EDF, BDF, GDF, FIF, BrainVision, EEGLAB through ``mne.io.read_raw(preload=False)``; voltage channels are
  returned in microvolts (MNE holds volts) to match the HDF5 and dataset readers.

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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eegaffect.datasets.base import DatasetFormatError, EEGDataset, Trial, TrialInfo, check_targets, read_annotation_csv
from eegaffect.datasets.labels import LabelMapConfig
from eegaffect.recordings import RECORDING_SUFFIXES, RecordingHeader, open_recording

if TYPE_CHECKING:
    from eegaffect.acquisition.recorder import StreamHeader

__all__ = ["read_dataset", "annotation_path"]

logger = logging.getLogger("eegaffect.datasets")

NAME = "recording"
_SUB_RE = re.compile(r"sub-(\d+)")
_SES_RE = re.compile(r"ses-(\d+)")
#: LSL stream type of a recorded valence/arousal ground truth (see eegaffect.acquisition.simulate).
TRUTH_TYPE = "AffectTruth"


def is_recording_file(path: Path) -> bool:
    """Whether a file name has one of :data:`~eegaffect.recordings.RECORDING_SUFFIXES`.

    Parameters
    ----------
    path : Path
        A file.

    Returns
    -------
    is_recording : bool
    """
    name = path.name.lower()
    return any(name.endswith(s) for s in RECORDING_SUFFIXES)


def read_dataset(root: Path, *, label_map: LabelMapConfig, stream: str | None = None) -> EEGDataset:
    """Open one recording file or a folder of them (metadata only).

    Parameters
    ----------
    root : Path
        A recording file or a folder searched recursively for files with a known suffix.
    label_map : LabelMapConfig
        Unused (recordings carry no discrete labels); accepted for a uniform reader signature.
    stream : str | None
        Name (or key) of the stream to read from HDF5 / XDF files; None picks the EEG stream.

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
        header = _checked(open_recording, path)
        eeg = _choose(header, stream)
        picks = _eeg_picks(eeg.ch_types)
        truth_key = _find_truth(header, eeg)
        csv_path = annotation_path(path)
        truth = partial(_truth, header, eeg.key, truth_key) if truth_key is not None else None
        valence = arousal = None
        targets = read_annotation_csv(csv_path) if csv_path.is_file() else None
        if targets is None and truth is not None:
            targets = check_targets(truth(), f"{path} (stream {truth_key!r})")
        if targets is not None:
            valence, arousal = float(targets[:, 1].mean()), float(targets[:, 2].mean())
        ch_names = tuple(eeg.ch_names[i] for i in picks) if picks is not None else tuple(eeg.ch_names)
        info = TrialInfo(dataset=NAME, subject=subject, session=session, trial=trial, label=None, label_name=None,
                         valence=valence, arousal=arousal, sfreq=eeg.sfreq, ch_names=ch_names,
                         n_times=eeg.n_times, source=path, key=eeg.key)
        trials.append(Trial(info, partial(_load, header, eeg.key, picks),
                            annotation=csv_path if csv_path.is_file() else None, targets_loader=truth))
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


def _checked(func, *args):
    """Call the shared reader; its ValueErrors (they name the file) become :class:`DatasetFormatError`."""
    try:
        return func(*args)
    except DatasetFormatError:
        raise
    except ValueError as exc:
        raise DatasetFormatError(str(exc)) from None


def _load(header: RecordingHeader, key: str, picks: tuple[int, ...] | None) -> np.ndarray:
    return _checked(header.read_data, key, picks)


# ---------------------------------------------------------------------------------------------------------------
# choosing a stream


def _choose(header: RecordingHeader, wanted: str | None) -> StreamHeader:
    """The EEG stream: by key or name, else the one of type EEG, else the only regularly sampled numeric one."""
    streams = list(header.streams.values())
    described = [f"{s.name} (type {s.type}, {s.sfreq:g} Hz)" for s in streams]
    if wanted is not None:
        hits = [s for s in streams if wanted in (s.key, s.name)]
        if len(hits) != 1:
            raise DatasetFormatError(f"{header.path}: expected one stream named {wanted!r}, found {len(hits)} "
                                     f"among {described}")
        chosen = hits[0]
    else:
        eeg = [s for s in streams if s.type.lower() == "eeg"]
        regular = [s for s in streams if not s.is_marker and s.sfreq > 0]
        if len(eeg) == 1:
            chosen = eeg[0]
        elif not eeg and len(regular) == 1:
            chosen = regular[0]
        else:
            raise DatasetFormatError(f"{header.path}: expected exactly one EEG stream (type 'EEG'), found "
                                     f"{len(eeg)} among {described}; choose one with stream=NAME")
    if chosen.sfreq <= 0 or chosen.is_marker:
        raise DatasetFormatError(f"{header.path}: stream {chosen.name!r} is not regularly sampled numeric data "
                                 f"(sfreq {chosen.sfreq:g}); expected an EEG stream")
    return chosen


def _eeg_picks(ch_types: tuple[str, ...]) -> tuple[int, ...] | None:
    """Indices of the ``eeg`` channels when some but not all are EEG; None keeps every channel."""
    picks = tuple(i for i, t in enumerate(ch_types) if str(t).lower() == "eeg")
    return picks if picks and len(picks) < len(ch_types) else None


# ---------------------------------------------------------------------------------------------------------------
# recorded ground truth (HDF5 and XDF)


def _find_truth(header: RecordingHeader, eeg: StreamHeader) -> str | None:
    """Key of the recorded ground-truth stream of ``eeg`` (a stream of type AffectTruth), if there is one."""
    if not np.isfinite(eeg.first_timestamp):  # nothing to align the truth with
        return None
    truths = [s for s in header.streams.values() if s.type.lower() == TRUTH_TYPE.lower() and s.key != eeg.key]
    named = [s for s in truths if s.name == f"{eeg.name}-truth"]
    if len(named) == 1:
        return named[0].key
    if len(truths) == 1:
        return truths[0].key
    if truths:
        logger.debug("several %s streams (%s) and none named %s-truth: no ground truth used", TRUTH_TYPE,
                     [s.name for s in truths], eeg.name)
    return None


def _truth(header: RecordingHeader, eeg_key: str, truth_key: str) -> np.ndarray:
    """``(n, 3)`` ``[time_s, valence, arousal]``, times relative to the EEG stream's first sample."""
    truth = _checked(header.read_stream, truth_key)
    cols = _truth_columns(header.path, truth.ch_names, truth.data.shape[1])
    n = min(truth.n_times, len(truth.data))
    return np.column_stack([truth.timestamps[:n] - header.streams[eeg_key].first_timestamp,
                            np.asarray(truth.data[:n], dtype=np.float64)[:, cols]])


def _truth_columns(path: Path, ch_names: list[str], n_chans: int) -> list[int]:
    names = [c.lower() for c in ch_names]
    if "valence" in names and "arousal" in names:
        return [names.index("valence"), names.index("arousal")]
    if n_chans == 2:
        return [0, 1]
    raise DatasetFormatError(f"{path}: the {TRUTH_TYPE} stream should have channels 'valence' and 'arousal', "
                             f"found {ch_names}")
