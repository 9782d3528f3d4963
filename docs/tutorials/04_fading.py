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
# Over a flat **Rayleigh fading** channel each symbol is multiplied by a random complex
# gain, `y = h·x + n`, with `h` complex Gaussian and `E|h|² = 1` (no line of sight: many
# scattered paths add up). The receiver knows `h` (perfect **CSI**, channel state
# information) and equalizes by **zero forcing** (ZF), `x̂ = y/h = x + n/h`: the noise
# on symbol `i` now has variance `N0/|h_i|²`, different for every symbol. The link hands
# the denoiser this per-weight variance `no_w`. This tutorial checks that variance
# against the channel, shows its distribution, shows what the denoiser loses when it is
# given only the average, and shows why batch-norm recalibration rescues a noisy network.
#
# **Learning goals.** After this tutorial you can
#
# * derive the noise variance of each symbol after zero forcing and check it;
# * read the distribution of per-weight noise under Rayleigh fading (heavy-tailed: a few
#   weights get enormous noise);
# * explain why a Bayesian denoiser wants the per-weight noise and not its average;
# * explain, from batch-norm statistics measured before and after, why recalibration on
#   unlabelled images restores accuracy.
#
# **Prerequisites.** [Tutorials 1 and 2](../02_snr_bookkeeping/) (the link, MMSE's
# shrinkage, `no_w`). Complex numbers (`|h|²`); the exponential distribution.
#
# **Time.** About 40 minutes: 15 to read and run, 25 for the exercises. The code runs in
# about 10 s on 2 CPU cores.
#
# **Run it.** [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F04_fading.py)
# · `python docs/tutorials/04_fading.py` · terms: [Glossary](../../glossary/).

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
# enormous noise. The histogram shows it: `|h|²` is exponential with mean 1, so
# `P(1/|h|² ≤ t) = e^(−1/t)` (the black curve, the same on a log axis). Over AWGN every
# symbol would sit at 1 (the dotted line).

# %%
import numpy as np

from airmodel.quickstart import new_figure, show

u = (no_eff / n0).double().numpy()
edges = np.logspace(-2, 4, 61)
counts, _ = np.histogram(u, bins=edges)
theory_p = np.diff(np.exp(-1 / edges))  # probability of each bin
fig, (ax,) = new_figure()
ax.stairs(counts / len(u), edges, fill=True, color="#88CCEE", label="measured (10⁶ symbols)")
ax.plot(np.sqrt(edges[1:] * edges[:-1]), theory_p, "k-", lw=1, label="theory, e^(−1/t)")
ax.axvline(1, color="k", ls=":", lw=1, label="AWGN (no fading)")
ax.set_xscale("log")
ax.set(xlabel="noise variance after ZF, in units of N0 (1/|h|²)", ylabel="fraction of symbols per bin")
ax.set_title(f"Rayleigh fading, Es/N0 {snr_db:g} dB", fontsize=9)
ax.legend(fontsize=7)
show(fig, "04_noise_histogram")
# Each bin's count is binomial: within 5 standard errors (plus 1e-4) of theory.
se = np.sqrt(theory_p * (1 - theory_p) / len(u))
assert np.all(np.abs(counts / len(u) - theory_p) < 5 * se + 1e-4)

# %% [markdown]
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
# unlabelled training images (`+bn500`: the batch-norm statistics re-estimated on the
# rebuilt network; the next section shows why this works).

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
# ## Why batch-norm recalibration works
#
# A **batch-norm** layer normalizes each channel `c` of its input with a mean and a
# variance stored at training time (the *running statistics*),
# `z = (x − running_mean_c)/sqrt(running_var_c)`, then scales and shifts by learned
# parameters. Batch-norm entries never go over the air (the paper's policy), so after
# the link the receiver still holds the *clean* network's statistics. But noise on the
# convolution weights adds variance to every channel's output (a weight error `δ`
# adds `δ·x` to each output), and the error compounds from layer to layer: the stored
# statistics no longer describe the activations, `z` is no longer centred with unit
# variance, and the next layers see inputs far outside what they were trained on.
#
# Recalibration (`+bn500`) runs 500 unlabelled training images through the rebuilt
# network and replaces each running mean and variance by what it measures there. Below,
# for each batch-norm layer (input to output), the variance of `z` per channel averaged
# over channels, measured on the 360 test *images* (no labels; they are not the images
# recalibration used): clean weights, ML-rebuilt weights from the Rayleigh draw above,
# and the same weights after recalibration.

# %%
from airmodel.receiver.bn_recalibration import batchnorm_layers


def normalized_variance(state):
    """Per batch-norm layer: mean over channels of Var(z), z the normalized input."""
    model.load_state_dict(state)
    model.eval()
    layers, seen = batchnorm_layers(model), {}
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, i=i: seen.__setitem__(i, inp[0]))
        for i, m in enumerate(layers)
    ]
    with torch.no_grad():
        model(data.test.x.contiguous())
    for h in hooks:
        h.remove()
    out = []
    for i, m in enumerate(layers):
        x = seen[i].transpose(0, 1).flatten(1).double()  # [channels, images·pixels]
        rm, rv = m.running_mean.double()[:, None], m.running_var.double()[:, None]
        out.append(float(((x - rm) / (rv + m.eps).sqrt()).var(1).mean()))
    return out


