"""ShuffleNetV2, CIFAR variant (issue #20, item 1): registry, size, shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from airmodel.models import get_model, list_models
from airmodel.models.shufflenet import channel_shuffle
from airmodel.transmitter import select_on_air


def expected_params(widths=(116, 232, 464, 1024), blocks=(3, 7, 3), classes=10) -> int:
    """Parameters counted from the architecture, independently of the module.

    conv k x k (cin -> cout, groups g): k^2 cin cout / g; batch-norm: 2 per channel.
    Stem: 3x3, 3 -> 24. Down unit (cin -> cout, mid = cout/2): left = depthwise
    3x3 on cin + 1x1 cin -> mid; right = 1x1 cin -> mid, depthwise 3x3 on mid,
    1x1 mid -> mid. Basic unit on c channels (h = c/2): 1x1 h -> h, depthwise
    3x3 on h, 1x1 h -> h. Head: 1x1 464 -> 1024, linear 1024 -> classes.
    """
    total = 9 * 3 * 24 + 2 * 24
    cin = 24
    for cout, n in zip(widths[:3], blocks, strict=True):
        mid = cout // 2
        total += 9 * cin + 2 * cin + cin * mid + 2 * mid  # left branch
        total += cin * mid + 2 * mid + 9 * mid + 2 * mid + mid * mid + 2 * mid
        total += n * (2 * mid * mid + 9 * mid + 3 * 2 * mid)  # basic units, h = mid
        cin = cout
    total += cin * widths[3] + 2 * widths[3]
    return total + widths[3] * classes + classes


def test_shufflenetv2_parameter_count():
    """Width 1.0, 10 classes: 1,263,854 parameters, the arithmetic above (the
    CIFAR ShuffleNetV2 of kuangliu/pytorch-cifar, net_size=1, has this count)."""
    assert "shufflenetv2" in list_models()
    model = get_model("shufflenetv2", num_classes=10, in_channels=3)
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_params() == 1_263_854
    m100 = get_model("shufflenetv2", num_classes=100)
    assert sum(p.numel() for p in m100.parameters()) == expected_params(classes=100)


def test_shufflenetv2_shapes_and_policy():
    model = get_model("shufflenetv2", 10, 1, {"width": 0.5}).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)
    sd = get_model("shufflenetv2").state_dict()
    air = select_on_air(sd, "paper")
    assert air and all(".weight" in k or ".bias" in k for k in air)
    assert not any(k.endswith(("running_mean", "num_batches_tracked")) for k in air)
    bn_weights = [k for k in sd if k.endswith("running_var")]
    assert len(sd) - len(air) == 5 * len(bn_weights)  # BN: weight, bias, 3 buffers
    with pytest.raises(ValueError, match="width"):
        get_model("shufflenetv2", options={"width": 0.7})


def test_channel_shuffle_interleaves():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]


ROOT = Path(__file__).resolve().parents[2]
CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"
CKPT = ROOT / "checkpoints" / "shufflenetv2_cifar10jpeg.pt"


def test_committed_shufflenet_checkpoint():
    """checkpoints/shufflenetv2_cifar10jpeg.pt: sealed (no warning on read),
    ShuffleNetV2 width 1.0 with 1,263,854 parameters, a finished schedule
    (epochs run = epochs planned, recorded in its config), at most 6 MB."""
    import warnings

    from airmodel.training import load_checkpoint, read_checkpoint

    assert CKPT.stat().st_size <= 6 * 2**20
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sealed: no "no seal" warning
        read_checkpoint(CKPT)
    model, ck = load_checkpoint(CKPT)
    assert ck["model_name"] == "shufflenetv2" and ck["dataset"] == "image_folder"
    assert sum(p.numel() for p in model.parameters()) == 1_263_854
    assert ck["config"]["schedule"] == "onecycle" and ck["config"]["epochs"] == 3
    assert 0.5 < ck["test_accuracy"] < 1.0


@pytest.mark.slow
def test_committed_shufflenet_scores_its_recorded_accuracy():
    """With ../shared present: all 10,000 JPEG-copy test images, scored in fp32,
    give the recorded test accuracy within 0.3 points (30 images): the trainer
    scored it under bf16 autocast (native on the training CPU), which flips
    borderline images."""
    if not CIFAR.is_file():
        pytest.skip("../shared/datasets/cifar10-jpeg.tar.gz absent")
    from airmodel.data import load_dataset
    from airmodel.evaluation.scoring import Scorer
    from airmodel.training import load_checkpoint

    model, ck = load_checkpoint(CKPT)
    x, y, info = load_dataset("image_folder", CIFAR, "test")
    got = Scorer(x, y, info, device="cpu", batch_size=500).accuracy(model)
    assert abs(got - ck["test_accuracy"]) <= 30 / 10_000


def test_shufflenet_config_dry_run():
    """configs/shufflenet_cifar10_awgn.yaml: ML, MMSE_pb (fit), ML + recalibration
    500; `paper` policy; 2,000 test images, 3 draws; its plan
    passes with ../shared's copy (the committed checkpoint is found)."""
    if not CIFAR.is_file():
        pytest.skip("../shared/datasets/cifar10-jpeg.tar.gz absent")
    from airmodel.config import load_config
    from airmodel.experiment import dry_run

    cfg = load_config(
        ROOT / "configs" / "shufflenet_cifar10_awgn.yaml", [f"data.root={CIFAR}"]
    )
    assert cfg.transmitter.policy == "paper" and cfg.model.name == "shufflenetv2"
    assert [d.key for d in cfg.receiver.denoisers] == [
        "ml", "mmse_pb[fit]", "ml+bn500",
    ]  # fmt: skip
    assert cfg.data.test_samples == 2000 and cfg.sweep.draws >= 3
    plan = dry_run(cfg)
    assert "config OK" in plan and "shufflenetv2_cifar10jpeg.pt (found)" in plan
