"""DREAMER reader: 23 subjects x 18 film clips, 14-channel Emotiv EPOC EEG at 128 Hz, ratings 1..5.

The dataset is one MAT v5 file, ``DREAMER.mat`` (~400 MB), holding a single struct ``DREAMER``::

    DREAMER.Data{1, s}.EEG.stimuli{t}       (n_samples, 14) EEG of clip t (time x channels, lengths vary)
    DREAMER.Data{1, s}.EEG.baseline{t}      (n_samples, 14) the neutral clip shown before clip t (~61 s)
    DREAMER.Data{1, s}.ScoreValence/ScoreArousal/ScoreDominance   (18, 1) ratings 1..5
    DREAMER.EEG_SamplingRate = 128, DREAMER.EEG_Electrodes = {AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4}

A MAT struct can only be read whole, so the file is parsed once, when the dataset is opened, and only the EEG
arrays are kept (ECG and the other fields are dropped; baselines only with ``baseline=True``): about
23 x 18 x ~25,000 x 14 float64 ≈ 1.2 GB for the full dataset. :meth:`Trial.load` then returns a copy of one clip.
Trials pickled to worker processes carry only the file path and re-read it on first access there.

Targets: valence and arousal ratings mapped to [-1, 1] by the ``dreamer`` rating scale of the label map
(``(score - 3) / 2``). DREAMER has no discrete classes; ``target_class="valence"|"arousal"|"dominance"`` adds the
usual binary low/high split (``score > threshold``, threshold 3 by default).

ECG (``ecg=True``): ``DREAMER.Data{1, s}.ECG.stimuli{t}`` / ``.baseline{t}`` are (n_samples, 2) at
``DREAMER.ECG_SamplingRate`` (256 Hz), two leads whose names the file does not store (``ECG1``, ``ECG2``). With
``ecg=True`` the trials are :class:`~eegaffect.datasets.multimodal.MultimodalTrial` objects with the groups
``eeg`` (primary, what :meth:`Trial.load` returns, unchanged) and ``ecg`` (unit mV as documented for the
Shimmer sensor, unverified), read with :meth:`~eegaffect.datasets.multimodal.MultimodalTrial.load_group`; their
baselines with ``baseline=True``. Without it the ECG is dropped at parse time as before.
"""

from __future__ import annotations

import logging
import threading
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from eegaffect.acquisition.channels import DREAMER_CHANNELS
from eegaffect.datasets import _matfile
from eegaffect.datasets.base import DatasetFormatError, EEGDataset, Trial, TrialInfo
from eegaffect.datasets.labels import LabelMapConfig

__all__ = ["SFREQ", "read_dataset"]

logger = logging.getLogger("eegaffect.datasets")

NAME = "dreamer"
SFREQ = 128.0
_SCORE_FIELDS = {"valence": "ScoreValence", "arousal": "ScoreArousal", "dominance": "ScoreDominance"}


