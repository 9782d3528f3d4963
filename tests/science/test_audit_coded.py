"""Audit: coded links across the LDPC waterfall — sampled vs full decoding, and the
post-decoding noise (no_w, printed wnr_db) vs the measured weight MSE.

Payload: 62 500 Gaussian weights in two tensors (std 0.05 and 0.3), q8, LDPC
rate 1/2 (k = 4096, 123 codewords), 16-QAM, AWGN. Waterfall: BLER ~0.95 at
6.0 dB, ~0.5 at 6.25 dB, ~0.05 at 6.5 dB, 0 at 7 dB.
"""

from __future__ import annotations

import math

import pytest
import torch

from airmodel.link import Link
from airmodel.modulation import DigitalScheme

pytestmark = [pytest.mark.science, pytest.mark.slow]


def payload():
    g = torch.Generator().manual_seed(0)
    return {
        "a.weight": torch.randn(50_000, generator=g) * 0.05,
        "b.weight": torch.randn(12_500, generator=g) * 0.3 + 0.1,
    }


def link(decoding: str) -> Link:
    scheme = DigitalScheme(
        "q8",
        code_rate=0.5,
        k=4096,
        num_bits_per_symbol=4,
        decoding=decoding,
        num_sampled_codewords=16,
    )
    return Link("awgn", scheme=scheme)


def measure(lk: Link, snr_db: float, seeds) -> dict[str, float]:
    """Sums over ``seeds`` of bit errors, squared weight error and no_w."""
    sd = payload()
    out = {"errors": 0.0, "sq": 0.0, "no_w": 0.0, "n": 0.0, "subset_failures": 0}
    for seed in seeds:
        tx = lk.transmit(sd, snr_db, seed=seed)
        r = tx.reception
        out["errors"] += r.info["bit_errors"]
        out["subset_failures"] += round(
            r.info["bler_decoded"] * r.info["decoded_codewords"]
        )
        out["sq"] += float((r.y - tx.clean).double().square().sum())
        out["no_w"] += float(r.no_w.double().sum())
        out["n"] += tx.clean.numel()
    return out


@pytest.mark.parametrize("snr_db", [6.0, 6.25, 6.5])
def test_sampled_matches_full_across_the_waterfall(snr_db):
    """Sampled mode (16 of 123 codewords BP-decoded, then more until 10 failures
    or 64; the rest fail at that BLER with the error patterns of the subset's own
    failures) vs full decoding, 4 noise draws each: total bit errors and squared
    weight error within a factor 1.5, widened to the Monte-Carlo error of the
    sampled BLER, 1 + 2.5/sqrt(F) with F the failures the subsets saw (at 6.5 dB,
    BLER ~0.05: F ~ 12 over 4 x 64 codewords, factor 1.72)."""
    seeds = range(4)
    full = measure(link("full"), snr_db, seeds)
    sampled = measure(link("sampled"), snr_db, seeds)
    tol = max(1.5, 1 + 2.5 / max(sampled["subset_failures"], 1) ** 0.5)
    for key in ("errors", "sq"):
        ratio = sampled[key] / full[key]
        assert 1 / tol <= ratio <= tol, (key, ratio, tol, sampled, full)


@pytest.mark.parametrize("snr_db", [6.0, 6.25, 6.5, 7.0, 8.0])
def test_no_w_and_wnr_match_measured_weight_mse(snr_db):
    """Full decoding, one draw: mean no_w (the noise the denoiser gets, from the
    decoder's output LLRs of CRC-failed codewords) within a factor 1.5 of the
    measured weight MSE (measured 1.19/1.27/1.25 at 6.0/6.25/6.5 dB, 1.0 above
    the waterfall), and the printed wnr_db equals 10 log10(Var(w)/mean no_w),
    within 10 log10(1.5) = 1.8 dB of 10 log10(Var(w)/measured MSE)."""
    lk = link("full")
    tx = lk.transmit(payload(), snr_db, seed=0)
    r = tx.reception
    measured = float((r.y - tx.clean).double().square().mean())
    no_w = float(r.no_w.double().mean())
    assert 1 / 1.5 <= no_w / measured <= 1.5, (no_w, measured, r.info["bler"])
    _, stats = lk.rebuild(tx, w_hat=r.y)
    var_w = tx.clean_power - tx.clean_mean**2
    assert stats.wnr_db == pytest.approx(10 * math.log10(var_w / no_w), abs=0.01)
    wnr_measured = 10 * math.log10(var_w / measured)
    assert abs(stats.wnr_db - wnr_measured) <= 10 * math.log10(1.5)
