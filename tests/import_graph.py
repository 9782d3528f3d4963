# SPDX-License-Identifier: Apache-2.0
"""The package's import graph, read from the source with ``ast`` (for tests)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

__all__ = ["module_files", "import_graph", "cycles", "defined_names", "typed_params"]


def module_files() -> dict[str, Path]:
    """``{module name: file}`` for every module of airmodel (channels included)."""
    import airmodel
    import airmodel.channels

    out: dict[str, Path] = {}
    for pkg, root in (
        ("airmodel", Path(airmodel.__file__).parent),
        ("airmodel.channels", Path(airmodel.channels.__file__).parent),
    ):
        for f in sorted(root.rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[0] == "channels" and pkg == "airmodel":
                continue  # an installed wheel: counted under airmodel.channels
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([pkg, *parts])] = f
    return out


def import_graph() -> dict[str, set[str]]:
    """``{module: airmodel modules it imports}``, lazy and TYPE_CHECKING imports too."""
    files = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name if is_pkg else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            for t in targets:
                # The most specific airmodel module the import names.
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
                    break
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def defined_names(path: Path) -> set[str]:
    """Classes and module-level aliases (``X = Y``) a module defines."""
    out: set[str] = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(
            node.value, ast.Name | ast.Tuple
        ):
            for t in node.targets:
                names = t.elts if isinstance(t, ast.Tuple) else [t]
                out.update(n.id for n in names if isinstance(n, ast.Name))
    return out


def typed_params(source: str, types: set[str]) -> list[str]:
    """``"function(param: annotation)"`` for each parameter annotated with one of
    ``types`` (anywhere in the annotation), or named ``cfg`` and not annotated."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        a = node.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if arg is None:
                continue
            ann = arg.annotation
            names = (
                {n.id for n in ast.walk(ann) if isinstance(n, ast.Name)}
                | {n.attr for n in ast.walk(ann) if isinstance(n, ast.Attribute)}
                | {  # string annotations
                    w
                    for n in ast.walk(ann)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    for w in re.findall(r"\w+", n.value)
                }
                if ann is not None
                else set()
            )
            if names & types or (ann is None and arg.arg == "cfg"):
                shown = ast.unparse(ann) if ann is not None else ""
                out.append(f"{node.name}({arg.arg}: {shown})")
    return out
