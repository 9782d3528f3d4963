# SPDX-License-Identifier: Apache-2.0
"""Source coding: weights to bits (uniform quantization or raw float bit patterns) and back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from airmodel.transmitter.payload import PayloadSpec

__all__ = [
    "FLOAT_FORMATS",
    "FLOAT_BOUND_FACTOR",
    "SourceCoder",
    "SourceSideInfo",
    "air_segments",
    "parse_source",
    "pack_codes",
    "unpack_codes",
]

#: Raw IEEE formats and their (torch dtype, same-width unsigned numpy dtype).
FLOAT_FORMATS: dict[str, tuple[torch.dtype, torch.dtype, str]] = {
    "float16": (torch.float16, torch.int16, ">u2"),
    "bfloat16": (torch.bfloat16, torch.int16, ">u2"),
    "float32": (torch.float32, torch.int32, ">u4"),
}
#: A received float weight with ``|w| > FLOAT_BOUND_FACTOR * max|w_t|`` (its
#: tensor's largest magnitude, sent as side information) is out of range.
FLOAT_BOUND_FACTOR = 10.0
_MIN_BITS, _MAX_BITS = 2, 16


def parse_source(source: str | None = "q8", bits: int | None = None) -> tuple[str, int]:
    """Return ``(kind, bits_per_weight)``; ``kind`` is ``"uniform"`` or a float format.

    :param source: ``"q<b>"`` (uniform, ``b`` bits), ``"float16"``, ``"bfloat16"``
        or ``"float32"``. ``None`` means uniform with ``bits``.
    :param bits: bits per weight for uniform quantization; overrides ``source``.
    """
    if bits is not None:
        if isinstance(bits, bool) or not isinstance(bits, int):
            raise TypeError(f"`bits` must be an int (e.g. bits=8); got {bits!r}.")
        if not _MIN_BITS <= bits <= _MAX_BITS:
            raise ValueError(
                f"`bits` must be in [{_MIN_BITS}, {_MAX_BITS}]; got {bits}. Use e.g. "
                "bits=8, or source='float16'/'float32' for raw float bit patterns."
            )
        return "uniform", bits
    if source in FLOAT_FORMATS:
        return source, torch.finfo(FLOAT_FORMATS[source][0]).bits
    m = re.fullmatch(r"q(\d+)", str(source))
    if m is None:
        raise ValueError(
            "`source` must be 'q<bits>' (e.g. 'q8'), 'float16', 'bfloat16' or "
            f"'float32'; got {source!r}."
        )
    return parse_source(None, int(m.group(1)))


def air_segments(spec: PayloadSpec | None, num_weights: int) -> list[int]:
    """Lengths of the over-the-air tensors, in payload order (one segment without a spec)."""
    if spec is None:
        return [num_weights]
    lengths = [
        t.numel for t in sorted(spec.tensors, key=lambda t: t.offset) if t.on_air
    ]
    if sum(lengths) != num_weights:
        raise ValueError(
            f"`spec` lists {sum(lengths)} over-the-air weights but `w` has "
            f"{num_weights}; pass the spec returned by flatten() with vector[:num_air]."
        )
    return lengths


#: Weights per step of the bit packing/unpacking loops (bounds their temporaries).
CODE_CHUNK = 1 << 20


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned integer codes to bits, MSB first.

    :input codes: [num], np.uint16 (values < 2**bits).
    :output bits: [num * bits], np.uint8 0/1.
    """
    out = np.empty((codes.size, bits), dtype=np.uint8)
    for s in range(0, codes.size, CODE_CHUNK):  # bounded temporaries
        be = codes[s : s + CODE_CHUNK].astype(">u2").view(np.uint8).reshape(-1, 2)
        out[s : s + CODE_CHUNK] = np.unpackbits(be, axis=1)[:, 16 - bits :]
    return out.reshape(-1)  # (N, b) -> (N·b,)


