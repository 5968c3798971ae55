r"""SEED reader (BCMI lab, SJTU): 15 subjects x 3 sessions x 15 film-clip trials, 62 channels at 200 Hz, 3 classes.

Layouts accepted (``root`` may be any of the folders named here)::

    root/Preprocessed_EEG/{subject}_{YYYYMMDD}.mat, label.mat, readme.txt      (original release)
    root/ExtractedFeatures/{subject}_{YYYYMMDD}.mat, label.mat
    root/SEED_EEG/Preprocessed_EEG/..., SEED_EEG/ExtractedFeatures_1s/..., ExtractedFeatures_4s/...  (newer)

A session file holds one variable per trial, ``{prefix}_eeg{k}`` (k = 1..15), shape ``(62, n_times)`` float64; the
prefix differs per subject and is found with the regex ``^(.+)_eeg(\d+)$``. Sessions are numbered by date order
within a subject, subjects sorted numerically. ``label.mat`` holds ``label`` (1, 15) with codes -1/0/1
(negative/neutral/positive), int or float. Other files in the folders (``.DS_Store``, notes, readme) are skipped
with a debug log. See ``DATA_FORMATS.md`` for the full description.

Laziness: building the dataset reads only the MAT variable headers; :meth:`Trial.load` decompresses the one trial
variable asked for (scipy seeks past the others).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from eegaffect._docs import fill_doc
from eegaffect.acquisition.channels import SEED_CHANNELS
from eegaffect.datasets import _matfile
from eegaffect.datasets.base import DatasetFormatError, EEGDataset, Trial, TrialInfo
from eegaffect.datasets.labels import SEED_CLASS_CODES, SEED_CLASS_NAMES, LabelMapConfig

__all__ = ["SFREQ", "CLASS_NAMES", "SESSION_FILE_RE", "TRIAL_VAR_RE", "read_dataset", "read_extracted_features",
           "read_label_mat", "find_folder"]

logger = logging.getLogger("eegaffect.datasets")

NAME = "seed"
#: Sampling rate of the Preprocessed_EEG trials (Hz).
SFREQ = 200.0
CLASS_NAMES: tuple[str, ...] = SEED_CLASS_NAMES
#: Session file names: ``{subject}_{YYYYMMDD}.mat``.
SESSION_FILE_RE = re.compile(r"^(\d+)_(\d{8})\.mat$")
#: Trial variables: ``{prefix}_eeg{k}``.
TRIAL_VAR_RE = re.compile(r"^(.+)_eeg(\d+)$")
_FEATURE_VAR_RE = re.compile(r"^([A-Za-z][A-Za-z_]*?)(\d+)$")

_RAW_FOLDERS = ("Preprocessed_EEG", "SEED_EEG/Preprocessed_EEG", "SEED/Preprocessed_EEG",
                "SEED/SEED_EEG/Preprocessed_EEG")
_FEATURE_FOLDERS = {
    "1s": ("ExtractedFeatures", "ExtractedFeatures_1s", "SEED_EEG/ExtractedFeatures_1s", "SEED/ExtractedFeatures",
           "SEED/SEED_EEG/ExtractedFeatures_1s"),
    "4s": ("ExtractedFeatures_4s", "SEED_EEG/ExtractedFeatures_4s", "SEED/SEED_EEG/ExtractedFeatures_4s"),
}


@dataclass(frozen=True)
class SessionFile:
    """A ``{subject}_{YYYYMMDD}.mat`` file and where it sits in the dataset."""

    path: Path
    subject: int
    date: str
    session: int = 0


# --------------------------------------------------------------------------------------------------------------
# public entry points (called through eegaffect.datasets.load_dataset / load_extracted_features)


@fill_doc
def read_dataset(root: Path, *, label_map: LabelMapConfig, subjects: Iterable[int] | None = None) -> EEGDataset:
    """Read SEED's ``Preprocessed_EEG`` metadata (see the module docstring for the layouts).

    Parameters
    ----------
    root : Path
        Dataset folder, ``SEED_EEG/`` or ``Preprocessed_EEG/`` itself.
    %(label_map)s
    %(subjects)s

    Returns
    -------
    dataset : EEGDataset
        Trials in subject, session, trial order; ``class_names = ("negative", "neutral", "positive")``.
    """
    folder = find_folder(Path(root), _RAW_FOLDERS, "SEED Preprocessed_EEG")
    codes = read_label_mat(_find_label_mat(folder, Path(root)))
    sessions = _subset(scan_session_files(folder), subjects, folder)
    names = {p.name for p in folder.iterdir()}
    labels = [_class(code) for code in codes]
    trials = []
    for sf in sessions:
        trials.extend(session_trials(sf, NAME, labels, label_map, names))
    return EEGDataset(NAME, trials, CLASS_NAMES, root)


def read_extracted_features(root: Path, *, family: str, label_map: LabelMapConfig,
                            subjects: Iterable[int] | None = None,
                            window: str = "1s") -> list[tuple[TrialInfo, np.ndarray]]:
    """Read SEED's ``ExtractedFeatures`` (see :func:`eegaffect.datasets.load_extracted_features`)."""
    if window not in _FEATURE_FOLDERS:
        raise ValueError(f"window must be one of {sorted(_FEATURE_FOLDERS)}, got {window!r}")
    folder = find_folder(Path(root), _FEATURE_FOLDERS[window], f"SEED ExtractedFeatures ({window} windows)")
    codes = read_label_mat(_find_label_mat(folder, Path(root)))
    sessions = _subset(scan_session_files(folder), subjects, folder)
    labels = [_class(code) for code in codes]
    rate = 1.0 if window == "1s" else 0.25
    out = []
    for sf in sessions:
        out.extend(session_features(sf, NAME, family, labels, label_map, rate))
    return out


