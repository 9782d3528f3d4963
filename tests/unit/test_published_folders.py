"""Published results folders (docs/data) written under the current seed scheme
carry their ``store.json``, so a copy resumes (more draws, more points) instead
of being refused as an older layout; folders of an older scheme carry none and
are refused in one line (tests/unit/test_results_store.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from airmodel.evaluation.results import ResultsFolder
from airmodel.seed import SEED_SCHEME

DATA = Path(__file__).resolve().parents[2] / "docs" / "data"
STORED = sorted(p.parent for p in DATA.rglob("store.json"))


def test_some_published_folders_are_resumable():
    """The headline leagues are among them (a list that cannot silently empty)."""
    names = {str(p.relative_to(DATA)) for p in STORED}
    assert {"league_digits", "league_cifar10_e2e_v2/original",
            "league_cifar10_e2e_v2/hardened", "quickstart"} <= names  # fmt: skip


@pytest.mark.parametrize("folder", STORED, ids=lambda p: str(p.relative_to(DATA)))
def test_published_folder_opens_for_resume(folder, tmp_path):
    """A copy opens with its own config: current seed scheme, every stored row
    keyed by the folder's key fields, no row lost on replay."""
    store = json.loads((folder / "store.json").read_text())
    assert store["seed_scheme"] == SEED_SCHEME
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, symlinks=True)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    lines = [ln for ln in (folder / "rows.jsonl").read_text().splitlines() if ln]
    with ResultsFolder(copy, config, store["key_fields"]) as opened:
        assert not opened.dropped_tail
        assert len(opened.rows) == len({opened.key(r) for r in opened.rows})
        assert 0 < len(opened.rows) <= len(lines)
        for row in opened.rows:
            assert opened.done(**{k: row[k] for k in store["key_fields"]})
