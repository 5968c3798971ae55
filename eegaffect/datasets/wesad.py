"""WESAD reader: 15 subjects (S2..S17 without S1, S12), chest RespiBAN + wrist Empatica E4, stress/affect labels.

Layout::

    ROOT/S2/S2.pkl         Python-2 pickle: {"signal": {"chest": {...}, "wrist": {...}}, "label": (N,), "subject"}
    ROOT/S2/S2_quest.csv   per-condition questionnaires (PANAS, STAI, SAM valence/arousal), ';'-separated
    ROOT/S2/S2_readme.txt, S2_E4_Data.zip, S2_respiban.txt   (not needed)

``signal["chest"]`` holds 700-Hz arrays in physical units (``ACC`` (N, 3) g, ``ECG`` mV, ``EMG`` mV, ``EDA`` uS,
``Temp`` degC, ``Resp`` %); ``signal["wrist"]`` ``ACC`` (32 Hz), ``BVP`` (64 Hz), ``EDA`` (4 Hz, uS), ``TEMP``
(4 Hz, degC). ``label`` is 700 Hz: 0 transient, 1 baseline, 2 stress, 3 amusement, 4 meditation, 5/6/7 ignore.
The pickle is loaded with :func:`eegaffect.datasets._pickle.load_pickle` (numpy arrays and plain containers only:
a pickle can run code). Folders not named ``S<k>`` holding ``S<k>.pkl`` are skipped; subjects sort numerically.

Trials are *condition segments*: every maximal run of one condition label (baseline, stress, amusement; and
meditation with ``conditions`` including 4) is one trial, numbered in time order (session 1). Its groups are cut
at the same instants from every stream (wrist sample ``round(i * fs / 700)`` for chest sample ``i``):
``ecg``, ``eda``, ``emg``, ``temp``, ``resp``, ``acc`` (chest) and ``wrist_bvp`` (kind ``ppg``), ``wrist_eda``,
``wrist_temp``, ``wrist_acc``. WESAD has no EEG: the primary group (what :meth:`Trial.load` returns) is the chest
ECG, and EEG models do not apply.

Tasks (``task``): ``"3class"`` -- classes baseline / stress / amusement (WESAD's standard three-class task) --
or ``"binary"`` -- non-stress (baseline + amusement) / stress. Both are evaluated leave-one-subject-out.
Valence/arousal per condition come from the SAM rows (``# DIM;valence;arousal``, one per condition of the
``# ORDER`` row, reading tasks excluded; layout unverified) of ``S<k>_quest.csv``, mapped ``(r - 5) / 4``; without
a readable questionnaire they are None (a warning says so).

Lazy: opening reads each pickle once, one at a time, for the label segments; :meth:`Trial.load` re-reads one
subject through a one-subject store.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

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
    "CHEST_SFREQ",
    "CONDITIONS",
    "TASKS",
    "WESAD_GROUPS",
    "condition_segments",
    "read_dataset",
    "read_questionnaire",
]

logger = logging.getLogger("eegaffect.datasets")

NAME = "wesad"
CHEST_SFREQ = 700.0
#: Condition code -> name.
CONDITIONS: dict[int, str] = {1: "baseline", 2: "stress", 3: "amusement", 4: "meditation"}
#: task -> (class names, condition code -> class index).
TASKS: dict[str, tuple[tuple[str, ...], dict[int, int]]] = {
    "3class": (("baseline", "stress", "amusement"), {1: 0, 2: 1, 3: 2}),
    "binary": (("non-stress", "stress"), {1: 0, 2: 1, 3: 0}),
}
#: group name -> (device, key in the pickle, kind, rate in Hz, channel names, unit).
WESAD_GROUPS: dict[str, tuple[str, str, str, float, tuple[str, ...], str]] = {
    "ecg": ("chest", "ECG", "ecg", 700.0, ("ECG",), "mV"),
    "eda": ("chest", "EDA", "eda", 700.0, ("EDA",), "uS"),
    "emg": ("chest", "EMG", "emg", 700.0, ("EMG",), "mV"),
    "temp": ("chest", "Temp", "temp", 700.0, ("Temp",), "degC"),
    "resp": ("chest", "Resp", "resp", 700.0, ("Resp",), "%"),
    "acc": ("chest", "ACC", "acc", 700.0, ("ACC_x", "ACC_y", "ACC_z"), "g"),
    "wrist_bvp": ("wrist", "BVP", "ppg", 64.0, ("BVP",), "a.u."),
    "wrist_eda": ("wrist", "EDA", "eda", 4.0, ("EDA",), "uS"),
    "wrist_temp": ("wrist", "TEMP", "temp", 4.0, ("TEMP",), "degC"),
    "wrist_acc": ("wrist", "ACC", "acc", 32.0, ("ACC_x", "ACC_y", "ACC_z"), "a.u."),
}
_QUEST_CONDITIONS = {"base": 1, "tsst": 2, "fun": 3, "medi 1": 4, "medi 2": 4, "medi1": 4, "medi2": 4}
_READING = {"sread", "fread"}


def condition_segments(label: np.ndarray, conditions=(1, 2, 3)) -> list[tuple[int, int, int]]:
    """Maximal runs of one condition code.

    Parameters
    ----------
    label : ndarray, shape (n_times,)
        WESAD's 700-Hz condition codes.
    conditions : iterable of int
        The codes kept.

    Returns
    -------
    segments : list of (code, start, stop)
        In time order; ``label[start:stop] == code``.
    """
    label = np.asarray(label).ravel()
    if label.size == 0:
        return []
    change = np.flatnonzero(np.diff(label) != 0) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [label.size]])
    keep = set(int(c) for c in conditions)
    return [(int(label[a]), int(a), int(b)) for a, b in zip(starts, stops) if int(label[a]) in keep]


def read_dataset(root: Path, *, label_map: LabelMapConfig | None = None, task: str = "3class",
                 conditions=None, min_seconds: float = 10.0) -> EEGDataset:
    """Open a WESAD copy (metadata only; trials load lazily).

    Parameters
    ----------
    root : Path
        The folder holding ``S2/``, ``S3/``, ...
    label_map : LabelMapConfig | None
        Unused.
    task : {"3class", "binary"}
        Class scheme (see the module docstring).
    conditions : iterable of int | None
        Condition codes made into trials; None = those of the task (1, 2, 3).
    min_seconds : float
        Segments shorter than this (label glitches) are skipped with a warning.

    Returns
    -------
    dataset : EEGDataset
    """
    root = Path(root)
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    class_names, to_class = TASKS[task]
    conditions = tuple(to_class) if conditions is None else tuple(int(c) for c in conditions)
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ValueError(f"conditions must be among {sorted(CONDITIONS)}, got {unknown}")
    if not root.is_dir():
        raise DatasetFormatError(f"{root}: expected a folder holding WESAD's S2/S2.pkl, S3/S3.pkl, ...")
    candidates = [d / f"{d.name}.pkl" for d in root.iterdir() if d.is_dir() and re.fullmatch(r"S\d+", d.name)]
    files = subject_files(candidates, r"^S(\d+)\.pkl$", "WESAD subject")
    if not files:
        listing = sorted(p.name for p in root.iterdir())[:12]
        raise DatasetFormatError(f"{root}: expected WESAD subject folders S<k>/ holding S<k>.pkl, found {listing}")
    store = SubjectStore(_parse_file)
    trials = []
    for subject, path in files:
        content = _parse_file(path)
        rates = _rates(content)
        label = content["label"]
        quest = _questionnaire(path.with_name(f"S{subject}_quest.csv"))
        segments = condition_segments(label, conditions)
        del content
        number = 0
        for code, start, stop in segments:
            if (stop - start) / CHEST_SFREQ < min_seconds:
                logger.warning("WESAD %s: %s segment at %.1f s lasts %.2f s (< %g s); skipped", path.name,
                               CONDITIONS[code], start / CHEST_SFREQ, (stop - start) / CHEST_SFREQ, min_seconds)
                continue
            number += 1
            groups = {}
            bounds = {}
            for name, (_, _, kind, _, chs, unit) in WESAD_GROUPS.items():
                fs = rates[name]
                a, b = _cut(start, stop, fs)
                b = min(b, rates[name + ":n"])
                bounds[name] = (a, b)
                groups[name] = SignalGroup(name, kind, fs, chs, unit, max(b - a, 0))
            empty = [n for n, g in groups.items() if g.n_times == 0]
            if empty:
                for n in empty:
                    del groups[n]
                logger.warning("WESAD %s trial %d: no samples of %s in the segment; groups dropped", path.name,
                               number, empty)
            va = quest.get(code, (None, None))
            cls = to_class.get(code)
            ratings: dict[str, Any] = {"condition": CONDITIONS[code], "start_s": start / CHEST_SFREQ,
                                       "stop_s": stop / CHEST_SFREQ}
            ecg = groups["ecg"]
            info = TrialInfo(dataset=NAME, subject=subject, session=1, trial=number, label=cls,
                             label_name=None if cls is None else class_names[cls], valence=va[0], arousal=va[1],
                             sfreq=ecg.sfreq, ch_names=ecg.ch_names, n_times=ecg.n_times, source=path,
                             key=f"{CONDITIONS[code]}@{start}")
            trials.append(MultimodalTrial(info, groups, StoreLoader(store, path, bounds, _extract), primary="ecg",
                                          ratings=ratings))
    if any(t.info.label is None for t in trials):
        class_names = ()  # conditions outside the task (meditation): no class target
        trials = [MultimodalTrial(_no_label(t.info), t.groups, t._group_loader, primary="ecg", ratings=t.ratings)
                  for t in trials]
    return EEGDataset(NAME, trials, class_names, root)


def _no_label(info: TrialInfo) -> TrialInfo:
    from dataclasses import replace

    return replace(info, label=None, label_name=None)


def _cut(start: int, stop: int, fs: float) -> tuple[int, int]:
    if fs == CHEST_SFREQ:
        return start, stop
    return int(round(start * fs / CHEST_SFREQ)), int(round(stop * fs / CHEST_SFREQ))


def _parse_file(path: Path) -> dict[str, Any]:
    from eegaffect.datasets._pickle import load_pickle

    content = load_pickle(path)
    if not isinstance(content, dict) or not {"signal", "label"} <= set(content):
        found = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise DatasetFormatError(f"{path}: expected a dict with keys 'signal', 'label', 'subject' (WESAD), "
                                 f"found {found}")
    signal = content["signal"]
    if not isinstance(signal, dict) or not {"chest", "wrist"} <= set(signal):
        found = sorted(map(str, signal)) if isinstance(signal, dict) else type(signal).__name__
        raise DatasetFormatError(f"{path}: expected signal to be a dict with 'chest' and 'wrist', found {found}")
    label = np.asarray(content["label"]).ravel()
    if label.dtype.kind not in "fiu" or label.size == 0:
        raise DatasetFormatError(f"{path}: expected 'label' to be a numeric (N,) array at 700 Hz, found "
                                 f"{label.dtype} {np.asarray(content['label']).shape}")
    out: dict[str, Any] = {"label": label.astype(np.int64)}
    for name, (device, key, _, _, chs, _) in WESAD_GROUPS.items():
        part = signal[device]
        if not isinstance(part, dict) or key not in part:
            found = sorted(map(str, part)) if isinstance(part, dict) else type(part).__name__
            raise DatasetFormatError(f"{path}: expected signal['{device}']['{key}'], found keys {found}")
        arr = np.asarray(part[key])
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != len(chs) or arr.dtype.kind not in "fiu":
            raise DatasetFormatError(f"{path}: expected signal['{device}']['{key}'] of shape (n, {len(chs)}), "
                                     f"found {arr.dtype} {np.asarray(part[key]).shape}")
        if device == "chest" and arr.shape[0] != label.size:
            raise DatasetFormatError(f"{path}: expected signal['chest']['{key}'] to have one row per label "
                                     f"({label.size}, 700 Hz), found {arr.shape[0]}")
        out[name] = arr
    return out


def _rates(content: dict[str, Any]) -> dict[str, Any]:
    rates: dict[str, Any] = {}
    for name, (_, _, _, fs, _, _) in WESAD_GROUPS.items():
        rates[name] = fs
        rates[name + ":n"] = content[name].shape[0]
    return rates


def _extract(content: dict[str, Any], bounds: dict[str, tuple[int, int]], name: str, baseline: bool) -> np.ndarray:
    if baseline:
        raise KeyError("WESAD condition segments have no separate baseline")
    a, b = bounds[name]
    return np.ascontiguousarray(content[name][a:b], dtype=np.float64)


def read_questionnaire(path: str | Path) -> dict[int, tuple[float, float]]:
    """SAM valence/arousal per condition from ``S<k>_quest.csv``.

    Parameters
    ----------
    path : str | Path
        The questionnaire file.

    Returns
    -------
    va : dict of int to (float, float)
        Condition code -> (valence, arousal) in [-1, 1] (``(r - 5) / 4``). Meditation's two sessions are
        averaged.

    Raises
    ------
    DatasetFormatError
        When the ``# ORDER`` or ``# DIM`` rows are missing or do not match.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DatasetFormatError(f"{path}: cannot read the questionnaire ({exc})") from None
    rows = [[c.strip() for c in line.split(";")] for line in lines]
    order = next((r[1:] for r in rows if r and r[0].upper() == "# ORDER"), None)
    dims = [r[1:3] for r in rows if r and r[0].upper() == "# DIM"]
    if order is None or not dims:
        raise DatasetFormatError(f"{path}: expected a '# ORDER;...' row and '# DIM;valence;arousal' rows, found "
                                 f"row heads {sorted({r[0] for r in rows if r and r[0].startswith('#')})[:10]}")
    conds = [c for c in order if c and c.lower() not in _READING]
    if len(conds) != len(dims):
        raise DatasetFormatError(f"{path}: expected one '# DIM' row per condition of '# ORDER' ({conds}), found "
                                 f"{len(dims)} rows")
    found: dict[int, list[tuple[float, float]]] = {}
    for cond, (v, a) in zip(conds, dims):
        code = _QUEST_CONDITIONS.get(cond.lower())
        if code is None:
            raise DatasetFormatError(f"{path}: unknown condition {cond!r} in '# ORDER'; expected Base, TSST, Fun, "
                                     "Medi 1, Medi 2 (and sRead/fRead)")
        try:
            found.setdefault(code, []).append((rating_to_unit(float(v)), rating_to_unit(float(a))))
        except ValueError as exc:
            raise DatasetFormatError(f"{path}: SAM row of {cond!r}: expected two ratings 1..9, found {[v, a]} "
                                     f"({exc})") from None
    return {code: (float(np.mean([p[0] for p in pts])), float(np.mean([p[1] for p in pts])))
            for code, pts in found.items()}


def _questionnaire(path: Path) -> dict[int, tuple[float, float]]:
    if not path.is_file():
        logger.warning("WESAD %s: no questionnaire %s; valence/arousal unknown for this subject",
                       path.parent.name, path.name)
        return {}
    try:
        return read_questionnaire(path)
    except DatasetFormatError as exc:
        logger.warning("WESAD: %s; valence/arousal unknown for this subject", exc)
        return {}
