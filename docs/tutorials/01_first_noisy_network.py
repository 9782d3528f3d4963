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
# One trained network, one state dict, one pass over a noisy channel, three receivers.
# You will send the weights of the quickstart model (a ResNet-8 trained on
# scikit-learn's 8×8 digits, nothing to download) over an AWGN link at one Es/N0, rebuild
# them with ML, Gaussian MMSE and MMSE_pb, and score each rebuilt model on the 360 test
# images.
#
# Runs in about 10 s on 2 CPU cores (the first run in a fresh clone also trains the
# model once, about 15 s, and caches it in `runs/models/quickstart`, as `make demo` does).

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
# ## The link
#
# `Link("awgn")` flattens the state dict into one vector (everything but batch-norm goes
# over the air: the paper's policy), puts two weights on each complex symbol (I and Q),
# scales the symbols to unit energy, adds complex Gaussian noise at the given Es/N0 and
# hands the receiver the noisy weights `y = w + n` together with the per-weight noise
# variance `no_w`. `transmit` is one noise draw; every receiver below sees the same draw.

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
# ML takes `y` as it is; MMSE shrinks it towards a Gaussian prior whose mean and variance
# the receiver estimates from `y` alone; MMSE_pb (Shao, Liew & Gündüz 2023) has two knobs,
# λ and β, chosen here on a grid by the accuracy on 100 labelled *training* images (the
# test set is never used to choose anything).

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
# * the per-weight noise variance is `σ_n² = P_s / 10^(Es/N0 / 10)` with `P_s = mean(w²)`;
# * ML's weight MSE is that variance (it is the noise);
# * the Gaussian MMSE estimator's MSE is `σ_w² σ_n² / (σ_w² + σ_n²)`, for any weight
#   distribution with those moments (it is linear in `y`).
#
# With N ≈ 78,000 weights the empirical MSE is within about `3·sqrt(2/N) ≈ 1.5 %` of its
# expectation; the assertions below use 3 %.

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
assert abs(float(ml_stats.noise_var.mean()) / sigma_n2 - 1) < 1e-4
assert abs(ml_stats.weight_mse / sigma_n2 - 1) < 0.03
assert abs(mmse_stats.weight_mse / mmse_theory - 1) < 0.03
assert mmse_stats.weight_mse < ml_stats.weight_mse  # shrinkage always lowers the MSE

# %% [markdown]
# Lower weight MSE does not mean higher accuracy: Gaussian MMSE shrinks every weight
# towards the mean, which scales each layer's output down; batch-norm statistics no longer
# match and the network can do *worse* than with the noisy ML weights. This is why the
# paper's MMSE_pb has a bias term β, and why airmodel's recommended receiver is ML
# followed by batch-norm recalibration (see [Results](../../results/)).
#
# ## Exercises
#
# 1. Repeat the comparison at Es/N0 = −2, 6 and 10 dB. At which Es/N0 does MMSE's accuracy
#    catch up with ML's?
# 2. Draw the noise three times (`seed=0, 1, 2`) at 2 dB. How much does ML's accuracy vary
#    from draw to draw? How many draws would you need to tell 2 % apart?
# 3. Rebuild with `ML()` and then recalibrate batch norm on 500 unlabelled training images
#    (`airmodel.receiver.bn_recalibration`). How much does it gain at 2 dB?
#
# Solutions: [01 solutions](../01_first_noisy_network_solutions/).
