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
# # 5. Write your own denoiser, register it, run it from YAML
#
# A **denoiser** is a small class: given the noisy weights `y`, their per-weight noise
# variance `no_w` and a **prior** (the mean and variance of the weights, which the
# receiver estimated from `y`), return the estimate of the sent weights. Here: **soft
# thresholding** around the prior mean,
# `ŵ = μ + sign(y − μ)·max(|y − μ| − τ·sqrt(no_w), 0)`, a classic sparse-signal denoiser
# (Donoho 1995): small deviations are set to the mean, large ones pulled in by `τ` noise
# standard deviations. We plot it beside ML and MMSE, check it against its closed form,
# register it under a name, and run a sweep from a YAML config exactly as
# `airmodel run` does.
#
# **Learning goals.** After this tutorial you can
#
# * write a denoiser as a `Denoiser` subclass and draw its *shrinkage function*
#   (estimate against received value);
# * test it against a closed form before trusting it on a network;
# * register it and run it from a YAML config next to the built-in receivers, with
#   batch-norm recalibration and per-layer priors as options.
#
# **Prerequisites.** [Tutorial 1](../01_first_noisy_network/) (ML, MMSE, the prior,
# `+bn500`). Python classes and decorators; reading a YAML file.
#
# **Time.** About 40 minutes: 15 to read and run, 25 for the exercises. The code runs in
# about 10 s on 2 CPU cores.
#
# **Run it.** [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F05_custom_denoiser.py)
# · `python docs/tutorials/05_custom_denoiser.py` · terms: [Glossary](../../glossary/).

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

# %%
from airmodel.receiver.denoiser import Denoiser, Prior, register_denoiser


@register_denoiser("soft")
class SoftThreshold(Denoiser):
    """Soft thresholding at ``tau`` noise standard deviations around the prior mean.

    :param tau: threshold in units of sqrt(no_w); 0 is ML.
    """

    name = "soft"

    def __init__(self, tau: float = 1.0, **kwargs):
        super().__init__(**kwargs)  # prior="estimated", prior_scope="global"
        self.tau = float(tau)

    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        r = y - prior.mean
        shrunk = (r.abs() - self.tau * no_w.sqrt()).clamp_min(0.0)
        return prior.mean + torch.sign(r) * shrunk

    def summary(self):
        return {**super().summary(), "tau": self.tau}


# %% [markdown]
# (Running the cell above a second time in the same kernel raises "A denoiser named
# 'soft' is already registered": the registry refuses duplicates so that two plugins
# cannot silently shadow each other. Restart the kernel, or register under a new name.)
#
# ## The shrinkage function
#
# What each denoiser does to one received weight, with the prior mean at 0 and the
# weight spread equal to the noise (WNR 0 dB), in units of the noise standard deviation:
# ML is the identity; MMSE is a straight line of slope `η/(η+1) = 0.5`; soft thresholding
# is zero on `|y| ≤ τ` and parallel to ML outside. Colour: the denoiser; line style: τ.

# %%
from airmodel.quickstart import new_figure, show

y_axis = torch.linspace(-4, 4, 401, dtype=torch.float64)
ones = torch.ones_like(y_axis)  # no_w = 1: units of the noise standard deviation
flat = Prior(mean=0.0, var=1.0, source="genie")  # genie: given, not estimated
fig, (ax,) = new_figure()
ax.plot(y_axis, y_axis, color="#332288", ls="-", label="ML")
ax.plot(y_axis, 0.5 * y_axis, color="#CC6677", ls="-", label="MMSE, WNR 0 dB")
for tau, ls in [(0.5, "--"), (1.0, "-."), (2.0, ":")]:
    w_soft = SoftThreshold(tau=tau).denoise(y_axis, ones, flat)
    ax.plot(y_axis, w_soft, color="#117733", ls=ls, label=f"soft, τ = {tau:g}")
    assert torch.all(w_soft[y_axis.abs() <= tau] == 0)
ax.set(xlabel="received weight y − μ [noise std]", ylabel="estimate ŵ − μ [noise std]")
ax.set_aspect("equal")
ax.legend(fontsize=7)
show(fig, "05_shrinkage")

# %% [markdown]
# ## Check it against theory
#
# * `tau = 0` must return `y` exactly (ML).
# * On pure noise (`w = 0`, `y = n ~ N(0, σ²)`, prior mean 0) the error is the output
#   itself, and `E[(|n| − τσ)₊²] = 2σ²[(1 + τ²) Q(τ) − τ φ(τ)]` (`Q`: the standard
#   normal tail probability, `φ`: its density). With 10⁶ samples the measured MSE is
#   within 1 % of it (relative s.e. ≈ 0.3 %).

# %%
import math

from scipy.stats import norm