# --------------------------------------------------------------------------------------------------------------
# helpers shared with the SEED-IV reader


def find_folder(root: Path, candidates: Sequence[str], what: str) -> Path:
    """The first of ``root`` and ``root / candidate`` that holds session files."""
    tried = [root] + [root / c for c in candidates]
    for folder in tried:
        if folder.is_dir() and any(SESSION_FILE_RE.match(p.name) for p in folder.iterdir() if p.is_file()):
            return folder
    listing = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else []
    raise DatasetFormatError(f"{root}: expected a {what} folder holding session files named "
                             f"{{subject}}_{{YYYYMMDD}}.mat (looked in {[str(t) for t in tried]}); found {listing}")


def _find_label_mat(folder: Path, root: Path) -> Path:
    for candidate in (folder / "label.mat", folder.parent / "label.mat", root / "label.mat"):
        if candidate.is_file():
            return candidate
    raise DatasetFormatError(f"{folder}: missing label.mat (expected {folder / 'label.mat'} holding the variable "
                             "'label' of shape (1, 15) with codes -1/0/1)")


def read_label_mat(path: Path, allowed: Sequence[int] = tuple(SEED_CLASS_CODES)) -> tuple[int, ...]:
    """Trial label codes from a ``label.mat`` (variable ``label``, a row or column of int or float codes).

    Returns
    -------
    codes : tuple of int
        One code per trial, in trial order.
    """
    variables = _matfile.list_variables(path)
    if "label" not in variables:
        raise DatasetFormatError(f"{path}: expected the variable 'label', found {sorted(variables)}")
    value = _matfile.read_variable(path, "label")
    if value.ndim != 2 or min(value.shape) != 1:
        raise DatasetFormatError(f"{path}: 'label' should be a row (1, n_trials) or column of codes, found shape "
                                 f"{value.shape}")
    flat = value.ravel().astype(np.float64)
    if not np.all(np.isfinite(flat)) or np.any(flat != np.round(flat)) or not set(flat.astype(int)) <= set(allowed):
        raise DatasetFormatError(f"{path}: 'label' should hold the codes {sorted(allowed)}, found "
                                 f"{np.unique(flat).tolist()}")
    return tuple(int(c) for c in flat)


