"""Tests for the Scorer (batched accuracy on one device-resident tensor)."""

import pytest
import torch

from airmodel.data import load_dataset
from airmodel.evaluation import Scorer, bf16_is_fast, sample_indices
from airmodel.models import get_model, init_weights

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", split="test")


def tiny_model(seed=0):
    model = get_model("resnet8", num_classes=10, in_channels=1)
    init_weights(model, torch.Generator().manual_seed(seed))
    # Give BN non-trivial running stats so eval mode matters.
    model.train()
    x, _, _ = load_dataset("digits", split="train")
    with torch.no_grad():
        model(torch.from_numpy(x[:256]).permute(0, 3, 1, 2).float() / 255.0)
    return model.eval()


def naive_accuracy(model, x, y, info):
    """Per-sample loop, contiguous NCHW fp32: the reference."""
    mean = torch.tensor(info.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.std).view(1, -1, 1, 1)
    correct = 0
    with torch.no_grad():
        for i in range(len(y)):
            xi = torch.from_numpy(x[i : i + 1]).permute(0, 3, 1, 2).float() / 255.0
            pred = model(((xi - mean) / std).contiguous()).argmax(1).item()
            correct += int(pred == y[i])
    return correct / len(y)


@pytest.mark.parametrize("device", DEVICES)
def test_matches_naive_loop(digits, device):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x, y, info = digits
    model = tiny_model()
    ref = naive_accuracy(model, x, y, info)
    scorer = Scorer(x, y, info, device=device, batch_size=64)
    assert scorer.x.is_contiguous(memory_format=torch.channels_last)
    assert scorer.x.device.type == device
    assert scorer(model) == pytest.approx(ref, abs=1.5 / len(y))
    assert 0.0 <= ref <= 1.0


def test_batch_size_invariant_and_training_mode_restored(digits):
    x, y, info = digits
    model = tiny_model().train()
    a = Scorer(x, y, info, device="cpu", batch_size=7).accuracy(model)
    b = Scorer(x, y, info, device="cpu", batch_size=1000).accuracy(model)
    assert a == b and model.training


def test_accuracy_of_state_dict(digits):
    x, y, info = digits
    trained, other = tiny_model(0), tiny_model(1)
    template = get_model("resnet8", num_classes=10, in_channels=1)
    scorer = Scorer(x, y, info, device="cpu", model=template)
    assert scorer.accuracy_of(trained.state_dict()) == scorer.accuracy(trained)
    assert scorer(other.state_dict()) == scorer.accuracy(other)
    assert scorer(trained.state_dict(), other) == scorer.accuracy(trained)
    with pytest.raises(ValueError, match="model="):
        Scorer(x, y, info, device="cpu").accuracy_of(trained.state_dict())


def test_subset_and_sample_indices():
    x, y, info = load_dataset("digits", split="train")
    idx = sample_indices(len(y), 100, seed=0)
    assert torch.equal(idx, sample_indices(len(y), 100, seed=0))
    assert len(set(idx.tolist())) == 100
    model = tiny_model()
    full = Scorer(x, y, info, device="cpu")
    val = full.subset(idx)
    assert len(val) == 100
    direct = Scorer(x[idx.numpy()], y[idx.numpy()], info, device="cpu")
    assert val.accuracy(model) == direct.accuracy(model)
    with pytest.raises(ValueError, match="k"):
        sample_indices(10, 11)


def test_bad_arguments(digits):
    x, y, info = digits
    with pytest.raises(TypeError, match="batch_size"):
        Scorer(x, y, info, batch_size=True)
    with pytest.raises(ValueError, match="batch_size"):
        Scorer(x, y, info, batch_size=0)
    with pytest.raises(ValueError, match="labels"):
        Scorer(x, y[:-1], info)


def test_bf16_scoring_close(digits):
    x, y, info = digits
    if not bf16_is_fast("cpu"):
        x, y = x[:64], y[:64]  # emulated bf16 is slow: keep it tiny
    model = tiny_model()
    fp32 = Scorer(x, y, info, device="cpu").accuracy(model)
    bf16 = Scorer(x, y, info, device="cpu", bf16=True).accuracy(model)
    assert abs(fp32 - bf16) <= 0.1
    assert isinstance(bf16_is_fast("cpu"), bool)
