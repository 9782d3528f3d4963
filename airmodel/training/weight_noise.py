# SPDX-License-Identifier: Apache-2.0
"""Noise-hardened training: Gaussian weight noise on the tensors sent over the air.

Each training step draws a WNR uniformly in dB from ``[lo, hi]`` and adds
``n ~ N(0, sigma^2)`` to every on-air tensor (``select_on_air(policy)``), with

    sigma^2 = P / 10^(WNR/10),  P = mean(w^2) over all on-air entries,

the current weights' own mean square. This is the weight noise the analog
AWGN link gives at Es/N0 = WNR (:class:`~airmodel.modulation.analog.AnalogModulator`
scales the on-air vector to unit symbol energy, so the noise per weight is
``no * P``): **equal energy per weight** holds by construction, for the
original and the hardened model alike, whatever their mean squares (each sends
unit-energy symbols; tested against the link in tests/unit/test_training.py).
The forward and backward pass run on the noisy weights; :meth:`WeightNoise.remove`
restores the clean weights bit-exactly before the optimizer step.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from airmodel.transmitter.payload import select_on_air

__all__ = ["WeightNoise", "parse_wnr_range"]


def parse_wnr_range(text: str) -> tuple[float, float]:
    """``"LO:HI"`` (dB) -> ``(lo, hi)``; ``ValueError`` naming the fix otherwise."""
    parts = str(text).split(":")
    try:
        lo, hi = (float(p) for p in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(
            f"--weight-noise expects WNR_LO:WNR_HI in dB with LO <= HI, e.g. 0:10; "
            f"got {text!r}."
        )
    return lo, hi


class WeightNoise:
    """Add and remove on-air weight noise at a WNR drawn uniformly in dB.

    :param model: the network being trained (its tensors are changed in place).
    :param wnr_db: ``(lo, hi)`` range of the weight-to-noise ratio [dB].
    :param policy: payload policy naming the on-air tensors (``"paper"``).

    :meth:`add` returns the drawn WNR [dB]; :meth:`remove` must follow before
    the optimizer step.
    """

    def __init__(
        self, model: nn.Module, wnr_db: tuple[float, float], policy: str = "paper"
    ) -> None:
        lo, hi = (float(v) for v in wnr_db)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(
                f"`weight_noise` must be (lo, hi) dB, lo <= hi; got {wnr_db}."
            )
        self.lo, self.hi, self.policy = lo, hi, policy
        state = model.state_dict(keep_vars=True)
        keys = sorted(select_on_air({k: v.detach() for k, v in state.items()}, policy))
        self.keys = keys
        self.tensors = [state[k] for k in keys]
        self._clean: list[torch.Tensor] | None = None

    def variance(self, wnr_db: float) -> float:
        """Noise variance per weight at ``wnr_db``: mean square / 10^(WNR/10)."""
        with torch.no_grad():
            sq = sum(float(t.detach().double().square().sum()) for t in self.tensors)
        n = sum(t.numel() for t in self.tensors)
        return sq / n * 10.0 ** (-wnr_db / 10.0)

    @torch.no_grad()
    def add(self, generator: torch.Generator) -> float:
        """Draw a WNR, keep the clean weights, add the noise; return the WNR [dB]."""
        if self._clean is not None:
            raise RuntimeError("WeightNoise.add called twice without remove().")
        u = float(torch.rand((), generator=generator))
        wnr = self.lo + (self.hi - self.lo) * u
        std = self.variance(wnr) ** 0.5
        self._clean = [t.detach().clone() for t in self.tensors]
        for t in self.tensors:
            n = torch.randn(t.shape, generator=generator, dtype=torch.float32)
            t.add_(n.to(t.device, t.dtype), alpha=std)
        return wnr

    @torch.no_grad()
    def remove(self) -> None:
        """Restore the clean weights (bit-exact copies taken by :meth:`add`)."""
        if self._clean is None:
            raise RuntimeError("WeightNoise.remove called without add().")
        for t, c in zip(self.tensors, self._clean, strict=True):
            t.copy_(c)
        self._clean = None
