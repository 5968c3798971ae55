"""No import cycles between eegaffect's modules (issue 11).

Every module of ``eegaffect`` (with ``eegaffect.kernels`` and ``eegaffect.acquisition``, which live in the
top-level ``kernels/`` and ``acquisition/`` folders) is parsed with :mod:`ast`, without importing it; the
project-internal imports that run when the module is imported make the graph, and any strongly connected
component of more than one module is a cycle, listed in the failure.

What counts as an edge:

- module-level imports only, including those inside module-level ``if``/``try``/``with`` blocks and class bodies
  (they run at import time), but not those under ``if TYPE_CHECKING:`` (they never run). Imports inside
  functions do not count: deferring an import into the function that needs it is the project's sanctioned way to
  keep heavy dependencies (torch, mne, matplotlib, pylsl) lazy, and it is also how a lower layer may name a higher
  one at call time without the two modules depending on each other to load;
- ``import a.b.c`` and ``from a.b import c`` point at the most specific module they name (``a.b.c`` when it is a
  module, else the package ``a.b``); the parent packages' ``__init__`` modules that Python runs on the way are
  not edges, otherwise every package that re-exports its submodules would form a cycle with each of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: import name prefix -> folder holding it (pyproject's package-dir mapping)
PACKAGES = {"eegaffect": ROOT / "eegaffect", "eegaffect.kernels": ROOT / "kernels",
            "eegaffect.acquisition": ROOT / "acquisition"}


def _modules() -> dict[str, Path]:
    mods = {}
    for prefix, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if prefix == "eegaffect" and parts and parts[0] in ("kernels", "acquisition"):
                continue  # not part of this package (mapped elsewhere)
            mods[".".join([prefix, *parts])] = path
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_time_nodes(body):
    """Import statements that run when the module is imported (not in functions, not under TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                yield from _import_time_nodes(block)
        elif isinstance(node, (ast.With, ast.ClassDef, ast.For, ast.While)):
            yield from _import_time_nodes(node.body)


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> project modules it imports at module level."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_time_nodes(tree.body):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                if not target.startswith("eegaffect"):
                    continue
                resolved = _resolve(target, mods)
                if resolved is not None and resolved != mod:
                    graph[mod].add(resolved)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted, largest first."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out, key=len, reverse=True)


def _describe(comp: list[str], graph: dict[str, set[str]]) -> str:
    members = set(comp)
    edges = [f"{a} -> {b}" for a in comp for b in sorted(graph[a] & members)]
    return f"{comp}: " + "; ".join(edges)


def test_the_graph_sees_the_packages_and_their_imports():
    graph = import_graph()
    assert {"eegaffect.cli", "eegaffect.kernels.filtering", "eegaffect.pipeline"} <= set(graph)
    assert any(m.startswith("eegaffect.acquisition.") for m in graph)
    # a module-level import is an edge; a function-level one is not
    assert "eegaffect.config" in graph["eegaffect.pipeline"]
    assert "eegaffect.kernels.smoothing" not in graph["eegaffect.pipeline"]  # imported inside process()
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles between eegaffect modules (module-level imports):\n" + "\n".join(
        _describe(c, graph) for c in found)
