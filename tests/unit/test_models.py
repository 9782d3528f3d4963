"""Tests for the model registry and the CIFAR ResNets."""

import pytest
import torch
from torch import nn

from airmodel.models import get_model, init_weights, list_models, register_model

PARAMS = {"resnet18": 11.17e6, "resnet34": 21.28e6, "resnet20": 0.27e6}


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_param_count(name):
    """Parameter counts match the papers within 1 %."""
    assert n_params(get_model(name)) == pytest.approx(PARAMS[name], rel=0.01)


@pytest.mark.parametrize("name", ["resnet8", "resnet20", "resnet18", "resnet34"])
@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (3, 1, 8, 8)])
def test_output_shape(name, shape):
    model = get_model(name, num_classes=7, in_channels=shape[1]).eval()
    with torch.no_grad():
        out = model(torch.randn(shape))
    assert out.shape == (shape[0], 7)
    assert out.dtype == torch.float32


def test_channels_last_matches_contiguous():
    model = get_model("resnet8").eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        ref = model(x)
        cl = model.to(memory_format=torch.channels_last)(
            x.contiguous(memory_format=torch.channels_last)
        )
    torch.testing.assert_close(cl, ref, rtol=1e-4, atol=1e-4)


def test_state_dict_layout():
    """kuangliu naming: projection shortcut is shortcut.0 (conv) / shortcut.1 (BN)."""
    keys = get_model("resnet18").state_dict().keys()
    assert "conv1.weight" in keys and "bn1.running_mean" in keys
    assert "layer2.0.shortcut.0.weight" in keys
    assert "layer2.0.shortcut.1.running_var" in keys
    assert "layer1.0.shortcut.0.weight" not in keys  # identity shortcut
    assert {"linear.weight", "linear.bias"} <= set(keys)
    convs = [m for m in get_model("resnet20").modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is None for c in convs)
    assert not any(isinstance(m, nn.MaxPool2d) for m in get_model("resnet18").modules())


def test_list_models():
    assert {"resnet8", "resnet18", "resnet20", "resnet34"} <= set(list_models())
    assert list_models() == sorted(list_models())


def test_unknown_model_lists_choices():
    with pytest.raises(ValueError, match="resnet20"):
        get_model("resnet21")


def test_duplicate_registration():
    with pytest.raises(ValueError, match="already registered"):
        register_model("resnet20")(lambda num_classes, in_channels: nn.Identity())


def test_init_weights_uses_generator_only():
    """Same seed -> same weights; the global RNG is untouched."""
    a, b = get_model("resnet8"), get_model("resnet8")
    state = torch.random.get_rng_state()
    init_weights(a, torch.Generator().manual_seed(3))
    init_weights(b, torch.Generator().manual_seed(3))
    assert torch.equal(torch.random.get_rng_state(), state)
    for (ka, va), (_, vb) in zip(
        a.state_dict().items(), b.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(va, vb, msg=ka)
