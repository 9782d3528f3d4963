"""Fitted MMSE_pb compensators and the receiver config keys."""

from __future__ import annotations

import pytest
import torch

from airmodel.config import ConfigError, DenoiserConfig, ReceiverConfig, from_dict
from airmodel.receiver.denoiser import (
    FIT_EVALUATIONS,
    PAPER_BETA_GRID,
    PAPER_LAM_GRID,
    estimate_layer_prior,
    fit_mmse_pb,
    fit_mmse_pb_layer,
    layer_estimate,
    mmse_pb,
    select_mmse_pb,
)

SEGMENTS = [(0, 3000), (3000, 2000)]


def _problem(device: str = "cpu"):
    """Drawn on the CPU (same numbers on every device), then moved to ``device``."""
    g = torch.Generator().manual_seed(0)
    w = torch.cat(
        [0.05 * torch.randn(3000, generator=g), torch.randn(2000, generator=g)]
    )
    w = w - 0.02  # a mean shift, so beta matters
    no_w = torch.full_like(w, 0.05)
    y = w + 0.05**0.5 * torch.randn(w.shape, generator=g)
    w, no_w, y = w.to(device), no_w.to(device), y.to(device)
    prior = estimate_layer_prior(y, no_w, SEGMENTS)

    def loss(w_hat, grad=False):
        err = w_hat - w
        value = float((err**2).mean())
        return (value, 2 * err / err.numel()) if grad else value

    return w, y, no_w, prior, loss


class TestFit:
    def test_better_than_start_and_cheaper_than_grid(self, device):
        w, y, no_w, prior, loss = _problem(device)
        fit = fit_mmse_pb(y, no_w, prior, loss)
        start = loss(mmse_pb(y, no_w, prior, 1.0, 0.0))
        assert fit.score <= start
        assert (
            fit.evaluations
            <= FIT_EVALUATIONS
            < len(PAPER_LAM_GRID) * len(PAPER_BETA_GRID)
        )
        assert min(PAPER_LAM_GRID) <= fit.lam <= max(PAPER_LAM_GRID)
        # as good as the paper's grid, within 2 %, at a tenth of the cost
        grid = select_mmse_pb(y, no_w, prior, lambda v: -loss(v))
        assert fit.score <= -grid.score * 1.02

    def test_lam_below_one_plus_eta(self):
        _, y, _, prior, loss = _problem()
        no_w = torch.full_like(y, 50.0)  # eta ~ 1e-3: lam must stay near 1
        fit = fit_mmse_pb(y, no_w, prior, loss)
        eta_min = float(prior.var.min()) / 50.0
        assert fit.lam < 1.0 + eta_min

    def test_fit_layer(self, device):
        """Elementwise float32 maths (no matmul); rel 1e-5 holds on CUDA too."""
        w, y, no_w, prior, loss = _problem(device)
        glob = fit_mmse_pb(y, no_w, prior, loss)
        lay = fit_mmse_pb_layer(y, no_w, prior, loss, SEGMENTS)
        assert lay.evaluations <= 60
        assert lay.score <= glob.score
        assert len(lay.layer_beta) == len(lay.layer_scale) == 2
        w_hat = layer_estimate(y, no_w, prior, lay, SEGMENTS)
        assert w_hat.device.type == device
        assert loss(w_hat) == pytest.approx(lay.score, rel=1e-5)


class TestConfigKeys:
    def test_keys(self):
        d = DenoiserConfig(
            "mmse_pb", select="fit", prior_scope="layer", recalibrate=500
        )
        assert d.key == "mmse_pb[fit][layer]+bn500"
        assert DenoiserConfig("ml", recalibrate=100).key == "ml+bn100"
        post = DenoiserConfig(
            "mmse_pb", select="validation", recalibrate=100, recalibrate_select=False
        )
        assert post.key == "mmse_pb[validation]+bn100post"

    def test_from_yaml_mapping(self):
        r = from_dict(
            ReceiverConfig,
            {
                "denoisers": [
                    {
                        "name": "mmse_pb",
                        "select": "fit_layer",
                        "prior_scope": "layer",
                        "recalibrate": 500,
                    },
                ]
            },
            "receiver",
        )
        assert r.denoisers[0].select == "fit_layer"

    @pytest.mark.parametrize(
        "entry, match",
        [
            ({"name": "mmse", "recalibrate": -1}, "recalibrate"),
            ({"name": "mmse", "recalibrate": 1}, "recalibrate"),
            ({"name": "mmse", "prior_scope": "tensor"}, "prior_scope"),
            ({"name": "mmse_pb", "select": "golden"}, "select"),
            ({"name": "mmse", "recalibrate": 1.5}, "recalibrate"),
        ],
    )
    def test_bad_values(self, entry, match):
        with pytest.raises(ConfigError, match=match):
            from_dict(ReceiverConfig, {"denoisers": [entry]}, "receiver")
