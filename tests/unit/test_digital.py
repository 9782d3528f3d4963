"""Digital scheme: BER vs closed form, LDPC gain, round trips, sanitizing, sampled decoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import erfc

from airmodel import channels
from airmodel.link import Link
from airmodel.modulation import DigitalScheme, get_scheme, list_schemes
from airmodel.receiver.digital import sampling_seed, sanitize
from airmodel.transmitter.quantize import FLOAT_BOUND_FACTOR, SourceCoder
from tests.factories import make_state_dict


def qfunc(x):
    return 0.5 * erfc(np.asarray(x) / math.sqrt(2))


def closed_form_ber(m: int, esno_db: float) -> float:
    """Gray BPSK / QPSK / 16-QAM bit error rate over AWGN at Es/N0 (E|x|²=1)."""
    snr = 10 ** (esno_db / 10)
    if m == 1:
        return float(qfunc(math.sqrt(2 * snr)))
    if m == 2:
        return float(qfunc(math.sqrt(snr)))
    a = math.sqrt(snr / 5)  # 16-QAM: half distance over per-dimension noise std
    return float((3 * qfunc(a) + 2 * qfunc(3 * a) - qfunc(5 * a)) / 4)


def send_bits(scheme, bits, esno_db, seed=0):
    """Bits through scheme + AWGN; returns (bits_hat, info)."""
    x, num_cw = scheme.encode_bits(bits)
    ch = channels.get("awgn")
    ch.seed(seed)
    no = 10 ** (-esno_db / 10)
    y = ch(x, no)
    out, info, _ = scheme.rx.decode_bits(y, no, bits.size, num_cw, np.packbits(bits))
    return out, info


def sampled_qpsk(num_sampled):
    """k=256, rate-1/2 LDPC on QPSK, sampled decoding of ``num_sampled`` codewords."""
    return DigitalScheme(
        code_rate=0.5,
        k=256,
        num_bits_per_symbol=2,
        decoding="sampled",
        num_sampled_codewords=num_sampled,
        seed=3,
    )


def random_bits(n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, n, dtype=np.uint8)


def big_state_dict(n=20_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "a.weight": torch.randn(n, generator=g) * 0.05,
        "b.weight": torch.randn(n // 4, generator=g) * 0.3 + 0.1,
    }


class TestUncodedBER:
    @pytest.mark.parametrize(
        ("m", "esno_dbs"),
        [(1, (0.0, 4.0, 6.0)), (2, (3.0, 7.0, 9.0)), (4, (10.0, 13.0, 16.0))],
    )
    def test_ber_matches_closed_form(self, m, esno_dbs):
        """Hard-decision BER within 10 % of the closed form; N = 10^6 bits per SNR.

        Smallest BER is ~2e-3 (>= 1800 errors, relative std <= 2.4 %).
        """
        scheme = DigitalScheme("q8", code_rate=None, num_bits_per_symbol=m)
        bits = random_bits(1_000_000)
        for i, esno_db in enumerate(esno_dbs):
            _, info = send_bits(scheme, bits, esno_db, seed=i)
            expected = closed_form_ber(m, esno_db)
            assert info["ber"] == pytest.approx(expected, rel=0.10), esno_db
            # the LLR-based estimate tracks the truth (maxlog: within 10 %)
            assert info["ber_estimate"] == pytest.approx(info["ber"], rel=0.10)


class TestLDPC:
    def test_coded_beats_uncoded_past_waterfall(self):
        """At Eb/N0 = 3 dB, QPSK: LDPC r=1/2 (k=1024) BER < uncoded BER / 100.

        N = 20 codewords = 20 480 info bits; uncoded closed form is 2.3e-2
        (~470 errors expected), so coded must make fewer than ~5 errors.
        """
        ebno_db = 3.0
        bits = random_bits(20 * 1024, seed=1)
        coded = DigitalScheme(code_rate=0.5, k=1024, num_bits_per_symbol=2)
        uncoded = DigitalScheme(code_rate=None, num_bits_per_symbol=2)
        esno = lambda s: ebno_db + 10 * math.log10(s.rate * s.m)  # noqa: E731
        _, info_c = send_bits(coded, bits, esno(coded))
        _, info_u = send_bits(uncoded, bits, esno(uncoded))
        assert info_u["ber"] == pytest.approx(
            closed_form_ber(2, esno(uncoded)), rel=0.2
        )
        assert info_c["ber"] < info_u["ber"] / 100
        assert info_c["decoding_mode"] == "full"

    def test_sampled_bler_agrees_with_full(self):
        """k=256, n=512, QPSK near the waterfall (Es/N0 = 0.5 dB).

        Full decoding of N = 300 codewords gives BLER_full; the sampled mode
        decodes S = 100 of the same codewords. Both its measured BLER and the
        BLER it applies to all codewords lie within the 99 % binomial interval
        2.58·sqrt(p(1-p)/S) of BLER_full (+1/S for discreteness).
        """
        bits = random_bits(300 * 256, seed=2)
        full = DigitalScheme(code_rate=0.5, k=256, num_bits_per_symbol=2)
        sampled = sampled_qpsk(100)
        out_f, info_f = send_bits(full, bits, 0.5, seed=4)
        out_s, info_s = send_bits(sampled, bits, 0.5, seed=4)
        p = info_f["bler"]
        assert 0.1 < p < 0.9, "not near the waterfall"
        tol = 2.58 * math.sqrt(p * (1 - p) / 100) + 1 / 100
        assert info_s["decoded_codewords"] == 100  # >= 10 failures seen: no more
        assert abs(info_s["bler_decoded"] - p) < tol
        assert abs(info_s["bler"] - p) < tol + 2.58 * math.sqrt(p * (1 - p) / 300)
        assert info_s["decoding_mode"] == "sampled"
        # the sampled codewords are decoded exactly as full decoding does
        rows = np.flatnonzero(
            np.any(out_s.reshape(-1, 256) != bits.reshape(-1, 256), axis=1)
        )
        assert rows.size == info_s["failed_codewords"]
        # a failed non-sampled codeword carries a real BP failure's error pattern:
        # the BER matches full decoding's, and the estimate (decoder output LLRs)
        assert info_s["ber"] == pytest.approx(info_f["ber"], rel=0.3)
        assert info_s["ber"] == pytest.approx(info_s["ber_estimate"], rel=0.25)
        assert info_f["ber"] == pytest.approx(info_f["ber_estimate"], rel=0.25)

    @pytest.mark.parametrize("esno_db", [0.0, 1.0, 3.0])
    def test_sampled_subset_grows_until_enough_failures(self, esno_db):
        """k=256 QPSK, 120 codewords, S = 20: the subset is S codewords, then grows
        in steps of 8 until >= 10 failures or 4·S = 80 codewords (measured: 20
        at 0 dB, 28 at 1 dB, 80 at 3 dB with no failure, so nothing else fails)."""
        bits = random_bits(120 * 256, seed=8)
        _, info = send_bits(sampled_qpsk(20), bits, esno_db, seed=2)
        n = info["decoded_codewords"]
        failed = round(info["bler_decoded"] * n)
        assert 20 <= n <= 80 and ((n - 20) % 8 == 0 or n == 80)
        if failed == 0:
            assert n == 80 and info["failed_codewords"] == 0
        if n > 20:
            assert failed >= 10 or n == 80
        if n < 80:
            assert failed >= 10

    def test_coded_no_w_marks_only_failed_codewords(self):
        """Full decoding at the waterfall: weights of codewords that passed the CRC
        get exactly Δ²/12; the others more; mean no_w within 1.5x of the measured
        weight MSE (N = 8 192 q8 weights, 16 codewords of k = 4096 bits)."""
        g = torch.Generator().manual_seed(0)
        sd = {"w": torch.randn(8192, generator=g) * 0.05}
        scheme = DigitalScheme("q8", code_rate=0.5, k=4096, num_bits_per_symbol=4)
        tx = Link("awgn", scheme=scheme).transmit(sd, 6.25, seed=0)
        r = tx.reception
        assert 0 < r.info["failed_codewords"] < 16
        step2 = float(r.no_w.min()) * 12
        per_cw = r.no_w.view(16, 512)  # 512 weights of 8 bits per codeword
        clean_cw = (per_cw == per_cw.min()).all(1)
        assert int((~clean_cw).sum()) == r.info["failed_codewords"]
        err = (r.y - tx.clean).view(16, 512).abs()
        assert float(err[clean_cw].max()) <= (step2**0.5) / 2 * 1.0001
        measured = float((r.y - tx.clean).double().square().mean())
        assert 1 / 1.5 <= float(r.no_w.double().mean()) / measured <= 1.5

    def test_sampled_subset_follows_the_trial_seed(self):
        """Each trial decodes its own codeword subset; the same trial repeats exactly."""
        bits = random_bits(120 * 256, seed=5)
        scheme = sampled_qpsk(20)
        x, num_cw = scheme.encode_bits(bits)
        ch = channels.get("awgn")
        ch.seed(6)
        no = 10 ** (-0.5 / 10)
        y = ch(x, no)

        def decode(trial):
            args = (y, no, bits.size, num_cw, np.packbits(bits))
            return scheme.rx.decode_bits(*args, seed=trial)[0]

        a, b = decode(0), decode(1)
        assert np.array_equal(a, decode(0))
        assert not np.array_equal(a, b)
        assert sampling_seed(3, None) == 3
        assert sampling_seed(3, 0) != sampling_seed(3, 1)


class TestRoundTrip:
    @pytest.mark.parametrize("source", ["q8", "q16", "float16", "bfloat16", "float32"])
    def test_noise_free_link_is_bit_exact(self, source, device):
        """No noise: the state dict equals the source-coded one exactly.

        The bit pipeline runs on the CPU by design (NumPy); the link hands its
        weights back on ``device``."""
        sd = make_state_dict()
        link = Link("awgn", scheme=DigitalScheme(source, code_rate=None), device=device)
        out, stats = link(sd, math.inf, seed=0)
        tx = link.transmit(sd, math.inf, seed=0)
        assert tx.reception.y.device.type == tx.reception.no_w.device.type == device
        assert all(v.device.type == device for v in out.values())
        vector, spec = tx.vector, tx.spec
        coder = SourceCoder(source)
        from airmodel.transmitter.quantize import air_segments

        bits, side = coder.encode(
            vector[: spec.num_air], air_segments(spec, spec.num_air)
        )
        ref = coder.decode(bits, side)
        assert torch.equal(tx.reception.y.cpu(), ref)
        assert tx.reception.info["bit_errors"] == 0
        assert tx.reception.info["replaced_weights"] == 0
        for k in sd:
            assert out[k].dtype == sd[k].dtype
        if source in ("float16", "bfloat16", "float32"):
            fmt = getattr(torch, source)
            for k in spec.air_names:
                ref_k = sd[k].to(fmt).to(sd[k].dtype)
                assert torch.equal(out[k].cpu(), ref_k), k

    def test_coded_noise_free_is_bit_exact(self, device):
        sd = make_state_dict()
        scheme = DigitalScheme("float32", code_rate=0.5, k=512)
        out, _ = Link("awgn", scheme=scheme, device=device)(sd, math.inf, seed=0)
        assert all(out[k].device.type == device for k in sd)
        assert all(torch.equal(out[k].cpu(), sd[k]) for k in sd)


class TestCorruption:
    @pytest.mark.parametrize("source", ["float16", "bfloat16", "float32"])
    def test_forced_exponent_flips_never_reach_the_model(self, source):
        """Flip the top exponent bit of 10 % of weights: outputs finite and in range."""
        w = big_state_dict(2000)["a.weight"]
        coder = SourceCoder(source)
        bits, side = coder.encode(w, [1000, 1000])
        b = bits.reshape(-1, coder.bits).copy()
        b[::10, 1] ^= 1  # exponent MSB -> ~1e38, inf or NaN
        b[5, 1:9] = 1  # all-ones exponent: inf/NaN
        w_bad = coder.decode(b.reshape(-1), side)
        assert not torch.isfinite(w_bad).all() or w_bad.abs().max() > 1e30
        w_ok, replaced = sanitize(w_bad, side)
        assert torch.isfinite(w_ok).all()
        bound = torch.from_numpy(
            np.repeat(FLOAT_BOUND_FACTOR * side.max_abs, [1000, 1000])
        )
        assert torch.all(w_ok.abs() <= bound)
        assert replaced >= 200

    def test_noisy_float32_link_output_is_finite(self):
        """Uncoded float32 over QPSK at 6 dB (BER 2.3e-2): exponent flips replaced.

        QPSK, not 16-QAM: 16-QAM puts the exponent MSB (0 for |w| < 2) on the
        sign bit of an outer level, which almost never flips.
        """
        sd = big_state_dict()
        link = Link(
            "awgn",
            scheme=DigitalScheme("float32", code_rate=None, num_bits_per_symbol=2),
        )
        tx = link.transmit(sd, 6.0, seed=0)
        r = tx.reception
        assert r.info["replaced_weights"] > 0 and r.info["bit_errors"] > 0
        assert torch.isfinite(r.y).all() and torch.isfinite(r.no_w).all()
        out, stats = link.rebuild(tx)
        assert all(torch.isfinite(v).all() for v in out.values())
        assert math.isfinite(stats.weight_mse)

    @pytest.mark.parametrize("source", ["q8", "float16"])
    def test_no_w_matches_measured_error(self, source):
        """Mean no_w within 30 % of the measured weight MSE; N = 25 000 weights, BER ~5e-3."""
        sd = big_state_dict()
        link = Link("awgn", scheme=DigitalScheme(source, code_rate=None))
        tx = link.transmit(sd, 15.0, seed=1)
        r = tx.reception
        measured = float((r.y - tx.clean).double().square().mean())
        assert float(r.no_w.double().mean()) == pytest.approx(measured, rel=0.3)


class TestChunking:
    @pytest.mark.parametrize(
        "kwargs",
        [dict(code_rate=None), dict(code_rate=0.5, k=256, num_bits_per_symbol=2)],
    )
    def test_chunking_is_invisible(self, kwargs):
        """Small chunks give the same symbols and received bits as one big chunk."""
        bits = random_bits(40 * 256 + 77, seed=5)
        small = DigitalScheme(chunk_bits=600, **kwargs)
        big = DigitalScheme(chunk_bits=2**22, **kwargs)
        xs, _ = small.encode_bits(bits)
        xb, _ = big.encode_bits(bits)
        assert torch.equal(xs, xb)
        out_s, info_s = send_bits(small, bits, 4.0, seed=6)
        out_b, info_b = send_bits(big, bits, 4.0, seed=6)
        assert (
            np.array_equal(out_s, out_b)
            and info_s["bit_errors"] == info_b["bit_errors"]
        )


class TestScheme:
    def test_link_end_to_end(self, device):
        """LDPC r=1/2 16-QAM q8 at 12 dB: error-free; MSE = mean no_w = Δ²/12 (±10 %).

        N = 5 000 weights (40 kbit, 40 codewords of k = 1024). On CUDA the AWGN
        draws differ (device generator); 12 dB is far past the waterfall.
        """
        sd = big_state_dict(4000)
        scheme = DigitalScheme("q8", code_rate=0.5, k=1024)
        link = Link("awgn", scheme=scheme, device=device)
        tx = link.transmit(sd, 12.0, seed=0)
        out, stats = link.rebuild(tx)
        assert all(v.device.type == device for v in out.values())
        info = tx.reception.info
        assert info["bit_errors"] == 0 and info["decode_time_s"] > 0
        assert info["decoding_mode"] == "full"
        assert set(out) == set(sd)
        assert stats.weight_mse == pytest.approx(float(stats.noise_var.mean()), rel=0.1)

    def test_properties(self):
        s = DigitalScheme("q8", code_rate=0.5, k=1024)
        assert (s.k, s.n, s.m) == (1024, 2048, 4)
        assert s.channel_uses_per_weight == pytest.approx(8 / (0.5 * 4))
        assert (
            DigitalScheme(
                "float16", code_rate=None, modulation="bpsk"
            ).channel_uses_per_weight
            == 16
        )
        assert (
            s.n % s.m == 0
            and DigitalScheme(code_rate=0.3, k=500, num_bits_per_symbol=6).n % 6 == 0
        )
        assert list_schemes() == ["analog", "digital"]
        assert isinstance(get_scheme("digital", code_rate=None), DigitalScheme)
        with pytest.raises(ValueError, match="name"):
            get_scheme("quantum")

    def test_bad_args(self):
        with pytest.raises(ValueError, match="`bits` must be in"):
            DigitalScheme(bits=1)
        with pytest.raises(ValueError, match="`bits` must be in"):
            DigitalScheme(bits=17)
        with pytest.raises(
            ValueError, match="`code_rate` must be in \\[1/5, 0.95\\].*code_rate=None"
        ):
            DigitalScheme(code_rate=0.1)
        with pytest.raises(ValueError, match="code_rate"):
            DigitalScheme(code_rate=0.97)
        with pytest.raises(ValueError, match="`k`.*k=8448"):
            DigitalScheme(k=8449)
        with pytest.raises(ValueError, match="num_bits_per_symbol"):
            DigitalScheme(num_bits_per_symbol=3)
        with pytest.raises(ValueError, match="num_bits_per_symbol"):
            DigitalScheme(modulation="bpsk", num_bits_per_symbol=4)
        with pytest.raises(ValueError, match="decoding"):
            DigitalScheme(decoding="fast")
        with pytest.raises(TypeError, match="code_rate"):
            DigitalScheme(code_rate="half")
