"""Denoisers: registry, ML/MMSE/MMSE_pb identities, MMSE theory, selection."""

from __future__ import annotations

import pytest
import torch

from airmodel.receiver.denoiser import (
    ML,
    MMSE,
    PAPER_BETA_GRID,
    PAPER_LAM_GRID,
    MMSEpb,
    Prior,
    estimate_prior,
    get_denoiser,
    list_denoisers,
    mmse_pb,
    select_mmse_pb,
)


def gaussian_case(
    n: int, wnr_db: float, seed: int = 0, mean: float = 0.0, device: str = "cpu"
):
    """Drawn on the CPU (same numbers on every device), then moved to ``device``."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, generator=g, dtype=torch.float64) * 0.05 + mean
    no = 0.05**2 / 10 ** (wnr_db / 10)
    y = w + torch.randn(n, generator=g, dtype=torch.float64) * no**0.5
    no_w = torch.full((n,), no, dtype=torch.float64)
    return w.to(device), y.to(device), no_w.to(device)


class TestRegistry:
    def test_names(self):
        assert {"ml", "mmse", "mmse_pb"} <= set(list_denoisers())
        assert isinstance(get_denoiser("mmse_pb", lam=0.99, beta=-1.0), MMSEpb)
        with pytest.raises(ValueError, match="Unknown denoiser"):
            get_denoiser("wiener")


class TestEstimators:
    def test_output_shape_dtype(self, device):
        _, y, no = gaussian_case(100, 0.0, device=device)
        for d in (ML(), MMSE(), MMSEpb(0.99, -1.0)):
            out = d(y.float(), no.float())
            assert out.shape == (100,) and out.dtype == torch.float32
            assert out.device.type == device

    def test_mmse_pb_one_zero_is_ml_exactly(self, device):
        _, y, no = gaussian_case(10_000, -3.0, device=device)
        out = MMSEpb(1.0, 0.0)(y, no)
        assert out.device.type == device
        assert torch.equal(out, ML()(y, no))

    def test_mmse_pb_zero_mu_over_var_is_mmse(self, device):
        """Float64 elementwise maths only (no matmul): same tolerance on CUDA."""
        w, y, no = gaussian_case(10_000, 2.0, mean=0.02, device=device)
        prior = estimate_prior(y, no)
        a = mmse_pb(y, no, prior, 0.0, prior.mean / prior.var)
        b = MMSE().denoise(y, no, prior)
        assert a.device.type == b.device.type == device
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)

    def test_lam_at_or_above_bound_is_refused(self):
        _, y, no = gaussian_case(1000, 0.0)
        prior = Prior(mean=0.0, var=float(no[0]))  # eta = 1 -> bound 2
        with pytest.raises(ValueError, match="lam < 1 \\+ eta"):
            mmse_pb(y, no, prior, 2.0, 0.0)
        mmse_pb(y, no, prior, 1.99, 0.0)

    @pytest.mark.parametrize("wnr_db", list(range(-10, 21, 5)))
    def test_mmse_beats_ml_and_matches_theory(self, wnr_db, device):
        """N = 10^6 Gaussian weights: MMSE MSE < ML MSE and within 2 % of no*eta/(eta+1).

        Same draws on every device (drawn on the CPU, then moved)."""
        w, y, no = gaussian_case(
            1_000_000, float(wnr_db), seed=wnr_db + 100, device=device
        )
        w_mmse = MMSE()(y, no)
        assert w_mmse.device.type == device
        mse_ml = float((ML()(y, no) - w).square().mean())
        mse_mmse = float((w_mmse - w).square().mean())
        eta = 0.05**2 / float(no[0])
        theory = float(no[0]) * eta / (eta + 1)
        assert mse_mmse < mse_ml
        assert mse_mmse == pytest.approx(theory, rel=0.02)

    def test_genie_prior_needs_clean(self):
        w, y, no = gaussian_case(1000, 0.0)
        with pytest.raises(ValueError, match="genie"):
            MMSE(prior="genie")(y, no)
        out = MMSE(prior="genie")(y, no, clean=w)
        assert out.shape == w.shape

    def test_power_prior_gives_the_closed_form_step_at_any_snr(self):
        """prior='power' (zero mean, the sent vector's power, floored at 1e-3 of the
        noise like the estimated prior): MMSE_pb's gain is eta_f / (eta_f + 1 - lam')
        with eta_f = max(true eta, 1e-3), to 1e-9, on every one of 20 draws at
        WNR -40 dB (floor: 0.0196 for lam' = 0.95) and at 0 dB (0.952); N = 77,082.
        At -40 dB the estimated prior's gain on the same draws spreads from the
        floor value up (its Var(y) - no is mostly noise there): its max is >= 2x
        its min, while the power prior's is one number."""
        n, lam = 77_082, 0.95
        for wnr_db in (-40.0, 0.0):
            power_gains, est_gains = [], []
            for seed in range(20):
                w, y, no = gaussian_case(n, wnr_db, seed=seed)
                eta = max(float(w.square().mean()) / float(no[0]), 1e-3)
                out = get_denoiser("mmse_pb", prior="power", lam=lam)(y, no, clean=w)
                gain = float((out / y).median())
                assert gain == pytest.approx(eta / (eta + 1 - lam), rel=1e-9)
                power_gains.append(gain)
                est = get_denoiser("mmse_pb", lam=lam)(y, no)
                est_gains.append(float((est / y).median()))
            if wnr_db < -30:
                assert max(power_gains) == pytest.approx(1e-3 / (1e-3 + 1 - lam))
                assert max(est_gains) > 2 * min(est_gains)
            else:
                assert min(power_gains) > 0.94

    def test_power_prior_is_global_only(self):
        with pytest.raises(ValueError, match="prior_scope='global'"):
            get_denoiser("mmse_pb", prior="power", prior_scope="layer")
        w, y, no = gaussian_case(100, 0.0)
        with pytest.raises(ValueError, match="power"):
            get_denoiser("mmse", prior="power")(y, no)  # needs the sent vector

    def test_prior_floor(self):
        y = torch.zeros(100, dtype=torch.float64)
        no = torch.ones(100, dtype=torch.float64)
        assert estimate_prior(y, no).var == pytest.approx(1e-3)


class TestSelection:
    def test_paper_grid_size(self):
        assert len(PAPER_LAM_GRID) == 13 and len(PAPER_BETA_GRID) == 23
        assert PAPER_LAM_GRID[0] == 0.95 and PAPER_LAM_GRID[-1] == 1.07
        assert PAPER_BETA_GRID[0] == -4.0 and PAPER_BETA_GRID[-1] == 0.4

    def test_selects_best_cell(self, device):
        w, y, no = gaussian_case(20_000, 0.0, device=device)
        prior = estimate_prior(y, no)
        sel = select_mmse_pb(
            y,
            no,
            prior,
            lambda wh: -float((wh - w).square().mean()),
            lam_grid=[0.0, 0.5, 1.0],
            beta_grid=[-1.0, 0.0, 1.0],
        )
        assert (sel.lam, sel.beta) == (0.0, 0.0)
        assert sel.evaluations == 9 and sel.skipped == 0

    def test_skips_infeasible_cells(self):
        _, y, no = gaussian_case(1000, -10.0)  # eta ~ 0.1: lam >= 1.1 infeasible
        prior = estimate_prior(y, no)
        sel = select_mmse_pb(
            y, no, prior, lambda wh: 0.0, lam_grid=[1.0, 1.5], beta_grid=[0.0]
        )
        assert sel.skipped == 1 and sel.evaluations == 1