def scan_session_files(folder: Path) -> list[SessionFile]:
    """Session files of a folder, subjects sorted numerically, sessions numbered by date; strays skipped."""
    by_subject: dict[int, list[SessionFile]] = {}
    for path in sorted(folder.iterdir()):
        match = SESSION_FILE_RE.match(path.name)
        if path.is_file() and match:
            subject = int(match.group(1))
            by_subject.setdefault(subject, []).append(SessionFile(path, subject, match.group(2)))
        elif path.name != "label.mat":
            logger.debug("skipping %s: not a {subject}_{YYYYMMDD}.mat session file", path)
    out = []
    for subject in sorted(by_subject):
        ordered = sorted(by_subject[subject], key=lambda sf: (sf.date, sf.path.name))
        out.extend(SessionFile(sf.path, subject, sf.date, k) for k, sf in enumerate(ordered, start=1))
    return out


def _subset(sessions: list[SessionFile], subjects: Iterable[int] | None, folder: Path) -> list[SessionFile]:
    if subjects is None:
        return sessions
    wanted = {int(s) for s in subjects}
    present = {sf.subject for sf in sessions}
    if not wanted <= present:
        raise ValueError(f"{folder}: no subject {sorted(wanted - present)}; available: {sorted(present)}")
    return [sf for sf in sessions if sf.subject in wanted]


def _class(code: int) -> tuple[int, str]:
    name = SEED_CLASS_CODES[code]
    return CLASS_NAMES.index(name), name


def session_trials(sf: SessionFile, dataset: str, labels: Sequence[tuple[int, str]], label_map: LabelMapConfig,
                   folder_names: set[str], ch_names: tuple[str, ...] = SEED_CHANNELS,
                   sfreq: float = SFREQ) -> list[Trial]:
    """Lazy trials of one session file, checked against the expected variable names and shapes.

    Parameters
    ----------
    sf : SessionFile
        The file and its subject/session numbers.
    dataset : str
        Dataset name for the metadata.
    labels : sequence of (int, str)
        ``(label index, class name)`` per trial; its length is the expected number of trials.
    label_map : LabelMapConfig
        Class -> valence/arousal.
    folder_names : set of str
        Names of the files beside ``sf.path`` (to find annotation CSVs without a stat per trial).
    """
    path = sf.path
    variables = _matfile.list_variables(path)
    prefix, numbers = _trial_variables(path, variables, len(labels))
    n_chans = len(ch_names)
    trials = []
    for k in range(1, len(labels) + 1):
        key = f"{prefix}_eeg{k}"
        shape, cls = variables[key]
        if len(shape) != 2 or shape[0] != n_chans or shape[1] < 1:
            hint = " (transposed? the files store channels first)" if len(shape) == 2 and shape[1] == n_chans else ""
            raise DatasetFormatError(f"{path}: variable {key!r} should have shape ({n_chans}, n_times) = "
                                     f"{n_chans} channels x samples, found {shape}{hint}")
        if cls not in ("double", "single"):
            raise DatasetFormatError(f"{path}: variable {key!r} should be a double (float64) array, found MATLAB "
                                     f"class {cls!r}")
        label, name = labels[k - 1]
        valence, arousal = label_map.point(dataset, name)
        info = TrialInfo(dataset=dataset, subject=sf.subject, session=sf.session, trial=k, label=label,
                         label_name=name, valence=valence, arousal=arousal, sfreq=float(sfreq),
                         ch_names=tuple(ch_names), n_times=int(shape[1]), source=path, key=key)
        csv_name = f"{path.stem}_{key}.csv"
        annotation = path.with_name(csv_name) if csv_name in folder_names else None
        trials.append(Trial(info, partial(_load_channels_first, path, key), annotation=annotation))
    return trials


