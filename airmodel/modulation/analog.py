# SPDX-License-Identifier: Apache-2.0
"""Analog modulation: two real weights per complex symbol, unit average energy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from airmodel.metrics import moments

__all__ = [
    "AnalogSideInfo",
    "AnalogModulator",
    "AnalogDemodulator",
    "AnalogScheme",
    "Precision",
]

Precision = Literal["single", "double"]
_REAL = {"single": torch.float32, "double": torch.float64}


@dataclass(frozen=True)
class AnalogSideInfo:
    """What the receiver needs besides the symbols (sent error-free).

    ``scale`` maps symbols back to weights (``w = scale * [Re, Im]``);
    ``num_weights`` removes the padding symbol half, if any.
    """

    scale: float
    num_weights: int

    @property
    def padding(self) -> int:
        """Zero weights appended to make the count even (0 or 1)."""
        return self.num_weights % 2


class AnalogModulator:
    r"""Pack weights as I/Q of complex symbols scaled to ``E|x|^2 = 1``.

    Weight ``2k`` rides on the real part and ``2k+1`` on the imaginary part of
    symbol ``k``. Scale: ``scale = sqrt(2 * mean(w^2))`` over the padded vector.
    In ``"double"`` precision the noise-free round trip is bit-exact for
    float32/16/bf16 weights; ``"single"`` is exact for float16/bfloat16 and
    within one ulp for float32.

    :param precision: ``"single"`` (complex64) or ``"double"`` (complex128).

    :input w: [num_weights], real.
    :output x: [ceil(num_weights/2)], complex. Unit average energy.
    :output side: :class:`AnalogSideInfo`.
    """

    def __init__(self, precision: Precision = "single") -> None:
        if precision not in _REAL:
            raise ValueError(
                f"`precision` must be 'single' or 'double'; got {precision!r}."
            )
        self.precision = precision

    def __call__(
        self, w: torch.Tensor, power: float | None = None
    ) -> tuple[torch.Tensor, AnalogSideInfo]:
        """Modulate ``w``; ``power`` = mean(w**2) if the caller has it already."""
        if w.dim() != 1:
            raise ValueError(
                f"`w` must be 1-D [num_weights]; got shape {list(w.shape)}."
            )
        n = w.numel()
        w = w.to(_REAL[self.precision])
        if power is None:
            power = moments(w)[1]
        if n % 2:
            w = torch.cat([w, w.new_zeros(1)])
            power = power * n / (n + 1)  # mean square per padded weight
        scale = (2.0 * power) ** 0.5 if power > 0 else 1.0
        x = torch.view_as_complex((w / scale).reshape(-1, 2))  # (N,) -> (N/2,)
        return x, AnalogSideInfo(scale=scale, num_weights=n)


class AnalogDemodulator:
    r"""Invert :class:`AnalogModulator` and map symbol noise to weight noise.

    A symbol with noise variance ``no`` (per complex symbol) gives each of its
    two weights noise variance ``no * scale**2 / 2``.

    :input y: [num_symbols], complex. Equalized symbols.
    :input no: scalar or [num_symbols], float. Noise variance per symbol.
    :input side: :class:`AnalogSideInfo`.
    :output w: [num_weights], real. Noisy weights.
    :output no_w: [num_weights], real. Noise variance of each weight.
    """

    def __call__(
        self, y: torch.Tensor, no: float | torch.Tensor, side: AnalogSideInfo
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Demodulate ``y``."""
        n = side.num_weights
        w = torch.view_as_real(y).reshape(-1)[:n] * side.scale  # (N/2,) -> (N,)
        half = side.scale**2 / 2.0
        no_t = torch.as_tensor(no, dtype=w.dtype, device=w.device)
        if no_t.dim() == 0:
            no_w = (no_t * half).expand(n)
        else:
            no_w = (no_t * half).repeat_interleave(2)[:n]
        return w, no_w


class AnalogScheme:
    """Analog transmission scheme: modulator on one side, demodulator on the other.

    A scheme is what :class:`~airmodel.link.Link` plugs in between the payload
    and the channel: ``modulate(w, power) -> (x, side)`` and
    ``receive(y, no_eff, side) -> Reception``.

    :param precision: ``"single"`` or ``"double"`` (see :class:`AnalogModulator`).
    """

    name = "analog"
    #: Complex channel uses per transmitted weight.
    channel_uses_per_weight = 0.5
    uses_spec = False

    def __init__(self, precision: Precision = "single") -> None:
        self.precision = precision
        self.modulate = AnalogModulator(precision)
        self.demodulate = AnalogDemodulator()

    def receive(
        self,
        y: torch.Tensor,
        no: float | torch.Tensor,
        side: AnalogSideInfo,
        seed: int | None = None,
    ):
        """Demodulate equalized symbols into a :class:`Reception` (``seed`` unused)."""
        from airmodel.receiver.receiver import Reception

        w, no_w = self.demodulate(y, no, side)
        return Reception(y=w, no_w=no_w)
