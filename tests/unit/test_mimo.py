"""The flat-fading MIMO channel block (channels/mimo.py), its config and the Link over it."""

from __future__ import annotations

import pytest
import torch

from airmodel import channels
from airmodel.builder import build_link
from airmodel.channels import MIMOChannel
from airmodel.channels.mimo import waterfill
from airmodel.config import load_config
from airmodel.errors import UserError
from airmodel.link import Link
from tests.factories import assert_seed_reproducible

MODES = [
    {"num_tx": 1, "num_rx": 1, "mode": "sm"},
    {"num_tx": 1, "num_rx": 3, "mode": "mrc"},
    {"num_tx": 2, "num_rx": 2, "mode": "sm", "equalizer": "lmmse"},
    {"num_tx": 2, "num_rx": 3, "mode": "sm", "equalizer": "zf"},
    {"num_tx": 4, "num_rx": 4, "mode": "sm", "rho_tx": 0.5, "rho_rx": 0.9},
    {"num_tx": 2, "num_rx": 1, "mode": "alamouti"},
    {"num_tx": 2, "num_rx": 2, "mode": "alamouti", "block_length": 6},
    {"num_tx": 3, "num_rx": 2, "mode": "svd"},
    {"num_tx": 2, "num_rx": 2, "mode": "svd", "power": "waterfill"},
    {"num_tx": 2, "num_rx": 2, "mode": "sm", "csi": "lmmse", "block_length": 4},
    {"num_tx": 2, "num_rx": 2, "mode": "alamouti", "csi": "lmmse"},
]


def symbols(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dtype=torch.complex64, generator=g)


def equalized(ch, x, no):
    """What the Link's ZF does with the equivalent scalar channel."""
    y, g, err = ch(x, no)
    assert float(err) == 0.0
    g = g.real
    sent = g > 0
    return y / g.where(sent, 1.0), (no / g.square()).where(sent, torch.inf), sent


