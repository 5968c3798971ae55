"""Which modalities a live update used, as the ``Affect`` stream's ``status`` channel says it.

Which modalities an update used
-------------------------------
A modality counts as *used* at an update when its newest frame is recent (within its decision delay, two hops
and 1 s of the newest EEG frame) and has at least one finite feature. The ``Affect`` stream's ``status``
channel keeps its values 0 (ok), 1 (invalid), 2 (gap) and adds ``16 * missing`` where ``missing`` is the bit mask
(:data:`MODALITY_BITS`: eeg 1, ecg 2, ppg 4, eda 8, resp 16, temp 32) of the session's modalities that the update
did **not** have: ``status % 16`` is the old status, ``status // 16`` the missing mask. An EEG-only session's
status is unchanged; a session whose EDA stopped says ``0 + 16 * 8 = 128`` while the rest is fine.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["MODALITY_BITS", "status_with_missing", "missing_mask", "decode_status"]

#: Modality -> its bit in the ``Affect`` stream's missing-modality mask (``status // 16``).
MODALITY_BITS = {"eeg": 1, "ecg": 2, "ppg": 4, "eda": 8, "resp": 16, "temp": 32}
_MISSING_SHIFT = 16


def status_with_missing(status: int, missing: Sequence[str]) -> int:
    """The ``Affect`` status of an update: the base status plus ``16 *`` the mask of the missing modalities.

    Parameters
    ----------
    status : int
        0 (ok), 1 (invalid) or 2 (gap).
    missing : sequence of str
        Modalities of the session the update did not have (keys of :data:`MODALITY_BITS`).

    Returns
    -------
    code : int
    """
    if status not in (0, 1, 2):
        raise ValueError(f"expected a base status 0, 1 or 2, got {status!r}")
    return int(status) + _MISSING_SHIFT * missing_mask(missing)


def missing_mask(missing: Sequence[str]) -> int:
    """The missing-modality mask (``status // 16``) of the modalities ``missing`` (keys of :data:`MODALITY_BITS`)."""
    unknown = [m for m in missing if m not in MODALITY_BITS]
    if unknown:
        raise ValueError(f"unknown modalities {unknown}; expected some of {list(MODALITY_BITS)}")
    return sum(MODALITY_BITS[m] for m in set(missing))


def decode_status(code: float) -> tuple[int, list[str]]:
    """Inverse of :func:`status_with_missing`: ``(base status, missing modalities)``."""
    code = int(round(float(code)))
    mask = code // _MISSING_SHIFT
    return code % _MISSING_SHIFT, [m for m, bit in MODALITY_BITS.items() if mask & bit]
