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
# # 1. Your first noisy network
#
# One trained network, one pass over a noisy channel, three receivers. You send the
# weights of the quickstart model (a ResNet-8 trained on scikit-learn's 8×8 digits,
# nothing to download) over a simulated radio link, rebuild them three ways and score
# each rebuilt network on the 360 test images.
#
# **Learning goals.** After this tutorial you can
#
# * send a network's state dict over an AWGN link at a chosen Es/N0 and rebuild it;
# * compare receivers (ML, MMSE, MMSE_pb) on the *same* noise draw, by weight error and
#   by test accuracy, and explain why the lower error is not the higher accuracy;
# * check the link's noise and the receivers' errors against their closed forms;
# * read a curve of accuracy against Es/N0.
#
# **Prerequisites.** Python and PyTorch basics (a state dict is a dict of tensors);
# noise as `y = x + n`. No wireless background needed.
#
# **Time.** About 35 minutes: 10 to read and run, 25 for the exercises. The code runs in
# about 10 s on 2 CPU cores (the first run in a fresh clone also trains the model once,
# a few seconds more, and caches it in `runs/models/quickstart`, as `make demo` does).
#
# **Run it.** In the browser:
# [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F01_first_noisy_network.py)
# (installs [requirements.txt](https://github.com/airmodel/airmodel/blob/main/docs/tutorials/requirements.txt), CPU only).
# On your machine: `python docs/tutorials/01_first_noisy_network.py` (figures go to
# `runs/tutorials/`) or open the file in JupyterLab. Terms are defined where first used
# and collected in the [Glossary](../../glossary/).

# %%
import torch

from airmodel.quickstart import new_figure, show, start_tutorial

# From the repository root (configs/, and the model cache runs/ of `make demo`), one
# torch thread: the digits ResNet-8 (trained once, then read from runs/), the test split
# and 100 validation images from the training split; scoring a rebuilt state dict
# loads it into `model`, so `sd` keeps the clean weights aside.
q = start_tutorial()
cfg, model, data, clean, sd = q.cfg, q.model, q.data, q.clean, q.state_dict
print(f"clean test accuracy {clean:.2%} on {len(data.test)} images")

# %% [markdown]
# ## The link
#
# `Link("awgn")` flattens the state dict into one vector of **on-air weights**: every
# tensor except batch norm's (the *paper's policy*: batch-norm parameters and statistics
# stay at the receiver, as in Shao, Liew & Gündüz's ResNet experiments). It puts two
# weights on each complex symbol (one on I, one on Q), scales the symbols to unit energy
# and adds complex Gaussian noise: **AWGN**, additive white Gaussian noise. How much
# noise is set by **Es/N0**, the energy per symbol over the noise variance per symbol, in
# dB: at 0 dB noise and signal are equally strong, every 10 dB divides the noise by 10.
# The receiver gets the noisy weights `y = w + n` and the noise variance of each weight,
# `no_w`. `transmit` is one **noise draw** (fixed by `seed`); every receiver below sees
# the same draw.

# %%
from airmodel.link import Link
from airmodel.receiver.denoiser import ML, MMSE, MMSEpb

snr_db = 2.0  # Es/N0 per complex symbol
link = Link("awgn")
tx = link.transmit(sd, snr_db, seed=0)
print(
    f"{tx.spec.num_air:,} weights over the air, {tx.spec.num_air // 2:,} complex symbols"
)

# %% [markdown]
# ## Three receivers
#
# * **ML** (maximum likelihood) takes `y` as it is: `ŵ = y`.
# * **MMSE** (Gaussian minimum mean-square error) assumes the weights are Gaussian with a
#   mean `μ` and variance `σ_w²` (the **prior**, which the receiver estimates from `y`
#   alone) and shrinks each weight towards `μ`: `ŵ = μ + η/(η+1)·(y − μ)`, with
#   `η = σ_w²/σ_n²` the **WNR** (weight-to-noise ratio: weight variance over noise per
#   weight; [tutorial 2](../02_snr_bookkeeping/) computes it by hand).
# * **MMSE_pb**, the denoiser of Shao, Liew & Gündüz (2023), adds two knobs to MMSE: a
#   *population compensator* λ and a *bias compensator* β, `ŵ = c·y + d` with
#   `c = η/(η + 1 − λ)` and `d = σ_w² β/(η + 1 − λ)` (λ = 1, β = 0 is ML). They are chosen
#   on a grid by the accuracy on 100 labelled *training* images: the test set is never
#   used to choose anything.

