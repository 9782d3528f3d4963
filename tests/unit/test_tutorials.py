# SPDX-License-Identifier: Apache-2.0
"""The tutorials (docs/tutorials/*.py) as a lab kit (issue #32).

`make docs` executes every tutorial and solution as a notebook; these tests cover the
rest:

- fast: no tutorial uses a name it never defines (what breaks a notebook run as a plain
  script: IPython's ``display`` exists only in a kernel; ruff's F821 finds it), and
  each tutorial has the parts a student working alone needs (goals, prerequisites,
  time, a one-click link to itself, takeaways, exercises each with an expected result,
  full references), each solution an ``assert`` per exercise;
- slow: every tutorial and solution runs as ``python file.py`` (``make
  tutorials-scripts`` does the same in CI, after ``make docs``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
ALL = sorted(TUTORIALS.glob("0[1-9]_*.py"))
LESSONS = [p for p in ALL if not p.stem.endswith("_solutions")]
SOLUTIONS = [p for p in ALL if p.stem.endswith("_solutions")]


def _ruff() -> list[str] | None:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    return [exe] if Path(exe).is_file() else None


def test_tutorials_use_no_undefined_name():
    """A name used but never defined (``display`` outside Jupyter) fails the script run."""
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (the dev extra has it)")
    out = subprocess.run(
        [*ruff, "check", "--no-cache", "--isolated", "--select", "F821", *map(str, ALL)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_tutorial_has_goals_time_link_takeaways_and_references():
    assert len(LESSONS) >= 6 and len(SOLUTIONS) == len(LESSONS)
    for path in LESSONS:
        text = path.read_text()
        for part in ("**Learning goals.**", "**Prerequisites.**", "**Time.**",
                     "## Takeaways", "## Exercises", "## References",
                     "(../../glossary/)"):  # fmt: skip
            assert part in text, f"{path.name}: no {part!r}"
        binder = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", text)
        assert binder and all(
            b.endswith(f"labpath=docs%2Ftutorials%2F{path.name}") for b in binder
        ), f"{path.name}: Binder link missing or not to this file: {binder}"
        exercises = text[text.index("## Exercises") : text.index("## References")]
        items = re.split(r"\n# \d\. ", exercises)[1:]
        assert len(items) >= 2, path.name
        for i, item in enumerate(items, 1):
            assert "*Expected" in item, f"{path.name} exercise {i}: no expected result"
        refs = text[text.index("## References") :]
        assert re.search(r"(19|20)\d\d", refs), f"{path.name}: references without years"
        assert "78,000" not in text  # one count of the on-air weights: 77,082


def test_every_solution_checks_each_exercise_with_an_assert():
    for path in SOLUTIONS:
        text = path.read_text()
        sections = re.split(r"\n# ## Exercises? ", text)[1:]
        assert sections, f"{path.name}: no '## Exercise' sections"
        for sec in sections:
            assert "\nassert " in sec or "    assert " in sec, (
                f"{path.name}: exercise {sec.splitlines()[0]!r} has no assert"
            )


def test_glossary_defines_the_terms_the_tutorials_use():
    text = (ROOT / "docs" / "glossary.md").read_text()
    for term in ("Es/N0", "WNR", "ML", "MMSE", "MMSE_pb", "λ, β", "Genie", "ZF",
                 "CSI", "Non-IID", "The paper's policy", "+bn500", "On-air weights",
                 "77,082"):  # fmt: skip
        assert term in text, f"glossary: no {term!r}"


def test_requirements_pin_every_package():
    lines = [
        ln.strip()
        for ln in (TUTORIALS / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#") and not ln.startswith("--")
    ]
    assert any(ln.startswith("torch==") for ln in lines)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.+]*", ln) for ln in lines), lines


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_tutorial_runs_as_a_plain_script(path, tmp_path):
    """``python docs/tutorials/X.py`` exits 0 (10-60 s each on 2 CPU cores)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    out = subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def test_show_saves_figures_and_prints_text_outside_a_notebook(tmp_path, monkeypatch, capsys):
    """What a tutorial run as a script does with its figures and Markdown tables."""
    from airmodel.quickstart import in_notebook, new_figure, show

    monkeypatch.chdir(tmp_path)
    assert not in_notebook()
    fig, (ax,) = new_figure()
    ax.plot([0, 1], [0, 1])
    path = show(fig, "line")
    assert path == Path("runs/tutorials/line.png") and path.read_bytes()[:4] == b"\x89PNG"
    assert show("| a |\n|---|") is None
    assert "| a |" in capsys.readouterr().out
