"""Layers only call downwards: every module imports, and the import graph has no cycle."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from import_graph import cycles, import_graph, module_files  # noqa: E402

# Modules of an optional extra: {module: the package it needs}.
OPTIONAL = {"airmodel.federated.flower": "flwr"}


def test_every_module_imports():
    mods = sorted(module_files())
    assert "airmodel.channels.awgn" in mods and "airmodel.builder" in mods
    for name in mods:
        if name in OPTIONAL and importlib.util.find_spec(OPTIONAL[name]) is None:
            with pytest.raises(ImportError, match="pip install 'airmodel"):
                importlib.import_module(name)  # one line naming the extra
            continue
        importlib.import_module(name)


def test_no_import_cycle():
    """Imports inside functions and under TYPE_CHECKING count too (ast, not runtime)."""
    graph = import_graph()
    assert "airmodel.evaluation.sweep" in graph["airmodel.builder"]
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_nothing_imports_a_top_level_channels_module():
    """The package is `airmodel.channels`; a top-level `channels` would clash on PyPI
    (Django Channels). tests/install checks the wheel holds no top-level `channels`."""
    import ast

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("airmodel", "channels", "tests", "benchmarks"):
        for f in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else []
                )
                if any(n == "channels" or n.startswith("channels.") for n in names):
                    offenders.append(f"{f.relative_to(root)}:{node.lineno}")
    assert offenders == []
    text = (root / "pyproject.toml").read_text()
    assert '"airmodel.channels" = "channels"' in text


@pytest.mark.parametrize("name", ["protocols", "registry", "paths", "devices"])
def test_low_modules_import_nothing_heavy_of_airmodel(name):
    """The interface modules sit at the bottom: at run time they import no airmodel
    module but the error types (airmodel.errors, itself a leaf), so that their
    messages print as one line under the CLI's guarded()."""
    graph = import_graph()
    assert graph["airmodel.errors"] == set()
    runtime = {
        m
        for m in graph[f"airmodel.{name}"]
        if m not in ("airmodel.receiver.receiver", "airmodel.errors")
    }
    assert runtime == set()
