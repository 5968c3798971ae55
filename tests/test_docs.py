"""``eegaffect._docs``: shared parameter text is filled in at the docstring's indentation, and nothing is left over."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import eegaffect
from eegaffect._docs import docdict, fill_doc


def test_fill_doc_indents_every_line_of_an_entry():
    @fill_doc
    def f(ax=None, title=None):
        """Plot.

        Parameters
        ----------
        %(ax)s
        %(title)s
        """

    assert inspect.cleandoc(f.__doc__).splitlines()[4:] == [
        "ax : matplotlib.axes.Axes | None", "    Where to draw; None makes a new figure.",
        "title : str | None", "    Axes title."]

    class Host:
        def method(self):
            """Method at a deeper indentation; 100 % stays as it is.

            Parameters
            ----------
            %(bench_outlet)s
            """

    doc = inspect.cleandoc(fill_doc(Host.method).__doc__)
    assert "100 % stays" in doc and "n_chans : int\n    Channels of the outlet.\nsfreq : float\n" in doc


def test_fill_doc_unknown_key_names_the_object_and_the_key():
    def g():
        """%(no_such_key)s"""

    with pytest.raises(KeyError, match=r"g.*%\(no_such_key\)s.*not in eegaffect._docs.docdict"):
        fill_doc(g)


def test_no_placeholder_left_in_the_package():
    """Every docstring of eegaffect's modules (heavy ones included) is filled: a forgotten @fill_doc shows here."""
    left = []
    for info in pkgutil.walk_packages(eegaffect.__path__, "eegaffect."):
        if info.name in ("eegaffect._docs", "eegaffect.__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != info.name:
                continue
            members = [obj, *vars(obj).values()] if inspect.isclass(obj) else [obj]
            for member in members:
                doc = getattr(member, "__doc__", None)
                if isinstance(doc, str) and any(f"%({key})s" in doc for key in docdict):
                    left.append(f"{info.name}.{name}")
    assert not left, left