g = torch.Generator().manual_seed(0)
sigma2 = 0.01
y = math.sqrt(sigma2) * torch.randn(1_000_000, generator=g, dtype=torch.float64)
no_w = torch.full_like(y, sigma2)
prior = Prior(mean=0.0, var=1.0, source="genie")
assert torch.equal(SoftThreshold(tau=0.0).denoise(y, no_w, prior), y)
for tau in (0.5, 1.0, 2.0):
    mse = float((SoftThreshold(tau=tau).denoise(y, no_w, prior) ** 2).mean())
    theory = 2 * sigma2 * ((1 + tau**2) * norm.sf(tau) - tau * norm.pdf(tau))
    print(f"tau {tau}: MSE {mse:.4e}, theory {theory:.4e}")
    assert abs(mse / theory - 1) < 0.01

# %% [markdown]
# ## Run it from YAML
#
# `register_denoiser("soft")` put the class in airmodel's denoiser registry, so a config
# can name it, with its options checked against the constructor's signature. A package
# makes it available to the `airmodel` command line the same way through an entry point
# (group `airmodel.denoisers`: `soft = "mypkg.denoisers:SoftThreshold"`); here the
# notebook's process runs the config in-process.

# %%
import tempfile
from pathlib import Path

from airmodel.config import load_config
from airmodel.experiment import run_experiment

out = Path(tempfile.mkdtemp())
yaml_text = f"""
name: soft_threshold
out_dir: {out}/soft_threshold
seed: 0
model:
  name: resnet8
  train: {{epochs: 15, batch_size: 64, lr: 0.05, out: runs/models/quickstart}}
data: {{dataset: digits}}
channel: {{name: awgn}}
receiver:
  denoisers:
    - ml
    - mmse
    - {{name: soft, options: {{tau: 0.5}}}}
sweep: {{snr_db: [0, 4, 8], draws: 2}}
evaluation: {{threads: 1}}
"""
(out / "soft.yaml").write_text(yaml_text)
folder = run_experiment(load_config(out / "soft.yaml"), progress=False)
print("results in", folder)

# %%
import shutil

from airmodel.evaluation.report import accuracy_table, format_markdown, league_table
from airmodel.evaluation.results import read_results

meta, rows = read_results(folder)
show(accuracy_table(rows))  # test accuracy [%], mean ± std over 2 draws
show(format_markdown(league_table(rows)))  # WNR [dB] at 60 % / 80 %
assert {r["denoiser"] for r in rows} == {"ml", "mmse", "soft"}
shutil.rmtree(out)  # the temporary results folder

# %% [markdown]
# ## Takeaways
#
# * A denoiser is one method, `denoise(y, no_w, prior)`; its shrinkage function says
#   what it does, and a closed form on pure noise tests it before any network does.
# * Registered under a name, it runs from YAML beside the built-in receivers, with the
#   same options (`recalibrate`, `prior_scope`, `label`).
# * Weight MSE and accuracy can disagree: judge a denoiser by accuracy, on shared draws.
#
# ## Exercises
#
# 1. Add `tau: 1.0` and `tau: 2.0` entries (give each a `label`, e.g. `soft1`). Which
#    threshold gives the lowest weight MSE at 4 dB? Is the lowest weight MSE also the
#    best accuracy? *Expected: τ = 0.5 has the lowest weight MSE (about 25 % below
#    ML's), τ = 2 a higher one than ML; yet ML has by far the best accuracy (about 70 %
#    against 25–40 % for τ = 0.5, and about chance, 10–12 %, for τ ≥ 1; 2 draws).*
# 2. Soft thresholding shrinks weights just as MMSE does. Add `recalibrate: 500` to the
#    τ = 0.5 entry: how much accuracy does batch-norm recalibration give back?
#    *Expected: from 25–40 % to about 91 %, above ML's 70 %: recalibration undoes
#    the shrinkage's scaling of every layer.*
# 3. Make the threshold per layer: set `prior_scope: layer` in the entry. What does
#    `Link.denoise` now pass as `prior.mean`, and does the class need to change? Check
#    that `tau: 0` with a per-layer prior still equals ML. *Expected: `prior.mean` becomes
#    a vector with one value per weight (each weight gets its own layer's mean), which
#    `y - prior.mean` already handles: no change to the class; `tau: 0` gives ML's
#    weights exactly (the same weight MSE in every draw).*
#
# Solutions: [05 solutions](../05_custom_denoiser_solutions/).
#
# ## References
#
# * D. L. Donoho, "De-noising by soft-thresholding," *IEEE Transactions on Information
#   Theory*, vol. 41, no. 3, pp. 613–627, 1995.
# * D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet shrinkage,"
#   *Biometrika*, vol. 81, no. 3, pp. 425–455, 1994.
# * Y. Shao, S. C. Liew and D. Gündüz, "Denoising Noisy Neural Networks: A Bayesian
#   Approach with Compensation," *IEEE Transactions on Signal Processing*, vol. 71,
#   pp. 2460–2474, 2023, arXiv:2105.10699 (MMSE_pb, the built-in Bayesian denoisers).
