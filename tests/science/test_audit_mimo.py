"""Audit: the flat-fading MIMO channel (channels/mimo.py) against closed forms and Sionna.

Unit-energy symbols, total transmit energy 1 per channel use, ``no = N0`` per
receive antenna, perfect CSI. Every test names its N and tolerance; the
large-N variants are ``slow``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sionna.phy
import torch
from scipy import stats
from sionna.phy.channel import ApplyFlatFadingChannel, GenerateFlatFadingChannel
from sionna.phy.mimo import lmmse_equalizer

from airmodel.channels import MIMOChannel
from airmodel.link import Link
from airmodel.seed import stream_seed

pytestmark = pytest.mark.science


def gaussian(n: int, seed: int = 0, dtype=torch.complex64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dtype=dtype, generator=g)


def run(ch: MIMOChannel, x: torch.Tensor, no: float, seed: int = 0):
    """(x_hat, no_eff) as the Link's ZF gets them from the equivalent scalar channel."""
    ch.seed(seed)
    y, g, _ = ch(x, no)
    g = g.real
    return y / g, no / g.square()


def first_h(ch: MIMOChannel, seed: int, blocks: int = 1) -> torch.Tensor:
    """The channel's first H under ``seed`` when a call draws ``blocks`` blocks
    (H before the noise; torch's randn depends on the count drawn at once)."""
    ch.seed(seed)
    return ch._draw_h(blocks)[0]


# ------------------------------------------------------------- LMMSE SINR
@pytest.mark.parametrize("nt, nr, snr_db", [(2, 2, 5.0), (4, 4, 10.0), (4, 2, 10.0)])
def test_lmmse_sinr_closed_form(nt, nr, snr_db):
    """One channel realization held for N = 5·10^4 channel uses (block_length = N).

    (a) The reported no_eff of stream k is 1/SINR_k with the closed form
    SINR_k = 1/[(I + H_e^H H_e / no)^{-1}]_kk - 1, H_e = H/sqrt(N_t), computed
    here in float64 numpy (relative tolerance 1e-4: complex64 Sionna).
    (b) The measured mean |x_hat_k - x_k|^2 over N Gaussian symbols is
    1/SINR_k within ±3 % (error = noise + other streams' interference, a sum of
    independent terms: its mean square has standard error ~1/sqrt(N) = 0.45 %).
    (4 x 2 is over-loaded: LMMSE separates 4 streams on 2 antennas, SINR < 1.)
    """
    n = 50_000
    no = 10 ** (-snr_db / 10)
    ch = MIMOChannel(num_tx=nt, num_rx=nr, block_length=n, precision="single")
    h = first_h(ch, 7).numpy().astype(np.complex128) / math.sqrt(nt)
    sinr = 1.0 / np.real(np.diag(np.linalg.inv(np.eye(nt) + h.conj().T @ h / no))) - 1
    x = gaussian(n * nt)
    x_hat, no_eff = run(ch, x, no, seed=7)
    rep = no_eff.view(n, nt).double()
    assert torch.allclose(rep, rep[:1].expand_as(rep))  # one H: constant per stream
    np.testing.assert_allclose(rep[0].numpy(), 1 / sinr, rtol=1e-4)
    err = (x_hat - x).abs().square().view(n, nt).double().mean(0).numpy()
    np.testing.assert_allclose(err, 1 / sinr, rtol=0.03)


# ----------------------------------------------------- ZF noise enhancement
@pytest.mark.parametrize("nt, nr", [(2, 4), (1, 3), (3, 6)])
def test_zf_noise_enhancement_wishart(nt, nr):
    """i.i.d. Rayleigh, ZF, a new H per channel use, N = 6·10^4 channel uses:
    E[no_eff]/no = N_t · E[((H^H H)^{-1})_kk] = N_t/(N_r - N_t) (complex
    inverse Wishart; the 1/sqrt(N_t) power split gives the factor N_t).
    ((H^H H)^{-1})_kk ~ 1/Gamma(N_r - N_t + 1), so with N_r - N_t >= 2 its
    standard deviation is finite; the standard error of the mean is < 0.6 %:
    tolerance ±3 % for the reported mean and for the measured squared error.
    """
    n, no = 60_000, 0.2
    ch = MIMOChannel(num_tx=nt, num_rx=nr, equalizer="zf")
    x = gaussian(n * nt, seed=1)
    x_hat, no_eff = run(ch, x, no, seed=3)
    expected = nt / (nr - nt)
    assert float(no_eff.double().mean()) / no == pytest.approx(expected, rel=0.03)
    measured = float((x_hat - x).abs().square().double().mean()) / no
    assert measured == pytest.approx(expected, rel=0.03)


