"""Which dataset a folder holds, from its layout (see :func:`eegaffect.datasets.detect_dataset`)."""

from __future__ import annotations

from pathlib import Path

from eegaffect.datasets.base import DatasetFormatError
from eegaffect.recordings import RECORDING_SUFFIXES  # the one list: files read as generic recordings

_SESSION_RE = r"^\d+_\d{8}\.mat$"


def is_recording_file(path: Path) -> bool:
    """Whether a file name has one of :data:`RECORDING_SUFFIXES`."""
    name = path.name.lower()
    return any(name.endswith(s) for s in RECORDING_SUFFIXES)


def _has_session_files(folder: Path) -> bool:
    import re

    pattern = re.compile(_SESSION_RE)
    return folder.is_dir() and any(pattern.match(p.name) for p in folder.iterdir() if p.is_file())


def detect(root: Path) -> str:
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
