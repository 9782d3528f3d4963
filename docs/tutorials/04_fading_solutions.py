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
# # 4. Solutions: fading
#
# Solutions to the exercises of [tutorial 4](../04_fading/). Each states the expected
# result and checks it with an `assert`. About 10 s on 2 CPU cores.

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

from airmodel import channels
from airmodel.evaluation.sweep import averaged_noise
from airmodel.link import Link
from airmodel.receiver.denoiser import MMSE


def gap(link, seeds=(0,)):
    """Weight MSE of MMSE with per-weight noise and with the average, per draw."""
    out = []
    for seed in seeds:
        tx = link.transmit(sd, 10.0, seed=seed)
        per = link.rebuild(tx, MMSE())[1].weight_mse
        avg = link.rebuild(averaged_noise(tx), MMSE())[1].weight_mse
        spread = float(
            tx.reception.no_w.double().std() / tx.reception.no_w.double().mean()
        )
        out.append((per, avg, spread))
    return out


# %% [markdown]
# ## Exercise 1: block fading
#
# With one `h` per 1000 symbols there are only ~39 independent gains for the whole
# model: `no_w` takes ~39 values. Its std/mean falls from about 20 or more (fast
# fading: the deepest of 38,541 fades dominates it) to 1–4, but one draw's outcome now
# depends on which few of the 39 blocks fade: the MSE moves by tens of percent between
# draws (under 1 % for fast fading), so several draws are needed. Per-weight noise
# still helps within each draw (asserted), by a factor from about 1 to 2.

# %%
runs = {}
for name, link in [
    ("fast", Link("rayleigh")),
    ("block 1000", Link(channels.get("rayleigh", block_length=1000))),
]:
    runs[name] = gap(link, seeds=(0, 1, 2))
    for per, avg, spread in runs[name]:
        print(
            f"{name:10s} MMSE MSE per-weight {per:.3e}, average {avg:.3e}, "
            f"std/mean of no_w {spread:.1f}"
        )
        assert per <= avg


def relative_range(name):  # (max − min)/mean of the per-weight MSE over the draws
    per = [r[0] for r in runs[name]]
    return (max(per) - min(per)) / (sum(per) / len(per))


print(f"MSE range over draws: fast {relative_range('fast'):.1%}, block {relative_range('block 1000'):.1%}")
assert max(r[2] for r in runs["block 1000"]) < min(r[2] for r in runs["fast"]) / 3
assert relative_range("block 1000") > 5 * relative_range("fast")

# %% [markdown]
# ## Exercise 2: Rician K = 10
#
# A strong line-of-sight part makes `|h|²` concentrate near 1: `no_w` barely varies, so
# the average is almost as good as the per-weight variance and the gap shrinks: ratio
# of MSEs about 1.03 against 2 to 5 for Rayleigh (std/mean of `no_w` about 1 against
# about 20).

# %%
((per_r, avg_r, spread_r),) = gap(Link(channels.get("rician", k_factor=10)))
((per_f, avg_f, spread_f),) = gap(Link("rayleigh"))
print(
    f"Rician K=10: ratio avg/per {avg_r / per_r:.2f} (spread {spread_r:.2f}); "
    f"Rayleigh: {avg_f / per_f:.2f} (spread {spread_f:.1f})"
)
assert avg_r / per_r < 1.2 < 2 < avg_f / per_f and spread_r < spread_f / 5

# %% [markdown]
# ## Exercise 3: the MMSE MSE by hand
#
# For a linear estimator with the right prior moments, the expected squared error on
# weight `i` is `σ_w² no_i/(σ_w² + no_i)`; averaged over the N = 77,082 weights it
# matches the link's MSE within 5 % (about 2 % for seed 0).

# %%
link = Link("rayleigh")
tx = link.transmit(sd, 10.0, seed=0)
_, st = link.rebuild(tx, MMSE())
no = tx.reception.no_w.double()
prior = MMSE().fit_prior(tx.reception.y, tx.reception.no_w)
by_hand = float((prior.var * no / (prior.var + no)).mean())
print(f"MMSE MSE: link {st.weight_mse:.4e}, by hand {by_hand:.4e}")
assert abs(st.weight_mse / by_hand - 1) < 0.05
