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
# # 2. SNR bookkeeping by hand
#
# Es/N0, the noise variance N0 per complex symbol, the noise each weight sees and the
# weight-to-noise ratio (WNR): computed here by hand from their definitions, then
# checked against what the link measures. Getting this bookkeeping right is what makes
# numbers comparable between papers.
#
# **Learning goals.** After this tutorial you can
#
# * compute, from Es/N0 and the weights alone, the noise variance per complex symbol
#   (`N0`), per real part and per received weight (`σ_n²`);
# * explain why the transmitter scales by the weights' second moment `P_s` and what a
#   non-zero weight mean costs;
# * convert between Es/N0 and WNR, and verify each step against a measurement.
#
# **Prerequisites.** [Tutorial 1](../01_first_noisy_network/) (the link, on-air weights,
# ML). Decibels: `x dB = 10 log10(x)`. Complex Gaussian noise: variance `N0` split
# equally between the real and imaginary parts.
#
# **Time.** About 30 minutes: 10 to read and run, 20 for the exercises. The code runs in
# about 10 s on 2 CPU cores.
#
# **Run it.** [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F02_snr_bookkeeping.py)
# · `python docs/tutorials/02_snr_bookkeeping.py` · terms: [Glossary](../../glossary/) ·
# the full derivation: [Concepts](../../concepts/#snr-bookkeeping).

# %%
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
# ## By hand
#
# * Symbols have unit average energy, `Es = E|x|² = 1`, so `N0 = Es / 10^(Es/N0 / 10)`.
# * Two real weights share a complex symbol (I and Q). The transmitter scales the weight
#   vector by `1/scale`, `scale = sqrt(2 P_s)` with `P_s = mean(w²)` (the second moment,
#   not the variance), so that the symbols have unit energy.
# * The channel adds complex noise of variance `N0` per symbol, `N0/2` per real part; the
#   receiver multiplies back by `scale`, so each weight sees `σ_n² = N0 · scale² / 2 = P_s
#   / 10^(Es/N0 / 10)`.
# * **WNR** (weight-to-noise ratio) `η = Var(w) / σ_n²`: the weights' spread against the
#   noise, what a denoiser's shrink factor `η/(η+1)` depends on. In dB,
#   `WNR = Es/N0 − 10 log10(1 + μ²/σ_w²)` (`μ`, `σ_w²`: mean and variance of the
#   weights): equal to Es/N0 for zero-mean weights, lower when the weights have a mean.

# %%
import math

from airmodel.transmitter.payload import flatten

snr_db = 4.0
w, spec = flatten(sd, "paper")
w = w[: spec.num_air].double()  # the on-air weights (batch norm stays on the ground)
n0 = 10 ** (-snr_db / 10)  # noise variance per complex symbol, Es = 1
p_s = float((w**2).mean())
mu, var_w = float(w.mean()), float(w.var(unbiased=False))
scale = math.sqrt(2 * p_s)
sigma_n2 = n0 * scale**2 / 2
wnr_db = 10 * math.log10(var_w / sigma_n2)
print(f"N0 = {n0:.4f} per complex symbol ({n0 / 2:.4f} per real part)")
print(f"P_s = mean(w^2) = {p_s:.4e}, mu = {mu:.2e}, var(w) = {var_w:.4e}")
print(f"sigma_n^2 = N0 * scale^2 / 2 = {sigma_n2:.4e} per weight")
print(
    f"WNR = {wnr_db:.3f} dB = Es/N0 - 10 log10(1 + mu^2/var) = "
    f"{snr_db - 10 * math.log10(1 + mu**2 / var_w):.3f} dB"
)

# %% [markdown]
# ## What the link measures
#
# The symbols the transmitter builds, the noise the channel adds and the noise on each
# received weight, measured on one draw. With N = 77,082 weights (38,541 symbols) a
# measured variance is within `3 sqrt(2/N)` (1.5 %; 2.2 % for the symbols) of its
# expectation with 99.7 % probability; the assertions use 3 %.

# %%
from airmodel.link import Link

link = Link("awgn")
x, side = link.scheme.modulate(w.float(), power=p_s)
es = float((x.abs() ** 2).double().mean())
tx = link.transmit(sd, snr_db, seed=0)
_, stats = link.rebuild(tx)
e = tx.reception.y.double() - w  # noise on each received weight
print(f"Es measured {es:.6f} (want 1)")
print(
    f"noise per weight: measured {float((e**2).mean()):.4e}, by hand {sigma_n2:.4e}, "
    f"handed to the denoiser {float(tx.reception.no_w[0]):.4e}"
)
print(
    f"  on I (even weights) {float((e[0::2] ** 2).mean()):.4e}, on Q {float((e[1::2] ** 2).mean()):.4e}"
)
print(f"WNR: link {stats.wnr_db:.3f} dB, by hand {wnr_db:.3f} dB")
assert abs(es - 1) < 1e-5
assert abs(float((e**2).mean()) / sigma_n2 - 1) < 0.03
assert abs(float(tx.reception.no_w[0]) / sigma_n2 - 1) < 1e-5
assert abs(stats.wnr_db - wnr_db) < 1e-3

