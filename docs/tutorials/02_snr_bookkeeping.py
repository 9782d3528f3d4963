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
# weight-to-noise ratio (WNR): computed here by hand from the definitions in
# [Concepts](../../concepts/#snr-bookkeeping), then checked against what the link
# measures. About 10 s on 2 CPU cores.

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
# * WNR `η = Var(w) / σ_n²`; in dB, `WNR = Es/N0 − 10 log10(1 + μ²/σ_w²)`.

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
# ## Exercises
#
# 1. At which Es/N0 does this model's WNR reach 10 dB? Check your answer with the link.
# 2. With `snr_db=float("inf")` there is no noise. Show that `Link("awgn",
#    precision="double")` then rebuilds every tensor of the state dict bit-exactly.
# 3. Add 0.1 to every weight of a synthetic state dict `{"w": 0.05 * torch.randn(100_000)}`.
#    By how many dB does the WNR at Es/N0 = 10 dB drop? Predict it first.
#
# Solutions: [02 solutions](../02_snr_bookkeeping_solutions/).