def test_lmmse_no_worse_than_zf_and_mrc_limits():
    """Same draws (seed), 2 x 2 at 0 dB, N = 2·10^4 uses: LMMSE's mean measured
    squared error below ZF's (ZF's has infinite mean for N_r = N_t); and the 1 x N_r cases of ZF and LMMSE both equal MRC's
    no/||h||^2 to 1e-5 relative."""
    n, no = 20_000, 1.0
    x = gaussian(2 * n, seed=2)
    mse = {}
    for eq in ("zf", "lmmse"):
        x_hat, no_eff = run(MIMOChannel(num_tx=2, num_rx=2, equalizer=eq), x, no, 5)
        mse[eq] = float((x_hat - x).abs().square().double().mean())
    assert mse["lmmse"] < mse["zf"]
    x1 = gaussian(n, seed=3)
    outs = [
        run(MIMOChannel(num_tx=1, num_rx=3, mode=m, equalizer=e), x1, no, 9)[1]
        for m, e in (("mrc", "lmmse"), ("sm", "zf"), ("sm", "lmmse"))
    ]
    h = first_h(MIMOChannel(num_tx=1, num_rx=3, mode="mrc"), 9, blocks=n)
    assert float(outs[0][0]) == pytest.approx(
        no / float(h.abs().square().sum()), rel=1e-5
    )
    for o in outs[1:]:
        torch.testing.assert_close(o, outs[0], rtol=1e-5, atol=0)


# ----------------------------------------------------- BER and diversity
def ber_mrc(gamma: float, branches: int) -> float:
    """BPSK BER with L-branch MRC in i.i.d. Rayleigh, mean SNR gamma per branch
    (Proakis, Digital Communications, eq. 14.4-15)."""
    mu = math.sqrt(gamma / (1 + gamma))
    return ((1 - mu) / 2) ** branches * sum(
        math.comb(branches - 1 + k, k) * ((1 + mu) / 2) ** k for k in range(branches)
    )


MODE_BRANCHES = {  # (options, diversity branches L, per-branch SNR factor)
    "1x1": ({"num_tx": 1, "num_rx": 1, "mode": "sm"}, 1, 1.0),
    "mrc1x2": ({"num_tx": 1, "num_rx": 2, "mode": "mrc"}, 2, 1.0),
    "alamouti2x1": ({"num_tx": 2, "num_rx": 1, "mode": "alamouti"}, 2, 0.5),
    "alamouti2x2": ({"num_tx": 2, "num_rx": 2, "mode": "alamouti"}, 4, 0.5),
}


def measured_ber(opts: dict, snr_db: float, n: int, seed: int) -> tuple[int, float]:
    bits = torch.randint(0, 2, (n,), generator=torch.Generator().manual_seed(seed))
    x = (1.0 - 2.0 * bits).to(torch.complex64)  # BPSK, unit energy
    x_hat, _ = run(MIMOChannel(**opts), x, 10 ** (-snr_db / 10), seed)
    errors = int(((x_hat.real < 0).long() != bits).sum())
    return errors, errors / n


def slope(p0: float, p1: float, snrs: tuple[float, float]) -> float:
    """Decades of BER per 10 dB between two SNRs."""
    return -math.log10(p1 / p0) * 10 / (snrs[1] - snrs[0])


def check_ber(name: str, snrs: tuple[float, float], n: int) -> None:
    opts, branches, factor = MODE_BRANCHES[name]
    got, closed, errs = [], {}, []
    for i, snr in enumerate(snrs):
        for lb in {max(branches - 1, 1), branches, branches + 1}:
            closed.setdefault(lb, []).append(ber_mrc(factor * 10 ** (snr / 10), lb))
        p = closed[branches][-1]
        errors, ber = measured_ber(opts, snr, n, seed=11 + i)
        lo, hi = stats.binom.ppf([1e-4, 1 - 1e-4], n, p)  # 99.98 % band
        assert lo <= errors <= hi, (name, snr, ber, p)
        got.append(ber)
        errs.append(errors)
    # diversity order: the measured slope within 5 standard errors of the closed
    # form's for L branches, and nearer to it than to L - 1's or L + 1's
    meas = slope(*got, snrs)
    se = (
        10
        / (snrs[1] - snrs[0])
        * math.log10(math.e)
        * math.sqrt(sum(1 / e for e in errs))
    )
    want = {lb: slope(*closed[lb], snrs) for lb in closed}
    assert abs(meas - want[branches]) <= 5 * se, (name, meas, want, se)
    assert min(want, key=lambda lb: abs(meas - want[lb])) == branches, (
        name,
        meas,
        want,
    )


