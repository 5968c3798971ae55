"""DEAP reader: 32 subjects x 40 music videos, 32-channel EEG + 8 peripheral channels at 128 Hz, ratings 1..9.

Layout (``data_preprocessed_python``, the providers' Python release)::

    ROOT/data_preprocessed_python/s01.dat .. s32.dat   Python-2 pickles of {"data", "labels"}
    ROOT/participant_ratings.csv, video_list.*, ...     (not needed)

``data`` is ``(40 trials, 40 channels, 8064 samples)`` = 63 s at 128 Hz whose first 3 s (384 samples) are the
pre-trial baseline; ``labels`` is ``(40, 4)``: valence, arousal, dominance, liking in [1, 9], in video order.
``ROOT`` may be the dataset folder or ``data_preprocessed_python`` itself. Files that do not match ``s<NN>.dat``
(``._s01.dat`` of macOS copies, notes) are skipped; subjects are sorted numerically. The pickles are read with
:func:`eegaffect.datasets._pickle.load_pickle`, which admits only numpy arrays and plain containers (a pickle can
run code).

Signal groups (columns 1-32 EEG in Geneva order, 33-40 peripheral, see :data:`DEAP_GROUPS`): ``eeg`` (32 ch,
uV), ``eog`` (hEOG, vEOG), ``emg`` (zEMG zygomaticus, tEMG trapezius), ``eda`` (GSR: DEAP stores skin
*resistance* in Ohm; the reader returns conductance in uS, ``1e6 / Ohm``; a non-positive resistance becomes
NaN), ``resp`` (belt), ``ppg`` (plethysmograph; DEAP has no ECG), ``temp`` (degC). Every group is 128 Hz.
:meth:`~eegaffect.datasets.multimodal.MultimodalTrial.load_group` returns the stimulus part (samples 384..8063);
:meth:`~eegaffect.datasets.multimodal.MultimodalTrial.load_group_baseline` the first ``baseline_s`` seconds.

Lazy: opening the dataset reads each subject file once, one at a time, for its shape and ratings, and keeps
nothing else; :meth:`Trial.load` re-reads the subject file through a one-subject store (so walking the trials in
order keeps one subject, ~100 MB of float64, in memory).

Targets: valence/arousal ``(rating - 5) / 4`` in [-1, 1]. High/low classes per dimension at ``threshold``
(default 5): ``rating > threshold`` is high, or ``rating >= threshold`` with ``inclusive=True`` (papers differ);
``target_class="valence"|"arousal"`` makes that the trial's label. Both dimensions' classes are in
``trial.ratings["valence_class"]`` / ``["arousal_class"]``.
"""

from __future__ import annotations

import logging
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

__all__ = ["DEAP_GROUPS", "EEG_CHANNELS", "FOLDER", "N_CHANNELS", "SFREQ", "read_dataset", "split_high_low"]

logger = logging.getLogger("eegaffect.datasets")

NAME = "deap"
SFREQ = 128.0
FOLDER = "data_preprocessed_python"
N_CHANNELS = 40
#: The 32 EEG channels in DEAP's (Geneva) order.
EEG_CHANNELS: tuple[str, ...] = tuple(["Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7",
                                       "PO3", "O1", "Oz", "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz",
                                       "C4", "T8", "CP6", "CP2", "P4", "P8", "PO4", "O2"])
#: group name -> (kind, 0-based columns, channel names, unit).
DEAP_GROUPS: dict[str, tuple[str, tuple[int, ...], tuple[str, ...], str]] = {
    "eeg": ("eeg", tuple(range(32)), EEG_CHANNELS, "uV"),
    "eog": ("eog", (32, 33), ("hEOG", "vEOG"), "a.u."),
    "emg": ("emg", (34, 35), ("zEMG", "tEMG"), "a.u."),
    "eda": ("eda", (36,), ("GSR",), "uS"),
    "resp": ("resp", (37,), ("Respiration",), "a.u."),
    "ppg": ("ppg", (38,), ("Plethysmograph",), "a.u."),
    "temp": ("temp", (39,), ("Temperature",), "degC"),
}
_RATINGS = ("valence", "arousal", "dominance", "liking")
_FILE_RE = r"^s(\d+)\.dat$"


def split_high_low(rating: float, threshold: float = 5.0, inclusive: bool = False) -> int:
    """High (1) / low (0) class of a rating: ``rating > threshold`` (``>=`` when ``inclusive``)."""
    return int(rating >= threshold) if inclusive else int(rating > threshold)


