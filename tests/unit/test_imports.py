"""Layers only call downwards: every module imports, and the import graph has no cycle."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from import_graph import (  # noqa: E402
    cycles,
    defined_names,
    import_graph,
    module_files,
    typed_params,
)

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


#: The layer that reads the config (issue #31): the config, the builder, the runner,
#: the command lines, the schema and the tutorials' Python entry point
#: (``load_quickstart``, which calls the builder). Everything else is below the
#: builder and takes plain, typed arguments.
CONFIG_READERS = {
    "airmodel.config",
    "airmodel.builder",
    "airmodel.experiment",
    "airmodel.cli",
    "airmodel.train_cli",
    "airmodel.schema",
    "airmodel.quickstart",
}
#: Below the builder and still reading the config: may only shrink.
NOT_YET: set[str] = set()


def test_nothing_below_the_builder_imports_the_config():
    """No module outside :data:`CONFIG_READERS` imports ``airmodel.config`` (lazy
    and TYPE_CHECKING imports count: ast, not runtime)."""
    graph = import_graph()
    readers = {m for m, deps in graph.items() if "airmodel.config" in deps}
    assert "airmodel.builder" in readers  # the scan sees the config's readers
    assert readers - CONFIG_READERS == NOT_YET


def test_nothing_below_the_builder_takes_the_config():
    """No function below the builder has a parameter typed with a type
    ``airmodel/config.py`` defines (``ExperimentConfig``, its sections and
    aliases), nor an unannotated ``cfg``. Receivers and execution settings are
    their own layers' types (``airmodel.receiver.spec``, ``airmodel.execution``),
    which the config composes."""
    files = module_files()
    types = defined_names(files["airmodel.config"])
    assert {"ExperimentConfig", "SweepConfig", "DenoiserConfig"} <= types
    found = {
        name: typed_params(path.read_text(), types)
        for name, path in files.items()
        if name not in CONFIG_READERS | NOT_YET
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_config_param_finder_finds_one():
    src = (
        "def a(x: int, cfg): ...\n"
        "def b(c: 'ExperimentConfig') -> None: ...\n"
        "def c(s: list[config.SweepConfig] | None = None): ...\n"
        "def d(cfg: dict): ...\n"
    )
    assert typed_params(src, {"ExperimentConfig", "SweepConfig"}) == [
        "a(cfg: )",
        "b(c: 'ExperimentConfig')",
        "c(s: list[config.SweepConfig] | None)",
    ]


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
