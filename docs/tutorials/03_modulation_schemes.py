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
# # 3. Comparing modulation schemes fairly
#
# Analog transmission puts two weights on each complex symbol; a **digital** scheme
# quantizes each weight to bits, may protect the bits with an error-correcting code, and
# maps them to symbols. At the same Es/N0 (energy per *symbol*) the schemes spend
# different numbers of symbols per weight, so "same Es/N0" is not a fair comparison.
# This tutorial plots accuracy against both axes and checks the digital link's bit
# errors against theory.
#
# **Learning goals.** After this tutorial you can
#
# * count **channel uses per weight** (complex symbols sent per weight) for analog and
#   digital schemes, and convert Es/N0 into **Ew/N0**, the energy per weight;
# * compare schemes at equal energy per weight and at equal energy per channel use, and
#   say which comparison answers which question;
# * check an uncoded link's bit error rate against `Q(sqrt(Es/N0))`;
# * recognise the LDPC "cliff" and the graceful degradation of analog transmission.
#
# **Prerequisites.** [Tutorials 1 and 2](../02_snr_bookkeeping/) (Es/N0, noise per
# weight). Bits and bytes; what quantization to 4 or 8 bits means. Helpful, not needed:
# QAM constellations.
#
# **Time.** About 35 minutes: 15 to read and run, 20 for the exercises. The code runs in
# about 20 s on 2 CPU cores (the LDPC decoder is the slow part).
#
# **Run it.** [Binder](https://mybinder.org/v2/gh/airmodel/airmodel/HEAD?labpath=docs%2Ftutorials%2F03_modulation_schemes.py)
# · `python docs/tutorials/03_modulation_schemes.py` · terms: [Glossary](../../glossary/).
#
# Two axes:
#
# * **Es/N0**, equal energy per channel use (a power-limited link with spare bandwidth);
# * **Ew/N0 = Es/N0 + 10 log10(channel uses per weight)**, equal energy per weight (the
#   same total energy for the whole model).
#
# Three schemes:
#
# * **analog**: 0.5 channel uses per weight (two weights per complex symbol);
# * **4-bit weights on uncoded QPSK**: each weight quantized to 4 bits, two bits per
#   QPSK symbol (quadrature phase-shift keying: four points, one bit on I, one on Q,
#   Gray-mapped), no code: 2 channel uses per weight;
# * **8-bit weights, rate-1/2 LDPC code, 16-QAM**: 8 bits per weight, doubled by a
#   low-density parity-check (**LDPC**) code of rate 1/2 (the 5G NR code, from Sionna),
#   four bits per 16-QAM symbol: 4 channel uses per weight.
#
# The LDPC code uses `decoding="sampled"` (a seeded subset of codewords through the
# decoder, the rest inferred from its failure rate; see
# [Digital transmission](../../digital/)) to stay under a minute. **BER**: bit error rate,
# the fraction of bits received wrong.

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
import math

from airmodel.link import Link
from airmodel.modulation.digital import DigitalScheme
from airmodel.receiver.denoiser import ML

schemes = {
    "analog": None,  # Link's default: AnalogScheme
    "q4 uncoded QPSK": DigitalScheme("q4", code_rate=None, num_bits_per_symbol=2),
    "q8 LDPC 1/2 16-QAM": DigitalScheme(
        "q8",
        code_rate=0.5,
        num_bits_per_symbol=4,
        decoding="sampled",
        num_sampled_codewords=16,
    ),
}
points = {
    "analog": [-4, 0, 4, 8, 12],
    "q4 uncoded QPSK": [0, 4, 8, 12, 16],
    "q8 LDPC 1/2 16-QAM": [2, 4, 6, 8],
}
rows, infos = [], {}
for label, scheme in schemes.items():
    link = Link("awgn", scheme=scheme)
    cu = link.scheme.channel_uses_per_weight
    for snr in points[label]:
        tx = link.transmit(sd, snr, seed=1)
        sd_hat, st = link.rebuild(tx, ML())
        infos[label, snr] = tx.reception.info
        rows.append(
            {
                "curve": label,
                "denoiser": "ml",
                "esno_db": float(snr),
                "draw": 0,
                "ew_n0_db": snr + 10 * math.log10(cu),
                "weight_mse": st.weight_mse,
                "accuracy": data.test.accuracy_of(sd_hat, model),
            }
        )
    print(f"{label:20s} {cu:g} channel uses per weight")

print(f"\n{'scheme':20s} {'Es/N0':>6s} {'Ew/N0':>6s} {'accuracy':>9s}")
for r in rows:
    print(
        f"{r['curve']:20s} {r['esno_db']:6.1f} {r['ew_n0_db']:6.1f} {r['accuracy']:9.1%}"
    )

# %% [markdown]
# ## Check: channel uses and bit errors
#
# Channel uses per weight = bits per weight / (code rate × bits per symbol): 4/2 = 2 for
# uncoded QPSK, 8/(0.5·4) = 4 for the coded one (the code's actual rate is k/n with
# whole symbols per codeword; 4096/8192 here). Uncoded Gray QPSK over AWGN has the bit
# error rate `Q(sqrt(Es/N0))`; the link counts its actual bit errors over 308,328 bits,
# so wherever the BER is above 1e-3 (≥ 300 errors, relative s.e. ≤ 6 %) the measured
# BER is within 10 % of theory with high probability.

# %%
from scipy.stats import norm

