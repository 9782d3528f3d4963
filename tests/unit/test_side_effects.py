"""No side effects on the user's process (issue #15, item 6)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

from airmodel.evaluation.plot import plot_accuracy
from airmodel.provenance import git_commit

ROOT = Path(__file__).resolve().parents[2]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_commit_is_never_a_surrounding_repositorys(tmp_path):
    """airmodel installed inside someone's repository (a venv in their project)."""
    _git(tmp_path, "init", "-q")
    pkg = tmp_path / ".venv" / "site-packages" / "airmodel"
    pkg.mkdir(parents=True)
    shutil.copy(ROOT / "airmodel" / "provenance.py", pkg / "provenance.py")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "theirs"\n')
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "theirs")
    spec = importlib.util.spec_from_file_location("_prov_copy", pkg / "provenance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.git_commit() is None
    # ... and at the top of their repo named like us but without airmodel/: still not ours
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "airmodel"\n')
    assert mod.git_commit() is None


def test_commit_of_this_checkout():
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    sha = git_commit()
    assert sha is not None and sha.split("+")[0] == _git(ROOT, "rev-parse", "HEAD")


def test_plot_leaves_the_backend_alone(tmp_path):
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        rows = [
            {"denoiser": "ml", "esno_db": s, "accuracy": 0.5 + 0.01 * s} for s in (0, 5)
        ]
        out = plot_accuracy(rows, tmp_path / "p.png", title="t", clean_accuracy=0.9)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.get_backend() == "svg"
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []  # no figure left in pyplot's registry
    finally:
        matplotlib.use(before)


def test_scorer_tunes_malloc_only_when_asked():
    code = (
        "import numpy as np, torch\n"
        "from airmodel import allocator\n"
        "from airmodel.data.info import DatasetInfo\n"
        "from airmodel.evaluation.scoring import Scorer\n"
        "info = DatasetInfo('t', 2, 1, (0.0,), (1.0,), (2, 2))\n"
        "x = np.zeros((4, 2, 2, 1), np.uint8); y = np.zeros(4, np.int64)\n"
        "Scorer(x, y, info, device='cpu')\n"
        "print('default', allocator._state)\n"
        "Scorer(x, y, info, device='cpu', keep_freed_memory=True)\n"
        "print('asked', 'applied' in allocator._state)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "default {}" in out and "asked True" in out


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_provenance_probe_takes_no_git_lock(tmp_path):
    """`git status` on a stale index would rewrite it under .git/index.lock; the
    probe must not (issue #26 item 7): the index keeps its bytes and mtime."""
    (tmp_path / "airmodel").mkdir()
    shutil.copy(ROOT / "airmodel" / "provenance.py", tmp_path / "airmodel" / "p.py")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "airmodel"\n')
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "ours")
    index = tmp_path / ".git" / "index"
    old = index.stat().st_mtime_ns
    future = old + 5 * 10**9  # the tracked file's stat changes, its bytes do not
    os.utime(tmp_path / "pyproject.toml", ns=(future, future))
    before = index.read_bytes()
    spec = importlib.util.spec_from_file_location(
        "_prov_lock", tmp_path / "airmodel" / "p.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sha = _git(tmp_path, "--no-optional-locks", "rev-parse", "HEAD")
    assert mod.git_commit() == sha  # clean: the stale stat is not a change
    assert index.stat().st_mtime_ns == old and index.read_bytes() == before
    assert not (tmp_path / ".git" / "index.lock").exists()
