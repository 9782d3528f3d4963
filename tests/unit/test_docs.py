# SPDX-License-Identifier: Apache-2.0
"""The documentation site's nav covers every page and every package (issue #18 item 1).

`make docs` (mkdocs build --strict, run by .ci/run) fails on a broken link or an API
page naming a missing object; this test fails on what strict mode cannot see: a package
or top-level module with no API page, or a docs page left out of the nav.
"""

from __future__ import annotations

from pathlib import Path

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
    nav = _nav_files(cfg["nav"])
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