def unpack_codes(bits: np.ndarray, num_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: [num * num_bits] 0/1 -> [num] np.uint16."""
    b = bits.reshape(-1, num_bits)
    out = np.empty(b.shape[0], dtype=np.uint16)
    for s in range(0, b.shape[0], CODE_CHUNK):  # bounded temporaries
        part = b[s : s + CODE_CHUNK]
        full = np.zeros((part.shape[0], 16), dtype=np.uint8)
        full[:, 16 - num_bits :] = part  # left-pad to 16 bits
        out[s : s + part.shape[0]] = np.packbits(full, axis=1).view(">u2").reshape(-1)
    return out


@dataclass
class SourceSideInfo:
    """Per-tensor side information (sent error-free next to the payload).

    :ivar lengths: weights per over-the-air tensor, in payload order.
    :ivar lo: [num_tensors], float64. Quantizer offset (tensor minimum); for
        float formats, 0.
    :ivar step: [num_tensors], float64. Quantizer step Δ; 0 for float formats.
    :ivar max_abs: [num_tensors], float64. Largest |w| per tensor (float bound).
    :ivar source_mse: [num_tensors], float64. Mean squared source-coding error
        (Δ²/12 for uniform quantization; measured cast error for floats).
    """

    kind: str
    bits: int
    lengths: list[int]
    lo: np.ndarray
    step: np.ndarray
    max_abs: np.ndarray
    source_mse: np.ndarray

    @property
    def num_weights(self) -> int:
        """Weights in the payload."""
        return int(sum(self.lengths))

    @property
    def num_bits(self) -> int:
        """Source bits in the payload."""
        return self.num_weights * self.bits


class SourceCoder:
    r"""Weights to bits and back, per tensor.

    Uniform (``"q<b>"``): ``lo = min(w_t)``, ``Δ = (max(w_t) - lo) / (2**b - 1)``,
    ``code = round((w - lo)/Δ)``, ``ŵ = lo + code·Δ``. Every ``b``-bit code
    decodes inside ``[min(w_t), max(w_t)]``. Float formats send the IEEE bit
    pattern of ``w`` cast to the format. Bits are MSB first per weight
    (``np.unpackbits``, Sionna's convention).

    :param source: see :func:`parse_source`.
    :param bits: see :func:`parse_source`.

    :input w: [num_weights], real.
    :input lengths: weights per tensor (sum = num_weights), or ``None`` for one.
    :output bits: [num_weights * bits_per_weight], np.uint8 0/1.
    :output side: :class:`SourceSideInfo`.
    """

    def __init__(self, source: str | None = "q8", bits: int | None = None) -> None:
        self.kind, self.bits = parse_source(source, bits)

    @property
    def name(self) -> str:
        """``"q<b>"`` or the float format."""
        return f"q{self.bits}" if self.kind == "uniform" else self.kind

    def encode(
        self, w: torch.Tensor, lengths: Sequence[int] | None = None
    ) -> tuple[np.ndarray, SourceSideInfo]:
        """Weights to bits (see the class docstring)."""
        w = w.detach().reshape(-1).cpu()
        lengths = list(lengths) if lengths is not None else [w.numel()]
        t = len(lengths)
        lo, step = np.zeros(t), np.zeros(t)
        max_abs, source_mse = np.zeros(t), np.zeros(t)
        if self.kind == "uniform":
            codes = np.empty(w.numel(), dtype=np.uint16)
            top = 2**self.bits - 1
            for i, seg in enumerate(_segments(w, lengths)):
                if seg.numel() == 0:
                    continue
                lo[i], hi = float(seg.min()), float(seg.max())
                max_abs[i] = max(abs(lo[i]), abs(hi))
                step[i] = (hi - lo[i]) / top
                q = _codes(seg, lo[i], step[i], top)
                codes[_span(lengths, i)] = q.numpy()
                source_mse[i] = step[i] ** 2 / 12.0
            return pack_codes(codes, self.bits), self._side(
                lengths, lo, step, max_abs, source_mse
            )
        fmt, ity, be = FLOAT_FORMATS[self.kind]
        wf = w.to(fmt)
        for i, (seg, segf) in enumerate(
            zip(_segments(w, lengths), _segments(wf, lengths), strict=True)
        ):
            if seg.numel():
                max_abs[i] = float(seg.abs().max())
                source_mse[i] = float((segf.double() - seg.double()).square().mean())
        raw = wf.view(ity).numpy().view(be[1:]).astype(be)  # MSB byte first
        bits = np.unpackbits(raw.view(np.uint8))
        return bits, self._side(lengths, lo, step, max_abs, source_mse)

    def decode(self, bits: np.ndarray, side: SourceSideInfo) -> torch.Tensor:
        """Bits to weights, before any sanitizing.

        :input bits: [side.num_bits], np.uint8 0/1.
        :output w: [side.num_weights], torch.float32 (may hold inf/NaN for floats).
        """
        if bits.size != side.num_bits:
            raise ValueError(
                f"`bits` must have {side.num_bits} entries; got {bits.size}."
            )
        if side.kind == "uniform":
            codes = torch.from_numpy(unpack_codes(bits, side.bits).astype(np.int32))
            w = torch.empty(codes.numel(), dtype=torch.float32)
            start = 0
            for lo, step, n in zip(side.lo, side.step, side.lengths, strict=True):
                for s in range(start, start + n, CODE_CHUNK):  # float64 per chunk
                    e = min(s + CODE_CHUNK, start + n)
                    w[s:e] = (float(lo) + codes[s:e].double() * float(step)).float()
                start += n
            return w
        fmt, ity, be = FLOAT_FORMATS[side.kind]
        raw = np.packbits(bits).view(be).astype(be[1:])  # native byte order
        out = torch.from_numpy(raw.view(np.dtype(f"i{raw.itemsize}")).copy())
        return out.view(fmt).float()

    def _side(self, lengths, lo, step, max_abs, source_mse) -> SourceSideInfo:
        return SourceSideInfo(
            self.kind, self.bits, list(lengths), lo, step, max_abs, source_mse
        )


def _codes(seg: torch.Tensor, lo: float, step: float, top: int) -> torch.Tensor:
    if step == 0:
        return torch.zeros(seg.numel(), dtype=torch.int32)
    q = torch.round((seg.double() - lo) / step)
    return q.clamp_(0, top).to(torch.int32)


def _span(lengths: Sequence[int], i: int) -> slice:
    start = sum(lengths[:i])
    return slice(start, start + lengths[i])


def _segments(w: torch.Tensor, lengths: Sequence[int]) -> tuple[torch.Tensor, ...]:
    if sum(lengths) != w.numel():
        raise ValueError(
            f"`lengths` must sum to the number of weights ({w.numel()}); got {sum(lengths)}."
        )
    return torch.split(w, list(lengths))
