"""OFDM TDL/CDL wrappers vs Sionna's blocks, CSI modes, effective noise, Link."""

from __future__ import annotations

import numpy as np
import pytest
import sionna.phy
import torch
from sionna.phy.channel import OFDMChannel
from sionna.phy.channel.tr38901 import CDL, TDL, Antenna
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import LMMSEEqualizer, LSChannelEstimator, ResourceGridMapper

from airmodel import channels
from airmodel.channels import CDLChannel, TDLChannel
from airmodel.link import Link
from airmodel.receiver.denoiser import MMSE
from airmodel.receiver.equalizer import equalize

D = 864  # data REs per slot on the default grid (72 subcarriers x 12 data symbols)


def symbols(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dtype=torch.complex64, generator=g) / 2**0.5


def sionna_reference(ch, model, x, no, seed, csi):
    """Sionna's own pipeline on the wrapper's resource grid under config.seed."""
    rg = ch.resource_grid
    old = sionna.phy.config.seed
    try:
        sionna.phy.config.seed = seed
        ofdm = OFDMChannel(model(), rg, normalize_channel=True, return_channel=True)
        y, h = ofdm(ResourceGridMapper(rg)(x.view(-1, 1, 1, D)), no)
        if csi == "ls":
            h, err = LSChannelEstimator(rg, interpolation_type="lin")(y, no)
        else:
            err = torch.zeros(())
        sm = StreamManagement(np.array([[1]]), 1)
        return LMMSEEqualizer(rg, sm)(y, h, err, no)
    finally:
        sionna.phy.config.seed = old


