"""Layers only call downwards: every module imports, and the import graph has no cycle."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from import_graph import cycles, import_graph, module_files  # noqa: E402


def test_every_module_imports():
    mods = sorted(module_files())
    assert "airmodel.channels.awgn" in mods and "airmodel.builder" in mods
    for name in mods:
        importlib.import_module(name)


def test_no_import_cycle():
    """Imports inside functions and under TYPE_CHECKING count too (ast, not runtime)."""
    graph = import_graph()
    assert "airmodel.evaluation.sweep" in graph["airmodel.builder"]
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_channels_is_not_a_top_level_module():
    """The package is `airmodel.channels`; a top-level `channels` would clash on PyPI."""
    import airmodel.channels

    assert Path(airmodel.channels.__file__).parent.name == "channels"
    assert "channels" not in sys.modules or not sys.modules[
        "channels"
    ].__file__.startswith(str(Path(airmodel.channels.__file__).parent))
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text()
        assert '"airmodel.channels" = "channels"' in text
        assert '    "channels",' not in text


@pytest.mark.parametrize("name", ["protocols", "registry", "paths", "devices"])
def test_low_modules_import_nothing_heavy_of_airmodel(name):
    """The interface modules sit at the bottom: no airmodel import at run time."""
    graph = import_graph()
    runtime = {
        m for m in graph[f"airmodel.{name}"] if m != "airmodel.receiver.receiver"
    }
    assert runtime == set()
