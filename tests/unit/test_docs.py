# SPDX-License-Identifier: Apache-2.0
"""The documentation site's nav covers every page and every package (issue #18 item 1),
and its examples run.

`make docs` (mkdocs build --strict, run by .ci/run) fails on a broken link, an API
page naming a missing object or a failing tutorial cell; this test fails on what strict
mode cannot see: a package or top-level module with no API page, a docs page left out
of the nav, a tutorial without solutions, or a page example that no longer runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _nav_files(nav) -> list[str]:
    out = []
    for item in nav:
        for value in item.values() if isinstance(item, dict) else [item]:
            out += _nav_files(value) if isinstance(value, list) else [value]
    return out


def test_nav_lists_every_page_and_every_package_has_an_api_page():
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = [f for f in _nav_files(cfg["nav"]) if f.endswith(".md")]
    pages = sorted(
        str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")
    )
    assert sorted(nav) == pages
    packages = sorted(p.parent.name for p in (ROOT / "airmodel").glob("*/__init__.py"))
    for name in [*packages, "channels"]:
        page = ROOT / "docs" / "api" / f"{name}.md"
        assert page.is_file(), f"no API page for airmodel.{name}: add {page}"
        target = "channels" if name == "channels" else f"airmodel.{name}"
        assert f"::: {target}\n" in page.read_text()
    top = (ROOT / "docs" / "api" / "airmodel.md").read_text()
    for mod in sorted((ROOT / "airmodel").glob("[!_]*.py")):
        assert f"::: airmodel.{mod.stem}\n" in top, f"airmodel.{mod.stem} missing"


#: Pages whose ```python blocks are examples that must run as written (in order, one
#: namespace per page, from the repository root).
EXAMPLE_PAGES = [
    "bandwidth.md",
    "concepts.md",
    "getting-started.md",
    "howto/own-model.md",
    "howto/own-channel-or-denoiser.md",
    "howto/results-folder.md",
]


@pytest.fixture
def clean_registries():
    """Undo what a page's example registers (a registry refuses duplicates)."""
    from airmodel.channels.registry import CHANNELS
    from airmodel.receiver.denoiser import DENOISERS

    saved = [(r, dict(r._factories), dict(r._options)) for r in (CHANNELS, DENOISERS)]
    yield
    for r, factories, options in saved:
        r._factories, r._options = factories, options


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_page_examples_run(page, monkeypatch, clean_registries):
    """Each page's python blocks run; a page with none fails (a stale list)."""
    blocks = re.findall(
        r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(), re.S
    )
    assert blocks, f"docs/{page} has no python block: update EXAMPLE_PAGES"
    monkeypatch.chdir(ROOT)  # howto/results-folder.md reads docs/data/quickstart
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/{page} python block {i}", "exec"), namespace)


def test_every_tutorial_has_executed_solutions_in_the_nav():
    """Seven tutorials, each with a solutions notebook; all executed by mkdocs-jupyter."""
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_files(cfg["nav"])
    tutorials = sorted((ROOT / "docs" / "tutorials").glob("0[1-9]_*.py"))
    names = [p.name for p in tutorials if not p.stem.endswith("_solutions")]
    assert len(names) == 7, names
    for name in names:
        solutions = name.replace(".py", "_solutions.py")
        assert (ROOT / "docs" / "tutorials" / solutions).is_file(), solutions
        assert f"tutorials/{name}" in nav and f"tutorials/{solutions}" in nav
        text = (ROOT / "docs" / "tutorials" / name).read_text()
        assert "## Exercises" in text and "assert " in text, name
    plugin = next(
        p for p in cfg["plugins"] if isinstance(p, dict) and "mkdocs-jupyter" in p
    )
    opts = plugin["mkdocs-jupyter"]
    assert opts["execute"] is True and opts["allow_errors"] is False
