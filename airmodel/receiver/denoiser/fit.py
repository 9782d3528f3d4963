# SPDX-License-Identifier: Apache-2.0
"""Fit MMSE_pb's compensators on a validation loss instead of a grid."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from airmodel.receiver.denoiser.base import Prior, Segments
from airmodel.receiver.denoiser.estimators import mmse_pb
from airmodel.receiver.denoiser.selection import (
    PAPER_BETA_GRID,
    PAPER_LAM_GRID,
    Selection,
)

__all__ = [
    "Fit",
    "fit_mmse_pb",
    "fit_mmse_pb_layer",
    "FIT_EVALUATIONS",
    "FIT_LAYER_STEPS",
    "fit_selector",
    "layer_estimate",
]

#: Loss evaluations of :func:`fit_mmse_pb` with its default schedule (grid: 299).
FIT_EVALUATIONS = 1 + 10 + 8 + 6 + 5
#: Gradient steps :func:`fit_mmse_pb_layer` adds on top of the global fit.
FIT_LAYER_STEPS = 20
_GOLD = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...
#: Fraction of ``1 + eta_min`` that ``lam`` may reach (keeps ``c`` finite).
_LAM_MARGIN = 0.99

Loss = Callable[..., "float | tuple[float, torch.Tensor]"]


@dataclass
class Fit(Selection):
    """Result of a fit: :class:`Selection` fields, with ``score`` the validation *loss*.

    ``table`` maps each evaluated ``(lam, beta)`` to its loss (lower is better).

    :ivar layer_beta: [num_segments] per-layer beta (``fit_layer`` only).
    :ivar layer_scale: [num_segments] per-layer gain on the estimate (``fit_layer``).
    """

    layer_beta: list[float] | None = None
    layer_scale: list[float] | None = None


def _golden(f: Callable[[float], float], lo: float, hi: float, evals: int) -> None:
    """Golden-section search of ``f`` on ``[lo, hi]`` with ``evals`` calls (``f`` records)."""
    if evals < 2 or hi <= lo:
        return
    a, b = lo, hi
    x1, x2 = b - _GOLD * (b - a), a + _GOLD * (b - a)
    f1, f2 = f(x1), f(x2)
    for _ in range(evals - 2):
        if f1 <= f2:  # minimum in [a, x2]
            b, x2, f2 = x2, x1, f1
            x1 = b - _GOLD * (b - a)
            f1 = f(x1)
        else:  # minimum in [x1, b]
            a, x1, f1 = x1, x2, f2
            x2 = a + _GOLD * (b - a)
            f2 = f(x2)


def _lam_bounds(
    no_w: torch.Tensor, prior: Prior, lam_range: Sequence[float]
) -> tuple[float, float]:
    eta_min = float(torch.as_tensor(prior.var).min()) / max(float(no_w.max()), 1e-300)
    hi = min(max(lam_range), 1.0 + _LAM_MARGIN * eta_min)
    lo = min(min(lam_range), hi)
    return lo, hi


def fit_mmse_pb(
    y: torch.Tensor,
    no_w: torch.Tensor,
    prior: Prior,
    loss: Loss,
    lam_range: Sequence[float] = PAPER_LAM_GRID,
    beta_range: Sequence[float] = PAPER_BETA_GRID,
    start: tuple[float, float] = (1.0, 0.0),
) -> Fit:
    """Fit one global ``(lam, beta)`` by coordinate-wise golden-section search.

    Minimizes ``loss(w_hat)`` (e.g. cross-entropy of the rebuilt model on the
    kappa validation images) within the box spanned by ``lam_range`` and
    ``beta_range`` (the grid's extent), with ``lam < 1 + eta`` enforced:

    1. the start point (ML by default), 1 evaluation;
    2. beta over the whole range at the start lam, 10 evaluations;
    3. lam over the whole range at that beta, 8 evaluations;
    4. beta within ±0.4 of the best, 6 evaluations;
    5. lam within ±0.015 of the best, 5 evaluations.

    That is :data:`FIT_EVALUATIONS` = 30 model evaluations (the paper's grid
    takes 299). The best point seen is returned, so its loss is never above
    the start point's.

    :input y: [num_weights], real. Noisy weights.
    :input no_w: [num_weights], real. Noise variances.
    :input prior: :class:`Prior` (global or per-layer).
    :input loss: ``loss(w_hat) -> float``, lower is better.
    :output fit: :class:`Fit` with ``score`` the best loss.
    """
    lam_lo, lam_hi = _lam_bounds(no_w, prior, lam_range)
    beta_lo, beta_hi = min(beta_range), max(beta_range)
    table: dict[tuple[float, float], float] = {}

    def at(lam: float, beta: float) -> float:
        key = (float(lam), float(beta))
        if key not in table:
            table[key] = float(loss(mmse_pb(y, no_w, prior, key[0], key[1])))
        return table[key]

    def best() -> tuple[float, float]:
        return min(table, key=table.__getitem__)

    lam0 = min(max(start[0], lam_lo), lam_hi)
    at(lam0, start[1])
    for beta_half, lam_half, n_beta, n_lam in (
        (None, None, 10, 8),
        (0.4, 0.015, 6, 5),
    ):
        lam_b, beta_b = best()
        lo, hi = (
            (beta_lo, beta_hi)
            if beta_half is None
            else (
                max(beta_lo, beta_b - beta_half),
                min(beta_hi, beta_b + beta_half),
            )
        )
        _golden(lambda b, lam_b=lam_b: at(lam_b, b), lo, hi, n_beta)
        lam_b, beta_b = best()
        lo, hi = (
            (lam_lo, lam_hi)
            if lam_half is None
            else (
                max(lam_lo, lam_b - lam_half),
                min(lam_hi, lam_b + lam_half),
            )
        )
        _golden(lambda la, beta_b=beta_b: at(la, beta_b), lo, hi, n_lam)
    lam_b, beta_b = best()
    return Fit(
        lam=lam_b,
        beta=beta_b,
        score=table[(lam_b, beta_b)],
        evaluations=len(table),
        skipped=0,
        table=table,
    )


def fit_mmse_pb_layer(
    y: torch.Tensor,
    no_w: torch.Tensor,
    prior: Prior,
    loss: Loss,
    segments: Segments,
    lam_range: Sequence[float] = PAPER_LAM_GRID,
    beta_range: Sequence[float] = PAPER_BETA_GRID,
    steps: int = FIT_LAYER_STEPS,
    lr_scale: float = 0.005,
    lr_beta: float = 0.05,
) -> Fit:
    r"""Global fit, then per-layer gain and beta by Adam steps on the loss gradient.

    After :func:`fit_mmse_pb` gives a shared ``(lam, beta)`` and the estimate
    ``w0``, each on-air tensor ``l`` gets a gain ``s_l`` (start 1) and a beta
    offset ``b_l`` (start 0):
    ``w_i = s_l * w0_i + b_l * var_i * no_i / (var_i + (1 - lam) no_i)``,
    i.e. ``beta_l = beta + b_l`` in MMSE_pb's bias term. ``steps`` Adam steps
    (learning rates ``lr_scale``, ``lr_beta``) follow
    ``loss(w, grad=True) -> (loss, dloss/dw)``; the best iterate seen (the
    global fit included) is returned. Evaluations: 30 + ``steps`` (each step
    is one forward and one backward pass on the validation images).

    :input segments: ``[(offset, numel)]`` tiling ``[0, num_weights)``.
    :output fit: :class:`Fit` with ``layer_scale`` and ``layer_beta``.
    """
    if steps < 0:
        raise ValueError(f"`steps` must be >= 0; got {steps}.")
    base = fit_mmse_pb(y, no_w, prior, loss, lam_range, beta_range)
    counts = torch.tensor([n for _, n in segments], dtype=torch.int64)
    ids = torch.arange(len(segments), device=y.device).repeat_interleave(
        counts.to(y.device)
    )  # [N] layer index, built on y's device
    w0 = mmse_pb(y, no_w, prior, base.lam, base.beta)
    k = mmse_pb(torch.zeros_like(y), no_w, prior, base.lam, 1.0)  # d(w)/d(beta)
    theta = torch.zeros(2, len(segments), dtype=torch.float64)  # (s_l - 1, b_l)
    lr = torch.tensor([[lr_scale], [lr_beta]], dtype=torch.float64)
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    best = (base.score, theta.clone())
    evaluations = base.evaluations

    def weights(th: torch.Tensor) -> torch.Tensor:
        s = (1.0 + th[0]).to(y.dtype).to(y.device)[ids]
        b = th[1].to(y.dtype).to(y.device)[ids]
        return w0 * s + k * b

    for t in range(1, steps + 1):
        value, g = loss(weights(theta), grad=True)
        evaluations += 1
        value = float(value)
        if value < best[0]:
            best = (value, theta.clone())
        g = g.to(y.device, torch.float64)
        grad = torch.zeros(theta.shape, dtype=torch.float64, device=y.device)
        grad[0].index_add_(0, ids, g * w0.to(torch.float64))  # per layer, on y's
        grad[1].index_add_(0, ids, g * k.to(torch.float64))  # device: [S] back only
        grad = grad.cpu()
        m.mul_(0.9).add_(grad, alpha=0.1)
        v.mul_(0.999).addcmul_(grad, grad, value=0.001)
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        theta -= lr * m_hat / (v_hat.sqrt() + 1e-12)
    if steps:  # the last update has not been scored yet
        value = float(loss(weights(theta)))
        evaluations += 1
        if value < best[0]:
            best = (value, theta.clone())
    th = best[1]
    return Fit(
        lam=base.lam,
        beta=base.beta,
        score=best[0],
        evaluations=evaluations,
        skipped=0,
        table=base.table,
        layer_beta=(base.beta + th[1]).tolist(),
        layer_scale=(1.0 + th[0]).tolist(),
    )


def layer_estimate(
    y: torch.Tensor,
    no_w: torch.Tensor,
    prior: Prior,
    fit: Fit,
    segments: Segments,
) -> torch.Tensor:
    """The weight vector a :class:`Fit` describes (global or per layer).

    :output w_hat: [num_weights], dtype of ``y``.
    """
    w0 = mmse_pb(y, no_w, prior, fit.lam, fit.beta)
    if fit.layer_beta is None or fit.layer_scale is None:
        return w0
    counts = torch.tensor([n for _, n in segments], dtype=torch.int64)
    ids = torch.arange(len(segments), device=y.device).repeat_interleave(
        counts.to(y.device)
    )  # [N] layer index, built on y's device
    k = mmse_pb(torch.zeros_like(y), no_w, prior, fit.lam, 1.0)
    s = torch.tensor(fit.layer_scale, dtype=y.dtype, device=y.device)[ids]
    b = torch.tensor(fit.layer_beta, dtype=y.dtype, device=y.device)[ids] - fit.beta
    return w0 * s + k * b


def fit_selector(
    layer: bool = False,
    lam_range: Sequence[float] = PAPER_LAM_GRID,
    beta_range: Sequence[float] = PAPER_BETA_GRID,
) -> Callable[..., tuple[torch.Tensor, Fit]]:
    """A ``select`` callable for :meth:`airmodel.link.Link.denoise`.

    ``select(y, no_w, prior, loss, segments) -> (w_hat, fit)`` runs
    :func:`fit_mmse_pb` (``layer=False``) or :func:`fit_mmse_pb_layer`.
    """

    def select(
        y: torch.Tensor,
        no_w: torch.Tensor,
        prior: Prior,
        loss: Loss,
        segments: Segments,
    ) -> tuple[torch.Tensor, Fit]:
        if layer:
            fit = fit_mmse_pb_layer(
                y, no_w, prior, loss, segments, lam_range, beta_range
            )
        else:
            fit = fit_mmse_pb(y, no_w, prior, loss, lam_range, beta_range)
        return layer_estimate(y, no_w, prior, fit, segments), fit

    return select
