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
# # 1. Solutions: your first noisy network
#
# Solutions to the exercises of [tutorial 1](../01_first_noisy_network/). Each states the
# expected result and checks it with an `assert`. About 10 s on 2 CPU cores.

# %%
import math

import numpy as np
import torch

from airmodel.link import Link
from airmodel.quickstart import new_figure, show, start_tutorial
from airmodel.receiver.bn_recalibration import recalibrate_bn_state
from airmodel.receiver.denoiser import ML, MMSE

# From the repository root (configs/, and the model cache runs/ of `make demo`), one
# torch thread: the digits ResNet-8 (trained once, then read from runs/), the test split
# and 100 validation images from the training split; scoring a rebuilt state dict
# loads it into `model`, so `sd` keeps the clean weights aside.
q = start_tutorial()
cfg, model, data, clean, sd = q.cfg, q.model, q.data, q.clean, q.state_dict
print(f"clean test accuracy {clean:.2%} on {len(data.test)} images")
link = Link("awgn")

# %% [markdown]
# ## Exercise 1: ML and MMSE from −2 to 12 dB
#
# MMSE multiplies every weight's deviation from the prior mean by `η/(η+1)`: 0.39 at
# −2 dB, 0.91 at 10 dB. Each layer's output shrinks by that factor and the batch-norm
# layers, which normalize with the statistics of the *clean* network, pass the error on:
# MMSE stays near chance up to 2 dB and is still tens of points behind ML at 10 dB
# (about 35), although its weight MSE is always lower. The second check: at every point the gain the receiver
# applied equals `η/(η+1)` with `η` the link's WNR (linear), within 2 % (the receiver
# estimates `σ_w²` from `y`).

# %%
grid = [-2, 0, 2, 4, 6, 8, 10, 12]
acc = {"ml": [], "mmse": []}
gains = []
print(f"{'Es/N0':>6s} {'ML':>7s} {'MMSE':>7s} {'shrink':>7s}")
for snr in grid:
    tx = link.transmit(sd, snr, seed=0)
    for name, den in (("ml", ML()), ("mmse", MMSE())):
        sd_hat, st = link.rebuild(tx, den)
        acc[name].append(data.test.accuracy_of(sd_hat, model))
    w_mmse, _ = Link.denoise(tx, MMSE())
    y = tx.reception.y.double()
    mu = float(y.mean())
    gain = float(((w_mmse.double() - mu) / (y - mu)).median())
    eta = 10 ** (st.wnr_db / 10)
    assert abs(gain / (eta / (eta + 1)) - 1) < 0.02, (gain, eta)
    gains.append(gain)
    print(f"{snr:6.0f} {acc['ml'][-1]:7.1%} {acc['mmse'][-1]:7.1%} {gain:7.3f}")

fig, (ax,) = new_figure()
for name, colour, style in (("ml", "#332288", "o-"), ("mmse", "#CC6677", "s--")):
    ax.plot(grid, [100 * a for a in acc[name]], style, color=colour, label=name.upper())
ax.axhline(100 * clean, color="k", ls=":", lw=1, label="clean")
ax.set(xlabel="Es/N0 [dB]", ylabel="test accuracy [%]", ylim=(0, 100))
ax.set_title("ResNet-8 on digits, AWGN, one draw per point (seed 0)", fontsize=9)
ax.legend(loc="center right")
show(fig, "01s_ml_vs_mmse")

i10 = grid.index(10)
assert all(m < a for m, a in zip(acc["mmse"], acc["ml"], strict=True))
assert all(m <= 0.15 for s, m in zip(grid, acc["mmse"], strict=True) if s <= 2)
assert acc["ml"][i10] - acc["mmse"][i10] > 0.2
assert abs(gains[0] - 0.39) < 0.03 and abs(gains[i10] - 0.91) < 0.02

# %% [markdown]
# ## Exercise 2: draw-to-draw variation at 2 dB, and how many draws
#
# A different noise draw is a different network: at 2 dB, on the steep part of the
# curve, ML's accuracy moves by several points from draw to draw, more than the
# binomial standard error `sqrt(p(1−p)/360)` of one score (at most 2.6 %).
#
# How many draws? With `n` independent draws per receiver and a draw-to-draw standard
# deviation `s`, the difference of two means has standard error `s·sqrt(2/n)`. Two
# points apart at two standard errors needs `2·s·sqrt(2/n) ≤ 0.02`, i.e.
# `n ≥ 8 s² / 0.02²`. With `s` ≈ 12 points (measured below) that is about 270 draws per
# receiver. Two
# receivers that share their draws (as every airmodel sweep does) need fewer: what
# counts is then the spread of the *difference* on each draw, usually much smaller.
# Five draws give only a rough `s` (its relative standard error is about 35 %).

# %%
accs = []
for seed in range(5):
    sd_hat, _ = link(sd, 2.0, seed=seed)
    accs.append(data.test.accuracy_of(sd_hat, model))
p, s = float(np.mean(accs)), float(np.std(accs, ddof=1))
binomial = math.sqrt(p * (1 - p) / len(data.test))
n_draws = math.ceil(8 * s**2 / 0.02**2)
print("ML accuracy per draw:", [f"{a:.1%}" for a in accs])
print(f"mean {p:.1%}, std over draws {s:.1%}, binomial s.e. of one score {binomial:.1%}")
print(f"draws per receiver to tell 2 points apart (unpaired, 2 s.e.): {n_draws}")
assert s > binomial  # the draw, not the test set, dominates the spread
assert 0.04 < s < 0.15 and 30 < n_draws < 500

# %% [markdown]
# ## Exercise 3: ML, then batch-norm recalibration
#
# Batch-norm buffers never go over the air; the receiver re-estimates them from 500
# unlabelled training images run through the rebuilt network (`+bn500`). Only
# batch-norm buffers may change: the check below asserts it. Expected: from about 43 %
# to about 85–90 % at 2 dB (same draw).

# %%
tx = link.transmit(sd, 2.0, seed=0)
sd_ml, _ = link.rebuild(tx, ML())
pool = data.validation.unlabelled  # 500 unlabelled training images (no labels)
sd_bn = recalibrate_bn_state(sd_ml, model, pool)
changed = [k for k in sd_ml if not torch.equal(sd_ml[k], sd_bn[k])]
assert changed and all(
    k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in changed
), changed
acc_ml, acc_bn = (
    data.test.accuracy_of(sd_ml, model),
    data.test.accuracy_of(sd_bn, model),
)
print(f"2 dB: ML {acc_ml:.1%}, ML + recalibration on {len(pool)} images {acc_bn:.1%}")
assert acc_bn > acc_ml + 0.25