# %%
val = data.validation


def val_accuracy(w):  # score of a candidate weight vector on the validation images
    from airmodel.transmitter.payload import unflatten

    return val.accuracy_of(unflatten(tx.vector, tx.spec, air=w), model)


results = {}
for name, den in [("ml", ML()), ("mmse", MMSE())]:
    sd_hat, stats = link.rebuild(tx, den)
    results[name] = (stats, data.test.accuracy_of(sd_hat, model))

w_hat, sel = Link.denoise(
    tx,
    MMSEpb(),
    score=val_accuracy,
    lam_grid=cfg.receiver.lam_grid,
    beta_grid=cfg.receiver.beta_grid,
)
sd_hat, stats = link.rebuild(tx, w_hat=w_hat)
results["mmse_pb"] = (stats, data.test.accuracy_of(sd_hat, model))
print(
    f"MMSE_pb chose lam={sel.lam}, beta={sel.beta} ({sel.evaluations} validation evaluations)"
)

print(f"\nEs/N0 {snr_db} dB, WNR {stats.wnr_db:.2f} dB, clean accuracy {clean:.1%}")
print(f"{'receiver':10s} {'weight MSE':>11s} {'test accuracy':>14s}")
for name, (st, acc) in results.items():
    print(f"{name:10s} {st.weight_mse:11.3e} {acc:14.1%}")

# %% [markdown]
# ## Check the numbers against theory
#
# Every number above has a closed form to be checked against ([Concepts](../../concepts/)):
#
# * the per-weight noise variance is `σ_n² = P_s / 10^(Es/N0 / 10)` with `P_s = mean(w²)`
#   (the transmitter scales by the second moment; tutorial 2 derives it);
# * ML's **weight MSE** `mean((ŵ − w)²)` is that variance (it is the noise);
# * the Gaussian MMSE estimator's MSE is `σ_w² σ_n² / (σ_w² + σ_n²)`, for any weight
#   distribution with those moments (it is linear in `y`).
#
# With N = 77,082 on-air weights the empirical MSE is within `3·sqrt(2/N) ≈ 1.5 %` of its
# expectation with 99.7 % probability; the assertions below use 3 % (MMSE's prior is
# itself estimated from `y`).

# %%
w = tx.clean.double()
p_s, var_w = float((w**2).mean()), float(w.var())
sigma_n2 = p_s / 10 ** (snr_db / 10)
ml_stats, mmse_stats = results["ml"][0], results["mmse"][0]
mmse_theory = var_w * sigma_n2 / (var_w + sigma_n2)
print(
    f"noise variance per weight: link {float(ml_stats.noise_var.mean()):.4e}, theory {sigma_n2:.4e}"
)
print(f"ML MSE   {ml_stats.weight_mse:.4e}   theory {sigma_n2:.4e}")
print(f"MMSE MSE {mmse_stats.weight_mse:.4e}   theory {mmse_theory:.4e}")
assert tx.spec.num_air == 77_082
assert abs(float(ml_stats.noise_var.mean()) / sigma_n2 - 1) < 1e-4
assert abs(ml_stats.weight_mse / sigma_n2 - 1) < 0.03
assert abs(mmse_stats.weight_mse / mmse_theory - 1) < 0.03
assert mmse_stats.weight_mse < ml_stats.weight_mse  # shrinkage always lowers the MSE

# %% [markdown]
# Lower weight MSE does not mean higher accuracy: Gaussian MMSE shrinks every weight
# towards the mean, which scales each layer's output down; the network's **batch-norm**
# layers (which normalize each channel with a mean and variance stored at training time)
# no longer match and the network can do *worse* than with the noisy ML weights. This is
# why MMSE_pb has a bias term β, and why airmodel's recommended receiver is ML followed
# by batch-norm recalibration (exercise 3; [tutorial 4](../04_fading/) shows why it
# works).
#
# ## Accuracy against Es/N0
#
# One number at one Es/N0 says little. Here is ML over a range of Es/N0, one draw per
# point (`seed=0`): the accuracy climbs from chance (10 % for ten digits) to the clean
# accuracy. The dashed line is the clean accuracy.

