"""Equalizer (ZF, biased MMSE) and heteroscedastic denoising with per-weight noise."""

from __future__ import annotations

import math

import pytest
import torch

from airmodel.receiver.denoiser import MMSE, MMSEpb, Prior, mmse_pb
from airmodel.receiver.equalizer import Equalizer, equalize


def rayleigh(n: int, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """Drawn on the CPU (same numbers on every device), then moved to ``device``."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dtype=torch.complex128, generator=g).to(device)


class TestEqualizer:
    def test_output_shape_and_dtype(self, precision):
        cdt = torch.complex64 if precision == "single" else torch.complex128
        y = torch.ones(3, 5, dtype=cdt)
        x_hat, no_eff = Equalizer("mmse")(y, y, 0.1)
        assert x_hat.shape == no_eff.shape == (3, 5)
        assert x_hat.dtype == cdt and no_eff.dtype == y.real.dtype

    def test_docstring_example(self):
        h = torch.tensor([1 + 1j, 2j])
        y = h * torch.tensor([1 + 0j, -1j])
        torch.testing.assert_close(
            Equalizer("zf")(y, h, 0.1)[1], torch.tensor([0.05, 0.025])
        )

    def test_zf_exact(self, device):
        """Noise-free ZF returns x; no_eff = (no + err_var)/|h|^2 (elementwise float64:
        same tolerances on CUDA)."""
        h, x = rayleigh(100, 1, device), rayleigh(100, 2, device)
        x_hat, no_eff = equalize(h * x, h, 0.1, 0.02, "zf")
        assert x_hat.device.type == no_eff.device.type == device
        torch.testing.assert_close(x_hat, x, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(no_eff, 0.12 / h.abs() ** 2)

    def test_mmse_exact_and_rescaled_is_zf(self, device):
        """Biased MMSE: conj(h) y/(|h|^2+s); x_hat/g equals ZF; no_eff = s/(|h|^2+s)."""
        h, y = rayleigh(100, 1, device), rayleigh(100, 3, device)
        s = 0.3
        x_b, no_b = equalize(y, h, 0.2, 0.1, "mmse")
        assert x_b.device.type == no_b.device.type == device
        torch.testing.assert_close(x_b, h.conj() * y / (h.abs() ** 2 + s))
        torch.testing.assert_close(no_b, s / (h.abs() ** 2 + s))
        g = h.abs() ** 2 / (h.abs() ** 2 + s)
        torch.testing.assert_close(x_b / g, equalize(y, h, 0.2, 0.1, "zf")[0])

    def test_erased_symbol(self, device):
        h = torch.tensor([0j, 1 + 0j], dtype=torch.complex128, device=device)
        y = torch.tensor([3 + 1j, 2 + 0j], dtype=torch.complex128, device=device)
        x, no = equalize(y, h, 0.1, method="zf")
        assert x.device.type == no.device.type == device
        assert x[0] == 0 and math.isinf(no[0]) and no[1] == pytest.approx(0.1)
        x, no = equalize(y, h, 0.1, method="mmse")
        assert x[0] == 0 and no[0] == pytest.approx(1.0)

    def test_biased_mmse_equals_zf_plus_gaussian_mmse_denoiser(self):
        """MMSE equalizer + ML == ZF + MMSE denoiser with the unit-energy prior N(0, 1/2)."""
        h, y = rayleigh(1000, 4), rayleigh(1000, 5)
        x_b, _ = equalize(y, h, 0.1, method="mmse")
        x_zf, no_eff = equalize(y, h, 0.1, method="zf")
        w = torch.view_as_real(x_zf).reshape(-1)
        no_w = (no_eff / 2).repeat_interleave(2)
        w_hat = MMSE().denoise(w, no_w, Prior(0.0, 0.5))
        torch.testing.assert_close(w_hat, torch.view_as_real(x_b).reshape(-1))

    @pytest.mark.parametrize("method", ["zf", "mmse"])
    def test_measured_noise_matches_reported(self, method, device):
        """mean(|x_hat - x|^2 / no_eff) = 1 (ZF; Exp(1), std 1/sqrt(N)) and
        mean|x_hat - x|^2 = mean(no_eff) (MMSE), within 2 %, N = 10^5 Rayleigh symbols."""
        n, no = 100_000, 0.1
        h, x = rayleigh(n, 6, device), rayleigh(n, 7, device)
        x = x / x.abs().square().mean().sqrt()  # unit energy
        noise = rayleigh(n, 8, device) * math.sqrt(no)
        x_hat, no_eff = equalize(h * x + noise, h, no, method=method)
        assert x_hat.device.type == no_eff.device.type == device
        err = (x_hat - x).abs().square()
        if method == "zf":
            assert float((err / no_eff).mean()) == pytest.approx(1.0, rel=0.02)
        else:
            assert float(err.mean()) == pytest.approx(float(no_eff.mean()), rel=0.02)

    def test_bad_method(self):
        with pytest.raises(ValueError, match="`method` must be one of"):
            Equalizer("lmmse")
        with pytest.raises(ValueError, match="method"):
            equalize(
                torch.ones(1, dtype=torch.complex64),
                torch.ones(1, dtype=torch.complex64),
                0.1,
                method="x",
            )


class TestConstantNoiseVector:
    """Per-weight no_w that is constant reproduces the AWGN (expanded scalar) path."""

    def setup_method(self):
        g = torch.Generator().manual_seed(0)
        self.y = torch.randn(100_000, generator=g) * 0.1 + 0.02
        self.expanded = torch.tensor(0.003).expand(100_000)  # what AWGN hands over
        self.vector = torch.full((100_000,), 0.003)  # a real per-weight vector

    def test_mmse_denoise_exact(self):
        prior = Prior(0.02, 0.008)
        a = MMSE().denoise(self.y.clone(), self.expanded, prior)
        b = MMSE().denoise(self.y.clone(), self.vector, prior)
        assert torch.equal(a, b)

    def test_mmse_pb_exact(self):
        prior = Prior(0.02, 0.008)
        a = mmse_pb(self.y, self.expanded, prior, lam=0.97, beta=-1.2)
        b = mmse_pb(self.y, self.vector, prior, lam=0.97, beta=-1.2)
        assert torch.equal(a, b)

    @pytest.mark.parametrize("den", [MMSE(), MMSEpb(0.98, -0.4)])
    def test_with_estimated_prior(self, den):
        """End to end (prior estimated from y, no_w): equal to float32 rounding."""
        a = den(self.y, self.expanded)
        b = den(self.y, self.vector)
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-8)
