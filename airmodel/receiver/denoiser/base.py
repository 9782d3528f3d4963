# SPDX-License-Identifier: Apache-2.0
"""Denoiser interface, Gaussian prior estimation and the denoiser registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from airmodel.metrics import moments
from airmodel.registry import Registry

__all__ = [
    "DENOISERS",
    "Prior",
    "Segments",
    "estimate_layer_prior",
    "genie_layer_prior",
    "Denoiser",
    "estimate_prior",
    "constant_or_none",
    "mean_noise",
    "genie_prior",
    "power_prior",
    "register_denoiser",
    "get_denoiser",
    "list_denoisers",
    "PRIOR_FLOOR_WNR",
]

PriorSource = Literal["estimated", "genie", "power"]
PriorScope = Literal["global", "layer"]
#: On-air tensors as ``(offset, numel)`` pairs, contiguous and in vector order.
Segments = Sequence[tuple[int, int]]
#: Floor of the estimated prior variance, as a WNR: sigma_w^2 >= 1e-3 * mean(no_w).
PRIOR_FLOOR_WNR = 1e-3


@dataclass(frozen=True)
class Prior:
    """Gaussian prior N(mean, var) of the sent weights (scalars or per weight).

    :ivar mean: scalar, or [num_weights] for a per-layer prior.
    :ivar var: scalar, or [num_weights] for a per-layer prior.
    :ivar source: ``"estimated"``, ``"genie"`` or ``"none"``.
    :ivar layer_mean: [num_segments] per-layer means (per-layer priors only).
    :ivar layer_var: [num_segments] per-layer variances (per-layer priors only).
    """

    mean: float | torch.Tensor
    var: float | torch.Tensor
    source: str = "estimated"
    layer_mean: torch.Tensor | None = None
    layer_var: torch.Tensor | None = None


def estimate_prior(
    y: torch.Tensor, no_w: torch.Tensor, segments: Segments | None = None
) -> Prior:
    r"""Prior estimated at the receiver from the noisy weights alone.

    Constant noise (AWGN, ``no_w`` an expanded scalar): method of moments,
    ``mean = mean(y)``, ``var = Var(y) - no`` (also the Gaussian maximum
    likelihood estimate). Per-weight noise: each segment (on-air tensor; the
    whole vector if ``segments`` is None) gets its own ``(mean_t, var_t)`` —
    by moments if its noise is constant (digital links: per-tensor ``no_w``,
    so the pooled result is exactly the global moment estimate), else by
    maximum likelihood over ``y_i ~ N(mean_t, var_t + no_i)``
    (:func:`_heteroscedastic_ml`), which weights weight ``i`` by
    ``1/(var_t + no_i)²`` and so stays stable when ``no_i`` is heavy-tailed
    (fast Rayleigh fading: ``E[no/|h|²]`` is infinite and the moment estimate
    swings by orders of magnitude) — and the segments are pooled:
    ``mean = Σ n_t mean_t / N``, ``var = Σ n_t (var_t + mean_t²) / N - mean²``.
    Within a segment the noise must not depend on the weight (true for fading;
    a digital link's noise scales with its tensor's range, hence per segment).
    The result is floored at ``PRIOR_FLOOR_WNR * mean(no_w)`` to keep the
    shrinkage finite when the noise swamps the weights.

    :input y: [num_weights], real. Noisy weights.
    :input no_w: [num_weights], real. Noise variance of each weight.
    :input segments: ``[(offset, numel)]`` tiling ``[0, num_weights)``, optional.
    """
    mean_no = mean_noise(no_w)
    floor = PRIOR_FLOOR_WNR * mean_no
    mean, mean_sq = moments(y)
    var = mean_sq - mean**2 - mean_no
    if constant_or_none(no_w) is None and y.numel() > 1:
        parts = segments if segments is not None else [(0, y.numel())]
        s1 = s2 = 0.0  # Σ n_t mean_t, Σ n_t (var_t + mean_t²)
        for off, num in parts:
            if num == 0:
                continue
            ys, ns = y[off : off + num], no_w[off : off + num]
            m_t, sq_t = moments(ys)
            v_t = sq_t - m_t**2 - moments(ns)[0]
            if num > 1 and bool(ns.min() < ns.max()):  # heteroscedastic segment
                m_t, v_t = _heteroscedastic_ml(ys, ns, max(v_t, floor))
                v_t = max(v_t, 0.0)
            s1 += num * m_t
            s2 += num * (v_t + m_t**2)
        mean = s1 / y.numel()
        var = s2 / y.numel() - mean**2
    return Prior(mean=mean, var=max(var, floor), source="estimated")


#: Iterations and relative tolerance of the heteroscedastic ML fixed point.
ML_ITERATIONS, ML_TOL = 200, 1e-7


def _heteroscedastic_ml(
    y: torch.Tensor, no_w: torch.Tensor, var0: float
) -> tuple[float, float]:
    r"""ML ``(mean, var)`` of ``y_i ~ N(mean, var + no_i)``, from ``var0``.

    Fixed point of the likelihood equations: with ``a_i = 1/(var + no_i)``,
    ``mean = Σ a_i y_i / Σ a_i`` and
    ``var = Σ a_i² ((y_i - mean)² - no_i) / Σ a_i²`` (float64). The variance
    may go negative on the way; the caller floors it.
    """
    y64, n64 = y.double(), no_w.double()
    var = var0
    mean = float(y64.mean())
    for _ in range(ML_ITERATIONS):
        a = (n64 + max(var, 0.0)).reciprocal_()
        mean = float((a * y64).sum() / a.sum())
        a2 = a.square_()
        new = float((a2 * ((y64 - mean).square_() - n64)).sum() / a2.sum())
        if abs(new - var) <= ML_TOL * max(abs(var), 1e-30):
            return mean, new
        var = new
    return mean, var


def _check_segments(segments: Segments, n: int) -> torch.Tensor:
    """Segment lengths as a tensor, after checking they tile ``[0, n)``."""
    pos = 0
    for i, (off, num) in enumerate(segments):
        if off != pos or num < 0:
            raise ValueError(
                f"`segments[{i}]` = {(off, num)} must start at {pos} with numel >= 0: "
                "segments are the on-air tensors' (offset, numel) in vector order."
            )
        pos += num
    if pos != n:
        raise ValueError(
            f"`segments` cover {pos} weights but `y` has {n}; pass the segments of "
            "the weights actually given (drop lost ones first)."
        )
    return torch.tensor([num for _, num in segments], dtype=torch.int64)


def _layer_prior(
    y: torch.Tensor,
    segments: Segments,
    one: Callable[[slice], tuple[float, float]],
    fallback: Prior,
    source: str,
) -> Prior:
    """Per-segment (mean, var) from ``one``, expanded to one value per weight."""
    counts = _check_segments(segments, y.numel())
    means, variances = [], []
    for off, num in segments:
        if num < 2:  # too few weights for a variance: use the global prior
            means.append(float(fallback.mean))
            variances.append(float(fallback.var))
            continue
        m, v = one(slice(off, off + num))
        means.append(m)
        variances.append(v)
    layer_mean = torch.tensor(means, dtype=torch.float64)
    layer_var = torch.tensor(variances, dtype=torch.float64)
    dev, dt = y.device, y.dtype
    return Prior(
        # [S] -> [N], expanded where y lives (no [N] host-to-device copy)
        mean=layer_mean.to(dev, dt).repeat_interleave(counts.to(dev)),
        var=layer_var.to(dev, dt).repeat_interleave(counts.to(dev)),
        source=source,
        layer_mean=layer_mean,
        layer_var=layer_var,
    )


def estimate_layer_prior(
    y: torch.Tensor, no_w: torch.Tensor, segments: Segments
) -> Prior:
    """Per-layer prior: :func:`estimate_prior` applied to each segment.

    Segments with fewer than 2 weights take the global estimate.

    :input y: [num_weights], real. Noisy weights.
    :input no_w: [num_weights], real. Noise variance of each weight.
    :input segments: ``[(offset, numel)]`` tiling ``[0, num_weights)``.
    :output prior: :class:`Prior` with [num_weights] ``mean``/``var`` and
        [num_segments] ``layer_mean``/``layer_var``.
    """

    def one(sl: slice) -> tuple[float, float]:
        p = estimate_prior(y[sl], no_w[sl])
        return float(p.mean), float(p.var)

    return _layer_prior(y, segments, one, estimate_prior(y, no_w), "estimated")


def genie_layer_prior(clean: torch.Tensor, segments: Segments) -> Prior:
    """Per-layer prior from the clean weights of each segment (genie side information)."""

    def one(sl: slice) -> tuple[float, float]:
        p = genie_prior(clean[sl])
        return float(p.mean), float(p.var)

    return _layer_prior(clean, segments, one, genie_prior(clean), "genie")


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


def power_prior(clean: torch.Tensor, no_w: torch.Tensor) -> Prior:
    """Zero-mean prior whose variance is the sent vector's power ``mean(clean**2)``.

    The one number a receiver knows without estimating it: the transmitter's
    power control fixes it (the analog link normalizes the payload's power;
    the federated uplink sets the noise from the sum's power, so ``P =
    no * 10^(Es/N0 / 10)``). Unlike ``estimated``, it carries no error at low
    SNR, where ``Var(y) - no`` is mostly noise. Floored at
    ``PRIOR_FLOOR_WNR * mean(no_w)`` like the estimated prior, so MMSE_pb's
    step at low SNR is the estimated prior's floor value, without its noise.
    """
    var = max(moments(clean)[1], PRIOR_FLOOR_WNR * mean_noise(no_w))
    return Prior(mean=0.0, var=var, source="power")


class Denoiser(ABC):
    """Estimate the sent weights from noisy ones and their noise variances.

    Subclasses implement :meth:`denoise`; :meth:`fit_prior` picks the prior
    according to ``prior`` (``"estimated"`` at the receiver, or ``"genie"``
    from the clean weights) and ``prior_scope`` (one ``"global"`` prior, or
    one per on-air tensor, ``"layer"``, which needs ``segments``).

    :param prior: ``"estimated"``, ``"genie"`` or ``"power"`` (:func:`power_prior`;
        global only).
    :param prior_scope: ``"global"`` or ``"layer"``.
    :input y: [num_weights], real. Noisy weights.
    :input no_w: [num_weights], real. Per-weight noise variance.
    :input clean: [num_weights], real, optional. Only for ``prior="genie"``.
    :input segments: ``[(offset, numel)]`` of the on-air tensors, optional.
        Only for ``prior_scope="layer"``.
    :output w_hat: [num_weights], dtype of ``y``.
    """

    name = "denoiser"
    needs_prior = True

    def __init__(
        self, prior: PriorSource = "estimated", prior_scope: PriorScope = "global"
    ) -> None:
        if prior not in ("estimated", "genie", "power"):
            raise ValueError(
                f"`prior` must be 'estimated', 'genie' or 'power'; got {prior!r}."
            )
        if prior_scope not in ("global", "layer"):
            raise ValueError(
                f"`prior_scope` must be 'global' or 'layer'; got {prior_scope!r}."
            )
        if prior == "power" and prior_scope == "layer":
            raise ValueError(
                "`prior='power'` is one known power for the whole vector; use "
                "prior_scope='global' (or prior='estimated' for a prior per layer)."
            )
        self.prior = prior
        self.prior_scope = prior_scope

    def _check_segments_given(self, segments: Segments | None) -> None:
        """A per-layer prior needs the on-air tensors' ``(offset, numel)``."""
        if self.prior_scope == "layer" and segments is None:
            raise ValueError(
                f"{self.name} with prior_scope='layer' needs segments=[(offset, "
                "numel)] of the on-air tensors (Link.denoise passes them from the "
                "payload spec); or use prior_scope='global'."
            )

    def fit_prior(
        self,
        y: torch.Tensor,
        no_w: torch.Tensor,
        clean: torch.Tensor | None = None,
        segments: Segments | None = None,
    ) -> Prior:
        """Return the prior this denoiser uses."""
        self._check_segments_given(segments)
        if self.prior in ("genie", "power"):
            if clean is None:
                raise ValueError(
                    f"{self.name} with prior={self.prior!r} needs the clean weights; "
                    "pass clean=... or use prior='estimated'."
                )
            if self.prior == "power":
                return power_prior(clean, no_w)  # one known power: global only
            if self.prior_scope == "layer":
                return genie_layer_prior(clean, segments)
            return genie_prior(clean)
        if self.prior_scope == "layer":
            return estimate_layer_prior(y, no_w, segments)
        return estimate_prior(y, no_w, segments)

    @abstractmethod
    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Return the estimate of the sent weights."""

    def __call__(
        self,
        y: torch.Tensor,
        no_w: torch.Tensor,
        clean: torch.Tensor | None = None,
        segments: Segments | None = None,
    ) -> torch.Tensor:
        """Fit the prior, then denoise."""
        prior = (
            self.fit_prior(y, no_w, clean, segments)
            if self.needs_prior
            else Prior(0.0, 1.0, "none")
        )
        return self.denoise(y, no_w, prior)

    def summary(self) -> dict[str, Any]:
        """Name and settings, for results files."""
        return {
            "name": self.name,
            "prior": self.prior,
            "prior_scope": self.prior_scope,
        }


#: Denoisers by name; plugins register under the entry-point group
#: ``airmodel.denoisers`` (a :class:`Denoiser` subclass or factory).
DENOISERS: Registry[Denoiser] = Registry("denoiser", "airmodel.denoisers")


def register_denoiser(name: str) -> Callable[[type[Denoiser]], type[Denoiser]]:
    """Class decorator registering a denoiser under ``name``."""
    return DENOISERS.register(name)


def get_denoiser(name: str, **kwargs: Any) -> Denoiser:
    """Build the denoiser registered as ``name`` (unknown options are refused)."""
    return DENOISERS.build(name, kwargs)


def list_denoisers() -> list[str]:
    """Sorted names of all registered denoisers (plugins included)."""
    return DENOISERS.names()
