# SPDX-License-Identifier: Apache-2.0
"""Noisy-inference sweep: SNR points × noise draws × denoisers, resumable."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from airmodel.config import DenoiserConfig
from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.scoring import Scorer
from airmodel.link import Link, Transmission
from airmodel.seed import trial_seed
from airmodel.transmitter import unflatten

__all__ = ["SweepPlan", "run_sweep", "denoise_one", "ROW_KEY"]

#: Columns that identify a result row.
ROW_KEY = ("esno_db", "draw", "denoiser")


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: Es/N0 points [dB], draws per point, base seed."""

    snr_db: Sequence[float]
    draws: int
    seed: int

    def trials(self) -> list[tuple[int, float, int, int]]:
        """``(point_index, snr_db, draw, seed)``; trial ``i`` uses ``seed + i``."""
        out = []
        for p, snr in enumerate(self.snr_db):
            for d in range(self.draws):
                out.append(
                    (p, float(snr), d, trial_seed(self.seed, p * self.draws + d))
                )
        return out


def _scorer_fn(tx: Transmission, model: nn.Module, scorer: Scorer) -> Callable:
    def score(w_hat: torch.Tensor) -> float:
        return scorer.accuracy_of(unflatten(tx.vector, tx.spec, air=w_hat), model)

    return score


def denoise_one(
    link: Link,
    tx: Transmission,
    spec: DenoiserConfig,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    lam_grid: Sequence[float],
    beta_grid: Sequence[float],
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Denoise one transmission as ``spec`` says; return ``w_hat`` and row extras.

    ``select="validation"`` scores the grid on ``scorers["validation"]``
    (training images, no augmentation); ``"oracle"`` on ``scorers["test"]``.
    """
    from airmodel.builder import build_denoiser

    den = build_denoiser(spec)
    if spec.select == "fixed":
        w_hat, _ = link.denoise(tx, den)
        extra = {
            "lam": getattr(den, "lam", None),
            "beta": getattr(den, "beta", None),
            "evaluations": 0,
        }
        return w_hat, extra
    scorer = scorers["validation" if spec.select == "validation" else "test"]
    w_hat, sel = link.denoise(
        tx, den, _scorer_fn(tx, model, scorer), lam_grid, beta_grid
    )
    return w_hat, {
        "lam": sel.lam,
        "beta": sel.beta,
        "evaluations": sel.evaluations,
        "select_score": sel.score,
    }


def run_sweep(
    link: Link,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    denoisers: Sequence[DenoiserConfig],
    plan: SweepPlan,
    folder: ResultsFolder,
    lam_grid: Sequence[float],
    beta_grid: Sequence[float],
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every (point, draw, denoiser) not yet in ``folder``; return all rows.

    All denoisers of a (point, draw) see the same noise draw. ``model`` is not
    modified: a copy receives the rebuilt weights.
    """
    clean_sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    work = copy.deepcopy(model)
    trials = plan.trials()
    total = len(trials) * len(denoisers)
    done = sum(
        folder.done(esno_db=s, draw=d, denoiser=dn.key)
        for _, s, d, _ in trials
        for dn in denoisers
    )
    bar = tqdm(
        total=total,
        initial=done,
        desc="sweep",
        unit="row",
        disable=not progress,
        dynamic_ncols=True,
    )
    for _p, snr, draw, seed in trials:
        todo = [
            dn
            for dn in denoisers
            if not folder.done(esno_db=snr, draw=draw, denoiser=dn.key)
        ]
        if not todo:
            continue
        tx = link.transmit(clean_sd, snr, seed=seed)
        for dn in todo:
            t0 = time.perf_counter()
            w_hat, extra = denoise_one(link, tx, dn, work, scorers, lam_grid, beta_grid)
            sd_hat, stats = link.rebuild(tx, w_hat=w_hat)
            acc = scorers["test"].accuracy_of(sd_hat, work)
            row = {
                "esno_db": snr,
                "draw": draw,
                "denoiser": dn.key,
                "seed": seed,
                "wnr_db": stats.wnr_db,
                "weight_mse": stats.weight_mse,
                "accuracy": acc,
                **extra,
                **tx.reception.info,
                "seconds": time.perf_counter() - t0,
            }
            folder.add(row)
            bar.set_postfix_str(f"{snr:g} dB {dn.key}: {acc * 100:.1f}%")
            bar.update(1)
    bar.close()
    return folder.rows