class TestRegistry:
    def test_registered_with_options(self):
        assert "mimo" in channels.list_channels()
        ch = channels.get("mimo")
        assert isinstance(ch, MIMOChannel)
        assert (ch.num_tx, ch.num_rx, ch.mode, ch.equalizer) == (2, 2, "sm", "lmmse")
        assert ch.symbols_per_use == 2.0 and ch.is_fading

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"mode": "alamouti", "num_tx": 3}, "num_tx` must be 2"),
            ({"mode": "mrc", "num_tx": 2}, "num_tx` must be 1"),
            ({"mode": "sm", "equalizer": "zf", "num_tx": 3, "num_rx": 2}, "num_rx"),
            ({"mode": "bf"}, "mode"),
            ({"equalizer": "ml"}, "equalizer"),
            ({"rho_tx": 1.0}, "rho_tx"),
            ({"rho_rx": -0.1}, "rho_rx"),
            ({"mode": "alamouti", "block_length": 3}, "even"),
            ({"mode": "sm", "power": "waterfill"}, "mode 'svd' only"),
            ({"mode": "svd", "num_streams": 3}, "num_streams"),
            ({"num_tx": 0}, "num_tx"),
            ({"mode": "svd", "csi": "lmmse"}, "csi"),
            ({"csi": "ls"}, "csi"),
        ],
    )
    def test_bad_options(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            MIMOChannel(**kwargs)

    def test_config_default_is_2x2(self):
        """`--set channel.name=mimo` on the quickstart: a 2 x 2 LMMSE link with
        0.25 channel uses per weight (2 weights per symbol, 2 streams)."""
        cfg = load_config("configs/quickstart.yaml", overrides=["channel.name=mimo"])
        link = build_link(cfg)
        assert isinstance(link.channel, MIMOChannel)
        assert link.channel_uses_per_weight == 0.25

    def test_config_bad_option_is_one_line(self):
        cfg = load_config(
            "configs/quickstart.yaml",
            overrides=[
                "channel.name=mimo",
                "channel.options={mode: alamouti, num_tx: 4}",
            ],
        )
        with pytest.raises(UserError, match="channel.options.*num_tx"):
            build_link(cfg)


class TestBlock:
    @pytest.mark.parametrize("kw", MODES, ids=lambda k: "-".join(map(str, k.values())))
    def test_noise_free_round_trip(self, kw):
        """No noise: every mode returns the sent symbols (ZF in the no -> 0 limit)."""
        x = symbols(301)
        ch = MIMOChannel(**kw, precision="double")
        ch.seed(0)
        x_hat, no_eff, sent = equalized(ch, x.to(torch.complex128), 0.0)
        assert bool(sent.all())
        torch.testing.assert_close(x_hat, x.to(torch.complex128), atol=1e-9, rtol=0)
        assert float(no_eff.abs().max()) == 0.0

    @pytest.mark.parametrize("kw", MODES[2:4] + MODES[5:6])
    def test_seeded(self, kw):
        x = symbols(100)
        assert_seed_reproducible(MIMOChannel(**kw), x)

    def test_zf_and_lmmse_share_draws(self):
        """Same seed: ZF and LMMSE see the same H and noise (compared rows share draws),
        and LMMSE's unbiased no_eff is never larger than ZF's."""
        x = symbols(2000)
        out = {}
        for eq in ("zf", "lmmse"):
            ch = MIMOChannel(num_tx=2, num_rx=2, equalizer=eq, precision="double")
            ch.seed(1)
            out[eq] = equalized(ch, x.to(torch.complex128), 0.3)[1]
        assert bool((out["lmmse"] <= out["zf"] * (1 + 1e-9)).all())

    def test_symbols_per_use(self):
        assert MIMOChannel(num_tx=4, num_rx=4).symbols_per_use == 4
        assert MIMOChannel(num_tx=1, num_rx=2, mode="mrc").symbols_per_use == 1
        assert MIMOChannel(num_tx=2, num_rx=2, mode="alamouti").symbols_per_use == 1
        assert MIMOChannel(num_tx=4, num_rx=2, mode="svd").symbols_per_use == 2
        # pilots: N_t uses per coherence block of block_length data uses
        est = MIMOChannel(num_tx=2, num_rx=2, csi="lmmse", block_length=6)
        assert est.symbols_per_use == 12 / 8
        ch = MIMOChannel(num_tx=2, num_rx=2, mode="svd", power="waterfill")
        ch.seed(0)
        ch(symbols(4000), 1.0)  # at 0 dB water-filling often keeps one stream
        assert 1.0 < ch.symbols_per_use < 2.0

    def test_block_length(self):
        """One H per coherence block: within a block of a 1-stream mode the
        equivalent gain is constant, and it changes between blocks."""
        ch = MIMOChannel(num_tx=1, num_rx=2, mode="mrc", block_length=5)
        ch.seed(0)
        g = ch(symbols(20), 0.1)[1].real.view(4, 5)
        assert bool((g == g[:, :1]).all())
        assert g[:, 0].unique().numel() == 4

    def test_bad_inputs(self):
        ch = MIMOChannel()
        with pytest.raises(ValueError, match="scalar"):
            ch(symbols(4), torch.ones(4))
        with pytest.raises(ValueError, match="1-D"):
            ch(symbols(4).view(2, 2), 0.1)


class TestWaterfill:
    def test_sums_to_one_and_orders(self):
        g = torch.tensor([[4.0, 1.0, 0.01], [1.0, 1.0, 1.0]], dtype=torch.float64)
        p = waterfill(g, 0.5)
        torch.testing.assert_close(p.sum(-1), torch.ones(2, dtype=torch.float64))
        assert float(p[0, 2]) == 0.0 and float(p[0, 0]) > float(p[0, 1]) > 0
        torch.testing.assert_close(p[1], torch.full((3,), 1 / 3, dtype=torch.float64))
        # water level: p_k + no/g_k equal on active streams
        lvl = p[0, :2] + 0.5 / g[0, :2]
        assert float(lvl[0] - lvl[1]).__abs__() < 1e-12


class TestLink:
    def test_link_reports_per_stream_noise(self):
        """Through the Link (ZF on the equivalent channel, analog demodulation):
        each weight's no_w is its symbol's no_eff * scale^2 / 2 and the measured
        mean((y - w)^2 / no_w) is 1 within 3 % (N = 2 * 10^5 weights, se ~0.3 %)."""
        g = torch.Generator().manual_seed(0)
        sd = {"w": torch.randn(200_000, generator=g) * 0.05}
        link = Link(MIMOChannel(num_tx=2, num_rx=2))
        tx = link.transmit(sd, 5.0, seed=0)
        rx = tx.reception
        assert rx.no_w.unique().numel() > 1000  # per symbol, not one mean
        r = (rx.y - tx.clean).double().square() / rx.no_w.double()
        assert float(r.mean()) == pytest.approx(1.0, rel=0.03)
        assert link.channel_uses_per_weight == 0.25

    def test_waterfill_channel_uses_recorded(self):
        """SVD water-filling sends fewer streams in poor channels: the Link records
        each transmission's measured channel uses per weight in the reception info
        (results rows carry it), 0.5 / symbols_per_use of that call; 0 dB keeps one
        stream often (0.25 < cu < 0.5), 30 dB almost always two (cu -> 0.25).
        Fixed-rate modes add nothing."""
        g = torch.Generator().manual_seed(0)
        sd = {"w": torch.randn(20_000, generator=g) * 0.05}
        link = Link(MIMOChannel(num_tx=2, num_rx=2, mode="svd", power="waterfill"))
        low = link.transmit(sd, 0.0, seed=1).reception.info["channel_uses_per_weight"]
        assert low == link.channel_uses_per_weight and 0.26 < low < 0.5
        high = link.transmit(sd, 30.0, seed=1).reception.info["channel_uses_per_weight"]
        assert 0.25 <= high < 0.252
        fixed = Link(MIMOChannel(num_tx=2, num_rx=2, mode="svd"))
        assert "channel_uses_per_weight" not in fixed.transmit(sd, 0.0, seed=1).reception.info

    def test_interleaver_compatible(self):
        g = torch.Generator().manual_seed(0)
        sd = {"w": torch.randn(10_000, generator=g) * 0.05}
        link = Link(MIMOChannel(num_tx=2, num_rx=2, mode="alamouti"), interleave=True)
        rx = link.transmit(sd, 100.0, seed=0).reception
        torch.testing.assert_close(rx.y, sd["w"], atol=1e-4, rtol=0)


@pytest.mark.parametrize("kw", [MODES[4], MODES[6], MODES[8], MODES[9]])
def test_device(kw, device):
    """Every path computes on the channel's device (CUDA skipped without a GPU)."""
    ch = MIMOChannel(**kw, device=device)
    ch.seed(0)
    y, g, _ = ch(symbols(64).to(device), 0.1)
    assert y.device.type == g.device.type == device
    g = torch.Generator().manual_seed(0)
    sd = {"w": torch.randn(1000, generator=g)}
    rx = Link(MIMOChannel(**kw, device=device), device=device).transmit(sd, 10.0, 0)
    assert rx.reception.no_w.device.type == device
