"""Per-layer Gaussian priors: estimation, genie, MSE gain, Link plumbing."""

from __future__ import annotations

import pytest
import torch

from airmodel.link import Link, air_segments
from airmodel.receiver.denoiser import (
    MMSE,
    MMSEpb,
    estimate_layer_prior,
    estimate_prior,
    genie_layer_prior,
)

SEGMENTS = [(0, 100_000), (100_000, 100_000)]


def _two_scales(
    no: float = 1e-2, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two segments with std 0.01 and 1.0 (N = 2e5), AWGN of variance ``no``.

    Drawn on the CPU (same numbers on every device), then moved to ``device``."""
    g = torch.Generator().manual_seed(0)
    w = torch.cat(
        [0.01 * torch.randn(100_000, generator=g), torch.randn(100_000, generator=g)]
    )
    no_w = torch.full_like(w, no)
    y = w + no**0.5 * torch.randn(w.shape, generator=g)
    return w.to(device), y.to(device), no_w.to(device)


class TestLayerPrior:
    def test_output_shape(self, device):
        w, y, no_w = _two_scales(device=device)
        p = estimate_layer_prior(y, no_w, SEGMENTS)
        assert p.mean.shape == p.var.shape == w.shape
        assert p.mean.device.type == p.var.device.type == device
        assert p.layer_mean.shape == p.layer_var.shape == (2,)

    def test_moments_per_segment(self):
        """Method of moments per segment at N = 1e5 each: the unit-variance one within
        3 %; the 1e-4 one within 3 sigma of the estimator (sqrt(2/N)*no = 4.5e-5)."""
        w, y, no_w = _two_scales()
        p = estimate_layer_prior(y, no_w, SEGMENTS)
        assert float(p.layer_var[1]) == pytest.approx(1.0, rel=0.03)
        assert float(p.layer_var[0]) == pytest.approx(1e-4, abs=1.4e-4)
        assert float(p.layer_var[0]) >= 1e-3 * 1e-2  # never below the floor
        g = genie_layer_prior(w, SEGMENTS)
        assert float(g.layer_var[0]) == pytest.approx(1e-4, rel=0.03)
        assert g.source == "genie"

    def test_single_segment_equals_global(self):
        _, y, no_w = _two_scales()
        lay = estimate_layer_prior(y, no_w, [(0, y.numel())])
        glo = estimate_prior(y, no_w)
        assert float(lay.layer_var[0]) == pytest.approx(glo.var, rel=1e-6)

    def test_per_layer_mmse_beats_global(self, device):
        """Per-layer MMSE lowers weight MSE versus global MMSE (N = 2e5)."""
        w, y, no_w = _two_scales(device=device)
        mse = {}
        for scope in ("global", "layer"):
            w_hat = MMSE(prior_scope=scope)(y, no_w, segments=SEGMENTS)
            assert w_hat.device.type == device
            mse[scope] = float(((w_hat - w) ** 2).mean())
        assert mse["layer"] < 0.6 * mse["global"]
        # MMSE_pb at (0, mu/var) is MMSE, per-weight prior tensors included
        p = estimate_layer_prior(y, no_w, SEGMENTS)
        pb = MMSEpb(lam=0.0, beta=0.0, prior_scope="layer").denoise(y, no_w, p)
        assert torch.isfinite(pb).all()

    def test_needs_segments(self):
        _, y, no_w = _two_scales()
        with pytest.raises(ValueError, match="segments"):
            MMSE(prior_scope="layer")(y, no_w)
        with pytest.raises(ValueError, match="segments"):
            estimate_layer_prior(y, no_w, [(0, 10)])
        with pytest.raises(ValueError, match="prior_scope"):
            MMSE(prior_scope="tensor")

    def test_link_passes_segments(self, device):
        sd = {
            "a.weight": 0.01 * torch.randn(4000),
            "b.weight": torch.randn(4000),
        }
        link = Link("awgn", precision="double", device=device)
        tx = link.transmit(sd, snr_db=0.0, seed=1)
        assert air_segments(tx.spec) == [(0, 4000), (4000, 4000)]
        w_lay, _ = link.denoise(tx, MMSE(prior_scope="layer"))
        w_glo, _ = link.denoise(tx, MMSE())
        err = {
            k: float(((v - tx.clean) ** 2).mean())
            for k, v in (("layer", w_lay), ("global", w_glo))
        }
        assert err["layer"] < err["global"]
        assert w_lay.device.type == w_glo.device.type == device
        sd_hat, _ = link.rebuild(tx, w_hat=w_lay)
        assert sd_hat.keys() == sd.keys()
        assert all(v.device.type == device for v in sd_hat.values())
