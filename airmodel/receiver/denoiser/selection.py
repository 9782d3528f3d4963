# SPDX-License-Identifier: Apache-2.0
"""Grid selection of MMSE_pb's (lam, beta) by a validation score."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from airmodel.receiver.denoiser.base import Prior
from airmodel.receiver.denoiser.estimators import mmse_pb

__all__ = ["PAPER_LAM_GRID", "PAPER_BETA_GRID", "Selection", "select_mmse_pb"]

#: The paper's ResNet grid: lam' in 0.95:0.01:1.07 (13), beta in -4:0.2:0.4 (23).
PAPER_LAM_GRID = tuple(round(0.95 + 0.01 * i, 2) for i in range(13))
PAPER_BETA_GRID = tuple(round(-4.0 + 0.2 * i, 1) for i in range(23))


@dataclass
class Selection:
    """Best cell of a grid search and every score seen."""

    lam: float
    beta: float
    score: float
    evaluations: int
    skipped: int
    table: dict[tuple[float, float], float] = field(repr=False, default_factory=dict)


def select_mmse_pb(
    y: torch.Tensor,
    no_w: torch.Tensor,
    prior: Prior,
    score: Callable[[torch.Tensor], float],
    lam_grid: Sequence[float] = PAPER_LAM_GRID,
    beta_grid: Sequence[float] = PAPER_BETA_GRID,
) -> Selection:
    """Return the (lam, beta) cell whose estimate scores highest.

    ``score(w_hat)`` rates a denoised weight vector (e.g. accuracy on kappa
    validation images from the training split). Cells with ``lam >= 1 + eta``
    are skipped and counted. Ties go to the first cell in grid order.
    """
    if not lam_grid or not beta_grid:
        raise ValueError("`lam_grid` and `beta_grid` must be non-empty.")
    eta_min = float(torch.as_tensor(prior.var).min()) / max(float(no_w.max()), 1e-300)
    table: dict[tuple[float, float], float] = {}
    skipped = 0
    best = (-np.inf, None, None)
    for lam in lam_grid:
        if lam >= 1.0 + eta_min:
            skipped += len(beta_grid)
            continue
        for beta in beta_grid:
            s = float(score(mmse_pb(y, no_w, prior, lam, beta)))
            table[(lam, beta)] = s
            if s > best[0]:
                best = (s, lam, beta)
    if best[1] is None:
        raise ValueError(
            f"No grid cell satisfies lam < 1 + eta (eta = {eta_min:.3g}); "
            "use a lam grid below that bound."
        )
    return Selection(
        lam=float(best[1]),
        beta=float(best[2]),
        score=best[0],
        evaluations=len(table),
        skipped=skipped,
        table=table,
    )
