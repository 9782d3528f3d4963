# SPDX-License-Identifier: Apache-2.0
"""Noisy-inference sweep: SNR points × noise draws × denoisers, resumable."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from airmodel.config import DenoiserConfig
from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.scoring import Scorer
from airmodel.link import Link, Transmission
from airmodel.receiver.bn_recalibration import recalibrate_bn_state
from airmodel.receiver.denoiser import fit_selector
from airmodel.seed import trial_seed
from airmodel.transmitter import unflatten

__all__ = [
    "ROW_KEY",
    "SweepPlan",
    "ValidationScorer",
    "denoise_one",
    "run_sweep",
    "selection_key",
]

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


class ValidationScorer(Scorer):
    """The validation :class:`Scorer` plus the receiver's pool of unlabelled images.

    :param unlabelled: [n, C, H, W], float, optional. Normalized training
        images (no labels) for batch-norm recalibration; its first ``kappa``
        are the scorer's own images. The other arguments are :class:`Scorer`'s.
    """

    def __init__(
        self, *args: Any, unlabelled: torch.Tensor | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.unlabelled = unlabelled


def _recalibrator(
    spec: DenoiserConfig,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    unlabelled: torch.Tensor | None,
) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """State dict -> state dict with batch-norm statistics re-estimated (or as is)."""
    if not spec.recalibrate:
        return lambda sd: sd
    if unlabelled is None:
        unlabelled = getattr(scorers["validation"], "unlabelled", None)
    if unlabelled is None or unlabelled.shape[0] < spec.recalibrate:
        have = 0 if unlabelled is None else unlabelled.shape[0]
        raise ValueError(
            f"receiver {spec.key!r} recalibrates on {spec.recalibrate} unlabelled "
            f"images but only {have} were given; build the data with "
            "airmodel.builder.build_data (it sizes the pool) or pass `unlabelled=`."
        )
    images = unlabelled[: spec.recalibrate]
    batch = scorers["test"].batch_size

    def recal(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return recalibrate_bn_state(sd, model, images, batch)

    return recal


def _selection_fn(
    tx: Transmission,
    model: nn.Module,
    scorer: Scorer,
    recal: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]],
    loss: bool,
) -> Callable[..., Any]:
    """Score of a candidate ``w_hat``: accuracy (grid) or loss and gradient (fit)."""
    air = sorted((t.offset, t.name) for t in tx.spec.tensors if t.on_air)
    keys = [name for _, name in air]

    def score(w_hat: torch.Tensor, grad: bool = False) -> Any:
        sd = recal(unflatten(tx.vector, tx.spec, air=w_hat))
        if not loss:
            return scorer.accuracy_of(sd, model)
        if not grad:
            return scorer.loss_of(sd, model)
        value, grads = scorer.loss_grad_of(sd, keys, model)
        g = torch.cat([grads[k].reshape(-1) for k in keys])  # on-air vector order
        return value, g.to(w_hat.device, w_hat.dtype)

    return score


def averaged_noise(tx: Transmission) -> Transmission:
    """``tx`` with every finite per-weight noise variance replaced by their mean."""
    no_w = tx.reception.no_w
    finite = torch.isfinite(no_w)
    mean = no_w[finite].double().mean().to(no_w.dtype)
    avg = torch.where(finite, mean, no_w)
    return replace(tx, reception=replace(tx.reception, no_w=avg))


def denoise_one(
    link: Link,
    tx: Transmission,
    spec: DenoiserConfig,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    lam_grid: Sequence[float],
    beta_grid: Sequence[float],
    unlabelled: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Denoise one transmission as ``spec`` says; return ``w_hat`` and row extras.

    ``select="validation"`` scores the grid by accuracy on
    ``scorers["validation"]`` (training images, no augmentation); ``"oracle"``
    on ``scorers["test"]``; ``"fit"``/``"fit_layer"`` minimize the
    cross-entropy on ``scorers["validation"]`` (``select_score`` is then that
    loss), ``"oracle_fit"`` the one on ``scorers["test"]``. With ``spec.recalibrate`` and ``spec.recalibrate_select``, every
    candidate is scored after batch-norm recalibration on ``unlabelled``
    (default: ``scorers["validation"].unlabelled``); the returned ``w_hat``
    is not recalibrated (batch-norm buffers are off the air): the caller
    applies :func:`recalibrate_bn_state` after rebuilding.
    """
    from airmodel.plugins import build_denoiser

    den = build_denoiser(spec)
    if spec.noise == "average":
        tx = averaged_noise(tx)
    if spec.select == "fixed":
        w_hat, _ = link.denoise(tx, den)
        extra = {
            "lam": getattr(den, "lam", None),
            "beta": getattr(den, "beta", None),
            "evaluations": 0,
        }
        return w_hat, extra
    oracle = spec.select in ("oracle", "oracle_fit")
    scorer = scorers["test" if oracle else "validation"]
    recal = (
        _recalibrator(spec, model, scorers, unlabelled)
        if spec.recalibrate_select
        else (lambda sd: sd)
    )
    fit = spec.select in ("fit", "fit_layer", "oracle_fit")
    score = _selection_fn(tx, model, scorer, recal, loss=fit)
    select = (
        fit_selector(spec.select == "fit_layer", lam_grid, beta_grid) if fit else None
    )
    w_hat, sel = link.denoise(tx, den, score, lam_grid, beta_grid, select=select)
    extra = {
        "lam": sel.lam,
        "beta": sel.beta,
        "evaluations": sel.evaluations,
        "select_score": sel.score,
    }
    if getattr(sel, "layer_beta", None) is not None:
        extra["layer_beta"] = ";".join(f"{b:.4g}" for b in sel.layer_beta)
        extra["layer_scale"] = ";".join(f"{a:.4g}" for a in sel.layer_scale)
    return w_hat, extra


def selection_key(spec: DenoiserConfig) -> DenoiserConfig:
    """``spec`` minus what happens after selection (post-selection recalibration)."""
    if spec.recalibrate and spec.recalibrate_select and spec.select != "fixed":
        return replace(spec, label=None)
    return replace(spec, label=None, recalibrate=0, recalibrate_select=True)


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
    unlabelled: torch.Tensor | None = None,
) -> list[dict[str, Any]]:
    """Run every (point, draw, denoiser) not yet in ``folder``; return all rows.

    All denoisers of a (point, draw) see the same noise draw. ``model`` is not
    modified: a copy receives the rebuilt weights. A receiver with
    ``recalibrate=n`` re-estimates batch-norm statistics on the first ``n``
    ``unlabelled`` images (default: ``scorers["validation"].unlabelled``, see
    :class:`ValidationScorer`) after rebuilding, before test scoring.
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
        selected: dict[DenoiserConfig, tuple[torch.Tensor, dict[str, Any]]] = {}
        for dn in todo:
            t0 = time.perf_counter()
            # Receivers that differ only in a recalibration applied after
            # selection share one selection (same draw, same scores).
            base = selection_key(dn)
            if base not in selected:
                selected[base] = denoise_one(
                    link, tx, dn, work, scorers, lam_grid, beta_grid, unlabelled
                )
            w_hat, extra = selected[base]
            sd_hat, stats = link.rebuild(tx, w_hat=w_hat)
            sd_hat = _recalibrator(dn, work, scorers, unlabelled)(sd_hat)
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
                "recalibrate": dn.recalibrate,
                **tx.reception.info,
                "seconds": time.perf_counter() - t0,
            }
            folder.add(row)
            bar.set_postfix_str(f"{snr:g} dB {dn.key}: {acc * 100:.1f}%")
            bar.update(1)
    bar.close()
    return folder.rows
