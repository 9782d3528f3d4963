# SPDX-License-Identifier: Apache-2.0
"""Digital receiver: demapping, LDPC decoding (full or sampled), sanitizing and weight noise."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from airmodel import progress
from airmodel.seed import make_generator
from airmodel.transmitter.quantize import (
    FLOAT_BOUND_FACTOR,
    FLOAT_FORMATS,
    SourceSideInfo,
)

if TYPE_CHECKING:
    from airmodel.protocols import BitScheme

__all__ = [
    "BitReceiver", "BitErrorEstimate", "sanitize", "weight_noise", "sampling_seed", "NO_FLOOR", "DECODE_BATCH",
]  # fmt: skip

#: Smallest noise variance handed to the demapper (``no = 0`` gives 0/0 LLRs).
NO_FLOOR = 1e-10
#: Codewords per LDPC decoder call (batch 4-16 is fastest on CPU; sionna-notes §7).
DECODE_BATCH = 8
#: Sampled mode decodes on (in ``DECODE_BATCH`` steps) until this many failures ...
SAMPLED_MIN_FAILURES = 10
#: ... or this many times ``num_sampled_codewords`` codewords are decoded.
SAMPLED_MAX_FACTOR = 4
#: |LLR| of a known bit (zero padding) handed to the decoder.
LLR_KNOWN = 20.0
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
    * ``"full"``: every codeword through ``LDPC5GDecoder`` (soft output);
      the decision is ``L_out > 0``.
    * ``"sampled"``: a seeded random subset (seed: the scheme's and the
      trial's) is BP-decoded: ``num_sampled_codewords``, then more in steps of
      ``DECODE_BATCH`` until ``SAMPLED_MIN_FAILURES`` failures are seen or
      ``SAMPLED_MAX_FACTOR·num_sampled_codewords`` are decoded. Their BLER
      ``p̂`` is applied to the others: each fails with probability ``p̂`` and
      then carries the error pattern (and the ``σ(-|L_out|)``) of one of the
      decoded subset's own failures, drawn uniformly; else it is decoded
      correctly (the sent bits).

    A codeword has failed when its decoded bits differ from the sent ones,
    i.e. a perfect CRC. The post-decoding BER estimate is the decoder's own
    posterior: ``σ(-|L_out|)`` summed over the info bits of the failed
    codewords (a codeword that passes the CRC counts as error-free), by bit
    position within a weight (``ber_by_position``), divided by the bits
    at that position; measured within 10-20 % of the true BER of BP
    failures across the waterfall (docs/digital.md).
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
    ) -> tuple[np.ndarray, dict[str, Any], BitErrorEstimate]:
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
        :output estimate: :class:`BitErrorEstimate`: the estimated BER of each
            bit position within a weight (uncoded: from the LLRs, since QAM bit
            levels differ; coded: from the decoder's output LLRs) and, coded,
            the per-bit error probabilities of the failed codewords.
        """
        tx = np.unpackbits(tx_packed, count=num_bits)
        if self.s.encoder is None:
            bits, info, pos = self._uncoded(y, no, num_bits, bits_per_weight)
            pos = BitErrorEstimate(pos)
        else:
            bits, info, pos = self._coded(
                y, no, num_bits, num_codewords, tx, bits_per_weight, seed
            )
        errors = int(np.count_nonzero(bits != tx))
        info["bit_errors"] = errors
        info["ber"] = errors / max(num_bits, 1)
        return bits, info, pos

    def _uncoded(self, y, no, num_bits, bpw):
        m = self.s.m
        out = np.empty(num_bits, dtype=np.uint8)
        per_call = max(1, self.s.chunk_bits // m)
        err = torch.zeros(bpw, dtype=torch.float64)
        calls = range(0, math.ceil(num_bits / m), per_call)
        for s0 in progress.steps(calls, "demap", unit="chunk"):
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

    def _coded(self, y, no, num_bits, num_cw, tx, bpw, seed=None):
        s, k = self.s, self.s.k
        tx2 = np.zeros((num_cw, k), dtype=np.uint8)  # sent bits, zero padded
        tx2.reshape(-1)[:num_bits] = tx
        job = _Job(y, no, num_bits, tx2, tx2.copy(), np.zeros(bpw), bpw)
        t0 = time.perf_counter()
        if s.decoding == "full":
            decode = np.arange(num_cw)
            patterns = self._bp(job, decode)
        else:
            g = make_generator(sampling_seed(s.seed, seed), purpose="decoding")
            order = torch.randperm(num_cw, generator=g).numpy()
            decode, patterns = self._bp_sampled(job, order)
        failed = len(patterns)
        info: dict[str, Any] = {
            "decoding_mode": s.decoding,
            "codewords": num_cw,
            "decoded_codewords": int(decode.size),
            "bler_decoded": failed / max(decode.size, 1),
            "bp_time_s": time.perf_counter() - t0,
        }
        if s.decoding == "sampled" and failed:
            rest = np.ones(num_cw, dtype=bool)
            rest[decode] = False
            u = torch.rand(num_cw, generator=g, dtype=torch.float64).numpy()
            copy = np.flatnonzero(rest & (u < failed / decode.size))
            src = torch.randint(failed, (copy.size,), generator=g).numpy()
            for r, j in zip(copy, src, strict=True):
                flips, p = patterns[j]  # the errors of one real BP failure
                job.out[r] ^= flips
                job.add(r, p)
            failed += int(copy.size)
        info["failed_codewords"] = failed
        info["bler"] = failed / max(num_cw, 1)
        info["ber_estimate"] = float(job.err.sum()) / max(num_bits, 1)
        count = np.bincount(np.arange(num_bits) % bpw, minlength=bpw)
        pos = BitErrorEstimate(job.err / np.maximum(count, 1), job.failed)
        return job.out.reshape(-1)[:num_bits], info, pos

    def _rows_llr(self, job, rows):
        """Channel LLRs [B, n] of codewords ``rows``; padding bits are known zeros."""
        s = self.s
        spc = s.n // s.m  # symbols per codeword
        llr = torch.stack(
            [self.llr(job.y, job.no, r * spc, (r + 1) * spc) for r in rows]
        )
        real = job.num_bits - int(rows[-1]) * s.k  # info bits of the last row
        if real < s.k:  # zero padding (shortening): c[j - 2Z] = u[j] for j >= 2Z
            llr[-1, max(real - 2 * s.encoder.z, 0) : s.k - 2 * s.encoder.z] = -LLR_KNOWN
        return llr

    def _bp(self, job, rows):
        """BP-decode ``rows`` into ``job.out``; return the failures' patterns.

        A failed codeword (decoded bits differ from the sent ones: a perfect
        CRC) adds its ``σ(-|L_out|)`` to ``job.err``; a passed one adds nothing.

        :output patterns: per failure, (flips [k] uint8, σ(-|L_out|) [k] float32).
        """
        patterns = []
        batches = range(0, rows.size, DECODE_BATCH)
        for i in progress.steps(
            batches, f"LDPC decode ({rows.size} codewords)", unit="batch"
        ):
            r = rows[i : i + DECODE_BATCH]
            soft = self.s.decoder(self._rows_llr(job, r))  # [B, k] output LLRs
            u = (soft > 0).to(torch.uint8).numpy()
            job.out[r] = u
            flips = u ^ job.tx2[r]
            for j in np.flatnonzero(flips.any(axis=1)):
                p = torch.sigmoid(-soft[j].abs()).float().numpy()  # P(wrong)
                job.add(r[j], p)
                patterns.append((flips[j], p))
        return patterns

    def _bp_sampled(self, job, order):
        """Decode codewords in ``order``: ``num_sampled_codewords``, then on until
        ``SAMPLED_MIN_FAILURES`` failures or ``SAMPLED_MAX_FACTOR`` times as many."""
        n_min = min(self.s.num_sampled_codewords, order.size)
        n_max = min(SAMPLED_MAX_FACTOR * n_min, order.size)
        patterns = self._bp(job, np.sort(order[:n_min]))
        done = n_min
        while len(patterns) < SAMPLED_MIN_FAILURES and done < n_max:
            more = np.sort(order[done : min(done + DECODE_BATCH, n_max)])
            patterns += self._bp(job, more)
            done += more.size
        return np.sort(order[:done]), patterns


@dataclass
class BitErrorEstimate:
    """The receiver's estimate of where its decoded bits are wrong.

    :ivar by_position: [bits_per_weight], float64. Mean error probability of
        each bit position within a weight, MSB first.
    :ivar failed: coded only: ``(first source bit, P(wrong) [num])`` of each
        failed codeword (``σ(-|L_out|)``; the others passed the CRC: error-free).
    """

    by_position: np.ndarray
    failed: list[tuple[int, np.ndarray]] | None = None


@dataclass
class _Job:
    """One coded decoding: inputs, the output bits and the BER accumulator."""

    y: torch.Tensor
    no: float | torch.Tensor
    num_bits: int
    tx2: np.ndarray  # [C, k] sent bits, zero padded
    out: np.ndarray  # [C, k] decoded bits
    err: np.ndarray  # [bpw] Σ σ(-|L_out|) by bit position within a weight
    bpw: int
    failed: list[tuple[int, np.ndarray]] = field(default_factory=list)

    def add(self, row: int, p: np.ndarray) -> None:
        """Add the error probabilities ``p`` [k] of codeword ``row`` (padding skipped)."""
        k = p.size
        real = min(k, self.num_bits - int(row) * k)
        pos = (np.arange(real, dtype=np.int64) + int(row) * k) % self.bpw
        self.err += np.bincount(pos, weights=p[:real], minlength=self.bpw)
        self.failed.append((int(row) * k, p[:real]))


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
    w: torch.Tensor,
    src: SourceSideInfo,
    ber: float | np.ndarray,
    failed: list[tuple[int, np.ndarray]] | None = None,
) -> torch.Tensor:
    r"""Per-weight error variance after decoding and sanitizing.

    With ``p_i`` the BER of bit position ``i`` (MSB first; a scalar ``ber``
    means the same for all), to first order in ``p``:
    uniform, per tensor: ``Δ²/12 + Δ²·Σ_i p_i·4^(b-1-i)`` (a flip of the bit of
    weight ``2^j`` moves the code by ``±2^j``; equals ``Δ²/12 + p·Δ²·(4^b-1)/3``
    for equal ``p_i``); floats, per tensor: the measured cast error plus
    ``Σ_i p_i·mean_j e_ij²``, where ``e_ij`` is the change of received weight
    ``j`` (up to ``FLIP_SAMPLE`` per tensor) if its bit ``i`` flipped, after
    :func:`sanitize`'s rule. Coded uniform links with ``failed`` get the
    same sum per weight: ``Δ²/12 + Δ²·Σ_i p_ji·4^(b-1-i)`` with ``p_ji`` the
    error probability of weight ``j``'s bit ``i`` (0 in codewords that passed
    the CRC), so only the weights of failed codewords are marked noisy.

    :input w: [num_weights], float32. Sanitized received weights.
    :input ber: scalar or [bits_per_weight] (MSB first).
    :input failed: ``(first source bit, P(wrong) [num])`` of failed codewords.
    :output no_w: [num_weights], float32.
    """
    p = np.broadcast_to(np.asarray(ber, dtype=np.float64), (src.bits,))
    if src.kind == "uniform":
        steps2 = np.repeat(src.step**2, src.lengths)
        if failed is not None:
            gain = np.zeros(steps2.size)
            for start, pb in failed:
                q = np.arange(start, start + pb.size, dtype=np.int64)
                flip2 = 4.0 ** (src.bits - 1 - q % src.bits)
                j = q // src.bits  # contiguous weights: bincount on their slice
                gain[j[0] : j[-1] + 1] += np.bincount(j - j[0], weights=pb * flip2)
            return torch.from_numpy((steps2 * (1.0 / 12.0 + gain)).astype(np.float32))
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
