# SPDX-License-Identifier: Apache-2.0
"""Single-antenna equalization (ZF, biased MMSE) with per-symbol effective noise."""

from __future__ import annotations

import math
from typing import Literal

import torch

from airmodel._validation import check_one_of

__all__ = ["Equalizer", "equalize", "EqualizerMethod"]

EqualizerMethod = Literal["zf", "mmse"]


def equalize(
    y: torch.Tensor,
    h_hat: torch.Tensor,
    no: float | torch.Tensor,
    err_var: float | torch.Tensor = 0.0,
    method: EqualizerMethod = "zf",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Equalize ``y = h x + n`` given the estimate ``h_hat`` of ``h``.

    With ``s = no + err_var`` (noise plus CSI error, unit-energy ``x``) and
    ``g = |h_hat|^2 / (|h_hat|^2 + s)``:

    * ``"zf"``: ``x_hat = y / h_hat = x + n'`` (unbiased), ``no_eff = s / |h_hat|^2``.
      For one antenna this equals Sionna's (unbiased) ``LMMSEEqualizer`` and
      its ``no_eff``. This is what a Bayesian denoiser needs.
    * ``"mmse"``: the biased form ``x_hat = conj(h_hat) y / (|h_hat|^2 + s)
      = g x + g n'``; ``no_eff = E|x_hat - x|^2 = s / (|h_hat|^2 + s)`` for
      unit-energy ``x``. Its error is correlated with ``x``; ``x_hat / g`` is
      the ZF output. See docs/conventions.md, "Fading".

    A symbol with ``h_hat = 0`` (not sent) is erased: ``x_hat = 0`` and, for
    ZF, ``no_eff = inf``.

    :input y: [..., num_symbols], torch.complex. Received symbols.
    :input h_hat: [..., num_symbols], torch.complex. Channel estimate.
    :input no: Scalar or broadcastable, float. Noise variance per complex symbol.
    :input err_var: Scalar or broadcastable, float. Variance of ``h - h_hat``.
    :output x_hat: [..., num_symbols], torch.complex. Equalized symbols.
    :output no_eff: [..., num_symbols], float. Effective noise variance (see above).
    """
    real = y.real.dtype
    h2 = h_hat.real.square() + h_hat.imag.square()  # |h|^2 without a sqrt
    s = torch.as_tensor(no, dtype=real, device=y.device) + torch.as_tensor(
        err_var, dtype=real, device=y.device
    )
    if method == "zf":
        sent = h2 > 0
        inv = torch.where(sent, h2.reciprocal(), 0.0)
        x_hat = y * h_hat.conj() * inv
        no_eff = torch.where(sent, s * inv, math.inf)
        return x_hat, no_eff
    if method == "mmse":
        den = (h2 + s).reciprocal_()
        return y * h_hat.conj() * den, (s * den).expand_as(h2)
    raise ValueError(f"`method` must be one of ('zf', 'mmse'); got {method!r}.")


class Equalizer:
    """Callable form of :func:`equalize` with a fixed ``method``.

    :param method: ``"zf"`` (unbiased; what the Link hands the denoiser) or
        ``"mmse"`` (biased, ``conj(h) y / (|h|^2 + s)``).

    :input y, h_hat, no, err_var: as :func:`equalize`.
    :output x_hat, no_eff: as :func:`equalize`.

    .. rubric:: Examples

    >>> h = torch.tensor([1 + 1j, 2j]); y = h * torch.tensor([1 + 0j, -1j])
    >>> Equalizer("zf")(y, h, 0.1)[1]
    tensor([0.0500, 0.0250])
    """

    def __init__(self, method: EqualizerMethod = "zf") -> None:
        self.method = check_one_of("method", method, ("zf", "mmse"))

    def __call__(
        self,
        y: torch.Tensor,
        h_hat: torch.Tensor,
        no: float | torch.Tensor,
        err_var: float | torch.Tensor = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Equalize (see :func:`equalize`)."""
        return equalize(y, h_hat, no, err_var, self.method)
