"""AMIGOS reader: 40 participants x (16 short + 4 long) videos; 14-channel Emotiv EEG, 2-lead ECG and GSR.

Layout (the preprocessed MATLAB release)::

    ROOT/Data_Preprocessed_P01.mat .. P40.mat          MAT v5
    ROOT/Data_Preprocessed_P01/Data_Preprocessed_P01.mat   (also accepted: each file in a folder of its stem)

Variables, each a (1, 20) cell: ``VideoIDs``, ``joined_data`` ((n_samples, 17) per trial at 128 Hz: columns 1-14
EEG AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4, 15 ECG right, 16 ECG left, 17 GSR), ``labels_selfassessment``
((1, 12): AROUSAL, VALENCE -- this order --, dominance, liking, familiarity on 1..9, then seven 0/1 emotion flags)
and ``labels_ext_annotation`` ((n_segments, 3): segment index, valence, arousal of external annotators, one row
per 20-s segment). Trials 1-16 are the short videos (session 1), 17-20 the long ones (session 2).

Signal groups: ``eeg`` (14 ch, uV), ``ecg`` (ECG_Right, ECG_Left; mV, unit unverified), ``eda`` (GSR; the
preprocessed release's unit is unverified: "a.u."). All at 128 Hz (the ECG/GSR rate is unverified; the
documentation says every column of ``joined_data`` is at 128 Hz).

Missing data: an empty cell (0x0, a long video that was not recorded) is skipped with a warning naming the
participant and trial; a trial holding NaNs is skipped with a warning (``nan="skip"``, default) or kept with the
NaNs in place and a warning naming the groups (``nan="mask"``; downstream stages flag NaN samples). A trial whose
self-assessment is missing gets ``valence = arousal = None``.

External annotations become the trial's continuous target (:meth:`Trial.continuous_targets`): one point per
segment at the segment's start, ``time_s = 20 * (k - 1)`` for segment ``k`` (1-based; a 0-based index is
detected), so with :func:`eegaffect.targets.frame_targets` (linear between points, the last point held for one
20-s period) every frame of the annotated segments has a target. Their scale is unverified: values within [-1, 1]
are kept, values within [1, 9] mapped ``(x - 5) / 4``; which one was found is logged. NaN rows are dropped.

Lazy: opening reads each file once (one at a time) for shapes, NaNs and labels; :meth:`Trial.load` re-reads
``joined_data`` of one participant through a one-subject store.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from eegaffect.datasets import _matfile
from eegaffect.datasets.base import DatasetFormatError, EEGDataset, TrialInfo
from eegaffect.datasets.labels import LabelMapConfig
from eegaffect.datasets.multimodal import (
    MultimodalTrial,
    SignalGroup,
    StoreLoader,
    SubjectStore,
    rating_to_unit,
    subject_files,
)

__all__ = [
    "AMIGOS_GROUPS",
    "EEG_CHANNELS",
    "EMOTION_FLAGS",
    "SEGMENT_S",
    "SELF_ASSESSMENT",
    "SFREQ",
    "read_dataset",
]

logger = logging.getLogger("eegaffect.datasets")

NAME = "amigos"
SFREQ = 128.0
SEGMENT_S = 20.0
N_COLUMNS = 17
N_TRIALS = 20
N_SHORT = 16
EEG_CHANNELS: tuple[str, ...] = tuple(["AF3", "F7", "F3", "FC5", "T7", "P7", "O1", "O2", "P8", "T8", "FC6", "F4",
                                       "F8", "AF4"])
#: group name -> (kind, 0-based columns of joined_data, channel names, unit).
AMIGOS_GROUPS: dict[str, tuple[str, tuple[int, ...], tuple[str, ...], str]] = {
    "eeg": ("eeg", tuple(range(14)), EEG_CHANNELS, "uV"),
    "ecg": ("ecg", (14, 15), ("ECG_Right", "ECG_Left"), "mV"),
    "eda": ("eda", (16,), ("GSR",), "a.u."),
}
#: Columns of ``labels_selfassessment`` (1..9 ratings first: arousal BEFORE valence).
SELF_ASSESSMENT = ("arousal", "valence", "dominance", "liking", "familiarity")
EMOTION_FLAGS = ("neutral", "disgust", "happiness", "surprise", "anger", "fear", "sadness")
VARIABLES = ("VideoIDs", "joined_data", "labels_selfassessment", "labels_ext_annotation")
_FILE_RE = r"^Data_Preprocessed_P(\d+)\.mat$"


def read_dataset(root: Path, *, label_map: LabelMapConfig | None = None, threshold: float = 5.0,
                 inclusive: bool = False, target_class: str | None = None, nan: str = "skip") -> EEGDataset:
    """Open an AMIGOS copy (metadata only; trials load lazily).

    Parameters
    ----------
    root : Path
        Folder holding ``Data_Preprocessed_PXX.mat`` files (directly or each in a folder of its stem).
    label_map : LabelMapConfig | None
        Unused (AMIGOS has 1..9 ratings, mapped ``(r - 5) / 4``).
    threshold, inclusive : float, bool
        High/low split of the self-assessment (``rating > threshold``, or ``>=`` when ``inclusive``).
    target_class : {"valence", "arousal"} | None
        Make that dimension's high/low class the trial label.
    nan : {"skip", "mask"}
        What to do with a trial holding NaN samples (see the module docstring).

    Returns
    -------
    dataset : EEGDataset
        Session 1 = short videos (trials 1-16), session 2 = long videos (17-20).
    """
    from eegaffect.datasets.deap import split_high_low

    root = Path(root)
    if nan not in ("skip", "mask"):
        raise ValueError(f"nan must be 'skip' or 'mask', got {nan!r}")
    if target_class not in (None, "valence", "arousal"):
        raise ValueError(f"target_class must be 'valence', 'arousal' or None, got {target_class!r}")
    candidates = [*root.glob("Data_Preprocessed_P*.mat"), *root.glob("Data_Preprocessed_P*/Data_Preprocessed_P*.mat")]
    files = subject_files(candidates, _FILE_RE, "AMIGOS participant")
    if not files:
        listing = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else []
        raise DatasetFormatError(f"{root}: expected AMIGOS files Data_Preprocessed_P01.mat .. P40.mat (or folders "
                                 f"of the same names holding them), found {listing}")
    store = SubjectStore(_parse_file)
    class_names = ("low", "high") if target_class else ()
    trials = []
    scales: set[str] = set()
    for subject, path in files:
        meta = _metadata(path)
        for t, entry in enumerate(meta, start=1):
            where = f"{path.name}: participant {subject} trial {t}"
            if entry["n_times"] == 0:
                logger.warning("AMIGOS %s: joined_data is empty (video not recorded); trial skipped", where)
                continue
            if entry["nan_groups"]:
                if nan == "skip":
                    logger.warning("AMIGOS %s: NaN samples in %s; trial skipped (nan='mask' keeps it)", where,
                                   entry["nan_groups"])
                    continue
                logger.warning("AMIGOS %s: NaN samples in %s kept as NaN (nan='mask')", where, entry["nan_groups"])
            sa = entry["self"]
            extra: dict[str, Any] = {"video_id": entry["video_id"], "nan_groups": entry["nan_groups"]}
            valence = arousal = None
            if sa is not None:
                extra.update({k: float(sa[i]) for i, k in enumerate(SELF_ASSESSMENT)})
                extra["emotions"] = {k: int(sa[5 + i]) for i, k in enumerate(EMOTION_FLAGS) if 5 + i < sa.size}
                try:
                    valence, arousal = rating_to_unit(extra["valence"]), rating_to_unit(extra["arousal"])
                except ValueError as exc:
                    raise DatasetFormatError(f"{path}: labels_selfassessment{{{t}}}: {exc}") from None
                for dim in ("valence", "arousal"):
                    extra[f"{dim}_class"] = split_high_low(extra[dim], threshold, inclusive)
            else:
                logger.warning("AMIGOS %s: no self-assessment; valence/arousal unknown", where)
            label = None
            if target_class:
                if sa is None:
                    logger.warning("AMIGOS %s: no %s rating for target_class; trial skipped", where, target_class)
                    continue
                label = extra[f"{target_class}_class"]
            targets = _annotation_targets(entry["ext"], where, scales)
            groups = {name: SignalGroup(name, kind, SFREQ, chs, unit, entry["n_times"])
                      for name, (kind, _, chs, unit) in AMIGOS_GROUPS.items()}
            session, number = (1, t) if t <= N_SHORT else (2, t)
            info = TrialInfo(dataset=NAME, subject=subject, session=session, trial=number, label=label,
                             label_name=None if label is None else class_names[label], valence=valence,
                             arousal=arousal, sfreq=SFREQ, ch_names=EEG_CHANNELS, n_times=entry["n_times"],
                             source=path, key=f"joined_data{{{t}}}")
            trials.append(MultimodalTrial(info, groups, StoreLoader(store, path, t - 1, _extract), ratings=extra,
                                          targets_loader=None if targets is None else partial(np.copy, targets)))
    for scale in sorted(scales):
        logger.info("AMIGOS external annotations: values %s", scale)
    if not trials:
        raise DatasetFormatError(f"{root}: every AMIGOS trial was empty or skipped")
    return EEGDataset(NAME, trials, class_names, root)


def _cells(path: Path, value: Any, name: str) -> list:
    arr = np.asarray(value)
    if arr.dtype != object or arr.size != N_TRIALS:
        raise DatasetFormatError(f"{path}: expected {name} to be a 1x{N_TRIALS} cell array, found {arr.dtype} "
                                 f"{arr.shape}")
    return list(arr.ravel())


def _parse_file(path: Path) -> list[np.ndarray]:
    """The 20 ``joined_data`` arrays of one file (time x 17), empty ones as (0, 17)."""
    value = _matfile.read_variables(path, ["joined_data"])["joined_data"]
    out = []
    for t, cell in enumerate(_cells(path, value, "joined_data"), start=1):
        arr = np.asarray(cell)
        if arr.size == 0:
            out.append(np.zeros((0, N_COLUMNS)))
            continue
        if arr.ndim != 2 or arr.shape[1] != N_COLUMNS or arr.dtype.kind not in "fiu":
            raise DatasetFormatError(f"{path}: expected joined_data{{{t}}} to be a numeric (n_samples, {N_COLUMNS}) "
                                     f"array (14 EEG, 2 ECG, GSR), found {arr.dtype} {arr.shape}")
        out.append(arr)
    return out


def _metadata(path: Path) -> list[dict[str, Any]]:
    variables = _matfile.list_variables(path)
    missing = [v for v in VARIABLES if v not in variables and v != "labels_ext_annotation"]
    if missing:
        raise DatasetFormatError(f"{path}: expected the variables {list(VARIABLES)}, missing {missing} (found "
                                 f"{sorted(variables)})")
    names = [v for v in VARIABLES if v in variables and v != "joined_data"]
    values = _matfile.read_variables(path, names)
    joined = _parse_file(path)
    selfs = _cells(path, values["labels_selfassessment"], "labels_selfassessment")
    exts = _cells(path, values["labels_ext_annotation"], "labels_ext_annotation") \
        if "labels_ext_annotation" in values else [None] * N_TRIALS
    ids = _cells(path, values["VideoIDs"], "VideoIDs")
    meta = []
    for t in range(N_TRIALS):
        x = joined[t]
        nan_groups = [name for name, (_, cols, _, _) in AMIGOS_GROUPS.items()
                      if x.size and not np.all(np.isfinite(x[:, list(cols)]))]
        sa = np.asarray(selfs[t], dtype=np.float64).ravel() if np.size(selfs[t]) else None
        if sa is not None and (sa.size < len(SELF_ASSESSMENT) or not np.all(np.isfinite(sa[:2]))):
            sa = None
        ext = exts[t]
        ext = np.asarray(ext, dtype=np.float64) if ext is not None and np.size(ext) else None
        if ext is not None and (ext.ndim != 2 or ext.shape[1] != 3):
            raise DatasetFormatError(f"{path}: expected labels_ext_annotation{{{t + 1}}} of shape (n_segments, 3) "
                                     f"(segment, valence, arousal), found {ext.shape}")
        vid = np.asarray(ids[t]).ravel()
        meta.append({"n_times": int(x.shape[0]), "nan_groups": nan_groups, "self": sa, "ext": ext,
                     "video_id": str(vid[0]) if vid.size else ""})
    return meta


def _annotation_targets(ext: np.ndarray | None, where: str, scales: set[str]) -> np.ndarray | None:
    if ext is None:
        return None
    rows = ext[np.all(np.isfinite(ext), axis=1)]
    if rows.shape[0] < ext.shape[0]:
        logger.warning("AMIGOS %s: %d external-annotation row(s) with NaN dropped", where,
                       ext.shape[0] - rows.shape[0])
    if rows.shape[0] == 0:
        return None
    values = rows[:, 1:]
    if np.abs(values).max() <= 1.0:
        scales.add("within [-1, 1], kept")
    elif values.min() >= 1.0 and values.max() <= 9.0:
        scales.add("within [1, 9], mapped (x - 5) / 4")
        values = (values - 5.0) / 4.0
    else:
        logger.warning("AMIGOS %s: external annotations outside [-1, 1] and [1, 9] (range [%g, %g]); ignored",
                       where, values.min(), values.max())
        return None
    first = 1 if rows[:, 0].min() >= 1 else 0
    times = (rows[:, 0] - first) * SEGMENT_S
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    keep = np.concatenate([[True], np.diff(times) > 0])
    return np.column_stack([times[keep], values[keep]])


def _extract(content: list[np.ndarray], t: int, name: str, baseline: bool) -> np.ndarray:
    if baseline:
        raise KeyError("AMIGOS trials have no baseline recording")
    _, cols, _, _ = AMIGOS_GROUPS[name]
    return np.ascontiguousarray(content[t][:, list(cols)], dtype=np.float64)
