"""The results page is generated, not typed (issue #18 item 3).

docs/results.md must equal what docs/gen_results.py writes from the committed results
folders under docs/data/ and docs/data/questions.yaml: a hand edit, or a new folder
without `make results-page`, fails here. CI regenerates the page from its own
`make demo` afterwards (.ci/run), so the site shows what HEAD prints.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_results", ROOT / "docs" / "gen_results.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_results_page_is_generated_from_docs_data():
    gen = _generator()
    text, folders = gen.render()
    assert (ROOT / "docs" / "results.md").read_text() == text, (
        "docs/results.md is stale: run `make results-page` and commit it"
    )
    assert len(folders) >= 2  # quickstart + at least one more question from data


def test_every_question_has_a_folder_or_a_history_link():
    """An entry without a results folder links to the archive, labelled history."""
    gen = _generator()
    archive = (ROOT / "docs" / "archive.md").read_text()
    for q in yaml.safe_load((ROOT / "docs" / "data" / "questions.yaml").read_text()):
        text, folders = gen.section(q)
        if not folders and q.get("folders"):
            assert "**History**" in text and f"archive.md#{q['archive']}" in text
        if q.get("archive"):
            assert f"{{#{q['archive']}}}" in archive, q["archive"]  # the anchor exists


def test_committed_folders_hold_small_files_only():
    """docs/data holds configs, provenance and rows (plus CSV/JSON views): no
    checkpoints or datasets, under 2 MB per run, or under 400 bytes per stored row
    for a sweep with many draws (the digits league: 10,368 rows)."""
    for folder in (ROOT / "docs" / "data").iterdir():
        if folder.is_dir():
            files = [p for p in folder.rglob("*") if p.is_file()]
            heavy = [
                p.name
                for p in files
                if p.suffix
                in (".pt", ".pth", ".safetensors", ".ckpt", ".bin", ".npz", ".gz")
            ]
            assert not heavy, (folder, heavy)
            rows = sum(
                p.read_bytes().count(b"\n") for p in files if p.name == "rows.jsonl"
            )
            size = sum(p.stat().st_size for p in files)
            assert size < max(2_000_000, 400 * rows), (folder, size, rows)