def read_dataset(root: Path, *, label_map: LabelMapConfig | None = None, baseline_s: float = 3.0,
                 threshold: float = 5.0, inclusive: bool = False, target_class: str | None = None) -> EEGDataset:
    """Open a DEAP copy (metadata only; trials load lazily).

    Parameters
    ----------
    root : Path
        The dataset folder holding ``data_preprocessed_python/``, or that folder itself.
    label_map : LabelMapConfig | None
        Unused (DEAP has ratings, mapped ``(r - 5) / 4``); accepted for the common reader signature.
    baseline_s : float
        Seconds at the start of every trial that are the pre-trial baseline (DEAP: 3).
    threshold : float
        High/low split of the ratings.
    inclusive : bool
        ``rating >= threshold`` is high (default: ``rating > threshold``).
    target_class : {"valence", "arousal"} | None
        Make that dimension's high/low class the trial label (classes ``("low", "high")``).

    Returns
    -------
    dataset : EEGDataset
        :class:`~eegaffect.datasets.multimodal.MultimodalTrial` objects, session 1, trial = video 1..40.
    """
    root = Path(root)
    if target_class not in (None, "valence", "arousal"):
        raise ValueError(f"target_class must be 'valence', 'arousal' or None, got {target_class!r}")
    if not 0 <= baseline_s < 60:
        raise ValueError(f"baseline_s must lie in [0, 60), got {baseline_s}")
    folder = root / FOLDER if (root / FOLDER).is_dir() else root
    if not folder.is_dir():
        raise DatasetFormatError(f"{root}: expected a folder holding {FOLDER}/ with s01.dat .. s32.dat")
    files = subject_files(folder.iterdir(), _FILE_RE, "DEAP subject")
    if not files:
        listing = sorted(p.name for p in folder.iterdir())[:12]
        raise DatasetFormatError(f"{folder}: expected DEAP subject files s01.dat .. s32.dat "
                                 f"({FOLDER}/ of the Python release), found {listing}")
    n_base = int(round(baseline_s * SFREQ))
    store = SubjectStore(_parse_file)
    class_names = ("low", "high") if target_class else ()
    trials = []
    for subject, path in files:
        n_trials, n_times, ratings = _metadata(path)
        if n_times <= n_base:
            raise DatasetFormatError(f"{path}: expected trials longer than the {baseline_s:g}-s baseline "
                                     f"({n_base} samples), found {n_times} samples")
        n_stim = n_times - n_base
        groups = {name: SignalGroup(name, kind, SFREQ, chs, unit, n_stim, n_base)
                  for name, (kind, _, chs, unit) in DEAP_GROUPS.items()}
        for t in range(n_trials):
            raw = {k: float(ratings[t, i]) for i, k in enumerate(_RATINGS)}
            extra: dict[str, Any] = dict(raw)
            for dim in ("valence", "arousal"):
                extra[f"{dim}_class"] = split_high_low(raw[dim], threshold, inclusive)
            try:
                valence, arousal = rating_to_unit(raw["valence"]), rating_to_unit(raw["arousal"])
            except ValueError as exc:
                raise DatasetFormatError(f"{path}: labels[{t}]: {exc}") from None
            label = extra[f"{target_class}_class"] if target_class else None
            info = TrialInfo(dataset=NAME, subject=subject, session=1, trial=t + 1, label=label,
                             label_name=None if label is None else class_names[label], valence=valence,
                             arousal=arousal, sfreq=SFREQ, ch_names=EEG_CHANNELS, n_times=n_stim, source=path,
                             key=f"trial{t + 1}")
            trials.append(MultimodalTrial(info, groups, StoreLoader(store, path, (t, n_base), _extract),
                                          ratings=extra))
    return EEGDataset(NAME, trials, class_names, root)


def _metadata(path: Path) -> tuple[int, int, np.ndarray]:
    content = _parse_file(path)
    data, labels = content["data"], content["labels"]
    return data.shape[0], data.shape[2], labels


def _parse_file(path: Path) -> dict[str, np.ndarray]:
    from eegaffect.datasets._pickle import load_pickle

    content = load_pickle(path)
    if not isinstance(content, dict) or not {"data", "labels"} <= set(content):
        found = sorted(map(str, content)) if isinstance(content, dict) else type(content).__name__
        raise DatasetFormatError(f"{path}: expected a dict with keys 'data' and 'labels' (DEAP's Python release), "
                                 f"found {found}")
    data, labels = np.asarray(content["data"]), np.asarray(content["labels"])
    if data.ndim != 3 or data.shape[1] != N_CHANNELS or data.shape[0] < 1 or data.dtype.kind not in "fiu":
        raise DatasetFormatError(f"{path}: expected 'data' of shape (n_trials, {N_CHANNELS}, n_samples) = "
                                 f"(40, 40, 8064), found {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0], 4) or labels.dtype.kind not in "fiu":
        raise DatasetFormatError(f"{path}: expected 'labels' of shape ({data.shape[0]}, 4) (valence, arousal, "
                                 f"dominance, liking), found {labels.dtype} {labels.shape}")
    labels = labels.astype(np.float64)
    if not np.all(np.isfinite(labels)) or labels.min() < 1 or labels.max() > 9:
        raise DatasetFormatError(f"{path}: expected ratings in [1, 9], found range [{np.nanmin(labels):g}, "
                                 f"{np.nanmax(labels):g}]")
    return {"data": data, "labels": labels}


def _extract(content: dict[str, np.ndarray], key: tuple[int, int], name: str, baseline: bool) -> np.ndarray:
    t, n_base = key
    _, columns, _, _ = DEAP_GROUPS[name]
    part = slice(0, n_base) if baseline else slice(n_base, None)
    x = np.asarray(content["data"][t][list(columns), part], dtype=np.float64).T  # (n_times, n_chans)
    if name == "eda":
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(x > 0, 1e6 / x, np.nan)  # resistance in Ohm -> conductance in uS
    return np.ascontiguousarray(x)
