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
# # 6. Over-the-air federated learning in twenty rounds
#
# **Federated learning**: devices that each hold private data train a shared model
# without sending the data; a server repeatedly sends the current model out and averages
# what comes back (FedAvg; McMahan et al. 2017). Here ten devices each hold a slice of
# the digits training set, **non-IID** as in the paper (not identically distributed:
# each device has some images drawn at random plus one shard of a single digit). Each
# **round**, four of them train the current model locally for two epochs and send their
# updates *at the same time, on the same frequencies*: the channel adds the analog
# signals, so the server receives the **sum** of the updates plus noise, in one channel
# use per two weights whatever the number of devices (**over-the-air computation**;
# federated edge learning, FEEL). The server divides by the number of devices, denoises
# the average with ML or MMSE, and updates the global model.
#
# **Learning goals.** After this tutorial you can
#
# * run an over-the-air federated learning experiment from a config and read its
#   accuracy-per-round curve;
# * check the uplink's noise per weight against Es/N0 and the update's power;
# * explain why MMSE's shrinkage, harmless-looking per round, slows training.
#
# **Prerequisites.** [Tutorial 1](../01_first_noisy_network/) (Es/N0, ML, MMSE) and
# [tutorial 4](../04_fading/) for exercise 3. SGD training of a network; what an
# epoch is.
#
# **Time.** About 40 minutes: 15 to read and run, 25 for the exercises. The code runs in
# about 30 s on 2 CPU cores.
#
# **Run it.** [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F06_federated.py)
# · `python docs/tutorials/06_federated.py` · terms: [Glossary](../../glossary/).
#
# Config: `configs/feel_quickstart.yaml` with 20 rounds, one Es/N0 (−5 dB, of the
# summed signal per complex symbol).

# %%
import tempfile
from pathlib import Path

import torch

from airmodel.quickstart import work_from_repo_root

work_from_repo_root()  # configs/ and runs/ are relative to the repository root
torch.set_num_threads(1)

from airmodel.config import load_config
from airmodel.evaluation.results import read_results
from airmodel.experiment import run_experiment

out = Path(tempfile.mkdtemp())
cfg = load_config(
    "configs/feel_quickstart.yaml",
    [
        "name=feel_20_rounds",
        f"out_dir={out}/feel_20_rounds",
        "federated.rounds=20",
        "federated.eval_every=5",
        "sweep.snr_db=[-5]",
        "receiver.denoisers=[ml, mmse]",
    ],
)
folder = run_experiment(cfg, progress=False)
meta, rows = read_results(folder)
print(
    f"{meta['test_images']} test images; {meta['complex_symbols_per_round']:,} complex symbols per round"
)
print(
    f"{'receiver':8s} "
    + " ".join(f"round {r['round']:>2d}" for r in rows if r["denoiser"] == "ml")
)
for den in ("ml", "mmse"):
    print(
        f"{den:8s} "
        + " ".join(f"{r['accuracy']:8.1%}" for r in rows if r["denoiser"] == den)
    )

# %% [markdown]
# ## Check the uplink's noise
#
# At Es/N0 `s` of the summed signal, each averaged weight sees noise of variance
# `mean(sum²)/10^(s/10)` divided by the number of devices squared: in each row,
# `noise_var / signal_power = 10^(−s/10)` (`signal_power` is the second moment of the
# averaged update). ML's weight MSE is that noise: within 3 % on 77,082 weights
# (relative s.e. 0.5 %).

# %%
for r in rows:
    ratio = r["noise_var"] / r["signal_power"]
    assert abs(ratio / 10 ** (-r["snr_db"] / 10) - 1) < 1e-3, r
    if r["denoiser"] == "ml":
        assert abs(r["weight_mse"] / r["noise_var"] - 1) < 0.03, r
print(
    "noise per weight = signal power x 10^(-Es/N0/10) in every row; ML's MSE = that noise"
)
final = {r["denoiser"]: r["accuracy"] for r in rows if r["last"]}
assert final["mmse"] < final["ml"]  # the shrinkage bias discussed below

