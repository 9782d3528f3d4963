# SPDX-License-Identifier: Apache-2.0
"""ML, Gaussian MMSE and MMSE_pb (Shao, Liew & Gündüz, IEEE TSP 2023)."""

from __future__ import annotations

from typing import Any

import torch

from airmodel._validation import check_finite
from airmodel.receiver.denoiser.base import (
    Denoiser,
    Prior,
    PriorScope,
    PriorSource,
    constant_or_none,
    register_denoiser,
)

__all__ = ["ML", "MMSE", "MMSEpb", "mmse_pb"]


@register_denoiser("ml")
class ML(Denoiser):
    """Maximum likelihood: ``w_hat = y``."""

    name = "ml"
    needs_prior = False

    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Return ``y`` unchanged (a copy)."""
        return y.clone()


@register_denoiser("mmse")
class MMSE(Denoiser):
    r"""Gaussian MMSE: ``w_hat = mu + var / (var + no_w) * (y - mu)``.

    With a constant ``no_w`` this is ``mu + eta/(eta+1) (y - mu)``,
    ``eta = var/no`` (the WNR).
    """

    name = "mmse"

    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Shrink ``y`` towards the prior mean."""
        no = constant_or_none(no_w)
        gain = prior.var / (prior.var + (no_w if no is None else no))
        return (y - prior.mean).mul_(gain).add_(prior.mean)


def mmse_pb(
    y: torch.Tensor, no_w: torch.Tensor, prior: Prior, lam: float, beta: float
) -> torch.Tensor:
    r"""MMSE_pb estimate ``c*y + d``.

    ``c = eta/(eta + 1 - lam)``, ``d = var*beta/(eta + 1 - lam)`` with
    ``eta = var/no_w``, computed as ``c = var/(var + (1-lam) no_w)`` so that
    ``no_w = 0`` and ``(lam, beta) = (1, 0)`` both give ``y`` exactly.
    Requires ``lam < 1 + eta`` for every weight.
    """
    one_minus = 1.0 - lam
    if lam > 1.0:
        max_no = float(no_w.max()) if no_w.numel() else 0.0
        min_var = float(torch.as_tensor(prior.var).min())
        if min_var + one_minus * max_no <= 0.0:
            eta = min_var / max_no
            raise ValueError(
                f"MMSE_pb needs lam < 1 + eta; got lam={lam} with eta={eta:.4g} "
                f"(lam must be < {1 + eta:.4g}). Lower `lam` or raise the SNR."
            )
    no = constant_or_none(no_w)
    no = no_w if no is None else no  # scalar for AWGN: no per-weight arithmetic
    den = prior.var + one_minus * no
    c = prior.var / den
    d = (prior.var * beta) * no / den
    return (c * y).add_(d)


@register_denoiser("mmse_pb")
class MMSEpb(Denoiser):
    r"""MMSE with population compensator ``lam`` and bias compensator ``beta``.

    ``(lam, beta) = (1, 0)`` is ML; ``(0, mu/var)`` is Gaussian MMSE. To select
    them on validation data use :func:`select_mmse_pb`.

    :param lam: population compensator lambda' (must stay below 1 + WNR).
    :param beta: bias compensator.
    """

    name = "mmse_pb"

    def __init__(
        self,
        lam: float = 1.0,
        beta: float = 0.0,
        prior: PriorSource = "estimated",
        prior_scope: PriorScope = "global",
    ) -> None:
        super().__init__(prior, prior_scope)
        self.lam = check_finite("lam", lam)
        self.beta = check_finite("beta", beta)

    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Apply ``c*y + d``."""
        return mmse_pb(y, no_w, prior, self.lam, self.beta)

    def summary(self) -> dict[str, Any]:
        """Name, prior and (lam, beta)."""
        return {**super().summary(), "lam": self.lam, "beta": self.beta}
