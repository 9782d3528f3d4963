"""Link end to end over AWGN: noise variance vs SNR, bit-exactness, seeds, stats."""

from __future__ import annotations

import math

import pytest
import torch

from airmodel.link import Link
from airmodel.receiver.denoiser import ML, MMSE
from tests.factories import make_state_dict


def big_state_dict(n: int = 1_000_000) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "w": torch.randn(n, generator=g) * 0.05 + 0.01,
        "bn.weight": torch.ones(4),
        "bn.running_mean": torch.zeros(4),
    }


class TestLink:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
    def test_zero_noise_is_bit_exact_in_double(self, dtype, device):
        sd = make_state_dict(dtype=dtype)
        link = Link("awgn", denoiser=MMSE(), precision="double", device=device)
        sd_hat, stats = link(sd, math.inf, seed=0)
        for k in sd:
            assert sd_hat[k].dtype == sd[k].dtype
            assert sd_hat[k].device.type == device
            assert torch.equal(sd_hat[k].cpu(), sd[k]), k
        assert stats.weight_mse < 1e-30

    def test_zero_noise_in_single(self):
        """float16 exact; float32 within one ulp (complex64 symbols round once)."""
        half = make_state_dict(dtype=torch.float16)
        out, _ = Link("awgn")(half, math.inf)
        assert all(torch.equal(out[k], half[k]) for k in half)
        sd = make_state_dict(dtype=torch.float32)
        out, _ = Link("awgn")(sd, math.inf)
        for k in sd:
            ulp = torch.finfo(torch.float32).eps * sd[k].float().abs()
            assert torch.all((out[k].float() - sd[k].float()).abs() <= ulp), k

    @pytest.mark.parametrize("snr_db", [-5.0, 10.0])
    def test_measured_noise_variance_matches_snr(self, snr_db, device):
        """Measured per-weight noise variance within 1 % of P_s/10^(EsN0/10), N = 10^6."""
        sd = big_state_dict()
        link = Link("awgn", device=device)
        tx = link.transmit(sd, snr_db, seed=1)
        w = sd["w"].double().to(device)
        expected = float(w.square().mean()) / 10 ** (snr_db / 10)
        measured = float((tx.reception.y - w).square().mean())
        assert measured == pytest.approx(expected, rel=0.01)
        assert float(tx.reception.no_w.mean()) == pytest.approx(expected, rel=1e-6)
        assert tx.reception.no_w.shape == (tx.spec.num_air,)

    def test_stats(self, device):
        sd = big_state_dict(100_000)
        _, stats = Link("awgn", device=device)(sd, 5.0, seed=2)
        w = sd["w"].double()
        assert stats.esno_db == 5.0
        expected_wnr = 5.0 - 10 * math.log10(1 + float(w.mean()) ** 2 / float(w.var()))
        assert stats.wnr_db == pytest.approx(expected_wnr, abs=1e-3)
        assert stats.num_air == 100_000
        assert stats.weight_mse == pytest.approx(
            float(stats.noise_var.mean()), rel=0.02
        )

    def test_seeds(self):
        sd = make_state_dict()
        link = Link("awgn")
        a, _ = link(sd, 0.0, seed=5)
        b, _ = link(sd, 0.0, seed=5)
        c, _ = link(sd, 0.0, seed=6)
        assert all(torch.equal(a[k], b[k]) for k in sd)
        assert not torch.equal(a["linear.weight"], c["linear.weight"])

    def test_same_draw_for_all_denoisers(self):
        sd = big_state_dict(100_000)
        link = Link("awgn")
        tx = link.transmit(sd, 0.0, seed=3)
        _, s_ml = link.rebuild(tx, ML())
        _, s_mmse = link.rebuild(tx, MMSE())
        assert s_mmse.weight_mse < s_ml.weight_mse

    def test_bad_snr(self):
        with pytest.raises(ValueError, match="snr_db"):
            Link("awgn")(make_state_dict(), float("nan"))
        with pytest.raises(TypeError, match="snr_db"):
            Link("awgn")(make_state_dict(), "ten")


def test_chunked_awgn_keeps_statistics_and_seed(monkeypatch):
    """Chunked AWGN: per-weight noise within 2 % of the SNR's, N = 2x10^5; seeded."""
    import airmodel.link as link_mod

    monkeypatch.setattr(link_mod, "AWGN_CHUNK", 1000)
    sd = big_state_dict(200_000)
    link = Link("awgn")
    a = link.transmit(sd, 3.0, seed=9)
    b = link.transmit(sd, 3.0, seed=9)
    assert torch.equal(a.reception.y, b.reception.y)
    w = sd["w"].double()
    measured = float((a.reception.y - w).square().mean())
    expected = float(w.square().mean()) / 10**0.3
    assert measured == pytest.approx(expected, rel=0.02)


def test_link_takes_names_as_configs_do():
    """Issue #27 item 5: denoiser, scheme and channel by name, as in a config; the
    named denoiser rebuilds exactly what the object does on the same draw."""
    from airmodel.modulation import DigitalScheme

    sd = make_state_dict()
    by_name = Link("awgn", denoiser="mmse")
    by_object = Link("awgn", denoiser=MMSE())
    assert type(by_name.denoiser) is MMSE
    a, _ = by_name(sd, snr_db=5.0, seed=3)
    b, _ = by_object(sd, snr_db=5.0, seed=3)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert isinstance(Link("rayleigh", scheme="digital").scheme, DigitalScheme)


def test_link_refuses_bad_inputs_in_one_line():
    """Unknown names list the accepted ones; a module where a state dict is expected
    says to pass model.state_dict()."""
    from airmodel.registry import RegistryError

    with pytest.raises(RegistryError, match="Unknown denoiser name 'mmsee'.*'mmse'"):
        Link(denoiser="mmsee")
    with pytest.raises(RegistryError, match="Unknown scheme name"):
        Link(scheme="digitl")
    with pytest.raises(TypeError, match="`denoiser` must be a registered name"):
        Link(denoiser=3)
    model = torch.nn.Linear(4, 2)
    with pytest.raises(
        TypeError, match=r"Linear module; pass its weights: model\.state_dict\(\)"
    ) as e:
        Link().transmit(model, 5.0)
    assert "\n" not in str(e.value)
    with pytest.raises(TypeError, match="must be a state dict"):
        Link()([1.0, 2.0], 5.0)