# %% [markdown]
# ## The curves
#
# Test accuracy every 5 rounds. Colour and line style both by receiver (the same
# colours as in every airmodel plot), so the figure reads in grey too.

# %%
import shutil

from airmodel.quickstart import new_figure, show

fig, (ax,) = new_figure()
for den, colour, style in [("ml", "#332288", "o-"), ("mmse", "#CC6677", "s--")]:
    pts = [r for r in rows if r["denoiser"] == den]
    ax.plot([r["round"] for r in pts], [100 * r["accuracy"] for r in pts], style,
            color=colour, label=den.upper())  # fmt: skip
ax.set(xlabel="communication round", ylabel="test accuracy [%]", ylim=(0, 100))
ax.set_title("FEEL, ResNet-8 on digits, Es/N0 −5 dB, 1 run", fontsize=9)
ax.legend(loc="lower right")
show(fig, "06_feel_rounds")
shutil.rmtree(out)  # the temporary results folder

# %% [markdown]
# MMSE shrinks the averaged update towards its mean: a smaller step every round, which
# slows training. In federated learning the denoised quantity is an *update*, not a
# finished model, and its bias accumulates over rounds.
#
# ## Takeaways
#
# * Over-the-air computation delivers the *sum* of the devices' updates in one channel
#   use per two weights, whatever the number of devices; the noise per averaged weight
#   follows from Es/N0, the sum's power and the number of devices.
# * Noise on an update averages out over rounds: ML trains at Es/N0 where noisy
#   inference (tutorial 1) would be at chance.
# * Shrinkage that is harmless per round accumulates into a slower training curve.
#
# ## Exercises
#
# 1. Run 10 rounds with ML at Es/N0 = −15, −5 and 5 dB and without noise
#    (`sweep.snr_db=[-15, -5, 5, .inf]`). From which Es/N0 is the final accuracy within
#    5 points of the noise-free run? *Expected: from −5 dB (83–90 % against the
#    noise-free 87 %); at −15 dB the lowest, about 78 %.*
# 2. Add `{name: mmse_pb, select: validation}` (MMSE_pb with (λ, β) chosen every round
#    on 100 labelled training images) next to ML and MMSE, 10 rounds at −5 dB. Does the
#    bias term help? *Expected: yes against MMSE, not against ML: MMSE_pb about 86 %,
#    close to ML's 90 %, where MMSE ends at about 50 %.*
# 3. Replace the AWGN uplink by Rayleigh fading with truncated channel inversion
#    (`channel: {name: rayleigh, options: {block_length: 1, power_control:
#    truncated_inversion, inversion_threshold: 0.1}}`, as the config's comment says).
#    What fraction of the symbols is not sent (compare `skipped_fraction` with
#    `1 − e^{−0.1}`)? *Expected: 9.5 %, measured within 0.5 points (9.6 %).*
#
# Solutions: [06 solutions](../06_federated_solutions/).
#
# ## References
#
# * H. B. McMahan, E. Moore, D. Ramage, S. Hampson and B. Agüera y Arcas,
#   "Communication-Efficient Learning of Deep Networks from Decentralized Data,"
#   *Proc. AISTATS*, PMLR 54, pp. 1273–1282, 2017 (FedAvg, non-IID shards).
# * G. Zhu, Y. Wang and K. Huang, "Broadband Analog Aggregation for Low-Latency Federated
#   Edge Learning," *IEEE Transactions on Wireless Communications*, vol. 19, no. 1,
#   pp. 491–506, 2020 (over-the-air computation, truncated channel inversion).
# * Y. Shao, S. C. Liew and D. Gündüz, "Denoising Noisy Neural Networks: A Bayesian
#   Approach with Compensation," *IEEE Transactions on Signal Processing*, vol. 71,
#   pp. 2460–2474, 2023, arXiv:2105.10699 (denoising the aggregated update; the
#   non-IID split used here).
