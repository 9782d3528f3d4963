# SPDX-License-Identifier: Apache-2.0
"""A server denoiser for repeated rounds: Gaussian MMSE with a momentum prior."""

from __future__ import annotations

from typing import Any

import torch

from airmodel.metrics import moments
from airmodel.receiver.denoiser.base import (
    PRIOR_FLOOR_WNR,
    Denoiser,
    Prior,
    PriorScope,
    Segments,
    mean_noise,
    register_denoiser,
)

__all__ = ["MomentumMMSE"]


@register_denoiser("mmse_momentum")
class MomentumMMSE(Denoiser):
    r"""Gaussian MMSE of one round's summed update with a prior from earlier rounds.

    Federated learning sends a new update ``s_t`` every round; consecutive
    updates point in similar directions while the channel noise is drawn
    afresh. Round ``t``'s prior is ``s_t ~ N(m_t, v_t)`` per weight with the
    mean ``m_t = momentum * s_hat_{t-1}`` (the previous round's estimate,
    damped; ``m_1 = 0``) and the variance ``v_t`` of the innovation
    ``s_t - m_t`` estimated by moments, ``v_t = mean((y - m_t)^2) - mean(no_w)``
    (over all weights, or per on-air tensor with ``prior_scope="layer"``),
    floored at ``PRIOR_FLOOR_WNR * mean(no_w)``. The estimate is the
    closed-form posterior mean

    ``s_hat_t = m_t + v_t / (v_t + no_w) * (y - m_t)``

    so the step shrinks with the SNR (as MMSE_pb's does) and, at low SNR,
    keeps moving along the earlier rounds' direction (server momentum with
    an SNR-set learning rate) instead of along the noise. ``no_w = 0`` gives
    ``y`` exactly (FedAvg). No validation data and no search. The state
    (``m``) lives in the instance: use one instance per training run, every
    round of which must deliver all weights (AWGN; lost weights would change
    the vector's length and are refused).

    :param momentum: damping of the previous estimate in the prior mean, in [0, 1).
        ``0`` is zero-mean Gaussian MMSE every round.
    :param prior_scope: ``"global"`` (one ``v_t``) or ``"layer"`` (one per tensor).
    """

    name = "mmse_momentum"

    def __init__(
        self, momentum: float = 0.9, prior_scope: PriorScope = "global"
    ) -> None:
        super().__init__("estimated", prior_scope)
        if not 0.0 <= float(momentum) < 1.0:
            raise ValueError(f"`momentum` must be in [0, 1); got {momentum!r}.")
        self.momentum = float(momentum)
        self._last: torch.Tensor | None = None  # s_hat of the previous round

    def reset(self) -> None:
        """Forget earlier rounds (start of a new training run)."""
        self._last = None

    def fit_prior(
        self,
        y: torch.Tensor,
        no_w: torch.Tensor,
        clean: torch.Tensor | None = None,
        segments: Segments | None = None,
    ) -> Prior:
        """Prior ``N(momentum * s_hat_{t-1}, v_t)``; ``v_t`` per tensor if ``layer``."""
        if self._last is not None and self._last.shape != y.shape:
            raise ValueError(
                f"mmse_momentum got {y.numel()} weights after {self._last.numel()} "
                "last round: it needs every weight every round (AWGN uplink; a fading "
                "uplink that drops weights needs another server denoiser)."
            )
        mean = torch.zeros_like(y) if self._last is None else self.momentum * self._last
        r = y - mean
        floor = PRIOR_FLOOR_WNR * mean_noise(no_w)
        if self.prior_scope == "global":
            var = max(moments(r)[1] - mean_noise(no_w), floor)
            return Prior(mean=mean, var=var, source="estimated")
        self._check_segments_given(segments)
        parts = []
        for off, num in segments:
            sl = slice(off, off + num)
            v = moments(r[sl])[1] - mean_noise(no_w[sl]) if num else 0.0
            parts.append(
                torch.full((num,), max(v, floor), dtype=y.dtype, device=y.device)
            )
        return Prior(mean=mean, var=torch.cat(parts), source="estimated")

    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Posterior mean; remembers it as next round's prior centre."""
        # m + v/(v+no) (y - m), written so that no_w = 0 returns y exactly
        out = y - no_w / (prior.var + no_w) * (y - prior.mean)
        self._last = out.detach().clone()
        return out

    def summary(self) -> dict[str, Any]:
        """Name, scope and momentum."""
        return {**super().summary(), "momentum": self.momentum}
