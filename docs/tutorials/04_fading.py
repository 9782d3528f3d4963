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
# # 4. Fading: per-symbol noise after equalization
#
# Over a flat Rayleigh fading channel each symbol is multiplied by a random gain,
# `y = h·x + n`. The receiver knows `h` (perfect CSI) and equalizes by zero forcing,
# `x̂ = y/h = x + n/h`: the noise on symbol `i` now has variance `N0/|h_i|²`, different for
# every symbol. The link hands the denoiser this per-weight variance `no_w`. This
# tutorial checks that variance against the channel and shows what the denoiser loses
# when it is given only the average. About 15 s on 2 CPU cores.

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
# ## The channel and the equalizer by hand
#
# One million unit-energy symbols through fast fading (`block_length=1`: a new `h` per
# symbol, `E|h|² = 1`). After zero forcing, the error on symbol `i` divided by its
# predicted standard deviation `sqrt(N0)/|h_i|` must have unit variance. With 10⁶
# symbols the measured ratio is within 0.5 % of 1 (s.e. 0.14 %).

# %%
from airmodel import channels

snr_db = 10.0
n0 = 10 ** (-snr_db / 10)
ray = channels.get("rayleigh", block_length=1)
ray.seed(0)
x = torch.ones(1_000_000, dtype=torch.complex64)
h = ray.generate(x.shape)
y = ray.apply(x, h, n0)
x_hat = y / h  # zero forcing
no_eff = n0 / h.abs() ** 2  # predicted noise variance per symbol
ratio = float(((x_hat - x).abs() ** 2 / no_eff).double().mean())
print(f"E|h|^2 = {float((h.abs() ** 2).double().mean()):.4f} (want 1)")
print(f"normalized error variance {ratio:.4f} (want 1)")
print(
    f"per-symbol noise: median {float(no_eff.median()) / n0:.2f} N0, "
    f"90th percentile {float(no_eff.quantile(0.9)) / n0:.1f} N0, max {float(no_eff.max()) / n0:.0f} N0"
)
assert abs(ratio - 1) < 0.005
assert abs(float((h.abs() ** 2).double().mean()) - 1) < 0.005

# %% [markdown]
# `1/|h|²` has no finite mean under Rayleigh fading: a few deeply faded symbols carry
# enormous noise. A denoiser told only the *average* noise would trust those weights
# as much as the others.
#
# ## What the link hands the denoiser
#
# The link's `no_w` for each weight is `N0·scale²/2/|h|²` of its symbol: the median over
# weights is `P_s·10^(−Es/N0/10)·median(1/|h|²)`, and `median(1/|h|²) = 1/ln 2` for
# Rayleigh (|h|² is exponential with mean 1, median ln 2). Checked within 2 %.

# %%
import math

from airmodel.link import Link
from airmodel.receiver.denoiser import ML, MMSE

link = Link("rayleigh")
tx = link.transmit(sd, snr_db, seed=0)
w = tx.clean.double()
p_s = float((w**2).mean())
med = float(tx.reception.no_w.double().median())
theory = p_s * 10 ** (-snr_db / 10) / math.log(2)
print(f"median no_w {med:.4e}, theory {theory:.4e}")
assert abs(med / theory - 1) < 0.02

# %% [markdown]
# ## Why the denoiser wants it
#
# Gaussian MMSE with the per-weight variance shrinks each weight by
# `σ_w²/(σ_w² + no_w,i)`: deeply faded weights go almost to the prior mean, clean ones
# stay. Given the average noise instead, it shrinks every weight alike. Same draw, same
# prior family, only the noise information differs. Shrinkage alone scales every layer's
# output down, so each receiver is also scored after batch-norm recalibration on 500
# unlabelled training images (`+bn500`), which undoes that scaling.

# %%
from airmodel.evaluation.sweep import averaged_noise
from airmodel.receiver.bn_recalibration import recalibrate_bn_state

pool = data.validation.unlabelled  # 500 unlabelled training images
rows = []
for label, t in [("per-weight no_w", tx), ("average noise only", averaged_noise(tx))]:
    for name, den in [("ml", ML()), ("mmse", MMSE())]:
        sd_hat, st = link.rebuild(t, den)
        rows.append((label, name, st.weight_mse, data.test.accuracy_of(sd_hat, model)))
        sd_bn = recalibrate_bn_state(
            sd_hat, model, pool
        )  # then batch-norm recalibration
        rows.append(
            (label, name + "+bn500", st.weight_mse, data.test.accuracy_of(sd_bn, model))
        )
print(f"Rayleigh, Es/N0 {snr_db} dB, clean accuracy {clean:.1%}")
print(f"{'noise given':20s} {'receiver':11s} {'weight MSE':>10s} {'accuracy':>9s}")
for r in rows:
    print(f"{r[0]:20s} {r[1]:11s} {r[2]:10.3e} {r[3]:9.1%}")
mse = {(r[0], r[1]): r[2] for r in rows}
assert mse["per-weight no_w", "mmse"] < mse["average noise only", "mmse"]
assert (
    mse["per-weight no_w", "ml"] == mse["average noise only", "ml"]
)  # ML ignores no_w

# %% [markdown]
# ## Exercises
#
# 1. Repeat with `Link(channels.get("rayleigh", block_length=1000))` (block fading: one
#    `h` per 1000 symbols). What happens to the spread of `no_w` and to the gap between
#    per-weight and average noise? Why is one draw no longer enough?
# 2. A Rician channel (`channels.get("rician", k_factor=10)`) has a line-of-sight part.
#    Predict how the gap changes and check it.
# 3. Compute the MMSE weight MSE with the per-weight noise by hand,
#    `mean(σ_w² no_w,i / (σ_w² + no_w,i))`, and compare with the link's.
#
# Solutions: [04 solutions](../04_fading_solutions/).
