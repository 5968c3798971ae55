"""Dataset objects shared by every reader: trial metadata, lazy trials, the dataset container, annotations.

A dataset is a list of :class:`Trial` objects. Building it reads only metadata (file names, MAT-file variable
headers, label tables); the EEG of a trial is read from disk by :meth:`Trial.load`, one trial at a time, and
nothing is cached, so a full SEED copy (~15 GB of float64) never has to fit in memory. Arrays come out in the
kernel layout, ``(n_times, n_chans)`` float64 (the MAT files store ``(n_chans, n_times)``).

Readers (one module each): :mod:`~eegaffect.datasets.seed` (SEED), :mod:`~eegaffect.datasets.seed_iv` (SEED-IV),
:mod:`~eegaffect.datasets.dreamer` (DREAMER) and :mod:`~eegaffect.datasets.recording` (our HDF5 recordings, XDF
and any MNE-readable file). They import this module; :mod:`eegaffect.datasets.registry` imports them (by name, when
one is needed): :func:`~eegaffect.datasets.registry.load_dataset` picks one by name,
:func:`~eegaffect.datasets.registry.detect_dataset` from the folder layout.

Continuous annotations
----------------------
Where a trial has a continuous valence/arousal annotation it is a CSV file with the header
``time_s,valence,arousal`` (time in seconds from the start of the trial, valence and arousal in [-1, 1]) placed
beside the data file:

- a single-trial file ``rec.h5`` (recordings): ``rec.csv``;
- a multi-trial session file ``1_20131027.mat`` (SEED, SEED-IV): ``1_20131027_{key}.csv`` per trial, e.g.
  ``1_20131027_djc_eeg3.csv``.

Malformed input never crashes with a bare traceback: it raises :class:`DatasetFormatError` naming the file and
what was expected versus found.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from eegaffect.errors import UserInputError

__all__ = [
    "DatasetFormatError",
    "TrialInfo",
    "Trial",
    "EEGDataset",
    "read_annotation_csv",
    "check_targets",
]

logger = logging.getLogger("eegaffect.datasets")

ANNOTATION_COLUMNS: tuple[str, str, str] = ("time_s", "valence", "arousal")


class DatasetFormatError(UserInputError):
    """A dataset file or folder is not in the expected layout; the message names the file, what was expected
    and what was found."""


@dataclass(frozen=True)
class TrialInfo:
    """Metadata of one trial (no signal data).

    Attributes
    ----------
    dataset : str
        Dataset name (``"seed"``, ``"seed-iv"``, ``"dreamer"``, ``"recording"``).
    subject : int
        Subject number as the dataset numbers them (1-based).
    session : int
        Session number, 1-based (SEED: date order within the subject; SEED-IV: the session folder).
    trial : int
        Trial number within the session, 1-based (the ``k`` of ``{prefix}_eeg{k}``).
    label : int | None
        Class index in ``0 .. n_classes - 1`` (the dataset's own code mapped, see :mod:`eegaffect.datasets.labels`),
        or None when the dataset has no discrete classes.
    label_name : str | None
        Class name, e.g. ``"positive"``.
    valence, arousal : float | None
        Trial-level target in [-1, 1] from the label table (or the rating), None when unknown.
    sfreq : float
        Sampling rate in Hz of the arrays :meth:`Trial.load` returns (for extracted features, the window rate).
    ch_names : tuple of str
        Channel names in column order.
    n_times : int
        Number of samples (rows) of the trial.
    source : Path
        The file the trial is stored in.
    key : str
        Where the trial is inside that file (MAT variable name, ``"s/t"`` struct index, stream name).
    """

    dataset: str
    subject: int
    session: int
    trial: int
    label: int | None
    label_name: str | None
    valence: float | None
    arousal: float | None
    sfreq: float
    ch_names: tuple[str, ...]
    n_times: int
    source: Path
    key: str

    @property
    def n_chans(self) -> int:
        """Number of channels."""
        return len(self.ch_names)

    @property
    def duration_s(self) -> float:
        """Length of the trial in seconds (``n_times / sfreq``)."""
        return self.n_times / self.sfreq


class Trial:
    """One trial: metadata plus a lazy reader of its signal.

    Parameters
    ----------
    info : TrialInfo
        The trial's metadata.
    loader : callable
        Zero-argument callable returning the trial's data, shape ``(n_times, n_chans)``. Use a picklable callable
        (a module-level function wrapped in :func:`functools.partial`) so trials can be sent to worker processes.
    annotation : Path | None
        A continuous annotation CSV (``time_s,valence,arousal``), if the trial has one.
    baseline_loader : callable | None
        Zero-argument callable returning a baseline recording ``(n_baseline_times, n_chans)`` (DREAMER).
    targets_loader : callable | None
        Zero-argument callable returning the continuous targets ``(n, 3)`` ``[time_s, valence, arousal]`` when
        they are stored inside the data file (a recorded ground-truth stream); an annotation CSV takes precedence.
    """

    __slots__ = ("info", "_loader", "annotation", "_baseline_loader", "_targets_loader")

    def __init__(self, info: TrialInfo, loader: Callable[[], np.ndarray], annotation: Path | None = None,
                 baseline_loader: Callable[[], np.ndarray] | None = None,
                 targets_loader: Callable[[], np.ndarray] | None = None) -> None:
        if not isinstance(info, TrialInfo):
            raise TypeError(f"info must be a TrialInfo, got {type(info).__name__}")
        if not callable(loader):
            raise TypeError(f"loader must be callable, got {type(loader).__name__}")
        self.info = info
        self._loader = loader
        self.annotation = None if annotation is None else Path(annotation)
        self._baseline_loader = baseline_loader
        self._targets_loader = targets_loader

    def __repr__(self) -> str:
        i = self.info
        return (f"<Trial {i.dataset} subject={i.subject} session={i.session} trial={i.trial} label={i.label_name} "
                f"{i.n_chans}ch x {i.n_times} @ {i.sfreq:g} Hz from {i.source.name}:{i.key}>")

    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def load(self) -> np.ndarray:
        """Read this trial's signal from disk (nothing is cached).

        Returns
        -------
        data : ndarray, shape (n_times, n_chans)
            float64, C-contiguous, time first.

        Raises
        ------
        DatasetFormatError
            When the file cannot be read or the array does not have the shape the metadata announced.
        """
        data = self._loader()
        return _check_loaded(data, self.info, what="trial")

    @property
    def has_baseline(self) -> bool:
        """Whether :meth:`load_baseline` returns data."""
        return self._baseline_loader is not None

    def load_baseline(self) -> np.ndarray | None:
        """The trial's baseline (resting) recording, where the dataset has one and it was requested.

        Returns
        -------
        baseline : ndarray, shape (n_baseline_times, n_chans) | None
            float64, time first; None when there is no baseline.
        """
        if self._baseline_loader is None:
            return None
        data = np.ascontiguousarray(self._baseline_loader(), dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.info.n_chans:
            raise DatasetFormatError(f"{self.info.source}: baseline of {self.info.key} should have shape "
                                     f"(n_times, {self.info.n_chans}), found {data.shape}")
        return data

    def mne_info(self):
        """MNE measurement info of this trial, with electrode positions (SEED's CB1/CB2 included).

        Returns
        -------
        info : mne.Info
            EEG channels named as in :attr:`TrialInfo.ch_names`, at :attr:`TrialInfo.sfreq`, montage set.
        """
        from eegaffect.montage import create_info

        return create_info(self.info.ch_names, self.info.sfreq, "eeg")

    def continuous_targets(self) -> np.ndarray | None:
        """The continuous valence/arousal annotation of this trial: its CSV, else a recorded ground-truth stream.

        Returns
        -------
        targets : ndarray, shape (n, 3) | None
            Columns ``time_s, valence, arousal`` (float64, seconds from the trial start, time increasing), or
            None when the trial has no continuous annotation.
        """
        if self.annotation is not None and self.annotation.is_file():
            return read_annotation_csv(self.annotation)
        if self._targets_loader is not None:
            return check_targets(self._targets_loader(), f"{self.info.source} ({self.info.key})")
        return None


def _check_loaded(data: Any, info: TrialInfo, what: str) -> np.ndarray:
    data = np.asarray(data)
    expected = (info.n_times, info.n_chans)
    if data.shape != expected:
        raise DatasetFormatError(f"{info.source}: {what} {info.key!r} should have shape (n_times, n_chans) = "
                                 f"{expected}, found {data.shape}")
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise DatasetFormatError(f"{info.source}: {what} {info.key!r} should hold real numbers, found dtype "
                                 f"{data.dtype}")
    return np.ascontiguousarray(data, dtype=np.float64)


class EEGDataset:
    """A list of lazily loaded trials with their class names.

    Parameters
    ----------
    name : str
        Dataset name (``"seed"``, ...).
    trials : sequence of Trial
        The trials, in dataset order (subject, session, trial).
    class_names : sequence of str
        Class names indexed by :attr:`TrialInfo.label` (empty when the dataset has no discrete classes).
    root : Path | None
        Folder or file the dataset was read from.
    """

    def __init__(self, name: str, trials: Sequence[Trial], class_names: Sequence[str] = (),
                 root: str | Path | None = None) -> None:
        trials = list(trials)
        bad = [type(t).__name__ for t in trials if not isinstance(t, Trial)]
        if bad:
            raise TypeError(f"trials must be Trial objects, got {sorted(set(bad))}")
        self.name = str(name)
        self.trials: list[Trial] = trials
        self.class_names: tuple[str, ...] = tuple(class_names)
        self.root = None if root is None else Path(root)
        n = len(self.class_names)
        wrong = [t.info for t in trials if t.info.label is not None and not 0 <= t.info.label < n]
        if wrong:
            raise ValueError(f"trial labels must lie in 0..{n - 1} (class_names={self.class_names}); "
                             f"found label {wrong[0].label} for {wrong[0].source}:{wrong[0].key}")

    @property
    def n_classes(self) -> int:
        """Number of discrete classes (0 for rating-only datasets such as DREAMER without a class target)."""
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.trials)

    def __getitem__(self, index: int) -> Trial:
        return self.trials[index]

    def __repr__(self) -> str:
        return (f"<EEGDataset {self.name}: {len(self.subjects())} subjects, {len(self.sessions())} sessions, "
                f"{len(self)} trials, classes={list(self.class_names)}>")

    @property
    def infos(self) -> list[TrialInfo]:
        """Metadata of every trial, in order."""
        return [t.info for t in self.trials]

    def subjects(self) -> list[int]:
        """Subject numbers present, sorted numerically."""
        return sorted({t.info.subject for t in self.trials})

    def sessions(self) -> list[tuple[int, int]]:
        """``(subject, session)`` pairs present, sorted."""
        return sorted({(t.info.subject, t.info.session) for t in self.trials})

    def source_files(self) -> list[Path]:
        """Every file holding trials, once each, in dataset order (a cache can be built and resumed per file)."""
        return list(dict.fromkeys(t.info.source for t in self.trials))

    def trials_in(self, source: str | Path) -> list[Trial]:
        """The trials stored in one source file, in order.

        Parameters
        ----------
        source : str | Path
            One of :meth:`source_files`.

        Returns
        -------
        trials : list of Trial
        """
        source = Path(source)
        found = [t for t in self.trials if t.info.source == source]
        if not found:
            files = [str(p) for p in self.source_files()]
            raise ValueError(f"{source} holds no trial of this dataset; its files are {files[:5]}"
                             f"{' ...' if len(files) > 5 else ''}")
        return found

    def select(self, subjects: Iterable[int] | int | None = None, sessions: Iterable[int] | int | None = None,
               trials: Iterable[int] | int | None = None) -> "EEGDataset":
        """A dataset restricted to some subjects, sessions and trial numbers (None keeps all).

        Parameters
        ----------
        subjects, sessions, trials : int | iterable of int | None
            Subject numbers, session numbers (1-based) and trial numbers (1-based) to keep.

        Returns
        -------
        dataset : EEGDataset
            A new dataset sharing the trial objects.

        Raises
        ------
        ValueError
            When a requested subject, session or trial number does not exist.
        """
        keep_sub = _as_int_set(subjects, "subjects")
        keep_ses = _as_int_set(sessions, "sessions")
        keep_tri = _as_int_set(trials, "trials")
        for wanted, present, label in ((keep_sub, {t.info.subject for t in self.trials}, "subject"),
                                       (keep_ses, {t.info.session for t in self.trials}, "session"),
                                       (keep_tri, {t.info.trial for t in self.trials}, "trial")):
            if wanted is not None and not wanted <= present:
                raise ValueError(f"{self.name}: no {label} {sorted(wanted - present)}; available: {sorted(present)}")
        kept = [t for t in self.trials
                if (keep_sub is None or t.info.subject in keep_sub)
                and (keep_ses is None or t.info.session in keep_ses)
                and (keep_tri is None or t.info.trial in keep_tri)]
        return EEGDataset(self.name, kept, self.class_names, self.root)


def _as_int_set(values: Iterable[int] | int | None, what: str) -> set[int] | None:
    if values is None:
        return None
    if isinstance(values, (int, np.integer)):
        values = [values]
    out = set()
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{what} must be integers, got {v!r}")
        out.add(int(v))
    return out


def read_annotation_csv(path: str | Path) -> np.ndarray:
    """Read a continuous valence/arousal annotation CSV.

    Parameters
    ----------
    path : str | Path
        CSV with the header ``time_s,valence,arousal`` (extra columns ignored) and one row per time point.

    Returns
    -------
    targets : ndarray, shape (n, 3)
        Columns ``time_s, valence, arousal``, float64.

    Raises
    ------
    DatasetFormatError
        On a missing column, a non-numeric or non-finite value, decreasing time, or values outside [-1, 1].
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in ANNOTATION_COLUMNS if c not in header]
            if missing:
                raise DatasetFormatError(f"{path}: annotation CSV needs the columns {list(ANNOTATION_COLUMNS)}, "
                                         f"found header {header} (missing {missing})")
            reader.fieldnames = header
            rows = []
            for line_no, row in enumerate(reader, start=2):
                try:
                    rows.append([float(row[c]) for c in ANNOTATION_COLUMNS])
                except (TypeError, ValueError):
                    found = [row.get(c) for c in ANNOTATION_COLUMNS]
                    raise DatasetFormatError(f"{path}: line {line_no}: expected numbers in "
                                             f"{list(ANNOTATION_COLUMNS)}, found {found}") from None
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(f"{path}: annotation CSV is not UTF-8 text ({exc})") from None
    targets = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return check_targets(targets, str(path))


def check_targets(targets: np.ndarray, where: str) -> np.ndarray:
    """Validate continuous targets ``(n, 3)`` ``[time_s, valence, arousal]``; return them as float64.

    Parameters
    ----------
    targets : ndarray, shape (n, 3)
        The annotation.
    where : str
        Where it came from, for error messages.

    Returns
    -------
    targets : ndarray, shape (n, 3)
    """
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 2 or targets.shape[1] != 3:
        raise DatasetFormatError(f"{where}: continuous targets should have shape (n, 3) [time_s, valence, arousal], "
                                 f"found {targets.shape}")
    if targets.shape[0] == 0:
        raise DatasetFormatError(f"{where}: the annotation has no rows")
    if not np.isfinite(targets).all():
        raise DatasetFormatError(f"{where}: the annotation holds NaN or infinite values")
    if np.any(np.diff(targets[:, 0]) <= 0):
        raise DatasetFormatError(f"{where}: time_s must increase strictly from row to row")
    if np.abs(targets[:, 1:]).max() > 1.0:
        raise DatasetFormatError(f"{where}: valence and arousal must lie in [-1, 1], found range "
                                 f"[{targets[:, 1:].min():g}, {targets[:, 1:].max():g}]")
    return targets
