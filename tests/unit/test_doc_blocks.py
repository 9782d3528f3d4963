# SPDX-License-Identifier: Apache-2.0
"""Every Python and shell block of every docs page runs in CI, or says why not
(issue #27 item 7).

A fenced ```python or ```bash block may be preceded by one marker line:

* ``<!-- docs-test: slow (why) -->``: a python block run by the slow test only;
* ``<!-- docs-test: check (why) -->``: a bash block whose commands are checked, not
  run (``why``: what running them would take): every ``airmodel run`` line's config
  loads with its ``--set`` overrides (the same validation as ``--dry-run``, without
  building), every other ``airmodel`` line parses, every ``python -m airmodel.X``
  module exists;
* ``<!-- docs-test: skip (why) -->``: not run here, with why (installs packages, needs
  a cluster, a fragment).

Without a marker a python block runs (each page's blocks in order in one namespace,
from the repository root) and a bash block's ``airmodel`` commands run in-process in a
temporary folder; a bash line that is not an ``airmodel`` command needs a marker.
Pages in ``test_docs.EXAMPLE_PAGES`` run their python blocks there.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.unit.test_docs import EXAMPLE_PAGES, clean_registries  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(
    r"(?:^<!-- docs-test: (?P<mark>slow|check|skip) \((?P<why>[^)]*(?:\([^)]*\)[^)]*)*)\) -->\n)?"
    r"^```(?P<lang>python|bash)\n(?P<code>.*?)^```$",
    re.M | re.S,
)
#: Stand-ins for placeholders in shell examples.
PLACEHOLDERS = {
    "$CIFAR": "x.tar.gz", "PATH/cifar10-jpeg.tar.gz": "x.tar.gz",
    "cifar10-jpeg.tar.gz": "x.tar.gz", "$SLURM_CPUS_PER_TASK": "2",
    "$((SLURM_ARRAY_TASK_ID + 1))/$SLURM_ARRAY_TASK_COUNT": "1/16",
    "federated.lr=LR": "federated.lr=0.1", "federated.local_epochs=E": "federated.local_epochs=1",
}  # fmt: skip


def pages() -> list[str]:
    docs = ROOT / "docs"
    return sorted(
        str(p.relative_to(docs))
        for p in docs.rglob("*.md")
        if "data" not in p.relative_to(docs).parts
    )


def blocks(page: str) -> list[dict[str, str]]:
    text = (ROOT / "docs" / page).read_text()
    return [m.groupdict() for m in FENCE.finditer(text)]


def commands(code: str) -> list[list[str]]:
    """Each command of a bash block (continuations joined, comments and variables cut)."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        for k, v in PLACEHOLDERS.items():
            line = line.replace(k, v)
        cmd = shlex.split(line)
        out.append(cmd[1:] if cmd[0] == "srun" else cmd)  # SLURM's launcher
    return out


def _python(page: str, slow: bool) -> list[str]:
    return [
        b["code"] for b in blocks(page)
        if b["lang"] == "python" and b["mark"] != "skip"
        and (b["mark"] == "slow") == slow
    ]  # fmt: skip


def test_markers_give_a_reason_and_fit_the_block():
    n = 0
    for page in pages():
        for b in blocks(page):
            n += 1
            if b["mark"]:
                assert len(b["why"].strip()) > 10, f"docs/{page}: say why ({b['mark']})"
            if b["mark"] == "check":
                assert b["lang"] == "bash", f"docs/{page}: `check` is for bash blocks"
            if b["mark"] == "slow":
                assert b["lang"] == "python", (
                    f"docs/{page}: `slow` is for python blocks"
                )
            if b["lang"] == "bash" and not b["mark"]:
                for cmd in commands(b["code"]):
                    assert cmd[0] == "airmodel", (
                        f"docs/{page}: `{' '.join(cmd)}` is not an airmodel command: "
                        "mark the block (skip or check) with why"
                    )
    assert n >= 20  # the regular expression still finds the blocks


@pytest.mark.parametrize(
    "page", [p for p in pages() if _python(p, False) and p not in EXAMPLE_PAGES]
)
def test_python_blocks_run(page, monkeypatch, clean_registries):  # noqa: F811
    monkeypatch.chdir(ROOT)
    ns = {"__name__": "__docs__"}
    for i, code in enumerate(_python(page, False)):
        exec(compile(code, f"docs/{page} python block {i}", "exec"), ns)


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in pages() if _python(p, True)])
def test_slow_python_blocks_run(page, monkeypatch, clean_registries):  # noqa: F811
    monkeypatch.chdir(ROOT)
    ns = {"__name__": "__docs__"}
    for i, code in enumerate(_python(page, True)):
        exec(compile(code, f"docs/{page} slow python block {i}", "exec"), ns)


def _check(cmd: list[str], page: str) -> None:
    """The command parses; an `airmodel run` line's config loads with its overrides."""
    from airmodel.cli import get_args_parser
    from airmodel.config import load_config
    from airmodel.resources import find_config

    where = f"docs/{page}: `{shlex.join(cmd)}`"
    if cmd[:2] == ["python", "-m"] and cmd[2].startswith("airmodel"):
        module = ROOT / (cmd[2].replace(".", "/") + ".py")  # not imported: fast
        assert module.is_file() or (module.with_suffix("") / "__main__.py").is_file(), (
            where
        )
        return
    if cmd[0] != "airmodel":
        return  # explained by the block's marker
    if cmd[1] == "train":
        from airmodel.train_cli import get_args_parser as train_parser

        train_parser().parse_args(cmd[2:])
        return
    if cmd[1] == "report":
        return  # its own parser; a folder argument names results here
    if cmd[1] == "--version":
        return
    args = get_args_parser().parse_args(cmd[1:])
    if args.command == "run":
        overrides = [*args.overrides, "data.root=x.tar.gz"]
        if any(o.startswith("data.root=") for o in args.overrides):
            overrides = args.overrides
        load_config(find_config(ROOT / args.config if "/" in args.config else args.config),
                    overrides)  # fmt: skip
    assert args.command, where


@pytest.mark.parametrize("page", [p for p in pages() if any(
    b["lang"] == "bash" and b["mark"] != "skip" for b in blocks(p))])  # fmt: skip
def test_bash_blocks_run_or_check(page, tmp_path, monkeypatch, capsys):
    from airmodel.cli import main

    for b in blocks(page):
        if b["lang"] != "bash" or b["mark"] == "skip":
            continue
        for cmd in commands(b["code"]):
            if b["mark"] == "check":
                monkeypatch.chdir(ROOT)
                _check(cmd, page)
            else:
                monkeypatch.chdir(tmp_path)
                assert main(cmd[1:]) == 0, f"docs/{page}: `{shlex.join(cmd)}`"