def read_dataset(root: Path, *, label_map: LabelMapConfig, baseline: bool = False,
                 target_class: str | None = None, threshold: float = 3.0, ecg: bool = False) -> EEGDataset:
    """Read ``DREAMER.mat``.

    Parameters
    ----------
    root : Path
        The file ``DREAMER.mat`` or the folder holding it.
    label_map : LabelMapConfig
        Its ``dreamer`` rating scale maps scores onto [-1, 1].
    baseline : bool
        Keep the baseline recordings; :meth:`Trial.load_baseline` returns the one shown before each clip.
    target_class : {"valence", "arousal", "dominance"} | None
        Add binary classes ``("low", "high")`` from this rating (``score > threshold`` is high).
    threshold : float
        Rating threshold of the binary classes.
    ecg : bool
        Also keep the ECG: trials become multimodal, with groups ``eeg`` and ``ecg`` (see the module docstring).

    Returns
    -------
    dataset : EEGDataset
        One trial per subject and clip (session 1, trial = clip number 1..18).
    """
    root = Path(root)
    path = root if root.is_file() else root / "DREAMER.mat"
    if not path.is_file():
        listing = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else []
        raise DatasetFormatError(f"{root}: expected the file DREAMER.mat, found {listing}")
    if target_class is not None and target_class not in _SCORE_FIELDS:
        raise ValueError(f"target_class must be one of {sorted(_SCORE_FIELDS)} or None, got {target_class!r}")
    store = _DreamerStore(path, baseline, ecg)
    meta = store.load()
    class_names: tuple[str, ...] = ("low", "high") if target_class else ()
    trials = []
    scale = label_map.dreamer
    for s, subject in enumerate(meta["subjects"], start=1):
        for t, n_times in enumerate(subject["lengths"], start=1):
            scores = {k: subject[k][t - 1] for k in _SCORE_FIELDS}
            try:
                valence, arousal = scale.to_unit(scores["valence"]), scale.to_unit(scores["arousal"])
            except ValueError as exc:
                raise DatasetFormatError(f"{path}: subject {s} clip {t}: {exc}") from None
            label = label_name = None
            if target_class:
                label = int(scores[target_class] > threshold)
                label_name = class_names[label]
            info = TrialInfo(dataset=NAME, subject=s, session=1, trial=t, label=label, label_name=label_name,
                             valence=valence, arousal=arousal, sfreq=meta["sfreq"], ch_names=meta["ch_names"],
                             n_times=int(n_times), source=path, key=f"DREAMER.Data{{1,{s}}}.EEG.stimuli{{{t}}}")
            if ecg:
                trials.append(_multimodal_trial(info, store, meta, s, t, baseline, scores, threshold))
                continue
            base = partial(store.baseline, s, t) if baseline else None
            trials.append(Trial(info, partial(store.stimulus, s, t), baseline_loader=base))
    return EEGDataset(NAME, trials, class_names, root)


def _multimodal_trial(info: TrialInfo, store: "_DreamerStore", meta: dict, s: int, t: int, baseline: bool,
                      scores: dict, threshold: float):
    from eegaffect.datasets.multimodal import MultimodalTrial, SignalGroup

    lengths = meta["ecg_lengths"][(s, t)]
    groups = {"eeg": SignalGroup("eeg", "eeg", info.sfreq, info.ch_names, "uV", info.n_times,
                                 lengths["eeg_base"] if baseline else 0),
              "ecg": SignalGroup("ecg", "ecg", meta["ecg_sfreq"], ("ECG1", "ECG2"), "mV", lengths["ecg"],
                                 lengths["ecg_base"] if baseline else 0)}
    ratings = {k: float(v) for k, v in scores.items()}
    for dim in _SCORE_FIELDS:
        ratings[f"{dim}_class"] = int(scores[dim] > threshold)
    return MultimodalTrial(info, groups, _DreamerGroups(store, s, t), ratings=ratings)


class _DreamerGroups:
    """Picklable ``(name, baseline) -> array`` loader of one DREAMER clip."""

    def __init__(self, store: "_DreamerStore", s: int, t: int):
        self.store, self.s, self.t = store, s, t

    def __call__(self, name: str, baseline: bool = False) -> np.ndarray:
        if name == "eeg":
            return self.store.baseline(self.s, self.t) if baseline else self.store.stimulus(self.s, self.t)
        self.store._ensure()
        table = self.store._ecg_baselines if baseline else self.store._ecg
        return np.array(table[(self.s, self.t)], dtype=np.float64, order="C")