sd_ml, _ = link.rebuild(tx, ML())
states = {
    "clean": sd,
    "ML (noisy)": sd_ml,
    "ML+bn500": recalibrate_bn_state(sd_ml, model, pool),
}
var_z = {k: normalized_variance(v) for k, v in states.items()}
model.load_state_dict(sd)
for k, v in var_z.items():
    print(f"{k:11s} Var(z) per layer: " + " ".join(f"{x:6.2f}" for x in v))

fig, (ax,) = new_figure()
layer_no = range(1, len(var_z["clean"]) + 1)
for (k, v), (colour, ls, marker) in zip(
    var_z.items(), [("k", ":", "o"), ("#332288", "-", "s"), ("#332288", "--", "^")],
    strict=True,
):
    ax.plot(layer_no, v, color=colour, ls=ls, marker=marker, label=k)
ax.set(xlabel="batch-norm layer (input → output)", ylabel="Var(z), mean over channels")
ax.set_title(f"Rayleigh, Es/N0 {snr_db:g} dB, one draw; z = normalized BN input", fontsize=9)
ax.legend(fontsize=7)
show(fig, "04_bn_statistics")
# Clean and recalibrated: near 1 on the test images at every layer (the stored statistics
# describe the activations); noisy: far from 1 at the deepest layers.
assert all(0.5 < x < 2 for x in var_z["clean"] + var_z["ML+bn500"])
assert max(var_z["ML (noisy)"]) > 3

# %% [markdown]
# With the clean statistics the noisy network's normalized activations grow layer by
# layer; after recalibration every layer sees unit-variance inputs again, as in
# training. Recalibration does not remove the noise from the weights: it re-adapts the
# normalization to the noisy network, which is why it gains so much for so little (no
# labels, 500 forward passes) and why it also undoes MMSE's shrinkage (a scaled-down
# layer output is scaled back up).
#
# ## Takeaways
#
# * After zero forcing, symbol `i` carries noise `N0/|h_i|²`; under Rayleigh fading its
#   distribution is heavy-tailed (median `N0/ln 2`, no finite mean).
# * Give the denoiser the per-weight noise: MMSE then shrinks only the faded weights,
#   and its weight MSE drops below what the average noise allows.
# * Batch-norm recalibration re-estimates the statistics the noisy network actually
#   produces; it needs only unlabelled images and is the recommended receiver stage.
#
# ## Exercises
#
# 1. Repeat the MMSE comparison with `Link(channels.get("rayleigh", block_length=1000))`
#    (block fading: one `h` per 1000 symbols), three draws. What happens to the spread
#    of `no_w` (its standard deviation over its mean) and to the gap between per-weight
#    and average noise? Why is one draw no longer enough? *Expected: the model's 38,541
#    symbols see only about 39 independent gains; std/mean of `no_w` drops from about
#    20 or more (fast fading, dominated by the deepest fade of the draw) to 1–4;
#    per-weight noise still gives the lower (or equal) MSE in every draw, by a factor
#    from about 1 to 2, and the MSE itself moves by tens of percent between draws,
#    against under 1 % for fast fading.*
# 2. A Rician channel (`channels.get("rician", k_factor=10)`) has a line-of-sight part
#    ten times stronger than the scattered part. Predict how the gap changes and check
#    it. *Expected: `|h|²` concentrates near 1, so `no_w` varies little (std/mean about
#    1 against about 20 for Rayleigh, same seed) and the average is nearly as good: the
#    ratio of MSEs (average / per-weight) about 1.03, against 2 to 5 for Rayleigh.*
# 3. Compute the MMSE weight MSE with the per-weight noise by hand,
#    `mean(σ_w² no_w,i / (σ_w² + no_w,i))`, and compare with the link's.
#    *Expected: within 5 % (N = 77,082 weights); about 2 % for seed 0.*
#
# Solutions: [04 solutions](../04_fading_solutions/).
#
# ## References
#
# * D. Tse and P. Viswanath, *Fundamentals of Wireless Communication*, Cambridge
#   University Press, 2005, ch. 3 (Rayleigh and Rician fading, coherent detection).
# * S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by
#   Reducing Internal Covariate Shift," *Proc. ICML*, PMLR 37, pp. 448–456, 2015.
# * Y. Shao, S. C. Liew and D. Gündüz, "Denoising Noisy Neural Networks: A Bayesian
#   Approach with Compensation," *IEEE Transactions on Signal Processing*, vol. 71,
#   pp. 2460–2474, 2023, arXiv:2105.10699.
# * J. Hoydis, S. Cammerer, F. Ait Aoudia, A. Vem, N. Binder, G. Marcus and A. Keller,
#   "Sionna: An Open-Source Library for Next-Generation Physical Layer Research,"
#   arXiv:2203.11854, 2022 (the Rayleigh and Rician channel blocks).