# %%
grid = [-4, -2, 0, 2, 4, 6, 8, 10]
acc_ml = []
for s in grid:
    sd_hat, _ = link(sd, s, seed=0)  # transmit + rebuild with ML in one call
    acc_ml.append(data.test.accuracy_of(sd_hat, model))
print(" ".join(f"{s:+d} dB {a:.1%}" for s, a in zip(grid, acc_ml, strict=True)))

fig, (ax,) = new_figure()
ax.plot(grid, [100 * a for a in acc_ml], "o-", color="#332288", label="ML")
ax.axhline(100 * clean, color="k", ls="--", lw=1, label="clean")
ax.set(xlabel="Es/N0 [dB]", ylabel="test accuracy [%]", ylim=(0, 100))
ax.set_title("ResNet-8 on digits, AWGN, one draw per point", fontsize=9)
ax.legend(loc="lower right")
show(fig, "01_accuracy_vs_esno")
assert acc_ml[0] < 0.5 and acc_ml[-1] > clean - 0.05  # noise-dominated → near clean

# %% [markdown]
# ## Takeaways
#
# * Analog transmission of a network is "add Gaussian noise to every on-air weight"; the
#   noise per weight follows from Es/N0 and the weights' second moment, exactly.
# * A receiver is judged by test accuracy, on the same noise draw as its competitors;
#   the lowest weight MSE (MMSE) can give the worst accuracy.
# * This ResNet-8 needs about 6 to 8 dB Es/N0 with ML to keep 90 % accuracy; below
#   0 dB it is near chance.
#
# ## Exercises
#
# 1. Add MMSE's curve to the figure (the same grid and draws, −2 to 12 dB). Is MMSE below
#    ML at every point? From which Es/N0 does it do clearly better than chance (10 %)?
#    Print MMSE's shrink factor `η/(η+1)` at each point (`η = 10^(WNR/10)`, WNR from
#    `stats.wnr_db`) and explain the curve with it. *Expected: MMSE below ML at every
#    point, near chance (at most 15 %) up to 2 dB and still tens of points behind ML at
#    10 dB (about 35); the shrink factor grows from about 0.39 at −2 dB to 0.91 at 10 dB:
#    even a 9 % shrink of every weight costs a third of the accuracy.*
# 2. Draw the noise five times (`seed=0, …, 4`) at 2 dB. How much does ML's accuracy
#    vary from draw to draw (standard deviation)? How many draws per receiver would you
#    need to tell two receivers 2 points apart (difference of the means at least two
#    standard errors)? *Expected: a standard deviation of about 10 points (5 to 15:
#    five draws estimate it roughly), four times the 2.6 % binomial standard error of one
#    score on 360 images; a few hundred draws per receiver (fewer when the receivers
#    share their draws).*
# 3. Rebuild with `ML()` and then recalibrate batch norm on the 500 unlabelled training
#    images (`airmodel.receiver.bn_recalibration.recalibrate_bn_state(sd_ml, model,
#    data.validation.unlabelled)`). How much does it gain at 2 dB? *Expected: from about
#    43 % to about 85–90 %.*
#
# Solutions: [01 solutions](../01_first_noisy_network_solutions/).
#
# ## References
#
# * Y. Shao, S. C. Liew and D. Gündüz, "Denoising Noisy Neural Networks: A Bayesian
#   Approach with Compensation," *IEEE Transactions on Signal Processing*, vol. 71,
#   pp. 2460–2474, 2023, arXiv:2105.10699.
# * J. Hoydis, S. Cammerer, F. Ait Aoudia, A. Vem, N. Binder, G. Marcus and A. Keller,
#   "Sionna: An Open-Source Library for Next-Generation Physical Layer Research,"
#   arXiv:2203.11854, 2022 (the channel blocks under `airmodel.channels`).
# * K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image Recognition,"
#   *Proc. IEEE CVPR*, pp. 770–778, 2016 (the ResNet family).
# * S. M. Kay, *Fundamentals of Statistical Signal Processing, Volume I: Estimation
#   Theory*, Prentice Hall, 1993, ch. 10–12 (ML, MMSE and linear MMSE estimators).
