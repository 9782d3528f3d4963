"""Sweep helpers: average-noise receivers and the trial plan."""

from __future__ import annotations

import torch

from airmodel.config import DenoiserConfig
from airmodel.evaluation.sweep import SweepPlan, averaged_noise
from airmodel.link import Link
from airmodel.receiver.denoiser import MMSE


def test_averaged_noise_keeps_mean_and_loses_per_weight_detail():
    """Rayleigh, N = 2x10^5 weights: averaging no_w keeps its mean, raises MMSE's MSE."""
    g = torch.Generator().manual_seed(0)
    sd = {"w": torch.randn(200_000, generator=g) * 0.05}
    link = Link("rayleigh")
    tx = link.transmit(sd, 10.0, seed=1)
    avg = averaged_noise(tx)
    no = tx.reception.no_w
    assert torch.allclose(
        avg.reception.no_w.double().mean(), no.double().mean(), rtol=1e-5
    )
    assert avg.reception.no_w.unique().numel() == 1 < no.unique().numel()
    _, per = link.rebuild(tx, MMSE())
    _, flat = link.rebuild(avg, MMSE())
    assert per.weight_mse < flat.weight_mse


def test_key_and_plan():
    assert DenoiserConfig("mmse", noise="average").key == "mmse[avg-no]"
    plan = SweepPlan([0.0, 5.0], draws=2, seed=10)
    assert [t[3] for t in plan.trials()] == [10, 11, 12, 13]