class _DreamerStore:
    """The EEG (and, when asked, ECG) arrays of one DREAMER.mat, parsed once; pickles as the path alone."""

    def __init__(self, path: Path, baseline: bool, ecg: bool = False) -> None:
        self.path = path
        self.keep_baseline = baseline
        self.keep_ecg = ecg
        self._stimuli: dict[tuple[int, int], np.ndarray] | None = None
        self._baselines: dict[tuple[int, int], np.ndarray] = {}
        self._ecg: dict[tuple[int, int], np.ndarray] = {}
        self._ecg_baselines: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"path": self.path, "keep_baseline": self.keep_baseline, "keep_ecg": self.keep_ecg}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["keep_baseline"], state.get("keep_ecg", False))

    def stimulus(self, s: int, t: int) -> np.ndarray:
        self._ensure()
        return np.array(self._stimuli[(s, t)], dtype=np.float64, order="C")

    def baseline(self, s: int, t: int) -> np.ndarray:
        self._ensure()
        return np.array(self._baselines[(s, t)], dtype=np.float64, order="C")

    def _ensure(self) -> None:
        if self._stimuli is None:
            self.load()

    def load(self) -> dict[str, Any]:
        """Parse the file, keep the EEG arrays, return the metadata."""
        with self._lock:
            variables = _matfile.list_variables(self.path)
            if "DREAMER" not in variables:
                raise DatasetFormatError(f"{self.path}: expected the struct variable 'DREAMER', found "
                                         f"{sorted(variables)}")
            logger.info("reading %s (the whole struct; DREAMER.mat cannot be read per clip)", self.path)
            top = _matfile.read_variables(self.path, ["DREAMER"])["DREAMER"]
            meta, stimuli, baselines = _parse(self.path, top, self.keep_baseline)
            if self.keep_ecg:
                meta.update(_parse_ecg(self.path, top, self.keep_baseline, stimuli, baselines, self._ecg,
                                       self._ecg_baselines))
            self._stimuli, self._baselines = stimuli, baselines
        return meta


def _field(path: Path, struct: Any, name: str, where: str) -> Any:
    names = getattr(getattr(struct, "dtype", None), "names", None)
    if not names or name not in names:
        raise DatasetFormatError(f"{path}: expected the field {where}.{name}, found fields {list(names or [])}")
    return struct[name]


