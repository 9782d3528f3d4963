# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. Multi-antenna model delivery
#
# **Learning goals.** After this tutorial you can
#
# * compute a stream's SINR after LMMSE equalization and check what the channel reports;
# * predict ZF's noise enhancement from the inverse-Wishart mean `N_t/(N_r − N_t)`;
# * read diversity order off bit-error curves (MRC, Alamouti) against their closed form;
# * compare multi-antenna modes at equal energy per weight and at equal time.
#
# **Prerequisites.** [Tutorial 4](../04_fading/) (per-symbol noise after equalization,
# CSI, ZF). Matrix inverse and Hermitian transpose.
#
# **Time.** About 40 minutes: 15 to read and run, 25 for the exercises. The code runs in
# about 10 s on 2 CPU cores.
#
# **Run it.** [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F07_mimo.py)
# · `python docs/tutorials/07_mimo.py` · terms: [Glossary](../../glossary/).
#
# The `mimo` channel (`channels/mimo.py`, [Multi-antenna links](../../mimo/)) runs
# Sionna's flat-fading MIMO channel, the mode's precoding and its linear receiver, and
# returns each symbol with its own post-equalization noise variance `no_eff`. Every mode
# sends total energy 1 per channel use, so Es/N0 means the same in all of them.

# %%
import math

import numpy as np
import torch

from airmodel.quickstart import start_tutorial

# From the repository root (configs/, and the model cache runs/ of `make demo`), one
# torch thread: the digits ResNet-8 (trained once, then read from runs/), the test split
# and 100 validation images from the training split; scoring a rebuilt state dict
# loads it into `model`, so `sd` keeps the clean weights aside.
q = start_tutorial()
cfg, model, data, clean, sd = q.cfg, q.model, q.data, q.clean, q.state_dict
print(f"clean test accuracy {clean:.2%} on {len(data.test)} images")

# %% [markdown]
# ## One stream's SINR after LMMSE, by hand
#
# Hold one 2 x 2 channel `H` fixed (`block_length` = all uses) and send 2·10⁴ Gaussian
# symbols per stream. With `H_e = H/sqrt(2)` (each stream gets half the energy), the
# unbiased LMMSE receiver's error on stream `k` has variance `1/SINR_k`,
# `SINR_k = 1/[(I + H_e^H H_e/N0)^{-1}]_kk − 1`. The block reports it; we compute it
# with numpy and measure it (standard error 0.7 %: within 4 %).

# %%
from airmodel.channels import MIMOChannel

snr_db, n = 5.0, 20_000
n0 = 10 ** (-snr_db / 10)
ch = MIMOChannel(num_tx=2, num_rx=2, equalizer="lmmse", block_length=n)
ch.seed(1)
h = ch._draw_h(1)[0].numpy().astype(complex) / math.sqrt(2)  # the H it will draw
sinr = 1 / np.real(np.diag(np.linalg.inv(np.eye(2) + h.conj().T @ h / n0))) - 1
x = torch.randn(2 * n, dtype=torch.complex64, generator=torch.Generator().manual_seed(0))
ch.seed(1)
y, g, _ = ch(x, n0)
x_hat, no_eff = y / g.real, n0 / g.real**2  # what the Link's zero forcing recovers
measured = (x_hat - x).abs().square().view(n, 2).double().mean(0).numpy()
print("1/SINR closed form", 1 / sinr)
print("reported no_eff   ", no_eff.view(n, 2)[0].numpy())
print("measured error    ", measured)
assert np.allclose(no_eff.view(n, 2)[0].numpy(), 1 / sinr, rtol=1e-4)
assert np.allclose(measured, 1 / sinr, rtol=0.04)

# %% [markdown]
# ## ZF noise enhancement (inverse Wishart)
#
# Zero forcing inverts `H`: for i.i.d. Rayleigh `N_r x N_t`, `E[((H^H H)^{-1})_kk] =
# 1/(N_r − N_t)`, so with the energy split over `N_t` streams the mean `no_eff/N0` is
# `N_t/(N_r − N_t)`: 1 for 2 x 4, infinite for 2 x 2 (the mean does not exist). 3·10⁴
# channel uses, a new `H` each: standard error about 0.6 %, tolerance 4 %.

