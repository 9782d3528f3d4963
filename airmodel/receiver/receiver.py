# SPDX-License-Identifier: Apache-2.0
"""Receiver: equalized symbols to noisy weights plus each weight's noise variance."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from airmodel.modulation.analog import AnalogDemodulator, AnalogSideInfo

__all__ = ["Reception", "AnalogReceiver"]


@dataclass
class Reception:
    """What the receiver hands the denoiser.

    :ivar y: [num_weights], real. Noisy over-the-air weights.
    :ivar no_w: [num_weights], real. Noise variance of each weight (the
        channel statistics after equalization; constant for AWGN).
    """

    y: torch.Tensor
    no_w: torch.Tensor


class AnalogReceiver:
    """Demodulate analog symbols; report per-weight noise variance.

    Over AWGN no equalization is needed and every symbol has noise ``no``.
    Fading channels plug in by passing the post-equalization ``no_eff`` per symbol.

    :input y: [num_symbols], complex. Received (equalized) symbols.
    :input no: scalar or [num_symbols], float. Noise variance per symbol.
    :input side: :class:`AnalogSideInfo`.
    :output reception: :class:`Reception`.
    """

    def __init__(self) -> None:
        self.demodulate = AnalogDemodulator()

    def __call__(
        self, y: torch.Tensor, no: float | torch.Tensor, side: AnalogSideInfo
    ) -> Reception:
        """Demodulate."""
        w, no_w = self.demodulate(y, no, side)
        return Reception(y=w, no_w=no_w)
