"""One device, passed down (issue #15, item 2): every block of a built link runs on
the run's device, whatever Sionna's default; runs on CPU always, CUDA when present."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from airmodel.builder import build_link
from airmodel.config import load_config
from airmodel.devices import resolve_device, sionna_device
from airmodel.errors import UserError
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
    with pytest.raises(UserError, match="not a torch device"):
        resolve_device("gpu0")
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(UserError, match="CUDA device"):
        resolve_device(f"cuda:{n}")
    assert sionna_device("cuda") == "cuda:0" and sionna_device("cpu") == "cpu"


def test_link_takes_a_given_channels_device_and_refuses_non_channels(device):
    from airmodel.channels import AWGNChannel
    from airmodel.link import Link

    link = Link(AWGNChannel(device=sionna_device(device)))
    assert link.device == resolve_device(device)
    with pytest.raises(TypeError, match="airmodel.protocols.Channel"):
        Link(lambda x, no: x)


def test_receiver_blocks_agree_with_the_cpu(device):
    """Denoisers (global/layer/genie priors), batch-norm recalibration and the scorer
    give on ``device`` what they give on the CPU (the independent path): denoised
    weights within 1e-5 relative (N = 20,000 weights), recalibrated statistics within
    2e-3 relative and accuracy within 2 of 64 images (cuDNN convolutions may use TF32,
    ~1e-3 relative on the activations)."""
    from airmodel.data.info import DatasetInfo
    from airmodel.evaluation.scoring import Scorer
    from airmodel.receiver.bn_recalibration import recalibrate_bn_state
    from airmodel.receiver.denoiser import DENOISERS

    dev = resolve_device(device)
    g = torch.Generator().manual_seed(0)
    w = torch.randn(20_000, generator=g) * 0.1
    no_w = torch.full_like(w, 0.01)
    y = w + torch.randn(20_000, generator=g) * 0.1
    segments = [(0, 5_000), (5_000, 15_000)]
    for name in ("ml", "mmse", "mmse_pb"):
        for kw in ({}, {"prior_scope": "layer"}, {"prior": "genie"}):
            den = DENOISERS.build(name, kw)
            ref = den.denoise(y, no_w, den.fit_prior(y, no_w, w, segments))
            yd, nd, wd = y.to(dev), no_w.to(dev), w.to(dev)
            out = den.denoise(yd, nd, den.fit_prior(yd, nd, wd, segments))
            assert out.device == dev
            torch.testing.assert_close(out.cpu(), ref, rtol=1e-5, atol=1e-7)
    torch.manual_seed(0)
    model = get_model("resnet8", in_channels=1)
    images = torch.randn(64, 1, 8, 8, generator=g)
    sd = model.state_dict()
    ref = recalibrate_bn_state(sd, model, images, 32)
    out = recalibrate_bn_state(
        {k: v.to(dev) for k, v in sd.items()}, model.to(dev), images.to(dev), 32
    )
    for k in ref:
        assert out[k].device == dev
        torch.testing.assert_close(out[k].cpu(), ref[k], rtol=2e-3, atol=1e-4)
    info = DatasetInfo("toy", 10, 1, (0.5,), (0.25,), (8, 8))
    x = torch.randint(0, 255, (64, 8, 8, 1), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (64,), generator=g)
    model.cpu()
    acc_cpu = Scorer(x, labels, info, device="cpu", fused=False).accuracy(model)
    acc_dev = Scorer(x, labels, info, device=dev, fused=False).accuracy(model)
    assert abs(acc_dev - acc_cpu) <= 2 / 64
