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
# # 7. Solutions: multi-antenna model delivery
#
# Solutions to the exercises of [tutorial 7](../07_mimo/).

# %%
import math

import torch

from airmodel.channels import MIMOChannel
from airmodel.link import Link
from airmodel.quickstart import start_tutorial

q = start_tutorial()
cfg, model, data, clean, sd = q.cfg, q.model, q.data, q.clean, q.state_dict


def ber_mrc(gamma, branches):
    mu = math.sqrt(gamma / (1 + gamma))
    return ((1 - mu) / 2) ** branches * sum(
        math.comb(branches - 1 + k, k) * ((1 + mu) / 2) ** k for k in range(branches)
    )


# %% [markdown]
# ## Exercise 1: 3 x 6 ZF
#
# `N_t/(N_r − N_t) = 3/3 = 1`. `((H^H H)^{-1})_kk ~ 1/Gamma(4)`: standard deviation
# 0.41 of the mean 1/3, so with 3·10⁴ uses (9·10⁴ streams, correlated within a use) the
# standard error is below 0.5 %: within 3 %.

# %%
n0 = 10 ** (-5.0 / 10)
x = torch.randn(90_000, dtype=torch.complex64, generator=torch.Generator().manual_seed(1))
zf = MIMOChannel(num_tx=3, num_rx=6, equalizer="zf")
zf.seed(0)
_, g, _ = zf(x, n0)
ratio = float((1 / g.real.double().square()).mean())
print(f"3 x 6 ZF: mean no_eff/N0 = {ratio:.3f} (closed form 1)")
assert abs(ratio - 1) < 0.03

# %% [markdown]
# ## Exercise 2: correlated transmit antennas
#
# With `rho_tx = 0.9` the two paths fade together: the Alamouti combiner still adds
# `|h1|² + |h2|²`, but the two terms are correlated, so deep fades of the sum are more
# likely: the BER rises from the i.i.d. closed form towards the single-antenna one. The
# eigenvalues of `R_tx` are `1 ± 0.9`: the sum is `1.9 e1 + 0.1 e2` with exponential
# `e1, e2` (each carrying half the SNR), whose BER lies between 1 and 2 branches.

# %%
bits = torch.randint(0, 2, (200_000,), generator=torch.Generator().manual_seed(2))
bpsk = (1.0 - 2.0 * bits).to(torch.complex64)
gamma = 10.0
out = {}
for rho in (0.0, 0.9):
    ch = MIMOChannel(num_tx=2, num_rx=1, mode="alamouti", rho_tx=rho)
    ch.seed(3)
    y, _, _ = ch(bpsk, 1 / gamma)
    out[rho] = float(((y.real < 0).long() != bits).double().mean())
    print(f"rho_tx {rho}: BER {out[rho]:.2e}")
print(f"closed forms: L=2 {ber_mrc(gamma / 2, 2):.2e}, L=1 {ber_mrc(gamma, 1):.2e}")
assert ber_mrc(gamma / 2, 2) < out[0.9] < ber_mrc(gamma, 1)
assert out[0.9] > 1.2 * out[0.0]

# %% [markdown]
# ## Exercise 3: equal energy per weight
#
# Ew/N0 = 9 dB: 1 x 1 needs Es/N0 = 9 − 10 log10(0.5) = 12 dB, 2 x 2 SM
# 9 − 10 log10(0.25) = 15 dB. The WNR (weight variance over the mean `no_w`) of 1 x 1 is
# dominated by deep fades (`E[1/|h|²]` is infinite); 2 x 2 LMMSE's per-stream SINR has
# lighter tails, so at equal energy per weight it is higher here.

# %%
wnr = {}
for name, opts, esno in [
    ("1x1", {"num_tx": 1, "num_rx": 1}, 9 - 10 * math.log10(0.5)),
    ("2x2 SM LMMSE", {"num_tx": 2, "num_rx": 2}, 9 - 10 * math.log10(0.25)),
]:
    link = Link(MIMOChannel(**opts))
    _, st = link(sd, esno, seed=0)
    wnr[name] = st.wnr_db
    print(f"{name:13s} Es/N0 {esno:.1f} dB: WNR {st.wnr_db:.1f} dB")
assert wnr["2x2 SM LMMSE"] > wnr["1x1"]
