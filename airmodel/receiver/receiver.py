# SPDX-License-Identifier: Apache-2.0
"""What a receiver hands the denoiser: noisy weights and their noise variances."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["Reception"]


@dataclass
class Reception:
    """What the receiver hands the denoiser.

    :ivar y: [num_weights], real. Noisy over-the-air weights.
    :ivar no_w: [num_weights], real. Noise variance of each weight (the
        channel statistics after equalization; constant for AWGN).
    :ivar info: scheme-specific counters for results files (e.g. bit errors,
        replaced weights, decoding time).
    :ivar known: [num_weights] bool or ``None``. Weights the receiver knows
        exactly, their value in ``y`` and ``no_w = 0`` (pruned weights whose
        mask it has, airmodel/transmitter/budget.py): denoisers skip them.
    """

    y: torch.Tensor
    no_w: torch.Tensor
    info: dict[str, float] = field(default_factory=dict)
    known: torch.Tensor | None = None
