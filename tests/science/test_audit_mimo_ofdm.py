"""Audit: MIMO-OFDM over CDL/TDL (channels/mimo_ofdm.py) against measurement and Sionna.

Total transmit energy 1 per resource element, ``no = N0`` per receive antenna,
speed 0. Every test names its N and tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sionna.phy
import torch
from sionna.phy.channel import OFDMChannel, exp_corr_mat
from sionna.phy.channel.tr38901 import TDL
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import (
    LMMSEChannelEstimator,
    LMMSEEqualizer,
    LSChannelEstimator,
    ResourceGridMapper,
    tdl_freq_cov_mat,
    tdl_time_cov_mat,
)

from airmodel.channels import CDLMIMOChannel, TDLMIMOChannel
from airmodel.link import Link
from airmodel.seed import stream_seed

pytestmark = pytest.mark.science


def gaussian(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dtype=torch.complex64, generator=g)


# ------------------------------------------- reported noise per decile (Link)
@pytest.mark.parametrize(
    "cls, opts, snr_db, tol",
    [
        (TDLMIMOChannel, {"num_tx": 2, "num_rx": 2, "csi": "perfect"}, 5.0, 0.05),
        (TDLMIMOChannel, {"num_tx": 4, "num_rx": 4, "csi": "perfect"}, 15.0, 0.05),
        (
            CDLMIMOChannel,
            {"num_tx": 2, "num_rx": 4, "csi": "perfect", "equalizer": "zf"},
            10.0,
            0.05,
        ),
        (
            TDLMIMOChannel,
            {"num_tx": 2, "num_rx": 4, "csi": "ls", "delay_spread": 30e-9},
            10.0,
            0.05,
        ),
        (TDLMIMOChannel, {"num_tx": 2, "num_rx": 2, "csi": "ls"}, 10.0, 0.05),
        (TDLMIMOChannel, {"num_tx": 2, "num_rx": 2, "csi": "lmmse"}, 10.0, 0.05),
        (
            TDLMIMOChannel,
            {"num_tx": 2, "num_rx": 4, "csi": "lmmse", "rho_rx": 0.9},
            10.0,
            0.08,
        ),
        (CDLMIMOChannel, {"num_tx": 2, "num_rx": 4, "csi": "lmmse"}, 10.0, 0.15),
    ],
    ids=[
        "tdl2x2-perfect",
        "tdl4x4-perfect",
        "cdl2x4-zf-perfect",
        "tdl2x4-ls-30ns",
        "tdl2x2-ls",
        "tdl2x2-lmmse",
        "tdl2x4-lmmse-rho0.9",
        "cdl2x4-lmmse",
    ],
)
def test_link_noise_per_decile(cls, opts, snr_db, tol):
    """Through ``Link`` (analog, ZF on the equivalent scalar channel), N = 4·10^5
    Gaussian weights (4·10^4 per decile of the reported per-weight noise
    variance no_w): mean (y - w)^2 / no_w = 1 within ±tol in every decile
    (standard error of a decile mean ~0.7 %).

    tol = 5 % where the model behind no_eff is exact: perfect CSI; LS on i.i.d.
    antennas (TDL), its error variance no·G exact at speed 0 and the
    per-entry LMMSE refinement exact for Gaussian entries (TDL-C 300 ns: the
    linear interpolation over the 2-stream pilot comb adds a small bias, within
    tol at 10 dB). Correlated antennas (known limitation, measured): the
    spatial-LMMSE refinement's error is correlated across antennas, which
    Sionna's equalizers (per-entry error variance) ignore: TDL with rho_rx = 0.9
    measured +0.4..+6.9 % (tol 8 %; the per-entry ``csi="ls"`` refinement:
    +8..+21 %); CDL-C with λ/2 arrays +4.3..+11 % (tol 15 %)."""
    got = decile_ratios(cls, opts, snr_db)
    assert all(abs(r - 1.0) <= tol for r in got), [round(r, 3) for r in got]


def decile_ratios(cls, opts, snr_db) -> list[float]:
    """Mean (y - w)^2 / no_w per decile of no_w, 4·10^5 weights through ``Link``."""
    g = torch.Generator().manual_seed(0)
    sd = {"w": torch.randn(400_000, generator=g) * 0.05 + 0.01}
    tx = Link(cls(**opts)).transmit(sd, snr_db, seed=4)
    no_w = tx.reception.no_w.double()
    ratio = (tx.reception.y - tx.clean).double().square() / no_w
    edges = torch.quantile(no_w[:100_000], torch.linspace(0.1, 0.9, 9).double())
    dec = torch.bucketize(no_w, edges)
    return [float(ratio[dec == d].mean()) for d in range(10)]


@pytest.mark.slow  # Sionna's LMMSE estimator: ~7-13 s for 4·10^5 weights on one CPU
@pytest.mark.parametrize(
    "opts, tol",
    [
        ({"num_rx": 2}, 0.05),
        ({"num_rx": 4, "rho_rx": 0.9}, 0.05),
        ({"num_rx": 2, "min_speed": 30.0, "max_speed": 30.0}, 0.10),
    ],
    ids=["tdl2x2-iid", "tdl2x4-rho0.9", "tdl2x2-30mps"],
)
def test_sionna_lmmse_noise_per_decile(opts, tol):
    """``csi="sionna_lmmse"`` (Sionna's LMMSEChannelEstimator, order t-f-s, with
    the TDL-C 300 ns frequency, time and exp_corr_mat(rho_rx) covariances), 2
    streams, LMMSE, 10 dB, through ``Link`` as :func:`test_link_noise_per_decile`:
    N = 4·10^5 Gaussian weights, every decile of the reported no_w within ±tol
    of the measured squared error (standard error of a decile mean ~0.7 %).
    tol = 5 %, measured: i.i.d. 2 x 2 0.988..1.023; rho_rx = 0.9, 2 x 4
    0.995..1.032 (the spatial-LMMSE ``csi="lmmse"``: up to +6.9 %, ``csi="ls"``:
    up to +21 %). Known limitation, tol 10 %: UT speed 30 m/s (Doppler 350 Hz),
    2 x 2, measured +3.6..+7.8 % (``csi="lmmse"``: -0.5..+3.3 %); likely cause:
    each of Sionna's passes takes its input errors as uncorrelated, and the
    time-interpolation error is correlated across subcarriers."""
    got = decile_ratios(
        TDLMIMOChannel, {"num_tx": 2, "csi": "sionna_lmmse", **opts}, 10.0
    )
    assert all(abs(r - 1.0) <= tol for r in got), [round(r, 3) for r in got]


# --------------------------------------------------------- LS error variance
def test_ls_noise_gain():
    """The LS error variance the block reports, no·G per stream and resource
    element (G from the interpolator's impulse responses), against

    (a) the closed form in the interior of the grid for Sionna's "lin"
    interpolator, pilots on OFDM symbols 2 and 11, stream j on subcarriers
    j::N_s with energy N_s: G = ((1-a)² + a²)·((1-b)² + b²)/N_s, a = (t-2)/9,
    b = ((f-j) mod N_s)/N_s (separable linear interpolation), to 1e-4;
    (b) the measured mean |ĥ_LS - h/sqrt(N_s)|² over N = 400 slots x 4 receive
    antennas of a channel flat over the pilot comb (TDL-A, 1 ns, speed 0), at
    no = 0.1, averaged over each stream's grid: within ±3 % (standard error
    ~0.3 %)."""
    k, no = 2, 0.1
    ch = TDLMIMOChannel("A", delay_spread=1e-9, num_tx=k, num_rx=4, csi="ls")
    gain = ch.ls_gain.double()  # [k, S, F]
    t = torch.arange(14, dtype=torch.float64)
    a = (t - 2) / 9
    g_t = (1 - a) ** 2 + a**2
    for j in range(k):
        f = torch.arange(j, 72 - k + 1 + j, dtype=torch.float64)  # between pilots
        b = ((f - j) % k) / k
        g_f = (1 - b) ** 2 + b**2
        want = g_t[:, None] * g_f[None, :] / k
        torch.testing.assert_close(gain[j][:, f.long()], want, rtol=1e-4, atol=0)
    ch.seed(1)
    b_slots, d = 400, ch.num_data_symbols
    x = gaussian(b_slots * d * k).view(b_slots, d, k).transpose(1, 2)[:, None]
    no_t = torch.tensor(no)
    y, h = ch._channel(ch._mapper(x) / math.sqrt(k), no_t)
    h_ls, _ = ch._estimator(y, no_t)
    err = (h_ls - h / math.sqrt(k)).abs().square().double().mean(dim=(0, 1, 2, 3))
    for j in range(k):
        ratio = float(err[j].mean() / (no * gain[j]).mean())
        assert ratio == pytest.approx(1.0, abs=0.03), (j, ratio)


# ---------------------------------------------- against a bare Sionna chain
@pytest.mark.parametrize("csi", ["perfect", "ls", "sionna_lmmse"])
def test_equals_bare_sionna_chain(csi):
    """TDL-C 300 ns, 2 x 3, LMMSE, 3 slots at no = 0.2: the block's output equals
    Sionna's chain run by hand under ``sionna.phy.config.seed =
    stream_seed(21, "channel")`` (what the block's ``seed(21)`` draws from):
    ResourceGridMapper -> 1/sqrt(N_s) -> OFDMChannel(TDL with antennas) ->
    [LSChannelEstimator("lin"), refined ĥ = ĥ_LS/(1 + N_s v), v = no·G |
    LMMSEChannelEstimator(order "t-f-s") with tdl_time_cov_mat (speed 0),
    tdl_freq_cov_mat and exp_corr_mat(0) (identity), each divided by N_s, and
    its own err_var] ->
    LMMSEEqualizer with StreamManagement, on the block's resource grid (its
    seeded pilots). x_hat and no_eff to 1e-4 relative (float32; the block's
    equivalent-channel round trip)."""
    k, nr, no, slots = 2, 3, 0.2, 3
    ch = TDLMIMOChannel(num_tx=k, num_rx=nr, csi=csi)
    d = ch.num_data_symbols
    x = gaussian(slots * d * k, seed=6)
    ch.seed(21)
    y_eq, g, _ = ch(x, no)
    g = g.real
    x_hat, no_eff = y_eq / g, no / g.square()
    rg = ch.resource_grid
    old = sionna.phy.config.seed
    try:
        sionna.phy.config.seed = stream_seed(21, "channel")  # keyed-v2
        tdl = TDL(
            "C",
            delay_spread=300e-9,
            carrier_frequency=3.5e9,
            num_rx_ant=nr,
            num_tx_ant=k,
        )
        ofdm = OFDMChannel(tdl, rg, normalize_channel=True, return_channel=True)
        s = x.view(slots, d, k).transpose(1, 2)[:, None]
        y, h = ofdm(ResourceGridMapper(rg)(s) / math.sqrt(k), torch.tensor(no))
        if csi == "perfect":
            h_hat, err = h / math.sqrt(k), torch.zeros(())
        elif csi == "sionna_lmmse":
            cov = (
                tdl_time_cov_mat("C", 0.0, 3.5e9, rg.ofdm_symbol_duration, 14),
                tdl_freq_cov_mat("C", 30e3, 72, 300e-9),
                exp_corr_mat(0.0, nr).to(torch.complex64),
            )
            est = LMMSEChannelEstimator(rg, *(c / k for c in cov), order="t-f-s")
            h_hat, err = est(y, torch.tensor(no))
        else:
            h_ls, _ = LSChannelEstimator(rg, interpolation_type="lin")(
                y, torch.tensor(no)
            )
            v = no * ch.ls_gain
            h_hat, err = h_ls / (1 + k * v), v / (1 + k * v)
        sm = StreamManagement(np.ones([1, 1], int), k)
        ref_hat, ref_no = LMMSEEqualizer(rg, sm)(y, h_hat, err, torch.tensor(no))
    finally:
        sionna.phy.config.seed = old
    ref_hat = ref_hat[:, 0].transpose(1, 2).reshape(-1)
    ref_no = ref_no[:, 0].transpose(1, 2).reshape(-1)
    torch.testing.assert_close(x_hat, ref_hat, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(no_eff, ref_no, rtol=1e-4, atol=0)