class TestOFDMChannels:
    def test_registry_and_properties(self):
        assert type(channels.get("tdl")) is TDLChannel
        assert type(channels.get("cdl")) is CDLChannel
        ch = TDLChannel()
        assert ch.is_fading and ch.csi == "ls" and ch.num_data_symbols == D

    @pytest.mark.parametrize("csi", ["perfect", "ls"])
    def test_output_shape(self, csi):
        y, h, err = TDLChannel(csi=csi)(symbols(2 * 1000).view(2, 1000), 0.01)
        assert y.shape == h.shape == (2, 1000)
        assert err.shape == ((2, 1000) if csi == "ls" else ())

    def test_output_dtype(self, precision):
        y, h, err = TDLChannel(precision=precision)(symbols(100), 0.01)
        cdt = torch.complex64 if precision == "single" else torch.complex128
        assert y.dtype == h.dtype == cdt and err.dtype == cdt.to_real()

    def test_docstring_example(self):
        ch = TDLChannel("C", csi="perfect")
        ch.seed(0)
        y, _, _ = ch(torch.ones(1000, dtype=torch.complex64), 0.01)
        assert y.shape == torch.Size([1000])

    @pytest.mark.parametrize("csi", ["perfect", "ls"])
    def test_tdl_matches_sionna_under_same_seed(self, csi):
        """Our data REs + ZF equal Sionna's mapper/OFDMChannel/LS/LMMSEEqualizer
        (unbiased, = ZF for one antenna) under config.seed, to float32 rounding."""
        x, no = symbols(8 * D), 0.02
        kw = {"delay_spread": 100e-9, "carrier_frequency": 2.6e9, "max_speed": 10.0}
        ch = TDLChannel("B", csi=csi, **kw)
        ch.seed(11)
        y, h, err = ch(x, no)
        x_hat, no_eff = equalize(y, h, no, err)
        ref_x, ref_no = sionna_reference(
            ch, lambda: TDL("B", min_speed=0.0, **kw), x, no, 11, csi
        )
        torch.testing.assert_close(x_hat, ref_x.reshape(-1), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(no_eff, ref_no.reshape(-1), rtol=1e-4, atol=1e-6)

    def test_cdl_matches_sionna_under_same_seed(self):
        x, no = symbols(4 * D), 0.05
        ch = CDLChannel("A", delay_spread=30e-9, csi="perfect")
        ch.seed(4)
        x_hat, no_eff = equalize(*ch(x, no)[:2], no)

        def model():
            ant = Antenna("single", "V", "omni", 3.5e9)
            return CDL(
                "A", 30e-9, 3.5e9, ut_array=ant, bs_array=ant, direction="uplink"
            )

        ref_x, ref_no = sionna_reference(ch, model, x, no, 4, "perfect")
        torch.testing.assert_close(x_hat, ref_x.reshape(-1), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(no_eff, ref_no.reshape(-1), rtol=1e-4, atol=1e-6)

    def test_seed_reproducible(self):
        x = symbols(3000)
        ch = TDLChannel(slots_per_batch=2)
        ch.seed(1)
        a = ch(x, 0.01)
        ch.seed(1)
        b = ch(x, 0.01)
        ch.seed(2)
        c = ch(x, 0.01)
        other = TDLChannel(slots_per_batch=2)  # fixed pilots: same across instances
        other.seed(1)
        d = other(x, 0.01)
        assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
        assert all(torch.equal(u, v) for u, v in zip(a, d, strict=True))
        assert not torch.equal(a[0], c[0])

    def test_noise_free_perfect_csi_is_exact(self):
        x = symbols(5000)
        y, h, _ = TDLChannel(csi="perfect", precision="double")(
            x.to(torch.complex128), 0.0
        )
        x_hat, no_eff = equalize(y, h, 0.0)
        torch.testing.assert_close(x_hat, x.to(torch.complex128), rtol=1e-9, atol=1e-9)
        assert torch.all(no_eff == 0)

    def test_normalized_channel(self):
        """normalize_channel=True: mean |h|^2 over data REs = 1 within 1 %, 50 slots
        (Sionna normalizes each slot over the whole grid, pilots included)."""
        _, h, _ = TDLChannel(csi="perfect", precision="double")(symbols(50 * D), 0.01)
        assert float(h.abs().square().mean()) == pytest.approx(1.0, rel=0.01)

    def test_measured_noise_vs_reported(self):
        """N = 2x10^5 symbols, TDL-C. Perfect CSI: mean(|x_hat-x|^2/no_eff) = 1 within 2 %.
        LS (lin): Sionna's err_var is the pilot-level error; interpolating between two
        pilot symbols averages it, so the measured ratio is below 1 (about 0.72 here):
        no_eff is conservative. Checked in [0.6, 1.0]."""
        x = symbols(200_000, 3)
        for csi, lo, hi in (("perfect", 0.98, 1.02), ("ls", 0.6, 1.0)):
            ch = TDLChannel(csi=csi)
            ch.seed(0)
            y, h, err = ch(x, 0.05)
            x_hat, no_eff = equalize(y, h, 0.05, err)
            ratio = float(((x_hat - x).abs().square() / no_eff).double().mean())
            assert lo <= ratio <= hi, (csi, ratio)

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"csi": "genie"}, "`csi` must be one of"),
            ({"interpolation_type": "cubic"}, "interpolation_type"),
            ({"slots_per_batch": 0}, "slots_per_batch"),
            ({"pilot_ofdm_symbol_indices": (2, 14)}, "pilot_ofdm_symbol_indices"),
            ({"carrier_frequency": float("nan")}, "carrier_frequency"),
        ],
    )
    def test_bad_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            TDLChannel(**kwargs)

    def test_bad_direction_and_noise(self):
        with pytest.raises(ValueError, match="direction"):
            CDLChannel(direction="sideways")
        with pytest.raises(ValueError, match="`no` must be a scalar"):
            TDLChannel()(symbols(10), torch.full((10,), 0.1))


class TestLinkOverOFDM:
    def test_link_tdl_ls(self):
        """End to end over TDL + LS: MMSE beats ML, per-weight noise reported, N = 2x10^5."""
        g = torch.Generator().manual_seed(0)
        sd = {"w": torch.randn(200_000, generator=g) * 0.05}
        link = Link("tdl", denoiser=MMSE(), interleave=True)
        tx = link.transmit(sd, 10.0, seed=0)
        assert (
            tx.reception.no_w.shape == (200_000,) and tx.reception.no_w.stride(0) == 1
        )
        _, s_ml = link.rebuild(tx, denoiser=None, w_hat=tx.reception.y)
        _, s_mmse = link.rebuild(tx)
        assert s_mmse.weight_mse < s_ml.weight_mse
