"""Install and run anywhere (issue #15, item 1): build the wheel from the tracked
files, install it into a fresh venv (reusing this environment's torch, Sionna, ...
through a .pth file, no download) and run the bundled quickstart from an empty folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHRINK = [
    "--set", "model.train.epochs=1", "--set", "sweep.snr_db=[0,10]",
    "--set", "sweep.draws=1", "--set", "data.test_samples=200",
    "--set", "receiver.kappa=50", "--no-progress",
]  # fmt: skip

pytestmark = pytest.mark.install


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(venv python, venv bin, wheel)`` with the wheel installed."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    files = _run(["git", "ls-files", "-co", "--exclude-standard"], ROOT).split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp), str(src)],
        tmp,
    )
    (wheel,) = tmp.glob("airmodel-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    py = venv / "bin" / "python"
    site = Path(
        _run(
            [
                str(py),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            tmp,
        ).strip()
    )
    # Reuse this environment's packages (torch, sionna, ...) without reinstalling them.
    (site / "_outer_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --force-reinstall: an editable airmodel of this environment (`make setup`)
    # would otherwise count as installed already and the wheel be skipped.
    _run(
        [*pip, "--python", str(py), "install", "--no-deps", "--no-index",
         "--force-reinstall", str(wheel)],
        tmp,
    )  # fmt: skip
    return py, venv / "bin", wheel


def test_wheel_contents(installed):
    _, _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "airmodel/channels/__init__.py" in names
    assert not any(n.startswith("channels/") for n in names)  # no top-level `channels`
    assert "airmodel/configs/quickstart.yaml" in names
    assert "airmodel/checkpoints/resnet20_cifar10jpeg_e60.pt" in names
    assert "airmodel/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: Apache-2.0" in text
    for extra in ("dev", "ray", "docs", "safetensors"):
        assert f"Provides-Extra: {extra}" in text


def test_quickstart_runs_from_an_empty_folder(installed, tmp_path):
    py, bin_dir, _ = installed
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    where = _run(
        [str(py), "-c", "import airmodel, airmodel.channels as c; print(c.__file__)"],
        tmp_path,
        env,
    )
    assert str(py.parent.parent) in where  # the installed copy, not the checkout
    assert (
        _run([str(bin_dir / "airmodel"), "--version"], tmp_path, env).strip()
        == "airmodel 0.1.0"
    )
    assert "quickstart" in _run([str(bin_dir / "airmodel"), "configs"], tmp_path, env)
    out = _run([str(bin_dir / "airmodel"), "run", "quickstart", *SHRINK], tmp_path, env)
    assert "WNR [dB]" in out and "| ml |" in out
    res = tmp_path / "results" / "quickstart"
    records = json.loads((res / "provenance.json").read_text())  # one per invocation
    assert isinstance(records, list) and len(records) == 1
    prov = records[0]
    assert prov["versions"]["airmodel"] == "0.1.0" and prov["git_commit"] is None
    assert len(json.loads((res / "results.json").read_text())["rows"]) == 2 * 4
    # A bundled CIFAR config finds the bundled checkpoint through its relative path.
    plan = _run(
        [str(bin_dir / "airmodel"), "run", "cifar10_resnet20_awgn", "--dry-run",
         "--set", f"data.root={tmp_path}"],
        tmp_path, env,
    )  # fmt: skip
    assert "airmodel/checkpoints/resnet20_cifar10jpeg_e60.pt (found)" in plan
    # ... and a copy made for editing still does, from its new folder.
    _run([str(bin_dir / "airmodel"), "configs", "cifar10_resnet20_awgn"], tmp_path, env)
    plan = _run(
        [str(bin_dir / "airmodel"), "run", "cifar10_resnet20_awgn.yaml", "--dry-run",
         "--set", f"data.root={tmp_path}"],
        tmp_path, env,
    )  # fmt: skip
    assert "(found)" in plan
