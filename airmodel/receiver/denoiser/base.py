# SPDX-License-Identifier: Apache-2.0
"""Denoiser interface, Gaussian prior estimation and the denoiser registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from airmodel.metrics import moments

__all__ = [
    "Prior",
    "Denoiser",
    "estimate_prior",
    "constant_or_none",
    "mean_noise",
    "genie_prior",
    "register_denoiser",
    "get_denoiser",
    "list_denoisers",
    "PRIOR_FLOOR_WNR",
]

PriorSource = Literal["estimated", "genie"]
#: Floor of the estimated prior variance, as a WNR: sigma_w^2 >= 1e-3 * mean(no_w).
PRIOR_FLOOR_WNR = 1e-3


@dataclass(frozen=True)
class Prior:
    """Gaussian prior N(mean, var) of the sent weights (scalars or per weight)."""

    mean: float | torch.Tensor
    var: float | torch.Tensor
    source: str = "estimated"


def estimate_prior(y: torch.Tensor, no_w: torch.Tensor) -> Prior:
    """Prior estimated at the receiver from the noisy weights alone.

    ``mean = mean(y)``; ``var = max(Var(y) - mean(no_w), PRIOR_FLOOR_WNR * mean(no_w))``
    (method of moments; the floor keeps the shrinkage finite when the noise
    swamps the weights).

    :input y: [num_weights], real. Noisy weights.
    :input no_w: [num_weights], real. Noise variance of each weight.
    """
    mean_no = mean_noise(no_w)
    mean, mean_sq = moments(y)
    var = max(mean_sq - mean**2 - mean_no, PRIOR_FLOOR_WNR * mean_no)
    return Prior(mean=mean, var=var, source="estimated")


def constant_or_none(no_w: torch.Tensor) -> torch.Tensor | None:
    """The common value of a noise vector that is an expanded scalar, else ``None``.

    Lets the AWGN case skip per-weight arithmetic without a data-dependent check.
    """
    if no_w.dim() == 1 and no_w.numel() > 0 and no_w.stride(0) == 0:
        return no_w[0]
    return None


def mean_noise(no_w: torch.Tensor) -> float:
    """Average of a per-weight noise variance vector (O(1) for AWGN)."""
    const = constant_or_none(no_w)
    return float(const) if const is not None else moments(no_w)[0]


def genie_prior(clean: torch.Tensor) -> Prior:
    """Prior from the clean weights, as the paper assumes ("genie" side information)."""
    mean, mean_sq = moments(clean)
    return Prior(mean=mean, var=mean_sq - mean**2, source="genie")


class Denoiser(ABC):
    """Estimate the sent weights from noisy ones and their noise variances.

    Subclasses implement :meth:`denoise`; :meth:`fit_prior` picks the prior
    according to ``prior`` (``"estimated"`` at the receiver, or ``"genie"``
    from the clean weights).

    :input y: [num_weights], real. Noisy weights.
    :input no_w: [num_weights], real. Per-weight noise variance.
    :input clean: [num_weights], real, optional. Only for ``prior="genie"``.
    :output w_hat: [num_weights], dtype of ``y``.
    """

    name = "denoiser"
    needs_prior = True

    def __init__(self, prior: PriorSource = "estimated") -> None:
        if prior not in ("estimated", "genie"):
            raise ValueError(f"`prior` must be 'estimated' or 'genie'; got {prior!r}.")
        self.prior = prior

    def fit_prior(
        self, y: torch.Tensor, no_w: torch.Tensor, clean: torch.Tensor | None = None
    ) -> Prior:
        """Return the prior this denoiser uses."""
        if self.prior == "genie":
            if clean is None:
                raise ValueError(
                    f"{self.name} with prior='genie' needs the clean weights; pass "
                    "clean=... or use prior='estimated'."
                )
            return genie_prior(clean)
        return estimate_prior(y, no_w)

    @abstractmethod
    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Return the estimate of the sent weights."""

    def __call__(
        self, y: torch.Tensor, no_w: torch.Tensor, clean: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Fit the prior, then denoise."""
        prior = (
            self.fit_prior(y, no_w, clean)
            if self.needs_prior
            else Prior(0.0, 1.0, "none")
        )
        return self.denoise(y, no_w, prior)

    def summary(self) -> dict[str, Any]:
        """Name and settings, for results files."""
        return {"name": self.name, "prior": self.prior}


_DENOISERS: dict[str, Callable[..., Denoiser]] = {}


def register_denoiser(name: str) -> Callable[[type[Denoiser]], type[Denoiser]]:
    """Class decorator registering a denoiser under ``name``."""

    def wrap(cls: type[Denoiser]) -> type[Denoiser]:
        if name in _DENOISERS:
            raise ValueError(f"A denoiser named {name!r} is already registered.")
        _DENOISERS[name] = cls
        return cls

    return wrap


def get_denoiser(name: str, **kwargs: Any) -> Denoiser:
    """Build the denoiser registered as ``name``."""
    if name not in _DENOISERS:
        raise ValueError(
            f"Unknown denoiser {name!r}; choose one of {list_denoisers()}."
        )
    return _DENOISERS[name](**kwargs)


def list_denoisers() -> list[str]:
    """Sorted names of all registered denoisers."""
    return sorted(_DENOISERS)