@pytest.mark.parametrize(
    "name, snrs",
    [("1x1", (10.0, 20.0)), ("mrc1x2", (4.0, 10.0)), ("alamouti2x1", (8.0, 14.0))],
)
def test_ber_diversity(name, snrs):
    """BPSK through the MIMO block, sign of Re(x_hat), N = 2·10^5 bits per SNR:
    the error count inside the 99.98 % binomial band of the closed form
    (L-branch MRC: 1x1 L=1, 1xN_r MRC L=N_r at SNR Es/N0, Alamouti 2xN_r
    L=2N_r at Es/(2N0): 3 dB behind MRC with as many branches). Diversity
    order: the measured slope (decades per 10 dB between the two SNRs; closed
    forms 0.97, 1.71, 1.76 here) within 5 standard errors (from the error
    counts) of the closed form's, and nearest to L's among L-1 (L >= 2), L, L+1."""
    check_ber(name, snrs, 200_000)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, snrs", [("alamouti2x2", (4.0, 8.0)), ("mrc1x2", (10.0, 16.0))]
)
def test_ber_diversity_large(name, snrs):
    """As :func:`test_ber_diversity`, N = 2·10^6 bits per SNR; Alamouti 2x2 has
    L = 4 (closed-form slope 2.78 between 4 and 8 dB), MRC 1x2 1.91 at 10-16 dB."""
    check_ber(name, snrs, 2_000_000)


# -------------------------------------------- per-weight noise through Link
@pytest.mark.parametrize(
    "opts, snr_db",
    [
        ({"num_tx": 2, "num_rx": 2, "mode": "sm", "equalizer": "lmmse"}, 5.0),
        ({"num_tx": 4, "num_rx": 4, "mode": "sm", "equalizer": "zf"}, 15.0),
        ({"num_tx": 2, "num_rx": 2, "mode": "alamouti"}, 0.0),
        ({"num_tx": 2, "num_rx": 2, "mode": "svd", "power": "waterfill"}, 5.0),
        ({"num_tx": 2, "num_rx": 2, "csi": "lmmse", "block_length": 8}, 5.0),
        ({"num_tx": 2, "num_rx": 2, "mode": "alamouti", "csi": "lmmse"}, 0.0),
    ],
)
def test_link_noise_per_decile(opts, snr_db):
    """Through ``Link`` (analog, ZF on the equivalent channel), N = 4·10^5
    Gaussian weights (4·10^4 per decile): in every decile of the reported
    per-weight noise variance no_w, mean (y - w)^2 / no_w = 1 within ±5 %
    (standard error of a decile mean ~0.7 %; LMMSE's error includes the other
    streams' weights, which are not Gaussian symbols, only their variance is).
    With ``csi="lmmse"`` (pilot-based channel estimate) the reported variance
    includes the estimation error: err_var = no/(1+no) per entry of H."""
    g = torch.Generator().manual_seed(0)
    sd = {"w": torch.randn(400_000, generator=g) * 0.05 + 0.01}
    tx = Link(MIMOChannel(**opts)).transmit(sd, snr_db, seed=4)
    no_w = tx.reception.no_w.double()
    ratio = (tx.reception.y - tx.clean).double().square() / no_w
    edges = torch.quantile(no_w[:100_000], torch.linspace(0.1, 0.9, 9).double())
    dec = torch.bucketize(no_w, edges)
    for d in range(10):
        assert float(ratio[dec == d].mean()) == pytest.approx(1.0, abs=0.05), d


