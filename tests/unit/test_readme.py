"""The README is tested (issue #15, item 5): its Python blocks run as written, its
command-line examples run in sequence on a fresh copy of the repository."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DATASET = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
#: Appended to every `airmodel run` (last --set wins): the examples' shape, in seconds.
SHRINK = [
    "--set", "model.train.epochs=1", "--set", "sweep.snr_db=[0,10]",
    "--set", "sweep.draws=1", "--set", "data.test_samples=200",
    "--set", "receiver.kappa=50", "--no-progress",
]  # fmt: skip
#: Appended to `airmodel train`: a few batches instead of 40 epochs (slow test only).
SHRINK_TRAIN = ["--epochs", "1", "--max-train-samples", "256", "--no-progress"]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), re.S)


def commands() -> list[list[str]]:
    """Every command of the README's bash blocks (continuations joined, comments cut)."""
    out = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(shlex.split(line))
    return out


@pytest.mark.parametrize("i", range(len(blocks("python"))))
def test_python_block_runs_as_written(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = blocks("python")[i]
    exec(
        compile(code, f"README.md python block {i}", "exec"), {"__name__": "__readme__"}
    )


def test_readme_lists_its_commands():
    cmds = [" ".join(c[:3]) for c in commands()]
    assert "make demo" in cmds and "airmodel --version" in cmds
    assert any(c.startswith("airmodel report") for c in cmds)


def _fresh_copy(dest: Path) -> Path:
    """The working tree's tracked and new files, as a clone would have them."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for f in files:
        if (ROOT / f).is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, dest / f)
    return dest


def _run_readme(tmp_path: Path, slow: bool, monkeypatch, capsys) -> list[str]:
    """Run the README's commands in order, in-process (``airmodel.cli.main``) in a copy."""
    from airmodel.cli import main

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy")
    clone = _fresh_copy(tmp_path / "clone")
    monkeypatch.chdir(clone)
    ran = []
    for cmd in commands():
        if cmd[:2] == ["make", "test"] or cmd[0] == "pip":
            continue  # this very suite; tests/install builds and installs the wheel
        if cmd[:2] == ["make", "demo"]:  # the Makefile's demo recipe, venv aside
            cmd = ["airmodel", "run", "configs/quickstart.yaml"]
        assert cmd[0] == "airmodel", cmd
        if any("cifar10-jpeg.tar.gz" in a for a in cmd):
            if not DATASET.is_file():
                continue  # the CIFAR-10 copy is not shipped; skipped without it
            cmd = [a.replace("cifar10-jpeg.tar.gz", str(DATASET)) for a in cmd]
        is_train = cmd[1] == "train"
        if is_train != slow:
            continue
        extra = SHRINK if cmd[1] == "run" and "--dry-run" not in cmd else []
        extra = SHRINK_TRAIN if is_train else extra
        try:
            rc = main([*cmd[1:], *extra])
        except SystemExit as stop:  # argparse's --version
            rc = stop.code
        out = capsys.readouterr()
        assert rc == 0, f"{shlex.join(cmd)}\n{out.out}\n{out.err}"
        ran.append(shlex.join(cmd))
    return ran


def test_cli_examples_run_in_sequence_on_a_fresh_copy(tmp_path, monkeypatch, capsys):
    """No refusal: the rayleigh example runs right after `make demo`."""
    ran = _run_readme(tmp_path, False, monkeypatch, capsys)
    assert any("channel.name=rayleigh" in c for c in ran)
    clone = tmp_path / "clone"
    assert (clone / "results" / "quickstart_rayleigh" / "results.json").is_file()
    assert (clone / "cifar10_resnet20_awgn.yaml").is_file()  # `airmodel configs NAME`
