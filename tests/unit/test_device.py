"""One device, passed down (issue #15, item 2): every block of a built link runs on
the run's device, whatever Sionna's default; runs on CPU always, CUDA when present."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from airmodel.builder import build_link
from airmodel.config import load_config
from airmodel.devices import resolve_device, sionna_device
from airmodel.models import get_model
from airmodel.receiver.denoiser import MMSE

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["channel.name=rayleigh", "channel.options={interleave: true}"],
        ["channel.name=tdl", "channel.options={csi: ls}"],
        ["transmitter.scheme=digital", "transmitter.digital={code_rate: 0.5, k: 512}"],
    ],
    ids=["awgn-analog", "rayleigh", "tdl-ls", "digital"],
)
def test_built_link_runs_on_the_run_device(device, overrides):
    """State dict on the CPU in; symbols, noise, reception, stats and the rebuilt
    state dict on ``device``; weight MSE finite and below the clean power."""
    cfg = load_config(ROOT / "configs" / "quickstart.yaml", overrides)
    dev = resolve_device(device)
    link = build_link(cfg, dev)
    assert link.device == dev
    assert str(link.channel.device) == sionna_device(dev)
    torch.manual_seed(0)
    sd = {
        k: v
        for k, v in get_model("resnet8", in_channels=1).state_dict().items()
        if k.startswith(("conv1", "bn1", "linear"))
    }  # small: the digital path decodes
    tx = link.transmit(sd, snr_db=10.0, seed=0)
    assert tx.vector.device == dev and tx.reception.y.device == dev
    assert tx.reception.no_w.device == dev
    sd_hat, stats = link.rebuild(tx, MMSE())
    assert {v.device for v in sd_hat.values()} == {dev}
    layer_hat, _ = link.rebuild(tx, MMSE(prior_scope="layer"))  # per-layer prior
    assert {v.device for v in layer_hat.values()} == {dev}
    assert stats.noise_var.device == dev
    assert 0 < stats.weight_mse < stats.signal_power


def test_stats_accept_w_hat_from_another_device(device):
    """``Link.stats`` moves ``w_hat`` to the payload's device instead of mixing them."""
    from airmodel.link import Link

    link = Link("awgn", device=device)
    sd = {"w": torch.linspace(-1, 1, 64)}
    tx = link.transmit(sd, snr_db=20.0, seed=1)
    w_hat, _ = link.denoise(tx, MMSE())
    cpu = link.stats(tx, w_hat.cpu())
    same = link.stats(tx, w_hat)
    assert cpu.weight_mse == pytest.approx(same.weight_mse, rel=1e-6)


def test_resolve_device_checks_existence():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )
    with pytest.raises(RuntimeError, match="not a torch device"):
        resolve_device("gpu0")
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(RuntimeError, match="CUDA device"):
        resolve_device(f"cuda:{n}")
    assert sionna_device("cuda") == "cuda:0" and sionna_device("cpu") == "cpu"


def test_link_takes_a_given_channels_device_and_refuses_non_channels(device):
    from airmodel.channels import AWGNChannel
    from airmodel.link import Link

    link = Link(AWGNChannel(device=sionna_device(device)))
    assert link.device == resolve_device(device)
    with pytest.raises(TypeError, match="airmodel.protocols.Channel"):
        Link(lambda x, no: x)
