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
# # 2. Solutions: SNR bookkeeping by hand
#
# Solutions to the exercises of [tutorial 2](../02_snr_bookkeeping/). Each states the
# expected result and checks it with an `assert`. About 10 s on 2 CPU cores.

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

import math

from airmodel.link import Link
from airmodel.transmitter.payload import flatten

# %% [markdown]
# ## Exercise 1: the Es/N0 for a 10 dB WNR
#
# `Es/N0 = WNR + 10 log10(1 + μ²/σ_w²)`: the mean of the weights costs that much, here
# about 0.001 dB (`μ²/σ_w²` below 10⁻³), so the answer is 10.00 dB to two decimals.

# %%
w, spec = flatten(sd, "paper")
w = w[: spec.num_air].double()
mu, var_w = float(w.mean()), float(w.var(unbiased=False))
esno = 10 + 10 * math.log10(1 + mu**2 / var_w)
_, stats = Link("awgn")(sd, esno, seed=0)
print(f"Es/N0 = {esno:.4f} dB gives WNR {stats.wnr_db:.4f} dB")
assert abs(stats.wnr_db - 10) < 1e-3
assert abs(esno - 10) < 0.01

# %% [markdown]
# ## Exercise 2: no noise, double precision: bit-exact
#
# Without noise the receiver multiplies back by exactly the scale the transmitter
# divided by; in double precision that round trip is exact for every float32 weight,
# and the batch-norm tensors never left. Expected: all 56 tensors equal.

# %%
sd_hat, _ = Link("awgn", precision="double")(sd, float("inf"), seed=0)
assert all(torch.equal(sd[k], sd_hat[k]) for k in sd) and len(sd) == 56
print(f"all {len(sd)} tensors rebuilt bit-exactly")

# %% [markdown]
# ## Exercise 3: a weight mean costs WNR
#
# `σ_w = 0.05`, `μ = 0.1`: `10 log10(1 + μ²/σ_w²) = 10 log10(5) = 6.99 dB`. The scale
# follows the second moment `P_s = μ² + σ_w²`, so the noise grows with `μ` while the
# variance does not. With the sample's own mean and variance (seed 0) the prediction is
# 6.97 dB; the link agrees within 0.001 dB.

# %%
g = torch.Generator().manual_seed(0)
base = {"w": 0.05 * torch.randn(100_000, generator=g)}
shifted = {"w": base["w"] + 0.1}
_, st0 = Link("awgn")(base, 10.0, seed=0)
_, st1 = Link("awgn")(shifted, 10.0, seed=0)
m, v = float(base["w"].mean()), float(base["w"].var(unbiased=False))
predicted = 10 * math.log10(1 + (m + 0.1) ** 2 / v) - 10 * math.log10(1 + m**2 / v)
print(
    f"WNR {st0.wnr_db:.3f} dB -> {st1.wnr_db:.3f} dB: drop {st0.wnr_db - st1.wnr_db:.3f} dB, "
    f"predicted {predicted:.3f} dB"
)
assert abs(st0.wnr_db - st1.wnr_db - predicted) < 1e-3
