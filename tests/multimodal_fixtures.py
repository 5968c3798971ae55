"""Tiny DEAP / AMIGOS / WESAD copies in the layouts of DATA_FORMATS.md, written independently of eegaffect's writers.

Samples encode where they came from, as in :mod:`dataset_fixtures`: ``code + ch + i / 1e4`` with
``code = subject * 1e5 + trial * 100`` (plus a per-device offset for WESAD), so a test can check that a reader
returned the right columns of the right trial of the right subject.

The DEAP and WESAD pickles are written the way the providers' Python-2 pickles look: protocol 2, ``str`` keys and
the arrays' raw bytes as Python-2 strings (``SHORT_BINSTRING`` / ``BINSTRING``, read back with
``encoding="latin1"``), numpy globals under ``numpy.core.multiarray``.
"""

from __future__ import annotations

import pickle
import struct
import types
from pathlib import Path

import numpy as np
import scipy.io

DEAP_EEG = tuple(["Fp1", "AF3", "F3", "F7", "FC5", "FC1", "C3", "T7", "CP5", "CP1", "P3", "P7", "PO3", "O1", "Oz",
                  "Pz", "Fp2", "AF4", "Fz", "F4", "F8", "FC6", "FC2", "Cz", "C4", "T8", "CP6", "CP2", "P4", "P8",
                  "PO4", "O2"])


def code(subject: int, trial: int) -> float:
    return subject * 1e5 + trial * 100


def coded(subject: int, trial: int, n_chans: int, n_times: int, offset: float = 0.0) -> np.ndarray:
    """(n_chans, n_times) coded array."""
    ch = np.arange(n_chans, dtype=np.float64)[:, None]
    t = np.arange(n_times, dtype=np.float64)[None, :]
    # time steps of 1/16: exact in float32 even at 1e6 (DEAP stores float32), so no coded channel is constant
    return code(subject, trial) + offset + ch + t / 16


