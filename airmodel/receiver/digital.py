# SPDX-License-Identifier: Apache-2.0
"""Digital receiver: demapping, LDPC decoding (full or sampled), sanitizing and weight noise."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from airmodel.transmitter.quantize import (
    FLOAT_BOUND_FACTOR,
    FLOAT_FORMATS,
    SourceSideInfo,
)

if TYPE_CHECKING:
    from airmodel.protocols import BitScheme

__all__ = [
    "BitReceiver", "sanitize", "weight_noise", "sampling_seed", "NO_FLOOR", "DECODE_BATCH",
]  # fmt: skip

#: Smallest noise variance handed to the demapper (``no = 0`` gives 0/0 LLRs).
NO_FLOOR = 1e-10
#: Codewords per LDPC decoder call (batch 4-16 is fastest on CPU; sionna-notes §7).
DECODE_BATCH = 8
#: Received weights per tensor used to estimate the error of a float bit flip.
FLIP_SAMPLE = 1024


def sampling_seed(scheme_seed: int, trial: int | None) -> int:
    """Seed of the sampled mode's draws: the scheme's seed mixed with the trial's."""
    if trial is None:
        return int(scheme_seed)
    mixed = np.random.SeedSequence([int(scheme_seed), int(trial) % 2**63])
    return int(mixed.generate_state(1)[0])


