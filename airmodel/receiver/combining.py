# SPDX-License-Identifier: Apache-2.0
"""Maximum-ratio combining of repeated weights (after zero forcing)."""

from __future__ import annotations

import torch

__all__ = ["combine"]


def combine(
    y: torch.Tensor, no: torch.Tensor, reps: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Combine the copies of each weight; pruned weights (0 copies) come back as 0.

    Copy ``k`` of every weight with ``reps[i] > k`` sits in pass ``k`` of the
    received vector, in weight order (the layout of
    :class:`~airmodel.transmitter.budget.BudgetScheme`). Each copy is
    ``y_k = w + n_k`` with known variance ``no_k`` (after ZF, ``N0/|h_k|²``
    times the analog scale), so the minimum-variance unbiased combination is
    ``ŵ = Σ_k (y_k / no_k) / Σ_k (1 / no_k)`` with variance
    ``1 / Σ_k (1 / no_k)``: MRC. Equal ``no_k``: the mean, variance ``no / r``.

    :input y: [num_sent], real. Received copies.
    :input no: [num_sent], real. Their noise variances (``inf``: copy lost).
    :input reps: [num_weights], int. Copies of each weight (0: pruned).
    :output w: [num_weights], real. Combined weights (0 where pruned or all lost).
    :output no_w: [num_weights], real. Their noise variances (0 where pruned,
        ``inf`` where every copy was lost).
    """
    n = reps.numel()
    if y.numel() != int(reps.sum()):
        raise ValueError(
            f"received {y.numel()} weights but the plan sends {int(reps.sum())}."
        )
    if bool((reps <= 1).all()):  # one copy or pruned: no combining, keep precision
        sent = reps > 0
        w = torch.zeros(n, dtype=y.dtype, device=y.device)
        no_w = torch.zeros(n, dtype=no.dtype, device=no.device)
        w[sent], no_w[sent] = y, no.expand(y.numel()) if no.dim() == 0 else no
        return w, no_w
    num = torch.zeros(n, dtype=torch.float64, device=y.device)
    den = torch.zeros(n, dtype=torch.float64, device=y.device)
    pos = 0
    for k in range(int(reps.max())):
        idx = torch.nonzero(reps > k).squeeze(1)
        seg = slice(pos, pos + idx.numel())
        inv = 1.0 / no[seg].double()
        yk = y[seg].double()
        num.index_add_(0, idx, torch.where(torch.isfinite(yk), yk * inv, 0.0))
        den.index_add_(0, idx, inv)
        pos += idx.numel()
    ok = den > 0
    w = torch.where(ok, num / den.clamp_min(1e-300), 0.0)
    no_w = torch.where(ok, 1.0 / den.clamp_min(1e-300), torch.inf)
    no_w = torch.where(reps == 0, 0.0, no_w)
    return w.to(y.dtype), no_w.to(no.dtype)