# ------------------------------------------------ against a bare Sionna chain
def test_equals_bare_sionna_chain():
    """2 x 3 spatial multiplexing, LMMSE, a new H every 4 uses, 10^3 uses: the
    block's output equals Sionna's GenerateFlatFadingChannel ->
    ApplyFlatFadingChannel -> lmmse_equalizer run by hand under
    ``sionna.phy.config.seed = stream_seed(21, "channel")``, which is what the
    block's ``seed(21)`` draws from (same draws), to 1e-5 relative (float32
    rounding of the equivalent-channel round trip)."""
    nt, nr, big_l, uses, no = 2, 3, 4, 1000, 0.3
    x = gaussian(uses * nt, seed=6)
    ch = MIMOChannel(num_tx=nt, num_rx=nr, block_length=big_l)
    x_hat, no_eff = run(ch, x, no, seed=21)
    old = sionna.phy.config.seed
    try:
        sionna.phy.config.seed = stream_seed(21, "channel")  # keyed-v2: purpose mixed in
        h = GenerateFlatFadingChannel(nt, nr)(uses // big_l)  # [blocks, Nr, Nt]
        h = h.repeat_interleave(big_l, dim=0)  # [uses, Nr, Nt]
        s = x.view(uses, nt)
        y = ApplyFlatFadingChannel()(s / math.sqrt(nt), h, no)
        ref_hat, ref_no = lmmse_equalizer(
            y,
            h / math.sqrt(nt),
            no * torch.eye(nr, dtype=y.dtype),
            whiten_interference=False,
        )
    finally:
        sionna.phy.config.seed = old
    torch.testing.assert_close(x_hat.view(uses, nt), ref_hat, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(no_eff.view(uses, nt), ref_no, rtol=1e-5, atol=0)


# -------------------------------------------------------- spatial correlation
def test_kronecker_correlation():
    """rho_tx = 0.5, rho_rx = 0.8 on 3 x 2: the sample covariance of vec(H) over
    N = 4·10^4 draws equals R_tx^T ⊗ R_rx (Sionna's KroneckerModel with
    exp_corr_mat, R_ij = rho^|i-j|) within 0.03 absolute per entry (standard
    error ~0.005-0.007)."""
    nt, nr, n = 3, 2, 40_000
    ch = MIMOChannel(num_tx=nt, num_rx=nr, rho_tx=0.5, rho_rx=0.8)
    ch.seed(0)
    h = ch._draw_h(n).to(torch.complex128)  # [n, Nr, Nt]
    v = h.transpose(1, 2).reshape(n, -1)  # column-stacked vec(H)
    cov = (v.T @ v.conj() / n).numpy()
    r = lambda rho, m: rho ** np.abs(np.subtract.outer(np.arange(m), np.arange(m)))  # noqa: E731
    expected = np.kron(r(0.5, nt).T, r(0.8, nr))
    assert np.abs(cov - expected).max() < 0.03


@pytest.mark.parametrize(
    "opts",
    [
        {"num_tx": 1, "num_rx": 2, "mode": "mrc"},
        {"num_tx": 4, "num_rx": 4, "mode": "sm"},
        {"num_tx": 2, "num_rx": 2, "mode": "alamouti"},
        {"num_tx": 3, "num_rx": 2, "mode": "svd"},
        {"num_tx": 2, "num_rx": 2, "mode": "svd", "power": "waterfill"},
    ],
)
def test_equal_energy_per_channel_use(opts):
    """Every mode puts total energy 1 per channel use on its antennas: the mean
    ||x_t||^2 handed to Sionna's ApplyFlatFadingChannel is 1 within 2 %
    (N = 3·10^4 uses of unit-energy Gaussian symbols, standard error < 0.6 %)."""
    n = 30_000
    ch = MIMOChannel(**opts)
    energies = []
    ch._send.register_forward_pre_hook(
        lambda _m, args: energies.append(args[0].abs().square().sum(-1).reshape(-1))
    )
    run(ch, gaussian(int(n * ch.symbols_per_use), seed=1), 0.5, seed=0)
    e = torch.cat(energies).double()
    assert float(e.mean()) == pytest.approx(1.0, rel=0.02), opts


def test_closed_form_sanity():
    """The closed form at L = 1 is 0.5(1 - sqrt(g/(1+g))) (exact, 1e-12) and
    decays as 1/(4g); at L = 2 as 3/(16 g^2) (1e-3 relative at g = 10^6)."""
    g = 100.0
    assert ber_mrc(g, 1) == pytest.approx(0.5 * (1 - math.sqrt(g / (1 + g))), rel=1e-12)
    assert ber_mrc(1e6, 1) == pytest.approx(1 / 4e6, rel=1e-3)
    assert ber_mrc(1e6, 2) == pytest.approx(3 / 16e12, rel=1e-3)
