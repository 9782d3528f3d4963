"""Analog modulation: unit energy, pairing, padding, inverse."""

from __future__ import annotations

import pytest
import torch

from airmodel.modulation import AnalogDemodulator, AnalogModulator


class TestAnalogModulator:
    def test_output_shape_and_dtype(self, precision):
        x, side = AnalogModulator(precision)(torch.randn(7))
        assert x.shape == (4,)
        assert x.dtype == (
            torch.complex64 if precision == "single" else torch.complex128
        )
        assert side.num_weights == 7 and side.padding == 1

    def test_pairs_i_and_q(self, device):
        w = torch.tensor([1.0, 2.0, 3.0, 4.0], device=device)
        x, side = AnalogModulator()(w)
        assert x.device.type == device
        torch.testing.assert_close(
            x * side.scale,
            torch.tensor([1 + 2j, 3 + 4j], dtype=x.dtype, device=device),
        )

    def test_unit_average_energy(self, device):
        """Mean |x|^2 is 1 to float64 rounding, N = 10^5 weights (reductions only,
        no TF32 path: same bounds on CUDA)."""
        w = torch.randn(100_001) * 0.03 + 0.01
        x, _ = AnalogModulator("double")(w.to(device))
        assert x.device.type == device
        assert abs(float(x.abs().square().mean()) - 1.0) < 1e-12
        w = torch.randn(100_001) * 0.03 + 0.01
        x, _ = AnalogModulator("single")(w.to(device))
        assert abs(float(x.abs().square().double().mean()) - 1.0) < 1e-6

    def test_inverse_is_exact_in_double(self, device):
        w = torch.randn(1001).to(device)
        x, side = AnalogModulator("double")(w)
        w_hat, no_w = AnalogDemodulator()(x, 0.0, side)
        assert w_hat.device.type == no_w.device.type == device
        assert torch.equal(w_hat.float(), w)
        assert no_w.shape == (1001,) and float(no_w.max()) == 0.0

    def test_noise_per_weight_is_half_scaled_symbol_noise(self, device):
        w = torch.randn(10).to(device)
        x, side = AnalogModulator()(w)
        no = torch.arange(5, dtype=torch.float64, device=device)
        _, no_w = AnalogDemodulator()(x, no, side)
        assert no_w.device.type == device
        torch.testing.assert_close(
            no_w.double(), no.repeat_interleave(2) * side.scale**2 / 2
        )

    def test_bad_input(self):
        with pytest.raises(ValueError, match="precision"):
            AnalogModulator("half")
        with pytest.raises(ValueError, match="1-D"):
            AnalogModulator()(torch.zeros(2, 2))