assert schemes["q4 uncoded QPSK"].channel_uses_per_weight == 4 / 2
assert schemes["q8 LDPC 1/2 16-QAM"].channel_uses_per_weight == 8 / (0.5 * 4)
q = norm.sf
for snr in points["q4 uncoded QPSK"]:
    theory = q(math.sqrt(10 ** (snr / 10)))
    ber = infos["q4 uncoded QPSK", snr]["ber"]
    print(f"uncoded QPSK at {snr:2d} dB: BER {ber:.3e}, theory {theory:.3e}")
    if theory > 1e-3:
        assert abs(ber / theory - 1) < 0.10

# %% [markdown]
# ## The two views
#
# Left: the same Es/N0. Right: the same energy per weight. The clean accuracy is the
# dotted black line. An error on a high bit of an uncoded 4-bit weight moves it by half
# its range, so uncoded weights need a low BER; the LDPC code is nearly error-free above
# its threshold (a cliff); analog degrades gracefully.

# %%
from airmodel.quickstart import new_figure, show

# Colour and line style both by scheme (one receiver, ML): readable in grey too.
style = {
    "analog": ("#332288", "-", "o"),
    "q4 uncoded QPSK": ("#CC6677", "--", "s"),
    "q8 LDPC 1/2 16-QAM": ("#117733", "-.", "^"),
}
fig, axes = new_figure(2)
for ax, x, xlabel, title in [
    (axes[0], "esno_db", "Es/N0 [dB]", "equal energy per channel use"),
    (axes[1], "ew_n0_db", "Ew/N0 = Es/N0 + 10 log10(channel uses/weight) [dB]",
     "equal energy per weight"),
]:  # fmt: skip
    for label, (colour, ls, marker) in style.items():
        pts = [r for r in rows if r["curve"] == label]
        ax.plot([r[x] for r in pts], [100 * r["accuracy"] for r in pts], color=colour,
                ls=ls, marker=marker, label=label)  # fmt: skip
    ax.axhline(100 * clean, color="k", ls=":", lw=1, label="clean")
    ax.set(xlabel=xlabel, ylabel="test accuracy [%]", ylim=(0, 100))
    ax.set_title(title, fontsize=9)
axes[1].legend(fontsize=7, loc="lower right")
fig.suptitle("ResNet-8 on digits, ML receiver, AWGN, one draw per point", fontsize=9)
show(fig, "03_schemes")

# %% [markdown]
# ## Takeaways
#
# * Compare schemes at equal energy per weight (Ew/N0) when the model's total energy is
#   what is fixed, and say how many channel uses per weight each spends.
# * On this network, analog transmission needs far less energy per weight than either
#   digital scheme for the same accuracy, and 4 to 8 times fewer channel uses.
# * Uncoded digital weights fail on a few high-bit errors; coded ones fall off a cliff
#   below the code's threshold; analog degrades gracefully.
#
# ## Exercises
#
# 1. Read off, for each scheme, the Es/N0 and the Ew/N0 at which it reaches 90 %
#    accuracy (interpolate between points; `airmodel.evaluation.report.crossing` does
#    it). Which scheme needs the least energy per weight? At equal Es/N0, which two are
#    close, and how many channel uses per weight does each of them spend?
#    *Expected: analog reaches 90 % at about 4 dB Ew/N0, both digital schemes at about
#    11 to 13 dB (7 to 9 dB more energy per weight). At equal Es/N0 the LDPC link and
#    analog are within about 1 dB of each other (both about 6 to 7 dB), uncoded q4 needs
#    1.5 to 3 dB more; the LDPC link spends 4 channel uses per weight, 8 times analog's
#    0.5.*
# 2. Rebuild the uncoded q4 scheme's weights with `MMSE()` instead of `ML()` at 8 and
#    12 dB. Does the Bayesian denoiser help a digital link? (The receiver hands it a
#    per-weight noise variance from the bit error estimate; see
#    [Digital transmission](../../digital/).) *Expected: no; MMSE is below ML at both
#    points, far below at 8 dB (about 20 % against 89 %) and a few points below at
#    12 dB (about 94 % against 99 %).*
# 3. Send 8-bit weights (`"q8"`) on the uncoded QPSK link. Predict the channel uses per
#    weight and the Es/N0 at which the BER is 1e-3, then check both with the link.
#    *Expected: 4 channel uses per weight; BER 1e-3 at 9.80 dB, measured within 15 %.*
#
# Solutions: [03 solutions](../03_modulation_schemes_solutions/).
#
# ## References
#
# * J. G. Proakis and M. Salehi, *Digital Communications*, 5th ed., McGraw-Hill, 2008
#   (Gray-mapped QPSK and its bit error rate `Q(sqrt(2Eb/N0)) = Q(sqrt(Es/N0))`).
# * 3GPP TS 38.212, "NR; Multiplexing and channel coding," Release 16 (the 5G LDPC
#   codes).
# * T. Richardson and R. Urbanke, *Modern Coding Theory*, Cambridge University Press,
#   2008 (LDPC codes and their thresholds).
# * J. Hoydis, S. Cammerer, F. Ait Aoudia, A. Vem, N. Binder, G. Marcus and A. Keller,
#   "Sionna: An Open-Source Library for Next-Generation Physical Layer Research,"
#   arXiv:2203.11854, 2022 (the mapper, demapper and LDPC blocks used here).
# * Y. Shao, S. C. Liew and D. Gündüz, "Denoising Noisy Neural Networks: A Bayesian
#   Approach with Compensation," *IEEE Transactions on Signal Processing*, vol. 71,
#   pp. 2460–2474, 2023, arXiv:2105.10699.