def _cell0(value: Any) -> Any:
    """Unwrap scipy's (1, 1) containers."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def _cells(value: Any) -> list:
    """The elements of a MATLAB cell array (or of a struct array), however scipy wrapped it."""
    while (isinstance(value, np.ndarray) and value.dtype == object and value.size == 1
           and isinstance(value.reshape(-1)[0], np.ndarray) and value.reshape(-1)[0].dtype == object):
        value = value.reshape(-1)[0]
    items = list(value.ravel()) if isinstance(value, np.ndarray) and value.dtype == object else [value]
    out = []
    for item in items:
        if isinstance(item, np.ndarray) and item.size > 1 and (item.dtype.names or item.dtype.kind == "U"):
            out.extend(item.reshape(-1)[i:i + 1] for i in range(item.size))  # struct array / char matrix rows
        else:
            out.append(item)
    return out


def _struct0(path: Path, value: Any, where: str) -> Any:
    value = _cell0(value)
    if not (isinstance(value, np.ndarray) and value.dtype.names and value.size == 1):
        raise DatasetFormatError(f"{path}: expected {where} to be a 1x1 struct, found "
                                 f"{getattr(value, 'dtype', type(value).__name__)} {getattr(value, 'shape', '')}")
    return value.reshape(-1)[0]


def _parse(path: Path, top: Any, keep_baseline: bool):
    root = _struct0(path, top, "DREAMER")
    sfreq = float(np.asarray(_cell0(_field(path, root, "EEG_SamplingRate", "DREAMER"))).squeeze())
    electrodes = _cells(_field(path, root, "EEG_Electrodes", "DREAMER"))
    ch_names = tuple(str(np.asarray(e).squeeze()).strip() for e in electrodes)
    if len(ch_names) != len(DREAMER_CHANNELS):
        raise DatasetFormatError(f"{path}: expected {len(DREAMER_CHANNELS)} EEG_Electrodes {list(DREAMER_CHANNELS)}, "
                                 f"found {len(ch_names)}: {list(ch_names)}")
    cells = _cells(_field(path, root, "Data", "DREAMER"))
    subjects, stimuli, baselines = [], {}, {}
    n_chans = len(ch_names)
    for s, cell in enumerate(cells, start=1):
        where = f"DREAMER.Data{{1,{s}}}"
        subj = _struct0(path, cell, where)
        eeg = _struct0(path, _field(path, subj, "EEG", where), where + ".EEG")
        clips = _cells(_field(path, eeg, "stimuli", where + ".EEG"))
        entry: dict[str, Any] = {"lengths": []}
        for key, field in _SCORE_FIELDS.items():
            scores = np.asarray(_cell0(_field(path, subj, field, where)), dtype=np.float64).ravel()
            if scores.shape != (len(clips),):
                raise DatasetFormatError(f"{path}: expected {where}.{field} to hold {len(clips)} ratings (one per "
                                         f"clip), found shape {scores.shape}")
            entry[key] = scores
        for t, clip in enumerate(clips, start=1):
            stimuli[(s, t)] = _eeg_array(path, clip, n_chans, f"{where}.EEG.stimuli{{{t}}}")
            entry["lengths"].append(stimuli[(s, t)].shape[0])
        if keep_baseline:
            base = _cells(_field(path, eeg, "baseline", where + ".EEG"))
            if len(base) != len(clips):
                raise DatasetFormatError(f"{path}: expected {len(clips)} baselines in {where}.EEG.baseline, "
                                         f"found {len(base)}")
            for t, clip in enumerate(base, start=1):
                baselines[(s, t)] = _eeg_array(path, clip, n_chans, f"{where}.EEG.baseline{{{t}}}")
        subjects.append(entry)
    if not subjects:
        raise DatasetFormatError(f"{path}: DREAMER.Data holds no subjects")
    return {"sfreq": sfreq, "ch_names": ch_names, "subjects": subjects}, stimuli, baselines


def _eeg_array(path: Path, value: Any, n_chans: int, where: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 2 or arr.shape[1] != n_chans or arr.shape[0] < 1 or arr.dtype.kind not in "fiu":
        hint = " (transposed? DREAMER stores time x channels)" if arr.ndim == 2 and arr.shape[0] == n_chans else ""
        raise DatasetFormatError(f"{path}: expected {where} to be a numeric (n_samples, {n_chans}) array, found "
                                 f"{arr.dtype} {arr.shape}{hint}")
    return arr  # kept as parsed (no copy while the whole struct is still in memory); copied per access


def _parse_ecg(path: Path, top: Any, keep_baseline: bool, stimuli: dict, baselines: dict, ecg: dict,
               ecg_baselines: dict) -> dict[str, Any]:
    """Fill ``ecg`` / ``ecg_baselines`` with each clip's (n, 2) ECG; return ``ecg_sfreq`` and per-clip lengths."""
    root = _struct0(path, top, "DREAMER")
    sfreq = float(np.asarray(_cell0(_field(path, root, "ECG_SamplingRate", "DREAMER"))).squeeze())
    lengths: dict[tuple[int, int], dict[str, int]] = {}
    for s, cell in enumerate(_cells(_field(path, root, "Data", "DREAMER")), start=1):
        where = f"DREAMER.Data{{1,{s}}}"
        subj = _struct0(path, cell, where)
        node = _struct0(path, _field(path, subj, "ECG", where), where + ".ECG")
        clips = _cells(_field(path, node, "stimuli", where + ".ECG"))
        if any((s, t) not in stimuli for t in range(1, len(clips) + 1)):
            raise DatasetFormatError(f"{path}: {where}: expected as many ECG clips as EEG clips, found {len(clips)}")
        base = _cells(_field(path, node, "baseline", where + ".ECG")) if keep_baseline else []
        if keep_baseline and len(base) != len(clips):
            raise DatasetFormatError(f"{path}: expected {len(clips)} baselines in {where}.ECG.baseline, found "
                                     f"{len(base)}")
        for t, clip in enumerate(clips, start=1):
            ecg[(s, t)] = _eeg_array(path, clip, 2, f"{where}.ECG.stimuli{{{t}}}")
            entry = {"ecg": ecg[(s, t)].shape[0], "ecg_base": 0, "eeg_base": 0}
            if keep_baseline:
                ecg_baselines[(s, t)] = _eeg_array(path, base[t - 1], 2, f"{where}.ECG.baseline{{{t}}}")
                entry["ecg_base"] = ecg_baselines[(s, t)].shape[0]
                entry["eeg_base"] = baselines[(s, t)].shape[0]
            lengths[(s, t)] = entry
    return {"ecg_sfreq": sfreq, "ecg_lengths": lengths}
