# SPDX-License-Identifier: Apache-2.0
"""Weight-space structured denoisers: per-layer SVD shrinkage, per-filter James–Stein.

Both work on each on-air tensor reshaped to a matrix ``[out, fan_in]`` (a
convolution's filters are its rows; a 1-D tensor is one group) with the
tensor's mean noise variance ``s2 = mean(no_w)`` (per-weight variances are
averaged within a tensor). They need the tensors' shapes:
:meth:`Link.denoise <airmodel.link.Link.denoise>` hands them over through
:meth:`StructuredDenoiser.with_shapes`. They lower the weight MSE; whether
that buys accuracy is what the league measures.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch

from airmodel.receiver.denoiser.base import Denoiser, Prior, register_denoiser

__all__ = [
    "JamesSteinFilter",
    "StructuredDenoiser",
    "SVDShrinkage",
    "james_stein",
    "svd_shrink",
]


def svd_shrink(y: torch.Tensor, s2: float) -> torch.Tensor:
    r"""Optimal singular value shrinkage (Frobenius loss, known noise variance).

    Gavish & Donoho, "Optimal shrinkage of singular values", IEEE Trans. Inf.
    Theory 63(4), 2017, eq. (7): for ``Y = X + sigma Z / sqrt(n)``, ``Z`` i.i.d.
    N(0, 1), ``m <= n``, ``beta = m/n``, each singular value ``y`` of ``Y/sigma``
    becomes ``eta(y) = sqrt((y^2 - beta - 1)^2 - 4 beta) / y`` if
    ``y >= 1 + sqrt(beta)``, else 0. Here the entry noise variance is ``s2``,
    so ``sigma = sqrt(s2 n)``.

    :input y: [m, n], real. Noisy matrix.
    :input s2: noise variance per entry.
    :output x_hat: [m, n], dtype of ``y``.
    """
    if s2 <= 0:
        return y.clone()
    tall = y.shape[0] > y.shape[1]
    mat = (y.T if tall else y).double()
    m, n = mat.shape
    beta = m / n
    sigma = math.sqrt(s2 * n)
    u, sv, vh = torch.linalg.svd(mat, full_matrices=False)
    ys = sv / sigma
    eta = ((ys.square() - beta - 1).square() - 4 * beta).clamp_min(0).sqrt() / ys
    eta = torch.where(ys >= 1 + math.sqrt(beta), eta, torch.zeros_like(eta))
    out = (u * (eta * sigma)) @ vh
    return (out.T if tall else out).to(y.dtype)


def james_stein(y: torch.Tensor, s2: float) -> torch.Tensor:
    r"""Positive-part James–Stein towards each row's mean (known noise variance).

    Row ``r`` of ``d`` entries with mean ``m_r`` and ``S_r = Σ (y - m_r)^2``
    becomes ``m_r + max(0, 1 - (d - 3) s2 / S_r) (y - m_r)``, which dominates
    the ML estimate for ``d > 3`` (Lehmann & Casella, Theory of Point
    Estimation, 2nd ed., sec. 5.5). Rows with ``d <= 3`` use the per-row
    Wiener gain ``max(0, 1 - (d - 1) s2 / S_r)``.

    :input y: [rows, d], real.
    :input s2: noise variance per entry.
    :output w_hat: [rows, d], dtype of ``y``.
    """
    d = y.shape[1]
    y64 = y.double()
    mean = y64.mean(1, keepdim=True)
    ss = (y64 - mean).square().sum(1, keepdim=True)
    k = d - 3 if d > 3 else d - 1
    gain = (1 - k * s2 / ss.clamp_min(1e-300)).clamp_min(0)
    return (mean + gain * (y64 - mean)).to(y.dtype)


class StructuredDenoiser(Denoiser):
    """A denoiser applied per on-air tensor, reshaped to ``[out, fan_in]``.

    ``shapes`` (the on-air tensors' shapes in vector order) come from
    :meth:`with_shapes`; :meth:`denoise` without them refuses.
    """

    needs_prior = False

    def __init__(self) -> None:
        super().__init__()
        self.shapes: tuple[tuple[int, ...], ...] | None = None

    def with_shapes(
        self, shapes: Sequence[tuple[int, ...]], lost: bool = False
    ) -> StructuredDenoiser:
        """A copy that knows the on-air tensors' shapes (vector order)."""
        if lost:
            raise ValueError(
                f"denoiser {self.name!r} needs every weight of a tensor; with lost "
                "weights (truncated power inversion) use ml, mmse or mmse_pb."
            )
        new = copy.copy(self)
        new.shapes = tuple(tuple(s) for s in shapes)
        return new

    def matrix(self, y: torch.Tensor, s2: float) -> torch.Tensor:
        """Denoise one tensor as a ``[out, fan_in]`` matrix (``[1, n]`` if 1-D)."""
        raise NotImplementedError

    def denoise(
        self, y: torch.Tensor, no_w: torch.Tensor, prior: Prior
    ) -> torch.Tensor:
        """Denoise each on-air tensor on its own; ``y`` in vector order."""
        if self.shapes is None or sum(math.prod(s) for s in self.shapes) != y.numel():
            raise ValueError(
                f"denoiser {self.name!r} needs the on-air tensors' shapes; call it "
                "through Link.denoise (it passes them) or use with_shapes(...)."
            )
        out = torch.empty_like(y)
        pos = 0
        for shape in self.shapes:
            n = math.prod(shape)
            seg = y[pos : pos + n]
            s2 = float(no_w[pos : pos + n].double().mean()) if n else 0.0
            rows = shape[0] if len(shape) >= 2 else 1
            out[pos : pos + n] = self.matrix(seg.reshape(rows, -1), s2).reshape(-1)
            pos += n
        return out


@register_denoiser("svd")
class SVDShrinkage(StructuredDenoiser):
    """Per-layer optimal singular value shrinkage (:func:`svd_shrink`).

    Matrices (2-D and up, reshaped ``[out, fan_in]``) get :func:`svd_shrink`;
    1-D tensors (biases, normalization affine) :func:`james_stein` as one group.
    """

    name = "svd"

    def matrix(self, y: torch.Tensor, s2: float) -> torch.Tensor:
        if y.shape[0] == 1:
            return james_stein(y, s2)
        return svd_shrink(y, s2)


@register_denoiser("js_filter")
class JamesSteinFilter(StructuredDenoiser):
    """Per-filter positive-part James–Stein (:func:`james_stein` on each row).

    A convolution's rows are its output filters, a linear layer's its output
    units; a 1-D tensor is one group.
    """

    name = "js_filter"

    def matrix(self, y: torch.Tensor, s2: float) -> torch.Tensor:
        return james_stein(y, s2)
