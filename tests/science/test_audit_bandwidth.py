"""Audit: the bandwidth axis (airmodel/transmitter/budget.py) against theory."""

from __future__ import annotations

import math

import pytest
import torch

from airmodel.link import Link
from airmodel.modulation.analog import AnalogScheme
from airmodel.transmitter.budget import BudgetScheme

pytestmark = pytest.mark.science

N = 200_000


def _weights(n: int = N, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "a.weight": 0.05 * torch.randn(n // 2, generator=g, dtype=torch.float64),
        "b.weight": 0.02 * torch.randn(n // 2, generator=g, dtype=torch.float64),
    }


def _measured_wnr_db(link: Link, sd, snr_db: float, seed: int) -> float:
    tx = link.transmit(sd, snr_db, seed=seed)
    w = tx.clean
    err = (tx.reception.y - w).double()
    return 10 * math.log10(float(w.var()) / float(err.square().mean()))


@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_repetition_two_gains_3_01_db(snr_db):
    """Ratio 2 (1 channel use per weight, two copies combined by MRC) at equal Es/N0:
    the *measured* WNR, Var(w)/mean((ŵ-w)²), rises by 10 log10 2 = 3.01 dB over the
    plain analog link. N = 200,000 weights per link: each measured noise power has
    relative s.d. sqrt(2/N) = 0.32 % (0.014 dB), the difference 0.02 dB;
    tolerance 0.1 dB (5 s.d.). The reported WNR (from no_w) rises by exactly
    3.0103 dB (the scale is the same: copies do not change the mean square), 1e-6."""
    sd = _weights()
    plain = Link("awgn", precision="double")
    two = Link(
        "awgn", precision="double", scheme=BudgetScheme(AnalogScheme("double"), 1.0)
    )
    gain = _measured_wnr_db(two, sd, snr_db, 1) - _measured_wnr_db(plain, sd, snr_db, 2)
    assert gain == pytest.approx(10 * math.log10(2), abs=0.1)
    rep = [
        link.rebuild(link.transmit(sd, snr_db, seed=3))[1].wnr_db
        for link in (plain, two)
    ]
    assert rep[1] - rep[0] == pytest.approx(10 * math.log10(2), abs=1e-6)


@pytest.mark.parametrize(("cu", "ratio"), [(2.0, 4), (4.0, 8)])
def test_repetition_r_gains_10log10_r(cu, ratio):
    """Ratio r = 2 cu: measured WNR + 10 log10 r dB (6.02, 9.03), N = 200,000, 0.1 dB."""
    sd = _weights()
    plain = Link("awgn", precision="double")
    rep = Link(
        "awgn", precision="double", scheme=BudgetScheme(AnalogScheme("double"), cu)
    )
    gain = _measured_wnr_db(rep, sd, 6.0, 4) - _measured_wnr_db(plain, sd, 6.0, 5)
    assert gain == pytest.approx(10 * math.log10(ratio), abs=0.1)


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
def test_reported_noise_matches_measured_after_combining(channel):
    """What reaches the denoiser's prior is right: per weight, z = (ŵ-w)/sqrt(no_w) has
    mean(z²) = 1 in every repetition group, uniform 1.5 copies (cu = 0.75; groups of
    1 and 2 copies) and Fisher-weighted (copies differ per tensor), on AWGN and on
    Rayleigh fading (per-copy no = N0/|h|², MRC). N = 200,000 weights (>= 50,000 per
    group): s.d. of mean(z²) <= sqrt(2/50,000) = 0.0063; tolerance 0.04 (6 s.d.)."""
    sd = _weights()
    for scheme in (
        BudgetScheme(AnalogScheme("double"), 0.75),
        BudgetScheme(AnalogScheme("double"), 1.5, expansion="fisher"),
    ):
        if scheme.needs_sensitivity:
            scheme.set_sensitivity({"a.weight": 1.0, "b.weight": 16.0})
        link = Link(channel, precision="double", scheme=scheme)
        tx = link.transmit(sd, 5.0, seed=7)
        w = tx.clean
        plan = scheme.plan(w, tx.spec)
        z2 = (tx.reception.y - w).double().square() / tx.reception.no_w.double()
        groups = plan.reps.unique()
        assert len(groups) >= 2
        for r in groups:
            sel = plan.reps == r
            assert float(z2[sel].mean()) == pytest.approx(1.0, abs=0.04), (
                scheme.expansion,
                int(r),
            )


def test_keep_half_at_half_a_channel_use_gains_3_01_db_on_the_survivors():
    """Prune half, repeat the survivors twice, at cu 0.5 (equal bandwidth and energy as
    the plain link): the kept weights' measured noise power falls by 2 against the plain
    link *on the sent vector's scale*, i.e. their WNR relative to the kept weights' mean
    square rises by 10 log10 2 = 3.01 dB. N = 200,000 weights (100,000 kept): the noise
    power's relative s.d. sqrt(2/1e5) = 0.45 % (0.02 dB); tolerance 0.1 dB. Pruned weights
    come back as exact zeros, flagged known."""
    sd = {k: v.reshape(-1, 100) for k, v in _weights().items()}  # prunable: 2-D
    plain = Link("awgn", precision="double")
    link = Link(
        "awgn",
        precision="double",
        scheme=BudgetScheme(AnalogScheme("double"), 0.5, mask="architecture", keep=0.5),
    )
    tx = link.transmit(sd, 5.0, seed=1)
    known = tx.reception.known
    assert known is not None and int(known.sum()) == N // 2
    assert bool((tx.reception.y[known] == 0).all())
    w = tx.clean[~known]
    err = (tx.reception.y[~known] - w).double()
    wnr_kept = 10 * math.log10(float(w.square().mean()) / float(err.square().mean()))
    tp = plain.transmit(sd, 5.0, seed=2)
    e0 = (tp.reception.y - tp.clean).double()
    wnr_plain = 10 * math.log10(float(tp.clean.square().mean()) / float(e0.square().mean()))
    assert wnr_kept - wnr_plain == pytest.approx(10 * math.log10(2), abs=0.1)
