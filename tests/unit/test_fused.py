"""Tests for the fused inference copy the CPU Scorer uses for airmodel ResNets."""

import copy

import pytest
import torch
from torch import nn

from airmodel.data import load_dataset
from airmodel.evaluation import Scorer
from airmodel.evaluation import fused as fused_mod
from airmodel.evaluation.fused import FusedResNet, fold_batchnorm, fuse
from airmodel.models import get_model, init_weights
from airmodel.models.resnet_cifar import ResNet


def random_stats(model, seed=0, scale=1.0):
    """Non-trivial batch-norm affine parameters and running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + scale * torch.randn(n, generator=g))
                m.bias.copy_(scale * torch.randn(n, generator=g))
                m.running_mean.copy_(scale * torch.randn(n, generator=g))
                m.running_var.copy_(0.05 + torch.rand(n, generator=g) * 2)
    return model.eval()


def resnet(name="resnet8", in_channels=3, seed=0):
    model = get_model(name, num_classes=10, in_channels=in_channels)
    init_weights(model, torch.Generator().manual_seed(seed))
    return random_stats(model, seed)


@pytest.mark.parametrize("conv_bias", [False, True])
@pytest.mark.parametrize("affine", [False, True])
def test_fold_batchnorm_matches_conv_then_bn(conv_bias, affine):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, 2, 1, bias=conv_bias)
    bn = nn.BatchNorm2d(6, affine=affine)
    if affine:
        random_stats(nn.Sequential(bn))
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.1, 2.0)
    bn.eval()
    x = torch.randn(5, 4, 9, 9)
    w, b = fold_batchnorm(conv, bn)
    with torch.no_grad():
        ref = bn(conv(x))
        got = nn.functional.conv2d(x, w, b, conv.stride, conv.padding)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    assert w.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    "name,in_channels,size",
    [("resnet8", 1, 8), ("resnet8", 3, 32), ("resnet20", 3, 32)],
)
def test_fused_resnet_matches_eager(name, in_channels, size):
    model = resnet(name, in_channels)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fused = fuse(model)
    assert isinstance(fused, FusedResNet)
    x = torch.randn(
        37, in_channels, size, size, generator=torch.Generator().manual_seed(1)
    )
    with torch.inference_mode():
        ref = model(x)
        for inp in (x, x.contiguous(memory_format=torch.channels_last)):
            got = fused(inp)
            torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4 * ref.abs().max())
            assert torch.equal(got.argmax(1), ref.argmax(1))
    for k, v in model.state_dict().items():  # the source model is untouched
        assert torch.equal(v, before[k]), k


def test_fused_copy_is_frozen():
    model = resnet()
    fused = fuse(model)
    x = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        a = fused(x)
        model.conv1.weight.mul_(0)  # later changes do not reach the copy
        assert torch.equal(fused(x), a)
        assert not torch.allclose(model(x), a)


class _Sub(ResNet):
    pass


def test_fuse_declines_what_it_does_not_cover():
    assert fuse(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())) is None
    assert fuse(_Sub((1, 1, 1), (16, 32, 64))) is None  # subclass may override forward
    assert fuse(resnet().double()) is None
    hooked = resnet()
    hooked.layer1.register_forward_hook(lambda *a: None)
    assert fuse(hooked) is None
    no_stats = resnet()
    no_stats.bn1 = nn.BatchNorm2d(16, track_running_stats=False)
    assert fuse(no_stats) is None
    assert fuse(resnet()) is not None


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split="test")


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_scorer_fused_matches_eager(digits, noise, device):
    """CPU: the fused copy predicts exactly as eager. CUDA: the scorer falls back to
    the eager model (the fused path is CPU oneDNN only), agrees with eager exactly,
    and with the CPU reference within 1 % of the predictions and 5e-3 (relative)
    of the loss (cuDNN convolutions may run in TF32, ~1e-3 relative per layer);
    N = the digits test split."""
    x, y, info = digits
    model = resnet("resnet8", in_channels=1, seed=2)
    if noise:  # a rebuilt model after a noisy link: weights and BN stats perturbed
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if v.is_floating_point():
                    v.add_(noise * v.std() * torch.randn(v.shape, generator=g))
                    if k.endswith("running_var"):
                        v.clamp_(min=1e-3)
    if device != "cpu":  # CPU reference, from a copy (the scorer moves the model)
        ref = Scorer(x, y, info, device="cpu", batch_size=64, fused=False)
        cpu_model = copy.deepcopy(model)
        ref_pred = ref.predict(cpu_model)
        ref_loss = ref.loss_of(cpu_model.state_dict(), cpu_model)
    fused = Scorer(x, y, info, device=device, batch_size=64)
    eager = Scorer(x, y, info, device=device, batch_size=64, fused=False)
    if device == "cpu":
        assert isinstance(fused._inference_net(model), FusedResNet)
    else:
        assert fused._inference_net(model) is model  # eager fallback
    assert eager._inference_net(model) is model
    pred = fused.predict(model)
    assert pred.device.type == device
    assert torch.equal(pred, eager.predict(model))
    loss = fused.loss_of(model.state_dict(), model)
    assert loss == pytest.approx(eager.loss_of(model.state_dict(), model), rel=1e-5)
    if device != "cpu":
        assert float((pred.cpu() != ref_pred).double().mean()) <= 0.01
        assert loss == pytest.approx(ref_loss, rel=5e-3)


def test_no_fusion_where_the_ops_do_not_run(digits, monkeypatch):
    from airmodel.evaluation import fused as fused_mod

    def broken(*args):
        raise RuntimeError("not built with oneDNN")

    monkeypatch.setattr(torch.ops.mkldnn, "_convolution_pointwise", broken)
    fused_mod.onednn_fusion_available.cache_clear()
    try:
        assert not fused_mod.onednn_fusion_available()
        x, y, info = digits
        model = resnet("resnet8", in_channels=1)
        scorer = Scorer(x, y, info, device="cpu")
        assert fuse(model) is None and scorer._inference_net(model) is model
        assert 0.0 <= scorer(model) <= 1.0
    finally:
        monkeypatch.undo()
        fused_mod.onednn_fusion_available.cache_clear()
    assert fused_mod.onednn_fusion_available()


def test_scorer_scores_a_bf16_copy_under_bf16(digits):
    """bf16 on the CPU: a copy with bf16 weights (cast once), the source untouched;
    the fused bf16 copy only where bf16 is native, else an eager bf16 copy."""
    x, y, info = digits
    model = resnet("resnet8", in_channels=1)
    scorer = Scorer(x[:8], y[:8], info, device="cpu", bf16=True)
    assert scorer.precision == "bf16"
    net = scorer._inference_net(model)
    assert net is not model and net.linear.weight.dtype == torch.bfloat16
    assert model.linear.weight.dtype == torch.float32
    assert isinstance(net, FusedResNet) == fused_mod.bf16_native_cpu()
    if not isinstance(net, FusedResNet):  # the cached copy takes new weights
        with torch.no_grad():
            model.linear.weight.add_(1.0)
        again = scorer._inference_net(model)
        assert again is net
        assert torch.equal(again.linear.weight, model.linear.weight.bfloat16())


def test_fuse_bf16_only_where_native(monkeypatch):
    model = resnet("resnet8")
    monkeypatch.setattr(fused_mod, "bf16_native_cpu", lambda: False)
    assert fuse(model, torch.bfloat16) is None
    assert isinstance(fuse(model), FusedResNet)


@pytest.mark.skipif(not fused_mod.bf16_native_cpu(), reason="no native bf16 CPU")
def test_fused_bf16_logits_close_to_fp32():
    """Fused bf16 copy vs eager fp32 on 64 random images: bf16 has 8 mantissa
    bits, so logits agree to ~1e-2 relative of their scale (tolerance 5e-2)."""
    model = resnet("resnet8")
    x = torch.randn(64, 3, 32, 32)
    with torch.inference_mode():
        ref = model(x)
        got = fuse(model, torch.bfloat16)(x).float()
    assert (got - ref).abs().max() <= 5e-2 * ref.abs().max()


@pytest.mark.parametrize("fused", [True, False])
def test_config_switch_reaches_both_scorers(fused):
    from airmodel.builder import build_data
    from airmodel.config import ExperimentConfig, from_dict

    cfg = from_dict(
        ExperimentConfig,
        {"data": {"dataset": "digits"}, "evaluation": {"fused": fused}},
    )
    data = build_data(cfg, torch.device("cpu"))
    assert data.test.fused is fused and data.validation.fused is fused
