"""Electrode positions for any channel set, from MNE's template montages.

Channel names are matched case-insensitively (SEED writes ``FPZ``, MNE ``Fpz``). SEED's cerebellar channels
CB1/CB2 are in no MNE template: they get explicit positions on the scalp sphere below O1/O2 (the positions of
the 10-5 sites ``OI1h``/``OI2h`` pushed 10 mm further down), which keeps them posterior-inferior like the real
cap's cerebellar electrodes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

__all__ = ["channel_key", "template_positions", "channel_positions", "make_montage", "create_info"]

_TEMPLATE_CANDIDATES = ("colin27_1005", "standard_1005")


def channel_key(name) -> str:
    """The form in which eegaffect compares channel names: case-insensitive (``FPZ`` == ``Fpz``).

    The one rule for every comparison of channel names (a stream's against a bundle's, a model's against a
    montage's, duplicate checks).

    Parameters
    ----------
    name : str
        A channel name.

    Returns
    -------
    key : str
        ``str(name).upper()``.
    """
    return str(name).upper()


@lru_cache(maxsize=1)
def template_positions() -> dict[str, np.ndarray]:
    """Positions (metres, head frame) of every 10-05 site in MNE's template, keyed by upper-case name.

    Returns
    -------
    positions : dict of str to ndarray, shape (3,)
        Upper-case channel name -> xyz position. Includes ``CB1`` and ``CB2``.
    """
    import mne

    builtin = mne.channels.get_builtin_montages()
    name = next(n for n in _TEMPLATE_CANDIDATES if n in builtin)
    montage = mne.channels.make_standard_montage(name)
    pos = {channel_key(k): np.asarray(v, dtype=float) for k, v in montage.get_positions()["ch_pos"].items()}
    down = np.array([0.0, 0.0, -0.010])
    pos["CB1"] = pos["OI1H"] + down
    pos["CB2"] = pos["OI2H"] + down
    return pos


def channel_positions(ch_names: Sequence[str]) -> np.ndarray:
    """Positions of the given channels.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names, any case.

    Returns
    -------
    pos : ndarray, shape (n_chans, 3)
        xyz in metres (MNE head frame).

    Raises
    ------
    ValueError
        Naming every channel that has no known position.
    """
    table = template_positions()
    missing = [ch for ch in ch_names if channel_key(ch) not in table]
    if missing:
        raise ValueError(f"no electrode position known for {len(missing)} channel(s): {missing}; expected names of "
                         "the 10-05 system (e.g. 'Fp1', 'Cz', 'PO7') or SEED's CB1/CB2")
    return np.stack([table[channel_key(ch)] for ch in ch_names])


def make_montage(ch_names: Sequence[str]):
    """An MNE montage with a position for every channel, keeping the given spelling.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names.

    Returns
    -------
    montage : mne.channels.DigMontage
        Montage in the head frame.
    """
    import mne

    pos = channel_positions(ch_names)
    return mne.channels.make_dig_montage(ch_pos=dict(zip(ch_names, pos)), coord_frame="head")


def create_info(ch_names: Sequence[str], sfreq: float, ch_types: str | Sequence[str] = "eeg"):
    """An MNE ``Info`` with the montage set (for EEG channels).

    Parameters
    ----------
    ch_names : sequence of str
        Channel names.
    sfreq : float
        Sampling rate in Hz.
    ch_types : str | sequence of str
        MNE channel types.

    Returns
    -------
    info : mne.Info
        Measurement info with electrode positions.
    """
    import mne

    info = mne.create_info(list(ch_names), float(sfreq), ch_types)
    eeg = [ch for ch, kind in zip(info.ch_names, info.get_channel_types()) if kind == "eeg"]
    if eeg:
        info.set_montage(make_montage(eeg), on_missing="ignore")
    return info
