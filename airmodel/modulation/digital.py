# SPDX-License-Identifier: Apache-2.0
"""Digital scheme: source bits -> 5G LDPC (optional) -> BPSK/QAM, with Sionna's blocks."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
from sionna.phy.mapping import Constellation, Demapper, Mapper

from airmodel import progress
from airmodel._validation import check_one_of, check_positive_int
from airmodel.modulation.analog import Precision
from airmodel.receiver.digital import BitReceiver, sanitize, weight_noise
from airmodel.receiver.receiver import Reception
from airmodel.transmitter.payload import PayloadSpec
from airmodel.transmitter.quantize import SourceCoder, SourceSideInfo, air_segments

__all__ = ["DigitalScheme", "DigitalSideInfo", "MAX_K", "BITS_PER_SYMBOL"]

#: Largest 5G LDPC information length (base graph 1, Z = 384).
MAX_K = 8448
BITS_PER_SYMBOL = (1, 2, 4, 6, 8)
_RATE_RANGE = (0.2, 0.95)


@dataclass
class DigitalSideInfo:
    """What the receiver needs besides the symbols (sent error-free).

    :ivar source: per-tensor quantizer/format side information.
    :ivar num_codewords: LDPC codewords (0 when uncoded).
    :ivar tx_bits: [ceil(num_source_bits / 8)], np.uint8. The sent source bits,
        packed. Simulation only: used to count ``bit_errors``, to detect failed
        codewords (a perfect CRC) and by ``decoding="sampled"``
        (see docs/digital.md); never used to correct a bit.
    """

    source: SourceSideInfo
    num_codewords: int
    tx_bits: np.ndarray


#: The digital chain's bit pipeline is NumPy: it runs on the CPU whatever the
#: run's device (the Link moves symbols to and from its device).
DEVICE = torch.device("cpu")


class DigitalScheme:
    r"""Quantize, LDPC-encode and map a weight vector; the reverse at the receiver.

    Transmitter: :class:`~airmodel.transmitter.quantize.SourceCoder` (per-tensor
    side info) -> zero-pad to whole codewords -> ``LDPC5GEncoder(k, n)`` ->
    ``Mapper``. Receiver: ``Demapper`` (LLR ``ln P(b=1)/P(b=0)``) ->
    ``LDPC5GDecoder`` (or hard decisions when uncoded) -> bits -> weights ->
    out-of-range replacement -> :class:`~airmodel.receiver.receiver.Reception`
    with ``no_w`` from the post-decoding error statistics (docs/digital.md).
    Every stage runs in chunks of about ``chunk_bits`` bits; bits stay uint8.

    :param source: ``"q<b>"`` (uniform, b in 2..16), ``"float16"``,
        ``"bfloat16"`` or ``"float32"``.
    :param bits: bits per weight for uniform quantization (overrides ``source``).
    :param code_rate: LDPC rate in [1/5, 0.95], or ``None`` for uncoded.
    :param k: LDPC information bits per codeword (12..8448).
    :param modulation: ``"qam"`` or ``"bpsk"`` (= ``"qam"`` with 1 bit).
    :param num_bits_per_symbol: 1, 2, 4, 6 or 8 (default 4 for QAM, 1 for BPSK).
    :param demapping: ``"maxlog"`` or ``"app"``.
    :param decoding: ``"full"`` (every codeword through BP) or ``"sampled"``
        (a subset decoded exactly; the others fail at its BLER with the error
        patterns of its own failures; see :class:`~airmodel.receiver.digital.BitReceiver`).
    :param num_iter: BP iterations.
    :param num_sampled_codewords: codewords decoded exactly in sampled mode
        (at least; more until 10 failures are seen, at most 4 times as many).
    :param chunk_bits: bits per mapping/demapping/coding call (memory bound).
    :param seed: seed of the sampled mode's codeword choice and failure draws,
        mixed with each trial's seed (:func:`~airmodel.receiver.digital.sampling_seed`).
    :param precision: ``"single"`` (complex64 symbols) or ``"double"``.

    .. rubric:: Examples

    >>> scheme = DigitalScheme("q8", code_rate=0.5, k=1024)
    >>> link = Link("awgn", scheme=scheme)
    >>> sd_hat, stats = link(model.state_dict(), snr_db=8.0, seed=0)
    """

    name = "digital"
    #: The Link passes ``spec=`` to :meth:`modulate` (per-tensor side info).
    uses_spec = True

    def __init__(
        self,
        source: str | None = "q8",
        *,
        bits: int | None = None,
        code_rate: float | None = 0.5,
        k: int = 4096,
        modulation: Literal["qam", "bpsk"] = "qam",
        num_bits_per_symbol: int | None = None,
        demapping: Literal["maxlog", "app"] = "maxlog",
        decoding: Literal["full", "sampled"] = "full",
        num_iter: int = 20,
        num_sampled_codewords: int = 64,
        chunk_bits: int = 2**21,
        seed: int = 0,
        precision: Precision = "single",
    ) -> None:
        self.coder = SourceCoder(source, bits)
        check_one_of("modulation", modulation, ("qam", "bpsk"))
        check_one_of("demapping", demapping, ("maxlog", "app"))
        check_one_of("decoding", decoding, ("full", "sampled"))
        check_one_of("precision", precision, ("single", "double"))
        m = num_bits_per_symbol or (1 if modulation == "bpsk" else 4)
        check_one_of("num_bits_per_symbol", m, BITS_PER_SYMBOL)
        if modulation == "bpsk" and m != 1:
            raise ValueError(
                f"`num_bits_per_symbol` must be 1 for modulation='bpsk'; got {m}. "
                "Use modulation='qam' for more bits per symbol."
            )
        self.m = m
        self.modulation, self.demapping, self.decoding = modulation, demapping, decoding
        self.num_iter = check_positive_int("num_iter", num_iter)
        self.num_sampled_codewords = check_positive_int(
            "num_sampled_codewords", num_sampled_codewords
        )
        self.chunk_bits = check_positive_int("chunk_bits", chunk_bits)
        self.seed, self.precision = seed, precision
        cpu = dict(precision=precision, device=DEVICE.type)  # never Sionna's default
        const = Constellation("pam" if m == 1 else "qam", m, **cpu)
        self.mapper = Mapper(constellation=const, **cpu)
        self.demapper = Demapper(demapping, constellation=const, **cpu)
        self.code_rate = _check_rate(code_rate)
        self.encoder: LDPC5GEncoder | None = None
        self.decoder: LDPC5GDecoder | None = None
        if self.code_rate is not None:
            self.k = _check_k(k)
            self.n = m * math.ceil(self.k / self.code_rate / m)  # whole symbols
            self.encoder = LDPC5GEncoder(self.k, self.n, check_input=False, **cpu)
            self.decoder = LDPC5GDecoder(
                self.encoder,
                num_iter=num_iter,
                hard_out=False,  # output LLRs give the post-decoding BER
                return_infobits=True,
                **cpu,
            )
        else:
            self.k = self.n = m * max(1, self.chunk_bits // m)
        self.rx = BitReceiver(self)

    # -- properties ---------------------------------------------------------
    @property
    def rate(self) -> float:
        """Actual code rate ``k/n`` (1.0 uncoded)."""
        return 1.0 if self.encoder is None else self.k / self.n

    @property
    def bits_per_weight(self) -> int:
        """Source bits per weight."""
        return self.coder.bits

    @property
    def channel_uses_per_weight(self) -> float:
        """Complex channel uses per weight: bits_per_weight / (rate · bits_per_symbol)."""
        return self.bits_per_weight / (self.rate * self.m)

    @property
    def _mod_name(self) -> str:
        return "bpsk" if self.m == 1 else f"qam{2**self.m}"

    def __repr__(self) -> str:
        code = "uncoded" if self.encoder is None else f"ldpc(k={self.k}, n={self.n})"
        return (
            f"DigitalScheme({self.coder.name}, {code}, {self._mod_name}, "
            f"{self.demapping}, {self.decoding})"
        )

    # -- transmitter ----------------------------------------------------------
    def modulate(
        self,
        w: torch.Tensor,
        power: float | None = None,
        spec: PayloadSpec | None = None,
    ) -> tuple[torch.Tensor, DigitalSideInfo]:
        """Source-code, encode and map ``w``.

        :input w: [num_weights], real. Over-the-air weights (``vector[:num_air]``).
        :input power: unused (symbols have unit energy); kept for the scheme API.
        :input spec: payload spec; its on-air tensors give the per-tensor
            quantizer boundaries. One tensor if ``None``.
        :output x: [num_symbols], complex. Unit-energy symbols.
        :output side: :class:`DigitalSideInfo`.
        """
        del power
        if w.dim() != 1:
            raise ValueError(
                f"`w` must be 1-D [num_weights]; got shape {list(w.shape)}."
            )
        bits, source_side = self.coder.encode(w, air_segments(spec, w.numel()))
        x, num_cw = self.encode_bits(bits)
        return x, DigitalSideInfo(source_side, num_cw, np.packbits(bits))

    def encode_bits(self, bits: np.ndarray) -> tuple[torch.Tensor, int]:
        """Bits to symbols (zero padding to whole codewords/symbols).

        :input bits: [num_bits], np.uint8 0/1.
        :output x: [num_symbols], complex. ``num_symbols = num_codewords·n/m``
            (coded) or ``ceil(num_bits/m)`` (uncoded).
        :output num_codewords: LDPC codewords (0 uncoded).
        """
        num_cw = math.ceil(bits.size / self.k) if self.encoder is not None else 0
        total = (
            num_cw * self.k
            if self.encoder is not None
            else self.m * math.ceil(bits.size / self.m)
        )
        out_bits = num_cw * self.n if self.encoder is not None else total
        x = torch.empty(out_bits // self.m, dtype=self.mapper.cdtype)
        step = self.k * max(1, self.chunk_bits // self.n)  # info bits per call
        desc = "LDPC encode + map" if self.encoder is not None else "map"
        for s in progress.steps(range(0, total, step), desc, unit="chunk"):
            chunk = np.zeros(min(step, total - s), dtype=np.float32)
            real = bits[s : s + chunk.size]
            chunk[: real.size] = real  # zero padding in the last chunk
            b = torch.from_numpy(chunk)
            if self.encoder is not None:
                b = self.encoder(b.view(-1, self.k)).reshape(-1)  # (C,k) -> (C·n)
            s0 = (
                s // self.k * self.n // self.m
                if self.encoder is not None
                else s // self.m
            )
            x[s0 : s0 + b.numel() // self.m] = self.mapper(b.view(-1, self.m)).reshape(
                -1
            )
        return x, num_cw

    # -- receiver -------------------------------------------------------------
    def receive(
        self,
        y: torch.Tensor,
        no: float | torch.Tensor,
        side: DigitalSideInfo,
        seed: int | None = None,
    ) -> Reception:
        """Demap, decode, unpack, dequantize and sanitize (docs/digital.md).

        :input y: [num_symbols], complex. Equalized symbols.
        :input no: scalar or [num_symbols]. Noise variance per symbol.
        :input side: :class:`DigitalSideInfo`.
        :input seed: the trial's seed (sampled decoding draws its codewords from it).
        :output reception: weights ``y`` [num_weights] float32, ``no_w``
            [num_weights] and ``info`` (bit errors, BER estimate, replaced
            weights, decoding time and mode).
        """
        t0 = time.perf_counter()
        y, no = y.to(DEVICE), no.to(DEVICE) if isinstance(no, torch.Tensor) else no
        src = side.source
        bits, info, est = self.rx.decode_bits(
            y, no, src.num_bits, side.num_codewords, side.tx_bits, src.bits, seed
        )
        w = self.coder.decode(bits, src)
        w, replaced = sanitize(w, src)
        no_w = weight_noise(w, src, est.by_position, est.failed)
        info["replaced_weights"] = replaced
        info["decode_time_s"] = time.perf_counter() - t0
        return Reception(y=w, no_w=no_w, info=info)


def _check_rate(code_rate: float | None) -> float | None:
    if code_rate is None:
        return None
    if isinstance(code_rate, bool) or not isinstance(code_rate, int | float):
        raise TypeError(f"`code_rate` must be a float or None; got {code_rate!r}.")
    lo, hi = _RATE_RANGE
    if not lo <= code_rate <= hi:
        raise ValueError(
            f"`code_rate` must be in [1/5, 0.95] (5G LDPC); got {code_rate}. "
            "Use e.g. code_rate=0.5, or code_rate=None for an uncoded link."
        )
    return float(code_rate)


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"`k` must be an int (e.g. k=4096); got {k!r}.")
    if not 12 <= k <= MAX_K:
        raise ValueError(
            f"`k` (LDPC information bits per codeword) must be in [12, {MAX_K}]; "
            f"got {k}. Use k={MAX_K} or smaller; longer payloads are split into "
            "several codewords automatically."
        )
    return k
