"""The MIMO-OFDM channel blocks (channels/mimo_ofdm.py), their config and options."""

from __future__ import annotations

import math

import pytest
import torch

from airmodel import channels
from airmodel.builder import build_link
from airmodel.channels import CDLMIMOChannel, MIMOOFDMChannel, TDLMIMOChannel
from airmodel.config import load_config
from airmodel.errors import UserError
from tests.factories import assert_seed_reproducible


def symbols(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dtype=torch.complex64, generator=g)


class TestRegistry:
    def test_registered(self):
        for name, cls in (("mimo_cdl", CDLMIMOChannel), ("mimo_tdl", TDLMIMOChannel)):
            assert name in channels.list_channels()
            ch = channels.get(name)
            assert type(ch) is cls and isinstance(ch, MIMOOFDMChannel) and ch.is_fading
            assert (ch.num_tx, ch.num_rx, ch.equalizer, ch.csi) == (
                2,
                2,
                "lmmse",
                "lmmse",
            )

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"num_tx": 3, "num_rx": 2, "equalizer": "zf"}, "num_rx"),
            ({"equalizer": "ml"}, "equalizer"),
            ({"csi": "mmse"}, "csi"),
            ({"num_tx": 0}, "num_tx"),
            ({"num_tx": 5}, "fft_size"),  # 72 subcarriers, 5 streams
            ({"pilot_ofdm_symbol_indices": [14]}, "pilot_ofdm_symbol_indices"),
            ({"interpolation_type": "cubic"}, "interpolation_type"),
            ({"spacing": 0}, "spacing"),
            ({"model": "F"}, "model"),
            ({"direction": "sideways"}, "direction"),
        ],
    )
    def test_bad_options(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            CDLMIMOChannel(**kwargs)

    @pytest.mark.parametrize(
        "cls, kwargs, match",
        [
            (CDLMIMOChannel, {}, "csi: sionna_lmmse.*mimo_tdl only"),
            (TDLMIMOChannel, {"model": "C300", "delay_spread": None}, "model 'C300'"),
            (TDLMIMOChannel, {"model": "A", "delay_spread": None}, "delay_spread"),
        ],
    )
    def test_sionna_lmmse_refused(self, cls, kwargs, match):
        """Sionna's LMMSE estimator needs the channel's covariances: TDL A..E only."""
        with pytest.raises(ValueError, match=match):
            cls(csi="sionna_lmmse", **kwargs)

    def test_config_sionna_lmmse_refused_is_one_line(self):
        cfg = load_config(
            "configs/quickstart.yaml",
            overrides=[
                "channel.name=mimo_cdl",
                "channel.options={csi: sionna_lmmse}",
            ],
        )
        with pytest.raises(UserError, match="channel.options.*sionna_lmmse") as e:
            build_link(cfg)
        assert "\n" not in str(e.value)

    def test_tdl_rho_refused(self):
        with pytest.raises(ValueError, match="rho_rx"):
            TDLMIMOChannel(rho_rx=1.0)

    def test_config_and_channel_uses(self):
        """`--set channel.name=mimo_cdl` on the quickstart: 2 x 2, LMMSE CSI; 2 weights
        per symbol, 2 streams on 12 of 14 OFDM symbols: 0.25·14/12 channel uses per
        weight (pilot OFDM symbols counted)."""
        cfg = load_config(
            "configs/quickstart.yaml", overrides=["channel.name=mimo_cdl"]
        )
        link = build_link(cfg)
        assert isinstance(link.channel, CDLMIMOChannel)
        assert link.channel_uses_per_weight == pytest.approx(0.25 * 14 / 12, rel=1e-12)

    def test_config_bad_option_is_one_line(self):
        cfg = load_config(
            "configs/quickstart.yaml",
            overrides=[
                "channel.name=mimo_tdl",
                "channel.options={num_tx: 4, num_rx: 2, equalizer: zf}",
            ],
        )
        with pytest.raises(UserError, match="channel.options.*num_rx"):
            build_link(cfg)


class TestBlock:
    @pytest.mark.parametrize("csi", ["perfect", "ls", "lmmse", "sionna_lmmse"])
    def test_noise_free_round_trip(self, csi):
        """No noise: perfect CSI, and LS estimates of a channel flat over the pilot
        comb (1 ns delay spread, speed 0: linear interpolation is exact), so ZF
        returns the sent symbols; 3 slots and a partial one."""
        ch = TDLMIMOChannel(num_tx=2, num_rx=3, csi=csi, delay_spread=1e-9)
        x = symbols(2 * 864 * 3 + 101)
        ch.seed(0)
        y, g, err = ch(x, 0.0)
        assert float(err) == 0.0 and y.shape == x.shape
        torch.testing.assert_close(y / g, x, rtol=0, atol=2e-3)

    @pytest.mark.parametrize("cls", [CDLMIMOChannel, TDLMIMOChannel])
    def test_seeded(self, cls):
        assert_seed_reproducible(cls(num_tx=2, num_rx=2, csi="ls"), symbols(2000))

    def test_perfect_and_ls_share_draws(self):
        """Same seed: the same channel and noise for every CSI mode, so LS's loss is
        measured on the same draws (mean no_eff: perfect < LMMSE-refined <= LS
        within 10 %; Sionna's LMMSE estimator, given the model's covariances,
        between perfect and the spatial-LMMSE refinement)."""
        x, out = symbols(20_000), {}
        for csi in ("perfect", "ls", "lmmse", "sionna_lmmse"):
            ch = TDLMIMOChannel(num_tx=2, num_rx=2, csi=csi)
            ch.seed(5)
            y, g, _ = ch(x, 0.1)
            out[csi] = float((0.1 / g.real.square()).mean())
        assert out["perfect"] < out["lmmse"] < 1.1 * out["ls"]
        assert out["perfect"] < out["sionna_lmmse"] < out["lmmse"], out

    def test_symbols_per_use(self):
        """N_s streams on the data resource elements, pilots counted: N_s·12/14."""
        for nt in (1, 2, 4):
            ch = TDLMIMOChannel(num_tx=nt, num_rx=4)
            assert ch.symbols_per_use == pytest.approx(nt * 12 / 14)

    def test_bad_inputs(self):
        ch = TDLMIMOChannel()
        with pytest.raises(ValueError, match="1-D"):
            ch(torch.ones(2, 3, dtype=torch.complex64), 0.1)
        with pytest.raises(ValueError, match="scalar"):
            ch(torch.ones(3, dtype=torch.complex64), torch.ones(3))

    def test_energy_per_resource_element(self):
        """Every resource element carries total transmit energy 1: pilots exactly
        (QPSK of energy N_s on one stream per subcarrier, times 1/N_s), data 1 for
        unit-energy symbols."""
        for nt in (1, 2, 4):
            ch = TDLMIMOChannel(num_tx=nt, num_rx=4)
            grid = ch._mapper(
                torch.ones(1, 1, nt, ch.num_data_symbols, dtype=torch.complex64)
            )
            e = (grid / math.sqrt(nt)).abs().square().sum(2)[0, 0]  # [S, F]
            torch.testing.assert_close(e, torch.ones_like(e), rtol=1e-5, atol=1e-5)