# %% [markdown]
# ## The channel alone
#
# Below the link, blocks only see `N0`. The AWGN block adds complex noise of variance
# `N0` per symbol (`N0/2` per real part), whatever the symbols are.

# %%
from airmodel import channels

awgn = channels.get("awgn")
awgn.seed(1)
ones = torch.ones(1_000_000, dtype=torch.complex64)
noise = awgn(ones, n0) - ones
print(
    f"E|n|^2 = {float((noise.abs() ** 2).double().mean()):.5f}, N0 = {n0:.5f}; "
    f"per real part {float(noise.real.double().var()):.5f}, N0/2 = {n0 / 2:.5f}"
)
assert (
    abs(float((noise.abs() ** 2).double().mean()) / n0 - 1) < 0.01
)  # 10^6 symbols: s.e. 0.1 %

# %% [markdown]
# ## WNR against Es/N0
#
# For this network the weights' mean is tiny against their spread (`μ²/σ_w²` below
# 10⁻³), so its WNR equals Es/N0 to within 0.01 dB. A synthetic set of weights with a mean equal
# to its standard deviation (`μ = σ_w = 0.05`) pays about `10 log10(2) = 3.0 dB` at every
# Es/N0. Lines: by hand; markers: measured by the link (one draw each).

# %%
from airmodel.quickstart import new_figure, show

g = torch.Generator().manual_seed(0)
z = 0.05 * torch.randn(100_000, generator=g)
shifted = {"w": z - z.mean() + 0.05}  # mean 0.05, standard deviation 0.05
esnos = [-5, 0, 5, 10, 15, 20]
fig, (ax,) = new_figure()
for label, state, colour, style in [
    ("ResNet-8 (μ ≈ 0)", sd, "#332288", "-"),
    ("synthetic, μ = σ_w", shifted, "#CC6677", "--"),
]:
    v, sp = flatten(state, "paper")
    v = v[: sp.num_air].double()
    offset = 10 * math.log10(1 + float(v.mean()) ** 2 / float(v.var(unbiased=False)))
    measured = [link(state, e, seed=0)[1].wnr_db for e in esnos]
    for e, m in zip(esnos, measured, strict=True):
        assert abs(m - (e - offset)) < 1e-3, (label, e, m, offset)
    ax.plot(esnos, [e - offset for e in esnos], ls=style, color=colour, label=f"{label}: by hand")
    ax.plot(esnos, measured, "o" if style == "-" else "s", color=colour, mfc="none",
            label=f"{label}: link")  # fmt: skip
    print(f"{label:20s} WNR = Es/N0 - {offset:.4f} dB")
ax.set(xlabel="Es/N0 [dB]", ylabel="WNR [dB]")
ax.set_title("WNR = Es/N0 − 10 log10(1 + μ²/σ_w²)", fontsize=9)
ax.legend(fontsize=7)
show(fig, "02_wnr_vs_esno")

# %% [markdown]
# ## Takeaways
#
# * `N0 = 10^(−Es/N0/10)` per complex symbol (`Es = 1`), half of it per real part.
# * Each weight sees `σ_n² = P_s·10^(−Es/N0/10)`: the noise follows the weights' second
#   moment, so a weight mean raises the noise without raising the spread.
# * WNR = Es/N0 − 10 log10(1 + μ²/σ_w²): always say which of the two an axis shows.
#
# ## Exercises
#
# 1. At which Es/N0 does this model's WNR reach 10 dB? Check your answer with the link.
#    *Expected: 10.00 dB to two decimals (the weights' mean costs about 0.001 dB);
#    the link's WNR within 0.001 dB of 10.*
# 2. With `snr_db=float("inf")` there is no noise. Show that `Link("awgn",
#    precision="double")` then rebuilds every tensor of the state dict bit-exactly.
#    *Expected: all 56 tensors equal (`torch.equal`), on-air or not.*
# 3. Add 0.1 to every weight of a synthetic state dict `{"w": 0.05 * torch.randn(100_000)}`.
#    By how many dB does the WNR at Es/N0 = 10 dB drop? Predict it first.
#    *Expected: 10 log10(1 + 0.1²/0.05²) = 6.99 dB, the link within 0.001 dB of the
#    prediction made with the sample's own mean and variance (6.97 dB for seed 0).*
#
# Solutions: [02 solutions](../02_snr_bookkeeping_solutions/).
#
# ## References
#
# * Y. Shao, S. C. Liew and D. Gündüz, "Denoising Noisy Neural Networks: A Bayesian
#   Approach with Compensation," *IEEE Transactions on Signal Processing*, vol. 71,
#   pp. 2460–2474, 2023, arXiv:2105.10699 (WNR, Es/N0 and the second-moment scaling).
# * J. Hoydis, S. Cammerer, F. Ait Aoudia, A. Vem, N. Binder, G. Marcus and A. Keller,
#   "Sionna: An Open-Source Library for Next-Generation Physical Layer Research,"
#   arXiv:2203.11854, 2022 (the `N0` per complex symbol convention).
# * J. G. Proakis and M. Salehi, *Digital Communications*, 5th ed., McGraw-Hill, 2008,
#   ch. 2–4 (complex baseband, Es/N0).
