"""Audit: uncoded BER against exact closed forms (AWGN Gray QAM, Rayleigh QPSK).

Bit errors of one symbol are not independent, so the tolerances are z-scores
against a binomial standard deviation with margin (the audit measured |z| <= 1.6).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import erfc

from airmodel import channels
from airmodel.modulation import DigitalScheme
from airmodel.receiver.equalizer import equalize

pytestmark = pytest.mark.science


def gray_qam_ber(m: int, esno_db: float) -> float:
    """Exact BER of square Gray M-QAM over AWGN, E|x|^2 = 1 (Cho & Yoon 2002, eq. 14).

    ``m`` bits per symbol (even); each of the two sqrt(M)-PAMs carries m/2 bits.
    """
    root = 2 ** (m // 2)
    big_m = root**2
    esno = 10 ** (esno_db / 10)
    arg = math.sqrt(3 * esno / (2 * (big_m - 1)))
    total = 0.0
    for k in range(1, m // 2 + 1):
        pk = 0.0
        for i in range(int((1 - 2.0**-k) * root)):
            f = math.floor(i * 2 ** (k - 1) / root)
            w = (-1) ** f * (2 ** (k - 1) - math.floor(i * 2 ** (k - 1) / root + 0.5))
            pk += w * erfc((2 * i + 1) * arg)
        total += pk / root
    return total / (m // 2)


def bits(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n, dtype=np.uint8)


def count_errors(scheme, b, y, no) -> int:
    out, info, _ = scheme.rx.decode_bits(y, no, b.size, 0, np.packbits(b))
    return info["bit_errors"]


def z_score(errors: int, n: int, p: float) -> float:
    return (errors - n * p) / math.sqrt(n * p * (1 - p))


def test_gray_formula_reduces_to_known_cases():
    """QPSK: Q(sqrt(Es/N0)); 16-QAM: (3Q(a) + 2Q(3a) - Q(5a))/4, a = sqrt(Es/(5 N0))."""
    q = lambda x: 0.5 * erfc(x / math.sqrt(2))  # noqa: E731
    assert gray_qam_ber(2, 7.0) == pytest.approx(q(math.sqrt(10**0.7)), rel=1e-12)
    a = math.sqrt(10**1.3 / 5)
    ref = (3 * q(a) + 2 * q(3 * a) - q(5 * a)) / 4
    assert gray_qam_ber(4, 13.0) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize(
    ("m", "esno_dbs"), [(2, (4.0, 8.0)), (4, (10.0, 14.0)), (6, (16.0, 20.0))]
)
def test_awgn_ber_matches_exact_gray_qam(m, esno_dbs):
    """Hard-decision BER of Sionna's 5G Gray QAM vs the exact formula.

    N = 6·10^5 bits per point (>= 900 errors); |z| <= 4.
    """
    scheme = DigitalScheme("q8", code_rate=None, num_bits_per_symbol=m)
    b = bits(600_000)
    x, _ = scheme.encode_bits(b)
    for i, esno_db in enumerate(esno_dbs):
        ch = channels.get("awgn")
        ch.seed(i)
        no = 10 ** (-esno_db / 10)
        errors = count_errors(scheme, b, ch(x, no), no)
        p = gray_qam_ber(m, esno_db)
        assert abs(z_score(errors, b.size, p)) <= 4, (m, esno_db, errors / b.size, p)


@pytest.mark.parametrize("esno_db", [10.0, 20.0])
def test_rayleigh_qpsk_matches_closed_form(esno_db):
    """Fast Rayleigh (block 1) + ZF + QPSK: BER = (1 - sqrt(g/(1+g)))/2, g = Es/(2 N0).

    N = 4·10^5 bits (2·10^5 independent fades); the two bits of a symbol share
    a fade, so the binomial z uses N/2: |z| <= 4.
    """
    scheme = DigitalScheme("q8", code_rate=None, num_bits_per_symbol=2)
    b = bits(400_000, seed=1)
    x, _ = scheme.encode_bits(b)
    ch = channels.get("rayleigh", block_length=1)
    ch.seed(3)
    no = 10 ** (-esno_db / 10)
    y, h, err = ch(x, no)
    x_hat, no_eff = equalize(y, h, no, err)
    errors = count_errors(scheme, b, x_hat, no_eff)
    g = 10 ** (esno_db / 10) / 2
    p = 0.5 * (1 - math.sqrt(g / (1 + g)))
    z = (errors / b.size - p) / math.sqrt(p * (1 - p) / (b.size / 2))
    assert abs(z) <= 4, (errors / b.size, p)


def test_rician_moments():
    """Rician K = 3, N = 10^6 draws: E h = sqrt(K/(K+1)) (real), E|h|^2 = 1,
    E|h|^4 = (2 + 4K + K^2)/(1 + K)^2, each within 5 standard errors."""
    k = 3.0
    ch = channels.get("rician", k_factor=k, precision="double")
    ch.seed(0)
    h = ch.generate(1_000_000).to(torch.complex128)
    p = h.abs().square()
    n = h.numel()
    los = math.sqrt(k / (k + 1))
    se_mean = math.sqrt(1 / (k + 1) / 2 / n)  # per real dimension
    assert abs(float(h.real.mean()) - los) <= 5 * se_mean
    assert abs(float(h.imag.mean())) <= 5 * se_mean
    m2, m4 = float(p.mean()), float(p.square().mean())
    exp4 = (2 + 4 * k + k**2) / (1 + k) ** 2
    assert abs(m2 - 1) <= 5 * float(p.std()) / math.sqrt(n)
    assert abs(m4 - exp4) <= 5 * float(p.square().std()) / math.sqrt(n)


def test_zf_variance_per_decile():
    """Fast Rayleigh + ZF, perfect CSI, 10 dB, N = 10^6 Gaussian unit-energy symbols:
    mean(|x_hat - x|^2 / no_eff) within ±5 % in every decile of no_eff."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1_000_000, dtype=torch.complex64, generator=g)
    ch = channels.get("rayleigh", block_length=1)
    ch.seed(1)
    no = 0.1
    y, h, err = ch(x, no)
    x_hat, no_eff = equalize(y, h, no, err)
    ratio = ((x_hat - x).abs().square() / no_eff).double()
    edges = torch.quantile(
        no_eff[:200_000].double(), torch.linspace(0.1, 0.9, 9).double()
    )
    dec = torch.bucketize(no_eff.double(), edges)
    for d in range(10):
        assert float(ratio[dec == d].mean()) == pytest.approx(1.0, abs=0.05), d
