# SPDX-License-Identifier: Apache-2.0
"""AWGN channel: Sionna's ``AWGN`` block with a seed and a registry name."""

from __future__ import annotations

import torch
from sionna.phy.channel import AWGN as SionnaAWGN

from airmodel._validation import check_nonnegative
from airmodel.channels.base import SeededMixin
from airmodel.channels.registry import register_channel

__all__ = ["AWGNChannel"]


@register_channel("awgn")
class AWGNChannel(SeededMixin, SionnaAWGN):
    r"""Complex AWGN: ``y = x + n``, ``n ~ CN(0, no)`` (``no/2`` per real part).

    :param str precision: ``"single"`` (complex64) or ``"double"`` (complex128).
    :type device: str, torch.device or None
    :param device: Torch device; Sionna's default if ``None``.

    :input x: [..., num_symbols], torch.complex. Unit-energy symbols.
    :input no: Scalar or [..., num_symbols] (trailing dims broadcast), float.
        Noise variance per complex symbol.
    :output y: [..., num_symbols], torch.complex. Same shape as ``x``.

    .. rubric:: Examples

    >>> ch = AWGNChannel(precision="single"); ch.seed(0)
    >>> ch(torch.ones(4, 8, dtype=torch.complex64), 0.1).shape
    torch.Size([4, 8])
    """

    is_fading = False

    def call(self, x: torch.Tensor, no: float | torch.Tensor) -> torch.Tensor:
        """Add the noise."""
        if not isinstance(no, torch.Tensor) or no.dim() == 0:
            check_nonnegative("no", no)  # scalars only: no device sync on vectors
        return super().call(x, no)