class BitReceiver:
    r"""Symbols to source bits for a :class:`~airmodel.modulation.digital.DigitalScheme`.

    * Uncoded: ``Demapper`` LLRs (``ln P(b=1)/P(b=0)``), hard decision
      ``b = llr > 0``; ``ber_estimate = mean σ(-|llr|)`` (posterior error
      probability of each hard decision).
    * ``"full"``: every codeword through ``LDPC5GDecoder``.
    * ``"sampled"``: ``num_sampled_codewords`` codewords (choice seeded by the
      scheme's seed and the trial's, so every draw decodes another subset)
      through the decoder; their measured BLER ``p̂`` is applied to the others:
      each fails with probability ``p̂`` and then carries the hard decisions of
      its systematic channel bits (punctured info bits read 0), else it is
      decoded correctly (the sent bits).

    A codeword has failed when its decoded bits differ from the sent ones,
    i.e. a perfect CRC. The post-decoding ``ber_estimate`` counts each failed
    codeword's errors as ``k·mean σ(-|llr|)`` over its channel LLRs (hard
    decisions: ``(k-2Z)·mean σ(-|llr_sys|) + Z``), divided by all info bits.
    See docs/digital.md.
    """

    def __init__(self, scheme: BitScheme) -> None:
        self.s = scheme

    def llr(
        self, y: torch.Tensor, no: float | torch.Tensor, s0: int, s1: int
    ) -> torch.Tensor:
        """LLRs of symbols ``s0:s1``: [(s1-s0)·m], float."""
        no_c = no[s0:s1] if isinstance(no, torch.Tensor) and no.dim() > 0 else no
        if isinstance(no_c, torch.Tensor):
            no_c = no_c.clamp_min(NO_FLOOR)
        else:
            no_c = max(float(no_c), NO_FLOOR)
        llr = self.s.demapper(y[s0:s1], no_c).reshape(-1)  # (S,) -> (S·m,)
        return torch.nan_to_num_(
            llr, nan=0.0
        )  # lost symbols (no = inf): no information

    def decode_bits(
        self,
        y: torch.Tensor,
        no: float | torch.Tensor,
        num_bits: int,
        num_codewords: int,
        tx_packed: np.ndarray,
        bits_per_weight: int = 1,
        seed: int | None = None,
    ) -> tuple[np.ndarray, dict[str, Any], np.ndarray]:
        """Symbols to ``num_bits`` source bits and counters.

        :input y: [num_symbols], complex.
        :input no: scalar or [num_symbols]. Noise variance per symbol.
        :input tx_packed: the sent bits, packed (simulation; see
            :class:`~airmodel.modulation.digital.DigitalSideInfo`).
        :input bits_per_weight: period of the per-position BER estimate.
        :input seed: the trial's seed; with the scheme's seed it picks the
            sampled mode's codewords and failure draws (None: scheme seed only).
        :output bits: [num_bits], np.uint8 0/1.
        :output info: ``ber_estimate``, ``bit_errors``, ``ber``, ``decoding_mode``, ...
        :output ber_by_position: [bits_per_weight], float64. Estimated BER of
            each bit position within a weight, MSB first (uncoded: from the
            LLRs, since QAM bit levels differ; coded: ``ber_estimate`` for all).
        """
        tx = np.unpackbits(tx_packed, count=num_bits)
        if self.s.encoder is None:
            bits, info, pos = self._uncoded(y, no, num_bits, bits_per_weight)
        else:
            bits, info = self._coded(y, no, num_bits, num_codewords, tx, seed)
            pos = np.full(bits_per_weight, info["ber_estimate"])
        errors = int(np.count_nonzero(bits != tx))
        info["bit_errors"] = errors
        info["ber"] = errors / max(num_bits, 1)
        return bits, info, pos

    def _uncoded(self, y, no, num_bits, bpw):
        m = self.s.m
        out = np.empty(num_bits, dtype=np.uint8)
        per_call = max(1, self.s.chunk_bits // m)
        err = torch.zeros(bpw, dtype=torch.float64)
        for s0 in range(0, math.ceil(num_bits / m), per_call):
            llr = self.llr(y, no, s0, s0 + per_call)
            nb = min(llr.numel(), num_bits - s0 * m)
            llr = llr[:nb]  # drop padding bits
            out[s0 * m : s0 * m + nb] = (llr > 0).numpy()
            where = (torch.arange(nb) + s0 * m) % bpw  # bit position in its weight
            err.index_add_(0, where, torch.sigmoid(-llr.abs()).double())
        # bits at each position j of a weight: num_bits // bpw, +1 for j < remainder
        count = num_bits // bpw + (np.arange(bpw) < num_bits % bpw)
        pos = err.numpy() / np.maximum(count, 1)
        info = {
            "decoding_mode": "uncoded",
            "ber_estimate": float(err.sum()) / max(num_bits, 1),
        }
        return out, info, pos

    def _coded(self, y, no, num_bits, num_cw, tx, seed=None):
        s = self.s
        k = s.k
        tx2 = np.zeros((num_cw, k), dtype=np.uint8)  # sent bits, zero padded
        tx2.reshape(-1)[:num_bits] = tx
        out = tx2.copy()
        if s.decoding == "full":
            decode = np.arange(num_cw)
        else:
            g = torch.Generator().manual_seed(sampling_seed(s.seed, seed))
            pick = torch.randperm(num_cw, generator=g)[: s.num_sampled_codewords]
            decode = np.sort(pick.numpy())
        t0 = time.perf_counter()
        failed, err = self._bp(y, no, decode, out, tx2)
        bp_time = time.perf_counter() - t0
        info: dict[str, Any] = {
            "decoding_mode": s.decoding,
            "codewords": num_cw,
            "decoded_codewords": int(decode.size),
            "bler_decoded": failed / max(decode.size, 1),
            "bp_time_s": bp_time,
        }
        if s.decoding == "sampled":
            bler = failed / max(decode.size, 1)
            rest = np.ones(num_cw, dtype=bool)
            rest[decode] = False
            draw = torch.rand(num_cw, generator=g, dtype=torch.float64).numpy() < bler
            hard = np.flatnonzero(rest & draw)
            err += self._hard(y, no, hard, out)
            failed += int(hard.size)
        info["failed_codewords"] = failed
        info["bler"] = failed / max(num_cw, 1)
        info["ber_estimate"] = err / max(num_cw * k, 1)
        return out.reshape(-1)[:num_bits], info

    def _rows_llr(self, y, no, rows):
        spc = self.s.n // self.s.m  # symbols per codeword
        return torch.stack([self.llr(y, no, r * spc, (r + 1) * spc) for r in rows])

    def _bp(self, y, no, rows, out, tx2):
        """Decode ``rows`` exactly into ``out``; return (failures, estimated errors)."""
        failed, err = 0, 0.0
        for i in range(0, rows.size, DECODE_BATCH):
            r = rows[i : i + DECODE_BATCH]
            llr = self._rows_llr(y, no, r)  # [B, n]
            u = self.s.decoder(llr).to(torch.uint8).numpy()  # [B, k]
            out[r] = u
            bad = np.any(u != tx2[r], axis=1)
            failed += int(bad.sum())
            if bad.any():
                p = torch.sigmoid(-llr[torch.from_numpy(bad)].abs()).mean(
                    1, dtype=torch.float64
                )
                err += float(p.sum()) * self.s.k
        return failed, err

    def _hard(self, y, no, rows, out):
        """Hard decisions of the systematic bits of ``rows`` into ``out``; return est. errors."""
        k, z = self.s.k, self.s.encoder.z
        err = 0.0
        for i in range(0, rows.size, DECODE_BATCH):
            r = rows[i : i + DECODE_BATCH]
            llr = self._rows_llr(y, no, r)[:, : k - 2 * z]  # c[:k-2Z] = u[2Z:]
            out[r, : 2 * z] = 0  # punctured: never sent
            out[r, 2 * z :] = (llr > 0).to(torch.uint8).numpy()
            err += (
                float(torch.sigmoid(-llr.abs()).sum(dtype=torch.float64)) + z * r.size
            )
        return err


def _valid_mask(w: torch.Tensor, src: SourceSideInfo) -> torch.Tensor:
    bound = torch.from_numpy(np.repeat(FLOAT_BOUND_FACTOR * src.max_abs, src.lengths))
    return w.abs() <= bound.to(w.dtype)  # False for NaN and inf


def sanitize(w: torch.Tensor, src: SourceSideInfo) -> tuple[torch.Tensor, int]:
    """Replace non-finite and out-of-range weights by their tensor's valid mean.

    Float formats: a weight is invalid if it is not finite or
    ``|w| > FLOAT_BOUND_FACTOR · max|w_t|`` (``max|w_t|`` from the side info).
    It becomes the mean of the valid received weights of its tensor (0 if
    none is valid). Uniform codes always decode inside ``[min w_t, max w_t]``,
    so nothing is replaced.

    :input w: [num_weights], float32.
    :output w: [num_weights], float32. All finite and in range.
    :output replaced: number of replaced weights.
    """
    if src.kind == "uniform":
        return w, 0
    ok = _valid_mask(w, src)
    replaced = int((~ok).sum())
    if replaced == 0:
        return w, 0
    w = w.clone()
    for seg, okseg in zip(
        torch.split(w, src.lengths), torch.split(ok, src.lengths), strict=True
    ):
        if not bool(okseg.all()):
            mean = float(seg[okseg].double().mean()) if bool(okseg.any()) else 0.0
            seg[~okseg] = mean  # views of ``w``: writes through
    return w, replaced


def weight_noise(
    w: torch.Tensor, src: SourceSideInfo, ber: float | np.ndarray
) -> torch.Tensor:
    r"""Per-weight error variance after decoding and sanitizing.

    With ``p_i`` the BER of bit position ``i`` (MSB first; a scalar ``ber``
    means the same for all), to first order in ``p``:
    uniform, per tensor: ``Δ²/12 + Δ²·Σ_i p_i·4^(b-1-i)`` (a flip of the bit of
    weight ``2^j`` moves the code by ``±2^j``; equals ``Δ²/12 + p·Δ²·(4^b-1)/3``
    for equal ``p_i``); floats, per tensor: the measured cast error plus
    ``Σ_i p_i·mean_j e_ij²``, where ``e_ij`` is the change of received weight
    ``j`` (up to ``FLIP_SAMPLE`` per tensor) if its bit ``i`` flipped, after
    :func:`sanitize`'s rule.

    :input w: [num_weights], float32. Sanitized received weights.
    :input ber: scalar or [bits_per_weight] (MSB first).
    :output no_w: [num_weights], float32.
    """
    p = np.broadcast_to(np.asarray(ber, dtype=np.float64), (src.bits,))
    if src.kind == "uniform":
        gain = float(np.sum(p * 4.0 ** np.arange(src.bits - 1, -1, -1)))
        var = src.step**2 / 12.0 + gain * src.step**2
    else:
        var = src.source_mse.copy()
        if np.any(p > 0):
            for t, seg in enumerate(torch.split(w, src.lengths)):
                var[t] += _flip_energy(seg, src, t, p)
    return torch.from_numpy(np.repeat(var, src.lengths).astype(np.float32))


def _flip_energy(
    seg: torch.Tensor, src: SourceSideInfo, t: int, p: np.ndarray
) -> float:
    """Σ_i p_i·mean_j e_ij² for received weights ``seg`` of tensor ``t`` (floats)."""
    if seg.numel() == 0:
        return 0.0
    fmt, ity, _ = FLOAT_FORMATS[src.kind]
    idx = torch.linspace(0, seg.numel() - 1, min(seg.numel(), FLIP_SAMPLE)).long()
    v = seg[idx].to(fmt)
    bound = FLOAT_BOUND_FACTOR * src.max_abs[t]
    mean = float(seg.double().mean())
    vi = v.view(ity)
    total = 0.0
    for i in range(src.bits):  # i: position MSB first
        if p[i] == 0:
            continue
        mask = torch.tensor(1 << (src.bits - 1 - i), dtype=torch.int64).to(ity)  # wraps
        f = (vi ^ mask).view(fmt).double()
        f = torch.where(f.abs() <= bound, f, torch.full_like(f, mean))
        total += p[i] * float((f - v.double()).square().mean())
    return total
