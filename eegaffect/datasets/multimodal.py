"""Trials that carry several signal groups (EEG, ECG, EDA, PPG, respiration, temperature, EMG, ...).

A multimodal dataset (DEAP, AMIGOS, WESAD, DREAMER's ECG) records several devices at their own rates and units.
A :class:`MultimodalTrial` is a :class:`~eegaffect.datasets.base.Trial` whose :attr:`~MultimodalTrial.groups`
describe each group (:class:`SignalGroup`: name, kind, rate, channel names, unit, length) and whose
:meth:`~MultimodalTrial.load_group` reads one group, time first, float64, in the group's unit. The trial's
:class:`~eegaffect.datasets.base.TrialInfo` and :meth:`~eegaffect.datasets.base.Trial.load` describe the
*primary* group (``"eeg"`` wherever the dataset has EEG), so every EEG-only consumer (the feature cache, the
protocols, the models) keeps working unchanged.

Units (the physical unit every reader converts to):

========== ============================================ =========
kind       signal                                       unit
========== ============================================ =========
eeg        electroencephalogram                         uV
ecg        electrocardiogram                            mV
eda        electrodermal activity (skin conductance)    uS
ppg        photoplethysmogram / blood-volume pulse      a.u.
resp       respiration (belt / inductive)               a.u.
temp       skin temperature                             degC
emg        electromyogram                               a.u. (DEAP, as shipped) / mV (WESAD)
eog        electrooculogram                             a.u.
acc        acceleration                                 g (WESAD chest) / a.u. (wrist, unverified)
========== ============================================ =========

Groups with a baseline (DEAP's 3-s pre-trial recording, DREAMER's baseline clip) return it from
:meth:`~MultimodalTrial.load_group_baseline`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eegaffect.datasets.base import DatasetFormatError, Trial, TrialInfo

__all__ = [
    "GROUP_UNITS",
    "PHYSIO_KINDS",
    "MultimodalTrial",
    "SignalGroup",
    "StoreLoader",
    "SubjectStore",
    "rating_to_unit",
    "subject_files",
]

#: Default unit per signal kind (see the module docstring).
GROUP_UNITS: dict[str, str] = {"eeg": "uV", "ecg": "mV", "eda": "uS", "ppg": "a.u.", "resp": "a.u.",
                               "temp": "degC", "emg": "a.u.", "eog": "a.u.", "acc": "g"}
#: Signal kinds the physiological pipeline featurises.
PHYSIO_KINDS: tuple[str, ...] = ("ecg", "ppg", "eda", "resp", "temp", "emg")


@dataclass(frozen=True)
class SignalGroup:
    """One signal group of a trial (no data).

    Attributes
    ----------
    name : str
        Key of the group in :attr:`MultimodalTrial.groups`, e.g. ``"eeg"``, ``"ecg"``, ``"eda"``,
        ``"wrist_eda"``.
    kind : str
        Signal kind (``eeg, ecg, ppg, eda, resp, temp, emg, eog, acc``): which pipeline processes it.
    sfreq : float
        Sampling rate in Hz.
    ch_names : tuple of str
        Channel names in column order.
    unit : str
        Physical unit of the loaded values (``"uV"``, ``"mV"``, ``"uS"``, ``"degC"``, ``"a.u."``, ...).
    n_times : int
        Samples of the group in this trial (the stimulus part; the baseline is separate).
    n_baseline_times : int
        Samples of the group's baseline (0 when there is none).
    """

    name: str
    kind: str
    sfreq: float
    ch_names: tuple[str, ...]
    unit: str
    n_times: int
    n_baseline_times: int = 0

    @property
    def n_chans(self) -> int:
        """Number of channels."""
        return len(self.ch_names)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_times / self.sfreq


class MultimodalTrial(Trial):
    """A trial with several signal groups; :meth:`load` returns the primary group (EEG where there is one).

    Parameters
    ----------
    info : TrialInfo
        Metadata; its ``sfreq``, ``ch_names`` and ``n_times`` are those of the primary group.
    groups : mapping of str to SignalGroup
        Every group of the trial, the primary one included.
    group_loader : callable
        ``group_loader(name, baseline)`` returns group ``name``'s samples ``(n_times, n_chans)`` (its baseline
        when ``baseline`` is True). Use a picklable callable (a bound method of a picklable store, or a
        module-level function in :func:`functools.partial`).
    primary : str
        The group :meth:`load` returns.
    ratings : mapping | None
        Extra trial-level annotations (dominance, liking, binary high/low classes per dimension, ...).
    annotation, targets_loader
        As in :class:`~eegaffect.datasets.base.Trial`.
    """

    __slots__ = ("_group_loader", "groups", "primary", "ratings")

    def __init__(self, info: TrialInfo, groups: Mapping[str, SignalGroup],
                 group_loader: Callable[[str, bool], np.ndarray], primary: str = "eeg",
                 ratings: Mapping[str, Any] | None = None, annotation: Path | None = None,
                 targets_loader: Callable[[], np.ndarray] | None = None) -> None:
        groups = dict(groups)
        if primary not in groups:
            raise ValueError(f"primary group {primary!r} is not among the groups {sorted(groups)}")
        bad = [k for k, g in groups.items() if not isinstance(g, SignalGroup) or g.name != k]
        if bad:
            raise TypeError(f"groups must map each name to a SignalGroup of that name; wrong: {bad}")
        p = groups[primary]
        if (p.sfreq, p.ch_names, p.n_times) != (info.sfreq, info.ch_names, info.n_times):
            raise ValueError(f"info must describe the primary group {primary!r} ({p.sfreq} Hz, {p.n_chans} ch, "
                             f"{p.n_times} samples), got {info.sfreq} Hz, {info.n_chans} ch, {info.n_times}")
        super().__init__(info, _PrimaryLoader(group_loader, primary), annotation=annotation,
                         baseline_loader=_PrimaryLoader(group_loader, primary, True) if p.n_baseline_times else None,
                         targets_loader=targets_loader)
        self.groups: dict[str, SignalGroup] = groups
        self.primary = primary
        self.ratings: dict[str, Any] = dict(ratings or {})
        self._group_loader = group_loader

    def __getstate__(self) -> dict:
        names = Trial.__slots__ + MultimodalTrial.__slots__
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        i = self.info
        shown = ", ".join(f"{g.name} {g.n_chans}ch@{g.sfreq:g}Hz {g.unit}" for g in self.groups.values())
        return (f"<MultimodalTrial {i.dataset} subject={i.subject} session={i.session} trial={i.trial} "
                f"label={i.label_name} [{shown}] from {i.source.name}:{i.key}>")

    def has_group(self, name: str) -> bool:
        """Whether the trial has the group ``name``."""
        return name in self.groups

    def groups_of_kind(self, kind: str) -> list[SignalGroup]:
        """The groups of one signal kind, in order (e.g. WESAD's chest and wrist EDA)."""
        return [g for g in self.groups.values() if g.kind == kind]

    def load_group(self, name: str) -> np.ndarray:
        """Read one signal group (nothing is cached).

        Parameters
        ----------
        name : str
            A key of :attr:`groups`.

        Returns
        -------
        data : ndarray, shape (n_times, n_chans)
            float64, C-contiguous, time first, in the group's unit.
        """
        group = self._group(name)
        return _check_group(self._group_loader(name, False), group, self.info, group.n_times, "")

    def load_group_baseline(self, name: str) -> np.ndarray | None:
        """The group's baseline recording, or None when it has none.

        Returns
        -------
        baseline : ndarray, shape (n_baseline_times, n_chans) | None
        """
        group = self._group(name)
        if not group.n_baseline_times:
            return None
        return _check_group(self._group_loader(name, True), group, self.info, group.n_baseline_times, " baseline")

    def _group(self, name: str) -> SignalGroup:
        if name not in self.groups:
            raise KeyError(f"{self.info.source}:{self.info.key} has no signal group {name!r}; it has "
                           f"{sorted(self.groups)}")
        return self.groups[name]


class _PrimaryLoader:
    """Picklable zero-argument loader of the primary group (what :meth:`Trial.load` calls)."""

    def __init__(self, loader: Callable[[str, bool], np.ndarray], name: str, baseline: bool = False):
        self.loader, self.name, self.baseline = loader, name, baseline

    def __call__(self) -> np.ndarray:
        return self.loader(self.name, self.baseline)


def _check_group(data: Any, group: SignalGroup, info: TrialInfo, n_times: int, what: str) -> np.ndarray:
    data = np.asarray(data)
    expected = (n_times, group.n_chans)
    if data.shape != expected:
        raise DatasetFormatError(f"{info.source}: group {group.name!r}{what} of {info.key!r} should have shape "
                                 f"(n_times, n_chans) = {expected}, found {data.shape}")
    if data.dtype.kind not in "biuf":
        raise DatasetFormatError(f"{info.source}: group {group.name!r}{what} of {info.key!r} should hold real "
                                 f"numbers, found dtype {data.dtype}")
    return np.ascontiguousarray(data, dtype=np.float64)


class SubjectStore:
    """Parsed subject files, at most ``capacity`` in memory (least recently used dropped first).

    A reader gives it a ``parse(path) -> object`` function; :meth:`get` parses a file on first use and keeps it
    until ``capacity`` other files were used since. With the default capacity of one, a dataset walked subject by
    subject (what the feature cache and the benchmark do) holds one subject in memory. Thread-safe (the feature
    cache loads the next trial in a background thread); pickles as its settings alone.
    """

    def __init__(self, parse: Callable[[Path], Any], capacity: int = 1):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.parse, self.capacity = parse, int(capacity)
        self._items: OrderedDict[Path, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"parse": self.parse, "capacity": self.capacity}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["parse"], state["capacity"])

    def get(self, path: Path) -> Any:
        """The parsed content of ``path`` (parsed now unless it is among the most recent ``capacity``)."""
        with self._lock:
            if path in self._items:
                self._items.move_to_end(path)
                return self._items[path]
            while len(self._items) >= self.capacity:
                self._items.popitem(last=False)  # drop before parsing: never two subjects at once
            value = self.parse(path)
            self._items[path] = value
            return value

    def clear(self) -> None:
        """Drop everything held."""
        with self._lock:
            self._items.clear()


