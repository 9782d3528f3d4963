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
# # 3. Solutions: comparing modulation schemes
#
# Solutions to the exercises of [tutorial 3](../03_modulation_schemes/). Each states the
# expected result and checks it with an `assert`. About 20 s on 2 CPU cores.

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

from scipy.stats import norm

from airmodel.evaluation.report import crossing
from airmodel.link import Link
from airmodel.modulation.digital import DigitalScheme
from airmodel.receiver.denoiser import ML, MMSE


def curve(scheme, points, den=None):
    """(Es/N0, Ew/N0, accuracy, reception info) per point, one draw each."""
    link = Link("awgn", scheme=scheme)
    cu = link.scheme.channel_uses_per_weight
    out = []
    for snr in points:
        tx = link.transmit(sd, snr, seed=1)
        sd_hat, _ = link.rebuild(tx, den or ML())
        out.append(
            (
                snr,
                snr + 10 * math.log10(cu),
                data.test.accuracy_of(sd_hat, model),
                tx.reception.info,
            )
        )
    return out


# %% [markdown]
# ## Exercise 1: who reaches 90 % first?
#
# Interpolating each curve (one draw per point: a rough answer, to about 1 dB) at 90 %
# accuracy, in Es/N0 (per channel use) and in Ew/N0 (per weight).
#
# **Conclusion.** Per unit of energy per weight, analog leads by 7 to 9 dB: about 4 dB
# Ew/N0 against about 11 to 13 dB for both digital schemes. At equal Es/N0 the LDPC
# link matches analog (both about 6 to 7 dB), and uncoded q4 needs more, but the LDPC
# link spends 4 channel uses per weight, 8 times analog's 0.5: analog also needs the
# least bandwidth. Digital only pays off where a link must deliver exact bits.

# %%
ldpc = DigitalScheme(
    "q8",
    code_rate=0.5,
    num_bits_per_symbol=4,
    decoding="sampled",
    num_sampled_codewords=16,
)
curves = {
    "analog": curve(None, [2, 4, 6, 8, 10]),
    "q4 uncoded QPSK": curve(
        DigitalScheme("q4", code_rate=None, num_bits_per_symbol=2), [6, 8, 10, 12]
    ),
    "q8 LDPC 1/2 16-QAM": curve(ldpc, [4, 6, 8]),
}
at90 = {}
for label, c in curves.items():
    es = crossing([p[0] for p in c], [p[2] for p in c], 0.9)
    ew = crossing([p[1] for p in c], [p[2] for p in c], 0.9)
    at90[label] = (es, ew)
    print(f"{label:20s} 90 % at Es/N0 {es:5.1f} dB, Ew/N0 {ew:5.1f} dB")
es, ew = {k: v[0] for k, v in at90.items()}, {k: v[1] for k, v in at90.items()}
assert all(math.isfinite(v) for v in es.values())  # every curve crosses 90 %
assert ew["analog"] < min(v for k, v in ew.items() if k != "analog") - 5
assert abs(es["q8 LDPC 1/2 16-QAM"] - es["analog"]) < 1.5
assert es["q4 uncoded QPSK"] > max(es["analog"], es["q8 LDPC 1/2 16-QAM"])

# %% [markdown]
# ## Exercise 2: MMSE on a digital link
#
# The digital receiver hands the denoiser a per-weight noise variance derived from the
# bit error estimate. Compare ML and MMSE on the uncoded link.
#
# **Conclusion.** No: as on the analog link, MMSE's shrinkage of every weight costs
# accuracy, a lot at 8 dB (about 20 % against 89 %) and still a few points at 12 dB. The
# errors of a digital link are not Gaussian either (a flipped high bit moves a weight by
# half its range), so a Gaussian prior's shrinkage fits them badly.

# %%
q4 = DigitalScheme("q4", code_rate=None, num_bits_per_symbol=2)
acc2 = {}
for den in (ML(), MMSE()):
    for snr, _, acc, _ in curve(q4, [8, 12], den):
        acc2[den.name, snr] = acc
        print(f"{den.name:5s} {snr:3d} dB: {acc:.1%}")
assert acc2["mmse", 8] < acc2["ml", 8] and acc2["mmse", 12] < acc2["ml", 12]

# %% [markdown]
# ## Exercise 3: 8-bit weights on uncoded QPSK
#
# 8 bits per weight / 2 bits per symbol = **4 channel uses per weight**. Uncoded QPSK's
# BER is `Q(sqrt(Es/N0))`, so BER = 1e-3 at `Es/N0 = 20 log10(Q⁻¹(1e-3)) = 9.80 dB`.
# Measured over 616,656 bits (≈ 617 errors expected, s.e. 4 %): within 15 %.

# %%
q8 = DigitalScheme("q8", code_rate=None, num_bits_per_symbol=2)
esno = 20 * math.log10(norm.isf(1e-3))
link = Link("awgn", scheme=q8)
tx = link.transmit(sd, esno, seed=1)
print(
    f"{link.scheme.channel_uses_per_weight:g} channel uses per weight; at {esno:.2f} dB "
    f"BER {tx.reception.info['ber']:.2e}"
)
assert link.scheme.channel_uses_per_weight == 4
assert abs(tx.reception.info["ber"] / 1e-3 - 1) < 0.15
