"""Channels: the sets eegaffect knows by name, their electrode positions, the sample-counter channel, and the
metadata defaults of readers.

Names are given exactly as the datasets and headsets spell them; matching to montages is case-insensitive.
Electrode positions come from ``electrode_positions.csv`` beside this module (MNE's 10-05 template plus SEED's
CB1/CB2, written by ``scripts/make_electrode_positions.py`` from :mod:`eegaffect.montage`, and tested to agree
with it); the simulated headset needs them for its source model.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["SEED_CHANNELS", "DREAMER_CHANNELS", "STANDARD_32", "STANDARD_64", "CHANNEL_SETS", "INDEX_CHANNEL_NAME",
           "electrode_positions", "fill_channel_info"]

_POSITIONS_FILE = Path(__file__).with_name("electrode_positions.csv")

#: Name of the sample-counter channel that players and the simulated headset add on request; a stream carrying
#: a channel of this name has its losses counted exactly (``index_channel="auto"`` of
#: :class:`~eegaffect.acquisition.lsl.Stream`).
INDEX_CHANNEL_NAME = "sample_index"

#: The 62 channels of SEED and SEED-IV, in file order (CB1/CB2 are cerebellar, below O1/O2).
SEED_CHANNELS: tuple[str, ...] = tuple(
    "FP1 FPZ FP2 AF3 AF4 F7 F5 F3 F1 FZ F2 F4 F6 F8 FT7 FC5 FC3 FC1 FCZ FC2 FC4 FC6 FT8 T7 C5 C3 C1 CZ C2 C4 C6 T8 "
    "TP7 CP5 CP3 CP1 CPZ CP2 CP4 CP6 TP8 P7 P5 P3 P1 PZ P2 P4 P6 P8 PO7 PO5 PO3 POZ PO4 PO6 PO8 CB1 O1 OZ O2 CB2"
    .split()
)

#: The 14 Emotiv EPOC channels of DREAMER, in file order.
DREAMER_CHANNELS: tuple[str, ...] = tuple("AF3 F7 F3 FC5 T7 P7 O1 O2 P8 T8 FC6 F4 F8 AF4".split())

#: A common 32-channel 10-20 layout (actiCAP / BioSemi-style naming).
STANDARD_32: tuple[str, ...] = tuple(
    "Fp1 Fp2 AF3 AF4 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 CP5 CP1 CP2 CP6 P7 P3 Pz P4 P8 PO3 PO4 O1 Oz O2"
    .split()
)

#: A common 64-channel 10-10 layout.
STANDARD_64: tuple[str, ...] = tuple(
    "Fp1 Fpz Fp2 AF7 AF3 AFz AF4 AF8 F7 F5 F3 F1 Fz F2 F4 F6 F8 FT7 FC5 FC3 FC1 FCz FC2 FC4 FC6 FT8 T7 C5 C3 C1 "
    "Cz C2 C4 C6 T8 TP7 CP5 CP3 CP1 CPz CP2 CP4 CP6 TP8 P7 P5 P3 P1 Pz P2 P4 P6 P8 PO7 PO3 POz PO4 PO8 O1 Oz O2 "
    "Iz TP9 TP10".split()
)

#: Named channel sets, for configs and the simulator (``montage: seed62``).
CHANNEL_SETS: dict[str, tuple[str, ...]] = {
    "seed62": SEED_CHANNELS,
    "dreamer14": DREAMER_CHANNELS,
    "standard32": STANDARD_32,
    "standard64": STANDARD_64,
}

assert len(SEED_CHANNELS) == 62 and len(DREAMER_CHANNELS) == 14
assert len(STANDARD_32) == 32 and len(STANDARD_64) == 64


@lru_cache(maxsize=1)
def _position_table() -> dict[str, np.ndarray]:
    table: dict[str, np.ndarray] = {}
    with _POSITIONS_FILE.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            table[row["name"].upper()] = np.array([float(row["x"]), float(row["y"]), float(row["z"])])
    return table


def electrode_positions(ch_names: Sequence[str]) -> np.ndarray:
    """Positions of the given channels from the packaged table (MNE 10-05 template plus CB1/CB2).

    Parameters
    ----------
    ch_names : sequence of str
        Channel names, any case (``FPZ`` and ``Fpz`` are the same site).

    Returns
    -------
    pos : ndarray, shape (n_chans, 3)
        xyz in metres, MNE head frame (x right, y anterior, z up).

    Raises
    ------
    ValueError
        Naming every channel the table does not know.
    """
    table = _position_table()
    missing = [ch for ch in ch_names if str(ch).upper() not in table]
    if missing:
        raise ValueError(f"no electrode position known for {len(missing)} channel(s): {missing}; expected 10-05 "
                         "names (e.g. 'Fp1', 'Cz', 'PO7') or SEED's CB1/CB2, or pass ch_pos")
    return np.stack([table[str(ch).upper()] for ch in ch_names])



def fill_channel_info(names: list, types: list, units: list,
                      stream_type: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Replace missing (None) channel names, types and units by the defaults every reader uses.

    The defaults: names ``"ch1"`` ... ``"chN"`` (by position), types the stream type in lower case (``"misc"``
    when the stream has no type), units ``"unknown"``. LSL descriptions, XDF headers and HDF5 recordings all
    fall back to them.

    Parameters
    ----------
    names, types, units : list of str | None
        One entry per channel, None where the source has none.
    stream_type : str
        The stream's content type (``"EEG"``).

    Returns
    -------
    ch_names, ch_types, ch_units : list of str
        Complete lists.
    missing : list of str
        What was filled in, e.g. ``["2 channel units"]`` (empty when nothing was missing).
    """
    default_type = stream_type.lower() or "misc"
    out, missing = [], []
    for label, values, default in (("names", names, lambda k: f"ch{k + 1}"), ("types", types,
                                   lambda k: default_type), ("units", units, lambda k: "unknown")):
        gaps = [k for k, v in enumerate(values) if v is None]
        if gaps:
            missing.append(f"{len(gaps)} channel {label}")
        out.append([default(k) if v is None else str(v) for k, v in enumerate(values)])
    return out[0], out[1], out[2], missing

