"""The noise-hardened ResNet-20 (checkpoints/README.md) against the original at
equal transmitted energy per weight (docs/league_e2e.md, "Equal energy")."""

from pathlib import Path

import pytest
import torch

from airmodel.link import Link
from airmodel.metrics import moments
from airmodel.training import load_checkpoint, read_checkpoint
from airmodel.training.weight_noise import WeightNoise
from airmodel.transmitter.payload import flatten

CKPT = Path(__file__).resolve().parents[2] / "checkpoints"
ORIGINAL = CKPT / "resnet20_cifar10jpeg_e60.pt"
HARDENED = CKPT / "resnet20_cifar10jpeg_hardened.pt"


def test_equal_energy_per_weight_for_original_and_hardened():
    """Both models go out as unit-energy symbols (mean |x|^2 = 1 to 1e-5, i.e. the
    same energy per weight), so at Es/N0 = 5 dB each sees weight noise of variance
    (its own mean square) * 10^-0.5 (1e-5 relative), which is exactly the noise
    the hardening step injects at WNR 5 dB. The two mean squares differ (printed in
    the docs); the transmitted energy does not."""
    powers = []
    for path in (ORIGINAL, HARDENED):
        sd = read_checkpoint(path)["state_dict"]
        link = Link("awgn", precision="double")
        vec, spec = flatten(sd, "paper")
        _, power = moments(vec[: spec.num_air].double())
        x, _ = link.scheme.modulate(vec[: spec.num_air], power=power)
        assert float(x.abs().square().mean()) == pytest.approx(1.0, rel=1e-5)
        tx = link.transmit(sd, 5.0, seed=0)
        no_w = float(tx.reception.no_w.double().mean())
        assert no_w / power == pytest.approx(10**-0.5, rel=1e-5)
        model, _ = load_checkpoint(path)
        assert WeightNoise(model, (5.0, 5.0)).variance(5.0) == pytest.approx(
            no_w, rel=1e-5
        )
        powers.append(power)
    assert powers[0] != powers[1]


def test_hardened_card_records_how_it_was_made():
    """The checkpoint records its parent, the WNR range and the policy it was
    hardened with (the model card's command)."""
    ck = read_checkpoint(HARDENED)
    assert ck["config"]["init_from"].endswith("resnet20_cifar10jpeg_e60.pt")
    assert ck["config"]["weight_noise"]["wnr_db"] == [0.0, 10.0]
    assert ck["config"]["weight_noise"]["policy"] == "paper"
    assert torch.isfinite(torch.tensor(ck["test_accuracy"]))
