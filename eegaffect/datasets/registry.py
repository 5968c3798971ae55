"""Which readers exist and which one a folder needs: the entry points :func:`load_dataset`,
:func:`load_extracted_features` and :func:`detect_dataset`.

The readers (:mod:`~eegaffect.datasets.seed`, :mod:`~eegaffect.datasets.seed_iv`,
:mod:`~eegaffect.datasets.dreamer`, :mod:`~eegaffect.datasets.recording`) import only
:mod:`eegaffect.datasets.base` (the trial and dataset types); this module imports a reader when it is asked for one,
so there is no import cycle between the types, the readers and the registry.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from eegaffect.datasets.base import DatasetFormatError, EEGDataset, TrialInfo
from eegaffect.datasets.recording import is_recording_file
from eegaffect.recordings import RECORDING_SUFFIXES  # the one list: files read as generic recordings

__all__ = ["DATASET_NAMES", "READERS", "load_dataset", "load_extracted_features", "detect_dataset"]

#: Names accepted by :func:`load_dataset`.
DATASET_NAMES: tuple[str, ...] = ("seed", "seed-iv", "dreamer", "recording", "deap", "amigos", "wesad")

#: Dataset name -> the module reading it (``read_dataset``, and ``read_extracted_features`` where the provider
#: ships features).
READERS: dict[str, str] = {"seed": "eegaffect.datasets.seed", "seed-iv": "eegaffect.datasets.seed_iv",
                           "dreamer": "eegaffect.datasets.dreamer", "recording": "eegaffect.datasets.recording",
                           "deap": "eegaffect.datasets.deap", "amigos": "eegaffect.datasets.amigos",
                           "wesad": "eegaffect.datasets.wesad"}


def load_dataset(root: str | Path, name: str | None = "seed", label_map=None, **options) -> EEGDataset:
    """Open a dataset folder (metadata only; trials load lazily).

    Parameters
    ----------
    root : str | Path
        The dataset folder (or file, for DREAMER and recordings). For SEED: the folder holding
        ``Preprocessed_EEG/`` (or ``SEED_EEG/``), or ``Preprocessed_EEG/`` itself.
    name : {"seed", "seed-iv", "dreamer", "recording", "deap", "amigos", "wesad"} | None
        Which reader; None detects it with :func:`detect_dataset`.
    label_map : LabelMapConfig | dict | str | Path | None
        Label -> valence/arousal table (see :mod:`eegaffect.datasets.labels`); None uses the packaged
        ``configs/labels.yaml``.
    **options
        Reader options, e.g. ``baseline=True`` for DREAMER, ``ch_names=...`` / ``pattern=...`` for recordings.

    Returns
    -------
    dataset : EEGDataset

    Raises
    ------
    DatasetFormatError
        When the folder does not hold the named dataset in its known layout.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist")
    if name is None:
        name = detect_dataset(root)
    name = _check_name(name)
    from eegaffect.datasets.labels import resolve_label_map

    labels = resolve_label_map(label_map)
    reader = _reader(name)
    return reader.read_dataset(root, label_map=labels, **options)


def load_extracted_features(root: str | Path, name: str = "seed", family: str = "de_LDS",
                            **options) -> list[tuple[TrialInfo, np.ndarray]]:
    """Read the providers' precomputed features (SEED ``ExtractedFeatures``, SEED-IV ``eeg_feature_smooth``).

    Parameters
    ----------
    root : str | Path
        Dataset folder (or the features folder itself).
    name : {"seed", "seed-iv"}
        Which dataset.
    family : str
        Feature family as in the variable names without the trial number: ``de_LDS``, ``de_movingAve``,
        ``psd_LDS``, ``psd_movingAve`` (also ``dasm_*``, ``rasm_*``, ``asm_*``, ``dcau_*`` where present).
    **options
        ``subjects`` (iterable of int) to read only some subjects; for SEED ``window="1s"|"4s"`` picks
        ``ExtractedFeatures_1s`` / ``_4s`` in the newer ``SEED_EEG`` layout; ``label_map`` as in
        :func:`load_dataset`.

    Returns
    -------
    features : list of (TrialInfo, ndarray, shape (n_windows, n_chans, n_bands))
        One entry per trial, sorted by subject, session, trial. ``TrialInfo.sfreq`` is the window rate (1 Hz for
        1-s windows), ``n_times`` the number of windows, ``key`` the variable name (``de_LDS3``). The files store
        ``(n_chans, n_windows, n_bands)``; the arrays are transposed to time first. For asymmetry families the
        "channels" are electrode pairs and ``ch_names`` is empty.
    """
    name = _check_name(name)
    if name not in ("seed", "seed-iv"):
        raise ValueError(f"extracted features exist for 'seed' and 'seed-iv' only, got {name!r}")
    if not isinstance(family, str) or not family or family[-1].isdigit():
        raise ValueError(f"family must be a variable-name prefix such as 'de_LDS', got {family!r}")
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist")
    from eegaffect.datasets.labels import resolve_label_map

    labels = resolve_label_map(options.pop("label_map", None))
    return _reader(name).read_extracted_features(root, family=family, label_map=labels, **options)


