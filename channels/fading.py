# SPDX-License-Identifier: Apache-2.0
"""Flat block fading (Rayleigh, Rician): ``y = h x + n`` with one ``h`` per block."""

from __future__ import annotations

import math

import torch
from sionna.phy import Block
from sionna.phy.channel import GenerateFlatFadingChannel

from airmodel._validation import check_finite, check_positive_int
from airmodel.channels._shared_rng import SharedSeedMixin, make_seedable
from airmodel.channels.awgn import AWGNChannel
from airmodel.channels.registry import register_channel

__all__ = ["RayleighChannel", "RicianChannel"]


@register_channel("rayleigh")
class RayleighChannel(SharedSeedMixin, Block):
    r"""Flat Rayleigh block fading: ``y = h x + n``, ``h ~ CN(0, 1)``, ``n ~ CN(0, no)``.

    One ``h`` is drawn per block of ``block_length`` consecutive symbols along
    the last axis (the last block may be shorter), with Sionna's
    ``GenerateFlatFadingChannel(1, 1)``; it is applied elementwise (much
    faster than the generic ``[N, 1, 1]`` matrix path). The receiver knows
    ``h`` (perfect CSI). See docs/conventions.md, "Fading".

    :param block_length: Symbols per coherence block; ``1`` is fast fading.
    :param precision: ``"single"`` (complex64) or ``"double"`` (complex128).
    :param device: Torch device; Sionna's default if ``None``.

    :input x: [..., num_symbols], torch.complex. Unit-energy symbols.
    :input no: Scalar or [..., num_symbols] (trailing dims broadcast), float.
        Noise variance per complex symbol.
    :output y: [..., num_symbols], torch.complex. Received symbols.
    :output h: [..., num_symbols], torch.complex. Channel of each symbol.
    :output err_var: [], float. CSI error variance (0: perfect CSI).

    .. rubric:: Examples

    >>> ch = RayleighChannel(block_length=4); ch.seed(0)
    >>> y, h, err_var = ch(torch.ones(2, 8, dtype=torch.complex64), 0.1)
    >>> y.shape, h.shape
    (torch.Size([2, 8]), torch.Size([2, 8]))
    """

    is_fading = True

    def __init__(
        self,
        block_length: int = 1,
        precision: str | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(precision=precision, device=device)
        self.block_length = check_positive_int("block_length", block_length)
        self._gen = make_seedable(
            GenerateFlatFadingChannel(
                1, 1, precision=self.precision, device=self.device
            )
        )
        self._awgn = AWGNChannel(precision=self.precision, device=self.device)

    def _draw(self, num_blocks: int) -> torch.Tensor:
        """[num_blocks] complex gains, one per block."""
        return self._gen(num_blocks).view(num_blocks)

    def generate(self, shape: int | tuple[int, ...] | torch.Size) -> torch.Tensor:
        """Draw the channel of every symbol of a tensor of ``shape``.

        :input shape: [..., num_symbols]; blocks run along the last axis.
        :output h: ``shape``, torch.complex.
        """
        shape = torch.Size([shape] if isinstance(shape, int) else shape)
        n = shape[-1] if len(shape) else 1
        rows = math.prod(shape[:-1])
        nb = -(-n // self.block_length)  # blocks per row
        h = self._draw(rows * nb).view(*shape[:-1], nb)
        if self.block_length > 1:
            h = h.repeat_interleave(self.block_length, dim=-1)[..., :n]
        return h

    def apply(
        self, x: torch.Tensor, h: torch.Tensor, no: float | torch.Tensor
    ) -> torch.Tensor:
        """``y = h x + n`` for a given channel ``h`` (same shape as ``x``)."""
        return self._awgn(h * x, no)

    def call(
        self, x: torch.Tensor, no: float | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw ``h``, then apply it and the noise."""
        h = self.generate(x.shape)
        y = self.apply(x, h, no)
        return y, h, torch.zeros((), dtype=self.dtype, device=self.device)


@register_channel("rician")
class RicianChannel(RayleighChannel):
    r"""Flat Rician block fading: ``h = sqrt(K/(K+1)) + sqrt(1/(K+1)) g``, ``g ~ CN(0, 1)``.

    The line-of-sight part is real and fixed; the scattered part ``g`` is drawn
    as in :class:`RayleighChannel`, so ``E|h|^2 = 1``. ``k_factor=0`` is Rayleigh
    fading and ``k_factor=inf`` is AWGN (``h = 1``).

    :param k_factor: Rician K factor [linear], LoS power over scattered power;
        ``>= 0``, ``inf`` allowed.
    :param block_length: Symbols per coherence block; ``1`` is fast fading.
    :param precision: ``"single"`` or ``"double"``.
    :param device: Torch device; Sionna's default if ``None``.

    Inputs and outputs as :class:`RayleighChannel`.
    """

    def __init__(
        self,
        k_factor: float = 1.0,
        block_length: int = 1,
        precision: str | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(block_length, precision=precision, device=device)
        k = check_finite("k_factor", k_factor, allow_inf=True)
        if k < 0:
            raise ValueError(
                f"`k_factor` must be >= 0 (linear, not dB); got {k}. "
                "Convert from dB with channels.from_db(k_db)."
            )
        self.k_factor = k
        self._los = 1.0 if math.isinf(k) else math.sqrt(k / (k + 1.0))
        self._scatter = 0.0 if math.isinf(k) else math.sqrt(1.0 / (k + 1.0))

    def _draw(self, num_blocks: int) -> torch.Tensor:
        return super()._draw(num_blocks).mul_(self._scatter).add_(self._los)
