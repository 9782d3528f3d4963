"""One registry type: names, options checked against signatures, entry-point plugins,
and ``--dry-run`` building every component (issue #15, items 2 and 4)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch

from airmodel.channels.registry import CHANNELS
from airmodel.cli import main
from airmodel.config import ConfigError, load_config
from airmodel.data import DATASETS
from airmodel.experiment import dry_run
from airmodel.models import MODELS
from airmodel.modulation import SCHEMES
from airmodel.receiver.denoiser import DENOISERS
from airmodel.registry import Registry, RegistryError

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
import torch
from airmodel.receiver.denoiser import Denoiser


class Soft(Denoiser):
    """Soft threshold: sign(y) * max(|y| - tau, 0)."""

    name = "soft"
    needs_prior = False

    def __init__(self, tau: float = 0.1, prior="estimated", prior_scope="global"):
        super().__init__(prior, prior_scope)
        self.tau = tau

    def denoise(self, y, no_w, prior):
        return torch.sign(y) * (y.abs() - self.tau).clamp_min(0)


def tiny(num_classes: int = 10, in_channels: int = 3, width: int = 4):
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.LazyLinear(num_classes)
    )
'''


@pytest.fixture
def plugin_dist(tmp_path):
    """A real installed distribution (dist-info + entry points) on sys.path."""
    (tmp_path / "soft_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = tmp_path / "soft_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: soft-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        "[airmodel.denoisers]\nsoft = soft_plugin:Soft\nml = soft_plugin:Soft\n\n"
        "[airmodel.models]\ntiny = soft_plugin:tiny\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("soft_plugin", None)


def test_all_five_kinds_use_the_one_registry_type():
    for reg, group in (
        (CHANNELS, "airmodel.channels"),
        (SCHEMES, "airmodel.schemes"),
        (DENOISERS, "airmodel.denoisers"),
        (MODELS, "airmodel.models"),
        (DATASETS, "airmodel.datasets"),
    ):
        assert type(reg) is Registry and reg.group == group
    assert {"awgn", "rayleigh", "tdl"} <= set(CHANNELS.names())
    assert {"ml", "mmse", "mmse_pb"} <= set(DENOISERS.names())
    assert {"digits", "cifar10", "image_folder"} <= set(DATASETS.names())


def test_options_come_from_the_signature():
    assert CHANNELS.options("rician") == ["block_length", "k_factor"]
    assert "csi" in CHANNELS.options("tdl")  # forwarded **kwargs followed up the MRO
    assert "channel_model" not in CHANNELS.options("tdl")  # the subclass gives it
    assert CHANNELS.options("awgn") == []
    assert DENOISERS.options("mmse_pb") == ["beta", "lam", "prior", "prior_scope"]
    with pytest.raises(RegistryError, match=r"accepts \['block_length', 'k_factor'\]"):
        CHANNELS.build("rician", {"k_facter": 2.0})
    with pytest.raises(ValueError, match="already registered"):
        CHANNELS.register("awgn")(object)


def test_entry_point_plugins_are_discovered(plugin_dist):
    reg: Registry = Registry("denoiser", "airmodel.denoisers")
    reg.add("ml", object)
    with pytest.warns(UserWarning, match="'ml' .* is ignored: the name is taken"):
        assert "soft" in reg.names()
    assert reg.get("ml") is object  # the built-in kept its name
    den = reg.build("soft", {"tau": 0.5})
    y = torch.tensor([-1.0, 0.2, 2.0])
    assert torch.equal(den.denoise(y, None, None), torch.tensor([-0.5, 0.0, 1.5]))
    with pytest.raises(
        RegistryError, match=r"accepts \['prior', 'prior_scope', 'tau'\]"
    ):
        reg.build("soft", {"tu": 0.5})


@pytest.mark.filterwarnings("ignore:denoiser plugin 'ml'")  # the fixture's clash
def test_plugin_from_yaml_through_the_cli(plugin_dist, monkeypatch, capsys):
    """A plugin denoiser named in YAML, found by the global registry, run by the CLI."""
    monkeypatch.setattr(DENOISERS, "_factories", dict(DENOISERS._factories))
    monkeypatch.setattr(DENOISERS, "_options", dict(DENOISERS._options))
    monkeypatch.setattr(DENOISERS, "_plugins_loaded", False)  # rescan entry points
    cmd = ["run", "quickstart", "--dry-run", "--set"]
    assert (
        main([*cmd, "receiver.denoisers=[ml, {name: soft, options: {tau: 0.01}}]"]) == 0
    )
    assert "denoisers: ml, soft" in capsys.readouterr().out
    assert main([*cmd, "receiver.denoisers=[{name: soft, options: {tua: 0.01}}]"]) == 2
    err = capsys.readouterr().err
    assert "'tua'" in err and "'tau'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("receiver.denoisers=[mmsee]", "Unknown denoiser name 'mmsee'"),
        ("channel.options={blok_length: 4}", "does not take option(s) ['blok_length']"),
        ("channel.name=rayleigh", None),
        ("channel.options={interleave: true}", None),
        ("channel.name=raleigh", "Unknown channel name 'raleigh'"),
        ("transmitter.scheme=digital", None),
        (
            "transmitter.scheme=qam",
            "config key `transmitter.scheme`: Unknown scheme name",
        ),
        ("transmitter.options={x: 1}", "scheme 'analog' does not take option(s) ['x']"),
        ("transmitter.digital={code_rat: 0.5}", None),  # analog: digital options unused
        ("model.name=resnet21", "Unknown model name 'resnet21'"),
        (
            "model.name=nopkg.mod:factory",
            "wants to import the Python module 'nopkg.mod'",
        ),
        ("data.dataset=digitz|data.root=.", "Unknown dataset name 'digitz'"),
        ("model.options={depth: 3}", "does not take option(s) ['depth']"),
    ],
)
def test_dry_run_builds_every_component(override, expected):
    cfg = load_config(ROOT / "configs" / "quickstart.yaml", override.split("|"))
    if expected is None:
        assert "config OK" in dry_run(cfg)
    else:
        with pytest.raises(ConfigError) as err:
            dry_run(cfg)
        assert expected in str(err.value)


def test_dry_run_refuses_digital_scheme_option_typo():
    cfg = load_config(
        ROOT / "configs" / "quickstart.yaml",
        ["transmitter.scheme=digital", "transmitter.digital={code_rat: 0.5}"],
    )
    with pytest.raises(ConfigError, match="code_rat"):
        dry_run(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only torch")
def test_dry_run_checks_the_device_exists(capsys):
    rc = main(["run", "quickstart", "--dry-run", "--set", "evaluation.device=cuda"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "evaluation.device" in err and "no CUDA device" in err


def test_dry_run_lists_installed_plugins(plugin_dist):
    """Installed entry-point plugins are code that runs: `--dry-run` names each."""
    from airmodel.registry import installed_plugins

    listed = installed_plugins()
    assert "airmodel.models: tiny = soft_plugin:tiny (soft-plugin 0.1)" in listed
    assert "airmodel.denoisers: soft = soft_plugin:Soft (soft-plugin 0.1)" in listed
    cfg = load_config(ROOT / "configs" / "quickstart.yaml")
    assert f"  plugins: {listed}" in dry_run(cfg)
