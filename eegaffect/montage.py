"""Electrode positions for any channel set, from MNE's template montages.

Channel names are compared through :func:`channel_key`: case-insensitively (SEED writes ``FPZ``, MNE ``Fpz``),
without the decorations devices add (``Fc5.``, ``EEG Fp1-REF``) and with old 10-20 names mapped (T3 -> T7).
SEED's cerebellar channels CB1/CB2 are in no MNE template: they get explicit positions on the scalp sphere below
O1/O2 (the positions of the 10-5 sites ``OI1h``/``OI2h`` pushed 10 mm further down), which keeps them
posterior-inferior like the real cap's cerebellar electrodes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import numpy as np

__all__ = ["channel_key", "template_positions", "channel_positions", "make_montage", "create_info"]

_TEMPLATE_CANDIDATES = ("colin27_1005", "standard_1005")


#: Old 10-20 names and their 10-10 names (modified combinatorial nomenclature; ACNS guideline 2, 2016).
OLD_1020_NAMES = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
#: Channel-type prefixes devices and EDF writers put before the electrode name (``EEG Fp1``, ``EEG:Fp1``).
_PREFIX = re.compile(r"^(?:EEG)[\s:_-]+(?=[A-Za-z])", re.IGNORECASE)
#: Reference suffixes (``Fp1-REF``, ``Fp1-A1``, ``Cz-LE``): a common reference, not a bipolar derivation.
_REF_SUFFIX = re.compile(r"[\s_:-]+(?:REF|A1|A2|A1A2|A12|M1|M2|M1M2|LE|RE|LM|AVG|AVE|AV|AR|CAR|LINKED|REF\d*)$",
                         re.IGNORECASE)


def channel_key(name) -> str:
    """The form in which eegaffect compares channel names, the one rule for every comparison.

    Two spellings of one electrode get the same key: case is ignored (``FPZ`` == ``Fpz``, as MNE's
    ``match_case=False``), the decorations devices and file formats add are stripped -- surrounding blanks and
    padding dots (PhysioNet EDF: ``Fc5.``, ``C3..``), a type prefix (``EEG Fp1``), a reference suffix
    (``Fp1-REF``, ``Fp1-A1``, ``Cz-LE``) -- and old 10-20 names take their 10-10 names (:data:`OLD_1020_NAMES`:
    T3/T4/T5/T6 -> T7/T8/P7/P8, as MNE's ``match_alias``). A bipolar derivation (``Fp1-F7``, ``EEG Fpz-Cz``) is
    left as it is: it is not one electrode.

    Parameters
    ----------
    name : str
        A channel name.

    Returns
    -------
    key : str
        Upper-case electrode name, e.g. ``channel_key("EEG T3-REF") == "T7"``.

    Examples
    --------
    >>> [channel_key(n) for n in ("Fc5.", "C3..", "EEG Fp1-REF", "Fp1-A1", "EEG Fz", "T5", "Fp1-F7")]
    ['FC5', 'C3', 'FP1', 'FP1', 'FZ', 'P7', 'FP1-F7']
    """
    text = str(name).strip().strip(".").strip()
    text = _PREFIX.sub("", text)
    text = _REF_SUFFIX.sub("", text).strip().strip(".")
    key = text.upper() if text else str(name).strip().upper()
    return OLD_1020_NAMES.get(key, key)


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
    ch_pos = montage.get_positions()["ch_pos"]
    # the template also lists old 10-20 names (T3 ...) beside their 10-10 ones (T7 ...): the 10-10 site wins
    pos = {channel_key(k): np.asarray(v, dtype=float) for k, v in ch_pos.items() if channel_key(k) == k.upper()}
    pos.update({channel_key(k): np.asarray(v, dtype=float) for k, v in ch_pos.items() if channel_key(k) not in pos})
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
