"""Parameter descriptions shared by several docstrings, written once (MNE's ``docdict`` / ``fill_doc`` pattern).

A docstring names an entry as ``%(key)s`` on a line of its own, at the indentation of the parameter it
describes, and the object is decorated with :func:`fill_doc`::

    @fill_doc
    def plot(..., ax=None):
        \"\"\"...

        Parameters
        ----------
        %(ax)s
        \"\"\"

Each entry is numpydoc text (``name : type`` then the description indented by four spaces), written without
the docstring's own indentation; :func:`fill_doc` indents every line after the first to match the placeholder.
Only the eegaffect package uses it: ``kernels/`` and ``acquisition/`` import nothing from eegaffect.
"""

from __future__ import annotations

import re
from typing import TypeVar

__all__ = ["docdict", "fill_doc"]

T = TypeVar("T")

#: ``%(key)s``; other ``%`` signs in a docstring ("% of one core") stay as they are.
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")

#: Parameter key -> numpydoc text of that parameter.
docdict: dict[str, str] = {}

# ---- plotting
docdict["ax"] = """ax : matplotlib.axes.Axes | None
    Where to draw; None makes a new figure."""
docdict["title"] = """title : str | None
    Axes title."""
docdict["fig"] = """fig : matplotlib.figure.Figure
    The figure."""

# ---- datasets
docdict["label_map"] = """label_map : LabelMapConfig
    Class -> valence/arousal table."""
docdict["subjects"] = """subjects : iterable of int | None
    Read only these subjects (None: all)."""
docdict["pipeline_config"] = """config : PipelineConfig
    The signal path."""

# ---- models
docdict["drop_prob"] = """drop_prob : float
    Dropout probability."""
docdict["n_outputs"] = """n_outputs : int
    Regression outputs (2: valence, arousal)."""
docdict["n_classes"] = """n_classes : int | None
    Size of the optional class head."""

# ---- speed benchmarks
docdict["bench_outlet"] = """n_chans : int
    Channels of the outlet.
sfreq : float
    Its sampling rate in Hz.
chunk : int
    Samples per push.
duration : float
    Seconds measured per reader."""


def _indentation(doc: str) -> int:
    """Indentation of a docstring's body (its lines after the first), as :func:`inspect.cleandoc` finds it."""
    widths = [len(line) - len(line.lstrip()) for line in doc.splitlines()[1:] if line.strip()]
    return min(widths, default=0)


def fill_doc(obj: T) -> T:
    """Replace each ``%(key)s`` in ``obj.__doc__`` by ``docdict[key]``, indented to the docstring's body.

    Unlike ``%`` formatting, other ``%`` signs need no escaping.

    Parameters
    ----------
    obj : function or class
        The decorated object.

    Returns
    -------
    obj : function or class
        The same object, its docstring filled in.

    Raises
    ------
    KeyError
        A placeholder names no entry of :data:`docdict`.
    """
    doc = obj.__doc__
    if not doc:  # python -OO strips docstrings
        return obj
    pad = "\n" + " " * _indentation(doc)

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key not in docdict:
            raise KeyError(f"docstring of {getattr(obj, '__qualname__', obj)!r} uses %({key})s, which is not in "
                           f"eegaffect._docs.docdict (keys: {sorted(docdict)})")
        return docdict[key].replace("\n", pad)

    obj.__doc__ = _PLACEHOLDER.sub(fill, doc)
    return obj
