"""Progress bars for long work (tqdm), switched off with ``EEGAFFECT_PROGRESS=0``."""

from __future__ import annotations

import os
from typing import Iterable, TypeVar

T = TypeVar("T")


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str | None = None,
             unit: str = "it", leave: bool = True):
    """Wrap ``iterable`` in a tqdm progress bar written to stderr.

    Parameters
    ----------
    iterable : iterable | None
        What to iterate; ``None`` returns a bar to update by hand (``bar.update(n)``).
    total : int | None
        Number of items, when ``len(iterable)`` is not available.
    desc : str | None
        Label shown before the bar.
    unit : str
        Unit name shown in the rate.
    leave : bool
        Keep the finished bar on screen.

    Returns
    -------
    bar : tqdm.tqdm
        The progress bar (iterable like ``iterable``).
    """
    from tqdm.auto import tqdm

    disabled = os.environ.get("EEGAFFECT_PROGRESS", "1").lower() in {"0", "false", "no", "off"}
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, disable=disabled, mininterval=0.5,
                dynamic_ncols=True)
