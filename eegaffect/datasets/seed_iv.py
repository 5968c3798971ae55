"""SEED-IV reader: 15 subjects x 3 sessions x 24 trials, 62 channels at 200 Hz, 4 classes (neutral, sad, fear, happy).

Layout (``root`` may be the dataset folder or ``eeg_raw_data/`` itself)::

    root/eeg_raw_data/{1,2,3}/{subject}_{YYYYMMDD}.mat        variables {prefix}_eeg1 .. {prefix}_eeg24, (62, n_times)
    root/eeg_feature_smooth/{1,2,3}/{subject}_{YYYYMMDD}.mat  de_LDS1 .. de_LDS24 etc., (62, n_windows, 5), 4-s windows
    root/eye_raw_data/, root/eye_feature_smooth/, root/ReadMe.txt

The session is the folder number. Labels come from the table in :data:`eegaffect.datasets.labels.SEED_IV_SESSION_LABELS`
(the dataset's ReadMe.txt states them in prose). Codes 0/1/2/3 are neutral/sad/fear/happy and are used as label
indices directly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from eegaffect._docs import fill_doc
from eegaffect.datasets.base import DatasetFormatError, EEGDataset, TrialInfo
from eegaffect.datasets.labels import SEED_IV_CLASS_NAMES, SEED_IV_SESSION_LABELS, LabelMapConfig
from eegaffect.datasets.seed import SESSION_FILE_RE, SessionFile, session_features, session_trials

__all__ = ["SFREQ", "CLASS_NAMES", "N_TRIALS", "read_dataset", "read_extracted_features"]

logger = logging.getLogger("eegaffect.datasets")

NAME = "seed-iv"
SFREQ = 200.0
CLASS_NAMES: tuple[str, ...] = SEED_IV_CLASS_NAMES
N_TRIALS = 24
#: Window rate of ``eeg_feature_smooth`` (4-s windows).
FEATURE_RATE = 0.25

_RAW_FOLDERS = ("eeg_raw_data", "SEED_IV/eeg_raw_data", "SEED-IV/eeg_raw_data")
_FEATURE_FOLDERS = ("eeg_feature_smooth", "SEED_IV/eeg_feature_smooth", "SEED-IV/eeg_feature_smooth")


@fill_doc
def read_dataset(root: Path, *, label_map: LabelMapConfig, subjects: Iterable[int] | None = None) -> EEGDataset:
    """Read SEED-IV's ``eeg_raw_data`` metadata (see the module docstring).

    Parameters
    ----------
    root : Path
        Dataset folder or ``eeg_raw_data/``.
    %(label_map)s
    %(subjects)s

    Returns
    -------
    dataset : EEGDataset
        Trials in subject, session, trial order; ``class_names = ("neutral", "sad", "fear", "happy")``.
    """
    folder = _find_session_root(Path(root), _RAW_FOLDERS, "eeg_raw_data")
    sessions = _scan(folder, subjects)
    trials = []
    for sf in sessions:
        names = {p.name for p in sf.path.parent.iterdir()}
        trials.extend(session_trials(sf, NAME, _labels(sf.session), label_map, names))
    return EEGDataset(NAME, trials, CLASS_NAMES, root)


def read_extracted_features(root: Path, *, family: str, label_map: LabelMapConfig,
                            subjects: Iterable[int] | None = None) -> list[tuple[TrialInfo, np.ndarray]]:
    """Read SEED-IV's ``eeg_feature_smooth`` (see :func:`eegaffect.datasets.load_extracted_features`)."""
    folder = _find_session_root(Path(root), _FEATURE_FOLDERS, "eeg_feature_smooth")
    out = []
    for sf in _scan(folder, subjects):
        out.extend(session_features(sf, NAME, family, _labels(sf.session), label_map, FEATURE_RATE))
    return out


def _labels(session: int) -> list[tuple[int, str]]:
    return [(code, CLASS_NAMES[code]) for code in SEED_IV_SESSION_LABELS[session]]


def _find_session_root(root: Path, candidates: tuple[str, ...], what: str) -> Path:
    tried = [root] + [root / c for c in candidates]
    for folder in tried:
        if folder.is_dir() and any((folder / str(s)).is_dir() for s in SEED_IV_SESSION_LABELS):
            return folder
    listing = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else []
    raise DatasetFormatError(f"{root}: expected a SEED-IV {what} folder with session sub-folders 1/, 2/, 3/ "
                             f"(looked in {[str(t) for t in tried]}); found {listing}")


def _scan(folder: Path, subjects: Iterable[int] | None) -> list[SessionFile]:
    found: list[SessionFile] = []
    for path in sorted(folder.iterdir()):
        if not (path.is_dir() and path.name.isdigit() and int(path.name) in SEED_IV_SESSION_LABELS):
            logger.debug("skipping %s: not a session folder 1/, 2/ or 3/", path)
            continue
        session = int(path.name)
        seen: dict[int, Path] = {}
        for item in sorted(path.iterdir()):
            match = SESSION_FILE_RE.match(item.name)
            if not (item.is_file() and match):
                logger.debug("skipping %s: not a {subject}_{YYYYMMDD}.mat session file", item)
                continue
            subject = int(match.group(1))
            if subject in seen:
                raise DatasetFormatError(f"{path}: expected one file per subject in a session folder, found "
                                         f"{seen[subject].name} and {item.name} for subject {subject}")
            seen[subject] = item
            found.append(SessionFile(item, subject, match.group(2), session))
    if not found:
        raise DatasetFormatError(f"{folder}: the session folders 1/, 2/, 3/ hold no {{subject}}_{{YYYYMMDD}}.mat "
                                 "files")
    if subjects is not None:
        wanted = {int(s) for s in subjects}
        present = {sf.subject for sf in found}
        if not wanted <= present:
            raise ValueError(f"{folder}: no subject {sorted(wanted - present)}; available: {sorted(present)}")
        found = [sf for sf in found if sf.subject in wanted]
    return sorted(found, key=lambda sf: (sf.subject, sf.session))