def detect_dataset(root: str | Path) -> str:
    """Tell which dataset a folder (or file) holds, from its layout.

    Parameters
    ----------
    root : str | Path
        Folder or file.

    Returns
    -------
    name : {"seed", "seed-iv", "dreamer", "recording", "deap", "amigos", "wesad"}

    Raises
    ------
    DatasetFormatError
        When no known layout matches, or when markers of several datasets are mixed in one folder.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist")
    return _detect(root)


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string, got {type(name).__name__}")
    key = name.lower().replace("_", "-")
    if key == "seediv":
        key = "seed-iv"
    if key not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {list(DATASET_NAMES)}")
    return key


def _reader(name: str):
    return importlib.import_module(READERS[name])


# ---- detection ----
_SESSION_RE = r"^\d+_\d{8}\.mat$"


def _has_session_files(folder: Path) -> bool:
    import re

    pattern = re.compile(_SESSION_RE)
    return folder.is_dir() and any(pattern.match(p.name) for p in folder.iterdir() if p.is_file())


def _detect(root: Path) -> str:
    """Dataset name for ``root``; raises :class:`DatasetFormatError` when unknown or mixed."""
    if root.is_file():
        if root.name.lower() == "dreamer.mat":
            return "dreamer"
        if is_recording_file(root):
            return "recording"
        raise DatasetFormatError(f"{root}: a single file must be DREAMER.mat or a recording "
                                 f"({', '.join(RECORDING_SUFFIXES)}); found {root.name!r}")
    found: dict[str, str] = {}
    if (root / "DREAMER.mat").is_file():
        found["dreamer"] = "DREAMER.mat"
    for marker in ("eeg_raw_data", "eeg_feature_smooth", "SEED_IV", "SEED-IV"):
        if (root / marker).is_dir():
            found.setdefault("seed-iv", marker + "/")
    if any(_has_session_files(root / s) for s in ("1", "2", "3")):
        found.setdefault("seed-iv", "session folders 1/2/3")
    for marker in ("Preprocessed_EEG", "ExtractedFeatures", "SEED_EEG", "ExtractedFeatures_1s"):
        if (root / marker).is_dir():
            found.setdefault("seed", marker + "/")
    if _has_session_files(root):
        found.setdefault("seed", "{subject}_{YYYYMMDD}.mat files")
    _detect_multimodal(root, found)
    recordings = [p.name for p in root.iterdir() if p.is_file() and is_recording_file(p)]
    if recordings:
        found["recording"] = f"{len(recordings)} recording file(s), e.g. {sorted(recordings)[0]!r}"
    if len(found) > 1:
        raise DatasetFormatError(f"{root}: mixed folder: it holds markers of several datasets "
                                 f"({'; '.join(f'{k}: {v}' for k, v in sorted(found.items()))}); point at one "
                                 "dataset's folder or pass name=...")
    if not found:
        listing = sorted(p.name for p in root.iterdir())[:12]
        raise DatasetFormatError(f"{root}: no known dataset layout (expected Preprocessed_EEG/ or SEED_EEG/ for "
                                 "SEED, eeg_raw_data/ for SEED-IV, DREAMER.mat, data_preprocessed_python/ for DEAP, "
                                 "Data_Preprocessed_PXX.mat for AMIGOS, S<k>/S<k>.pkl for WESAD, or recording "
                                 "files); found "
                                 f"{listing}")
    return next(iter(found))


def _detect_multimodal(root: Path, found: dict[str, str]) -> None:
    """Markers of DEAP (``data_preprocessed_python/`` or ``sNN.dat``), AMIGOS (``Data_Preprocessed_PNN.mat``, also
    in folders of that name) and WESAD (``S<k>/S<k>.pkl``)."""
    import re

    names = [p.name for p in root.iterdir()]
    if (root / "data_preprocessed_python").is_dir():
        found.setdefault("deap", "data_preprocessed_python/")
    elif any(re.fullmatch(r"s\d+\.dat", n) for n in names):
        found.setdefault("deap", "s<NN>.dat files")
    if any(re.fullmatch(r"Data_Preprocessed_P\d+(\.mat)?", n) for n in names):
        found.setdefault("amigos", "Data_Preprocessed_P<NN>.mat")
    if any(re.fullmatch(r"S\d+", n) and (root / n / f"{n}.pkl").is_file() for n in names):
        found.setdefault("wesad", "S<k>/S<k>.pkl")