# %%
x = torch.randn(60_000, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
for nr in (4, 2):
    zf = MIMOChannel(num_tx=2, num_rx=nr, equalizer="zf")
    zf.seed(0)
    _, g, _ = zf(x, n0)
    ratio = (1 / g.real.double().square()).mean()  # mean no_eff / N0
    print(f"2 x {nr} ZF: mean no_eff/N0 = {float(ratio):.2f}")
    if nr == 4:
        assert abs(float(ratio) - 2 / (4 - 2)) < 0.04

# %% [markdown]
# ## Diversity: MRC and Alamouti
#
# BPSK bits through 1 x 1, 1 x 2 MRC and 2 x 1 Alamouti at 10 dB. MRC over `L`
# Rayleigh branches of mean SNR `γ` has the closed-form bit error rate
# `((1−μ)/2)^L Σ_k C(L−1+k, k)((1+μ)/2)^k`, `μ = sqrt(γ/(1+γ))`; Alamouti with
# 2 transmit antennas is MRC with `L = 2` at `γ/2` (the energy is split). 2·10⁵ bits:
# each count within 5 binomial standard deviations.


# %%
def ber_mrc(gamma, branches):
    mu = math.sqrt(gamma / (1 + gamma))
    return ((1 - mu) / 2) ** branches * sum(
        math.comb(branches - 1 + k, k) * ((1 + mu) / 2) ** k for k in range(branches)
    )


bits = torch.randint(0, 2, (200_000,), generator=torch.Generator().manual_seed(2))
bpsk = (1.0 - 2.0 * bits).to(torch.complex64)
snr_db = 10.0
gamma = 10 ** (snr_db / 10)
for name, opts, want in [
    ("1x1", {"num_tx": 1, "num_rx": 1, "mode": "sm"}, ber_mrc(gamma, 1)),
    ("1x2 MRC", {"num_tx": 1, "num_rx": 2, "mode": "mrc"}, ber_mrc(gamma, 2)),
    ("2x1 Alamouti", {"num_tx": 2, "num_rx": 1, "mode": "alamouti"}, ber_mrc(gamma / 2, 2)),
]:
    mimo = MIMOChannel(**opts)
    mimo.seed(3)
    y, g, _ = mimo(bpsk, 10 ** (-snr_db / 10))
    ber = float(((y.real < 0).long() != bits).double().mean())
    sd_count = math.sqrt(want * (1 - want) / bits.numel())
    print(f"{name:13s} BER {ber:.2e}  closed form {want:.2e}")
    assert abs(ber - want) < 5 * sd_count

# %% [markdown]
# ## The network over three modes, same seed
#
# 2 x 2 spatial multiplexing puts two symbols in each channel use: at the same Es/N0 it
# spends half the energy per weight and half the time of 1 x 1 or Alamouti
# (`Link.channel_uses_per_weight`). The denoiser gets each weight's own `no_w`; ML
# ignores it, ML + batch-norm recalibration on 500 unlabelled images (`+bn500`) is the
# quickstart's recommended receiver.

# %%
from airmodel.link import Link
from airmodel.receiver.bn_recalibration import recalibrate_bn_state
from airmodel.receiver.denoiser import ML

pool = data.validation.unlabelled
esno = 12.0
print(f"Es/N0 {esno} dB, clean accuracy {clean:.1%}")
for name, opts in [
    ("1x1", {"num_tx": 1, "num_rx": 1}),
    ("2x2 Alamouti", {"num_tx": 2, "num_rx": 2, "mode": "alamouti"}),
    ("2x2 SM LMMSE", {"num_tx": 2, "num_rx": 2}),
]:
    link = Link(MIMOChannel(**opts))
    tx = link.transmit(sd, esno, seed=0)
    sd_hat, st = link.rebuild(tx, ML())
    acc = data.test.accuracy_of(sd_hat, model)
    acc_bn = data.test.accuracy_of(recalibrate_bn_state(sd_hat, model, pool), model)
    print(
        f"{name:13s} {link.channel_uses_per_weight:.2f} ch. uses/weight, WNR "
        f"{st.wnr_db:5.1f} dB: ML {acc:.1%}, ML+bn500 {acc_bn:.1%}"
    )
    # the per-weight noise the link reports is what the weights got (N = 77,082, 3 %)
    r = (tx.reception.y - tx.clean).double().square() / tx.reception.no_w.double()
    assert abs(float(r.mean()) - 1) < 0.03

# %% [markdown]
# One draw per mode: see [Multi-antenna links](../../mimo/) for 10 draws over 16 Es/N0
# points with intervals.
#
# The same contract holds over frequency-selective channels: `channel.name: mimo_cdl`
# (or `mimo_tdl`) runs spatial multiplexing over OFDM through 3GPP CDL/TDL models with
# antenna arrays at both ends, pilots and LS channel estimates, and Sionna's OFDM
# LMMSE/ZF equalizers; each symbol's `no_eff` then also carries the channel-estimation
# error ([Multi-antenna links](../../mimo/#mimo-ofdm-over-3gpp-cdltdl-with-antenna-arrays)).
#
# ## Takeaways
#
# * Every MIMO mode hands the denoiser a per-stream, per-symbol noise variance `no_eff`
#   (noise plus residual interference); the link turns it into each weight's `no_w`.
# * ZF pays the inverse-Wishart noise enhancement `N_t/(N_r − N_t)`; LMMSE's unbiased
#   error is never larger on the same draw.
# * Diversity (MRC, Alamouti) buys energy; spatial multiplexing buys time: compare modes
#   at equal energy per weight *and* at equal channel uses per weight.
#
# ## Exercises
#
# 1. Measure the mean `no_eff/N0` of 3 x 6 ZF and compare with `N_t/(N_r − N_t)`.
#    *Expected: 1.00 within 3 % (3·10⁴ channel uses).*
# 2. Correlated antennas: repeat the Alamouti BER at 10 dB with `rho_tx=0.9`. Does
#    diversity survive? Predict the direction before you run it. *Expected: the BER
#    rises (about 1.4e-2 against 5.3e-3), between the 2-branch and 1-branch closed forms.*
# 3. At equal *energy per weight* (Ew/N0 = Es/N0 + 10 log10(channel uses per weight)),
#    which of 1 x 1 and 2 x 2 SM LMMSE gives the higher WNR? Send the network through
#    both with Es/N0 chosen so that Ew/N0 = 9 dB in each. *Expected: 2 x 2 SM LMMSE
#    (about 6.7 dB against 1.6 dB for 1 x 1, seed 0).*
#
# ## References
#
# * D. Tse and P. Viswanath, *Fundamentals of Wireless Communication*, Cambridge
#   University Press, 2005, ch. 3 and 7 (diversity, MIMO, linear receivers).
# * S. M. Alamouti, "A Simple Transmit Diversity Technique for Wireless Communications,"
#   *IEEE J. Sel. Areas Commun.*, vol. 16, no. 8, pp. 1451–1458, 1998.
# * J. G. Proakis and M. Salehi, *Digital Communications*, 5th ed., McGraw-Hill, 2008,
#   ch. 13 (BER of MRC over Rayleigh fading).
#
# Solutions: [07 solutions](../07_mimo_solutions/).