def _trial_variables(path: Path, variables: dict, n_trials: int) -> tuple[str, list[int]]:
    matches = {name: TRIAL_VAR_RE.match(name) for name in variables}
    other = sorted(n for n, m in matches.items() if m is None)
    expected = f"{{prefix}}_eeg1 .. {{prefix}}_eeg{n_trials}"
    if other:
        features = [n for n in other if _FEATURE_VAR_RE.match(n)]
        hint = (" (these look like extracted features: read them with load_extracted_features)"
                if features and len(features) == len(other) and not any(matches.values()) else "")
        raise DatasetFormatError(f"{path}: expected only trial variables {expected}, found unexpected variable(s) "
                                 f"{other[:8]}{' ...' if len(other) > 8 else ''}{hint}")
    prefixes = sorted({m.group(1) for m in matches.values()})
    if len(prefixes) != 1:
        raise DatasetFormatError(f"{path}: expected trial variables {expected} with one prefix, found prefixes "
                                 f"{prefixes or 'none (no variables)'}")
    numbers = sorted(int(m.group(2)) for m in matches.values())
    if numbers != list(range(1, n_trials + 1)):
        missing = sorted(set(range(1, n_trials + 1)) - set(numbers))
        extra = sorted(set(numbers) - set(range(1, n_trials + 1)))
        names = expected.replace("{prefix}", prefixes[0])
        raise DatasetFormatError(f"{path}: expected {n_trials} trial variables {names} (one per label), found "
                                 f"{len(numbers)}; missing trials {missing}, unexpected {extra}")
    return prefixes[0], numbers


def _load_channels_first(path: Path, key: str) -> np.ndarray:
    """Read one ``(n_chans, n_times)`` MAT variable and return it time first."""
    value = _matfile.read_variable(path, key)
    if value.ndim != 2:
        raise DatasetFormatError(f"{path}: variable {key!r} should be 2-D (n_chans, n_times), found {value.shape}")
    return value.T


def session_features(sf: SessionFile, dataset: str, family: str, labels: Sequence[tuple[int, str]],
                     label_map: LabelMapConfig, window_rate: float) -> list[tuple[TrialInfo, np.ndarray]]:
    """Read one feature family from one session file; arrays come out ``(n_windows, n_chans, n_bands)``."""
    path = sf.path
    variables = _matfile.list_variables(path)
    n = len(labels)
    keys = [f"{family}{k}" for k in range(1, n + 1)]
    missing = [k for k in keys if k not in variables]
    if missing:
        families = sorted({m.group(1) for m in map(_FEATURE_VAR_RE.match, variables) if m})
        raise DatasetFormatError(f"{path}: expected feature variables {keys[0]} .. {keys[-1]}, missing {missing[:5]}"
                                 f"{' ...' if len(missing) > 5 else ''}; feature families in the file: {families}")
    for key in keys:
        shape, _ = variables[key]
        if len(shape) != 3 or min(shape) < 1:
            raise DatasetFormatError(f"{path}: variable {key!r} should have shape (n_chans, n_windows, n_bands), "
                                     f"found {shape}")
    values = _matfile.read_variables(path, keys)
    out = []
    for k, key in enumerate(keys, start=1):
        value = values[key]
        if value.ndim != 3 or value.dtype.kind not in "fiu":
            raise DatasetFormatError(f"{path}: variable {key!r} should be a numeric 3-D array, found "
                                     f"{value.dtype} {value.shape}")
        data = np.ascontiguousarray(value.transpose(1, 0, 2), dtype=np.float64)
        n_chans = data.shape[1]
        ch_names = SEED_CHANNELS if n_chans == len(SEED_CHANNELS) else tuple(f"pair{i + 1}" for i in range(n_chans))
        label, name = labels[k - 1]
        valence, arousal = label_map.point(dataset, name)
        info = TrialInfo(dataset=dataset, subject=sf.subject, session=sf.session, trial=k, label=label,
                         label_name=name, valence=valence, arousal=arousal, sfreq=float(window_rate),
                         ch_names=tuple(ch_names), n_times=int(data.shape[0]), source=path, key=key)
        out.append((info, data))
    return out
