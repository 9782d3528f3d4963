"""A config (or a checkpoint) never imports code without consent given outside
it (issue #26 item 2); with consent, a factory next to the config is found,
gets only the arguments it declares, and `--dry-run` builds it against the
checkpoint (issue #27 item 3)."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from airmodel.cli import main
from airmodel.errors import UserError
from airmodel.imports import ENV
from airmodel.models import get_model
from airmodel.training import load_checkpoint, save_atomic

FACTORIES = """
import torch

def build(**kwargs):  # torchvision/timm style: takes only what it is given
    assert "in_channels" not in kwargs, "in_channels passed to a **kwargs factory"
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, kwargs.get("num_classes", 10))
    )

def named(num_classes, in_channels, width=4):
    return torch.nn.Sequential(
        torch.nn.Conv2d(in_channels, width, 3), torch.nn.Flatten(),
        torch.nn.Linear(width * 36, num_classes),
    )

def broken(**kwargs):
    raise TypeError("build() got an unexpected keyword argument 'depth'")
"""


@pytest.fixture
def clean_env(monkeypatch):
    """Consent and search folders from the environment only for this test."""
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("AIRMODEL_IMPORT_DIRS", raising=False)
    yield monkeypatch
    for name in ("mynets", "subprocess_free"):
        sys.modules.pop(name, None)


def _config(folder, name, ckpt, extra=""):
    cfg = folder / "c.yaml"
    cfg.write_text(
        f"name: consent\nout_dir: {folder / 'res'}\n"
        f"model: {{name: '{name}', checkpoint: {ckpt}{extra}}}\n"
        "data: {dataset: digits, test_samples: 50}\n"
        "sweep: {snr_db: [10], draws: 1}\nevaluation: {device: cpu}\n"
    )
    return cfg


def _one_line(capsys) -> str:
    """The one error line (warnings about unsealed test files aside)."""
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in lines if not ln.startswith("airmodel: warning")]
    assert len(errors) == 1 and errors[0].startswith("airmodel: error"), lines
    return errors[0]


@pytest.mark.parametrize("dry", [True, False])
def test_config_cannot_run_code_without_consent(tmp_path, capsys, clean_env, dry):
    """The issue's reproduction: `subprocess:getoutput` + a plain state dict."""
    marker = tmp_path / "PWNED"
    torch.save({"w": torch.zeros(1)}, tmp_path / "sd.pt")
    cfg = _config(
        tmp_path,
        "subprocess:getoutput",
        tmp_path / "sd.pt",
        f", options: {{cmd: 'touch {marker}'}}",
    )
    rc = main(["run", str(cfg), "--no-progress", *(["--dry-run"] if dry else [])])
    err = _one_line(capsys)
    assert rc == 2 and not marker.exists()
    assert "wants to import the Python module 'subprocess'" in err
    assert "--allow-import subprocess" in err and f"{ENV}=subprocess" in err


def test_checkpoint_cannot_name_code(tmp_path, clean_env):
    """A checkpoint whose recorded model_name is a module:factory is refused too."""
    marker = tmp_path / "PWNED"
    save_atomic(
        {"model_name": "os:system", "state_dict": {"w": torch.zeros(1)}},
        tmp_path / "final.pt",
    )
    with pytest.raises(UserError, match="records model_name='os:system'") as err:
        load_checkpoint(tmp_path / "final.pt")
    assert "--allow-import os" in str(err.value) and not marker.exists()


def test_consent_by_env_and_search_from_config_folder(
    tmp_path, tmp_path_factory, capsys, clean_env
):
    """mynets.py beside the config, run from another folder, no PYTHONPATH."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "mynets.py").write_text(textwrap.dedent(FACTORIES))
    net = get_model("resnet8", 10, 1)  # any state dict; replaced below
    del net
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    torch.save(ref.state_dict(), folder / "w.pt")
    cfg = _config(folder, "mynets:build", "w.pt", ", options: {num_classes: 10}")
    clean_env.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert main(["run", str(cfg), "--dry-run"]) == 2  # no consent yet
    assert "--allow-import mynets" in _one_line(capsys)
    clean_env.setenv(ENV, "mynets")
    assert main(["run", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "model built, its weights fit (2 tensors, 650 parameters)" in out
    assert "plugins: " in out


def test_flag_consent_factory_errors_and_mismatches(tmp_path, capsys, clean_env):
    (tmp_path / "mynets.py").write_text(textwrap.dedent(FACTORIES))
    clean_env.chdir(tmp_path)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(144, 10)
    )
    torch.save(net.state_dict(), tmp_path / "w.pt")
    ok = _config(tmp_path, "mynets:named", "w.pt")
    args = ["run", str(ok), "--dry-run", "--allow-import", "mynets"]
    assert main(args) == 0, capsys.readouterr().err
    assert "its weights fit (4 tensors" in capsys.readouterr().out
    # a mismatch: one line listing the keys/shapes, naming the checkpoint
    bad = _config(tmp_path, "mynets:named", "w.pt", ", options: {width: 5}")
    assert main(["run", str(bad), "--dry-run", "--allow-import", "mynets"]) == 2
    err = _one_line(capsys)
    assert (
        "shape mismatches" in err
        and "0.weight: (4, 1, 3, 3) vs model (5, 1, 3, 3)" in err
    )
    # the factory's own error names the factory, not the checkpoint
    broken = _config(tmp_path, "mynets:broken", "w.pt")
    assert main(["run", str(broken), "--dry-run", "--allow-import", "mynets"]) == 2
    err = _one_line(capsys)
    assert "model factory 'mynets:broken' failed" in err and "corrupt" not in err


def test_allow_import_is_per_module(clean_env):
    """Allowing `mynets` does not allow `mynetsx` or `os`; submodules are allowed."""
    from airmodel.imports import allow_import, is_allowed

    allow_import("mynets")
    assert is_allowed("mynets") and is_allowed("mynets.sub")
    assert not is_allowed("mynetsx") and not is_allowed("os")
    with pytest.raises(UserError, match="module name"):
        allow_import("a,b")