class StoreLoader:
    """Picklable ``(name, baseline) -> array`` loader of one trial: ``extract(store.get(path), key, name,
    baseline)``, where ``extract`` is a module-level function of the reader."""

    def __init__(self, store: SubjectStore, path: Path, key: Any, extract: Callable[..., np.ndarray]):
        self.store, self.path, self.key, self.extract = store, path, key, extract

    def __call__(self, name: str, baseline: bool = False) -> np.ndarray:
        """Load signal ``name`` of the trial (its baseline part when ``baseline``) through the store."""
        return self.extract(self.store.get(self.path), self.key, name, baseline)


def subject_files(paths, pattern: str, what: str) -> list[tuple[int, Path]]:
    """``(subject number, path)`` of the files whose name matches ``pattern`` (group 1 = the number), sorted
    numerically; other files (``._s01.dat`` of macOS, notes, ``.DS_Store``) are skipped.

    Raises
    ------
    DatasetFormatError
        When two files give the same subject number.
    """
    import re

    regex = re.compile(pattern)
    found: dict[int, Path] = {}
    for path in paths:
        m = regex.match(path.name)
        if not m or not path.is_file():
            continue
        number = int(m.group(1))
        if number in found:
            raise DatasetFormatError(f"{path}: {what} {number} appears twice (also {found[number]}); expected one "
                                     "file per subject")
        found[number] = path
    return sorted(found.items())


def rating_to_unit(value: float, low: float = 1.0, high: float = 9.0) -> float:
    """Map a rating on ``[low, high]`` linearly onto [-1, 1] (DEAP/AMIGOS/WESAD-SAM 1..9: ``(r - 5) / 4``)."""
    from eegaffect.datasets.labels import RatingScale

    return RatingScale(score_min=low, score_max=high).to_unit(float(value))
