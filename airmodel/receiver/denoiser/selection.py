# SPDX-License-Identifier: Apache-2.0
"""Grid selection of MMSE_pb's (lam, beta) by a validation score."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from airmodel import progress
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
    score: Callable[[torch.Tensor], Any],
    lam_grid: Sequence[float] = PAPER_LAM_GRID,
    beta_grid: Sequence[float] = PAPER_BETA_GRID,
    cells_per_pass: int = 1,
) -> Selection:
    """Return the (lam, beta) cell whose estimate scores highest.

    ``score(w_hat)`` rates a denoised weight vector (e.g. accuracy on kappa
    validation images from the training split). With ``cells_per_pass = K >
    1`` it is called with up to K candidates stacked, ``[k, n]``, and returns
    their k scores (one forward pass of k models, e.g.
    :meth:`~airmodel.evaluation.scoring.Scorer.accuracies_of`); cells, scores
    and the choice are the same as one at a time. Cells with
    ``lam >= 1 + eta`` are skipped and counted. Ties go to the first cell in
    grid order.
    """
    if not lam_grid or not beta_grid:
        raise ValueError("`lam_grid` and `beta_grid` must be non-empty.")
    if isinstance(cells_per_pass, bool) or cells_per_pass < 1:
        raise ValueError(f"`cells_per_pass` must be >= 1; got {cells_per_pass!r}.")
    eta_min = float(torch.as_tensor(prior.var).min()) / max(float(no_w.max()), 1e-300)
    cells = [
        (lam, beta) for lam in lam_grid if lam < 1.0 + eta_min for beta in beta_grid
    ]
    skipped = len(lam_grid) * len(beta_grid) - len(cells)
    if not cells:
        raise ValueError(
            f"No grid cell satisfies lam < 1 + eta (eta = {eta_min:.3g}); "
            "use a lam grid below that bound."
        )
    table: dict[tuple[float, float], float] = {}
    bar = progress.bar(len(cells), "select (lam, beta)", "cell")
    for i in range(0, len(cells), cells_per_pass):
        chunk = cells[i : i + cells_per_pass]
        bar.update(len(chunk))
        if cells_per_pass == 1:
            lam, beta = chunk[0]
            scores = [score(mmse_pb(y, no_w, prior, lam, beta))]
        else:
            w = torch.stack([mmse_pb(y, no_w, prior, lam, beta) for lam, beta in chunk])
            scores = list(score(w))  # [k, n] -> k scores
        for cell, s in zip(chunk, scores, strict=True):
            table[cell] = float(s)
    bar.close()
    best = (-np.inf, None, None)
    for (lam, beta), s in table.items():  # grid order: ties go to the first
        if s > best[0]:
            best = (s, lam, beta)
    if best[1] is None:
        raise ValueError(
            f"Every grid cell scored NaN ({len(table)} cells); check the scorer's "
            "images (an empty validation set scores NaN)."
        )
    return Selection(
        lam=float(best[1]),
        beta=float(best[2]),
        score=best[0],
        evaluations=len(table),
        skipped=skipped,
        table=table,
    )