class _Py2Pickler(pickle._Pickler):
    """Writes protocol-2 pickles shaped like Python 2's: str/bytes as py2 strings, numpy.core module paths."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _py2str(self, obj):
        data = obj if isinstance(obj, bytes) else obj.encode("latin-1")
        n = len(data)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) + data if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
                   + data)
        self.memoize(obj)

    def _str(self, obj):
        if obj.isascii():
            return self._py2str(obj)
        return pickle._Pickler.save_str(self, obj)

    def save_global(self, obj, name=None):
        name = name or obj.__qualname__
        module = obj.__module__.replace("numpy._core", "numpy.core")
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    dispatch[bytes] = _py2str
    dispatch[str] = _str
    dispatch[types.FunctionType] = save_global


def dump_py2(obj, path: Path) -> None:
    with open(path, "wb") as fh:
        _Py2Pickler(fh, protocol=2).dump(obj)


# ---------------------------------------------------------------------------------------------------------------
def deap_subject(subject: int, n_trials: int = 4, n_times: int = 384 + 256, dtype=np.float32):
    data = np.stack([coded(subject, t + 1, 40, n_times) for t in range(n_trials)]).astype(dtype)
    rng = np.random.default_rng(subject)
    labels = rng.uniform(1, 9, size=(n_trials, 4))
    labels[0, :2] = 5.0  # on the threshold: low with '>', high with '>='
    return {"data": data, "labels": labels}


def write_deap(root: Path, subjects=(1, 2, 10), n_trials: int = 4, n_times: int = 384 + 256, strays: bool = True,
               py2: bool = True) -> dict[int, dict]:
    folder = root / "data_preprocessed_python"
    folder.mkdir(parents=True)
    out = {}
    for s in subjects:
        content = deap_subject(s, n_trials, n_times)
        path = folder / f"s{s:02d}.dat"
        if py2:
            dump_py2(content, path)
        else:
            with open(path, "wb") as fh:
                pickle.dump(content, fh, protocol=2)
        out[s] = content
    if strays:
        (folder / "._s01.dat").write_bytes(b"\x00\x05\x16\x07AppleDouble")
        (folder / "notes.txt").write_text("my notes")
        (root / "participant_ratings.csv").write_text("Participant_id,Trial,Experiment_id\n")
    return out


# ---------------------------------------------------------------------------------------------------------------
def amigos_subject(subject: int, n_times: int = 384, empty=(), nan=()):
    """The four (1, 20) cells of one participant; ``empty``/``nan``: trial numbers (1-based) made empty / NaN GSR."""
    joined = np.empty((1, 20), dtype=object)
    selfs = np.empty((1, 20), dtype=object)
    ext = np.empty((1, 20), dtype=object)
    ids = np.empty((1, 20), dtype=object)
    rng = np.random.default_rng(100 + subject)
    ratings = {}
    for t in range(1, 21):
        n = n_times + 128 * (t > 16)
        x = coded(subject, t, 17, n).T
        if t in nan:
            x[5:9, 16] = np.nan
        joined[0, t - 1] = np.zeros((0, 0)) if t in empty else x
        sa = np.concatenate([rng.uniform(1, 9, 5), rng.integers(0, 2, 7)])
        selfs[0, t - 1] = sa.reshape(1, 12)
        ratings[t] = sa
        n_seg = max(1, n // (128 * 20) + 1)
        ext[0, t - 1] = np.column_stack([np.arange(1, n_seg + 1), np.full(n_seg, -0.5), np.linspace(0, 0.5, n_seg)])
        ids[0, t - 1] = f"V{t}"
    return {"VideoIDs": ids, "joined_data": joined, "labels_selfassessment": selfs,
            "labels_ext_annotation": ext}, ratings


def write_amigos(root: Path, subjects=(1, 2, 10), in_folder=(2,), empty=(18,), nan=(3,)) -> dict[int, dict]:
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for s in subjects:
        mdict, ratings = amigos_subject(s, empty=empty, nan=nan)
        stem = f"Data_Preprocessed_P{s:02d}"
        folder = root / stem if s in in_folder else root
        folder.mkdir(exist_ok=True)
        scipy.io.savemat(folder / f"{stem}.mat", mdict, do_compression=True)
        out[s] = ratings
    (root / "._Data_Preprocessed_P01.mat").write_bytes(b"\x00\x05\x16\x07")
    (root / "readme.txt").write_text("AMIGOS fixture")
    return out


# ---------------------------------------------------------------------------------------------------------------
#: (condition code, seconds) of the fixture protocol; 0 = transient.
WESAD_PROTOCOL = ((0, 1.0), (1, 12.0), (0, 0.5), (2, 11.0), (0, 0.5), (3, 10.0), (4, 10.0), (6, 2.0))
WESAD_WRIST = {"ACC": (32, 3), "BVP": (64, 1), "EDA": (4, 1), "TEMP": (4, 1)}
WESAD_CHEST = ("ACC", "ECG", "EMG", "EDA", "Temp", "Resp")


def wesad_subject(subject: int) -> dict:
    label = np.concatenate([np.full(int(sec * 700), c, dtype=np.int32) for c, sec in WESAD_PROTOCOL])
    n = label.size
    chest = {}
    for i, key in enumerate(WESAD_CHEST):
        width = 3 if key == "ACC" else 1
        chest[key] = coded(subject, 0, width, n, offset=10 * i).T
    wrist = {}
    for i, (key, (fs, width)) in enumerate(WESAD_WRIST.items()):
        m = int(round(n * fs / 700))
        wrist[key] = coded(subject, 0, width, m, offset=1000 + 10 * i).T
    return {"signal": {"chest": chest, "wrist": wrist}, "label": label, "subject": f"S{subject}"}


QUEST = """# Subj;S{k};;;;
# ORDER;Base;TSST;Medi 1;Fun;Medi 2;sRead;fRead
# START;7.08;32.00;51.00;57.30;73.00;
# END;26.32;43.20;58.00;64.30;80.00;
;;;;;
# PANAS;1;2;3;4;5
# STAI;1;2;3;4;5;6
# DIM;7;2;;;
# DIM;3;8;;;
# DIM;6;3;;;
# DIM;9;5;;;
# DIM;5;1;;;
;;;;;
# SSSQ;2;3;4;5
"""


def write_wesad(root: Path, subjects=(2, 3, 10), quest=(2, 10)) -> dict[int, dict]:
    out = {}
    for s in subjects:
        folder = root / f"S{s}"
        folder.mkdir(parents=True)
        content = wesad_subject(s)
        dump_py2(content, folder / f"S{s}.pkl")
        if s in quest:
            (folder / f"S{s}_quest.csv").write_text(QUEST.format(k=s))
        (folder / f"S{s}_readme.txt").write_text("### Personal information ###\n")
        out[s] = content
    (root / "wesad_readme.pdf").write_bytes(b"%PDF-1.4")
    (root / "notes").mkdir()
    return out
