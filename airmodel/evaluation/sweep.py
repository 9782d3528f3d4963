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

from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.scoring import Scorer, _is_tokens
from airmodel.evaluation.shard import in_shard
from airmodel.execution import Backend, LocalBackend
from airmodel.link import Link, Transmission
from airmodel.progress import bar as progress_bar
from airmodel.receiver.adaptation import adapt_state
from airmodel.receiver.bn_recalibration import recalibrate_bn_state
from airmodel.receiver.denoiser import fit_selector
from airmodel.receiver.spec import ReceiverSpec
from airmodel.seed import make_generator, mix_seed, trial_seed
from airmodel.transmitter import unflatten

__all__ = [
    "ROW_KEY",
    "SweepPlan",
    "TrainingSubsets",
    "Trial",
    "TrialContext",
    "ValidationScorer",
    "denoise_one",
    "pending_trials",
    "run_sweep",
    "run_trial",
    "selection_key",
    "trial_subset_seed",
]

#: Columns that identify a result row.
ROW_KEY = ("esno_db", "draw", "denoiser")


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: Es/N0 points [dB], draws per point, run seed, shard.

    ``shard=(i, N)`` keeps the trials of shard ``i`` of ``N`` only
    (:mod:`airmodel.evaluation.shard`).
    """

    snr_db: Sequence[float]
    draws: int
    seed: int
    shard: tuple[int, int] | None = None

    def trials(self) -> list[Trial]:
        """Every (point, draw) as a :class:`Trial`, seeded by its key (:func:`trial_seed`)."""
        return [
            Trial(float(snr), d, trial_seed(self.seed, snr, d))
            for snr in self.snr_db
            for d in range(self.draws)
            if in_shard(self.shard, snr, d)
        ]


class ValidationScorer(Scorer):
    """The validation :class:`Scorer` plus the receiver's pool of unlabelled images.

    :param unlabelled: [n, C, H, W], float, optional. Normalized training
        images (no labels; token ids [n, L] int64 for text) for batch-norm
        recalibration and test-time adaptation; its first ``kappa``
        are the scorer's own images. The other arguments are :class:`Scorer`'s.
    """

    def __init__(
        self, *args: Any, unlabelled: torch.Tensor | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.unlabelled = unlabelled


@dataclass
class TrainingSubsets:
    """Draws a trial's validation images and recalibration pool from the training split.

    ``subsets(seed)`` takes one seeded permutation of the training split: its
    first ``kappa`` images (with labels) are the validation images, its first
    ``pool`` images (no labels; with the training augmentation if ``augment``)
    the unlabelled pool of batch-norm recalibration, so the first ``kappa`` of
    the pool are the validation images. For a text dataset (token ids) the
    pool is the sentences' token ids as they are (``augment`` does not apply).

    :param images: [N, H, W, C] uint8 training images (host memory), or
        token ids [N, L] int64 of a text dataset.
    :param labels: [N] integer labels.
    :param info: the dataset's :class:`~airmodel.data.DatasetInfo`.
    :param kappa: validation images per subset.
    :param pool: unlabelled images per subset (0: none).
    :param augment: augment the pool like training batches.
    :param scorer_kwargs: ``device``, ``batch_size``, ``precision``, ``fused`` of the scorer.
    """

    images: Any
    labels: Any
    info: Any
    kappa: int
    pool: int = 0
    augment: bool = True
    scorer_kwargs: dict[str, Any] | None = None

    def __call__(self, seed: int) -> ValidationScorer:
        """The :class:`ValidationScorer` (with its pool) of subset seed ``seed``."""
        from airmodel.data.transforms import augment, default_augmentation, to_tensor
        from airmodel.evaluation.scoring import sample_indices

        kw = dict(self.scorer_kwargs or {})
        n = len(self.labels)
        kappa, pool = min(self.kappa, n), min(self.pool, n)
        # randperm(n)[:k] is a prefix of randperm(n)[:m] for k < m.
        order = sample_indices(n, max(kappa, pool), seed=mix_seed(seed, 1)).numpy()
        unlabelled = None
        if pool and _is_tokens(self.images):  # token ids: as they are, no augmentation
            unlabelled = torch.as_tensor(self.images[order[:pool]]).to(
                kw.get("device", "cpu")
            )
        elif pool:
            raw = torch.as_tensor(self.images[order[:pool]])
            if self.augment:
                pad, flip = default_augmentation(self.info)
                raw = augment(raw, make_generator(mix_seed(seed, 2), purpose="augment"), pad, flip)
            unlabelled = to_tensor(
                raw, self.info, kw.get("device", "cpu"), channels_last=True
            )
        idx = order[:kappa]
        return ValidationScorer(
            self.images[idx], self.labels[idx], self.info, **kw, unlabelled=unlabelled
        )


def _pool(
    spec: ReceiverSpec,
    count: int,
    scorers: Mapping[str, Scorer],
    unlabelled: torch.Tensor | None,
) -> torch.Tensor:
    """The first ``count`` unlabelled images (default: the validation scorer's pool)."""
    if unlabelled is None:
        unlabelled = getattr(scorers["validation"], "unlabelled", None)
    if unlabelled is None or unlabelled.shape[0] < count:
        have = 0 if unlabelled is None else unlabelled.shape[0]
        raise ValueError(
            f"receiver {spec.key!r} uses {count} unlabelled images but only {have} "
            "were given; build the data with airmodel.builder.build_data (it sizes "
            "the pool) or pass `unlabelled=`."
        )
    return unlabelled[:count]


def _adapter(
    spec: ReceiverSpec,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    unlabelled: torch.Tensor | None,
) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """State dict -> state dict after test-time adaptation (or as is).

    The stage gets the pool's images only (:func:`adapt_state`); then, with
    ``adapt.recalibrate``, batch-norm recalibration runs again.
    """
    cfg = spec.adapt
    if cfg is None:
        return lambda sd: sd
    images = _pool(spec, cfg.images, scorers, unlabelled)
    recal = _recalibrator(spec, model, scorers, unlabelled)

    def adapt(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with scorers["test"].autocast():  # the scoring precision
            sd = adapt_state(sd, model, images, cfg)
        return recal(sd) if cfg.recalibrate else sd

    return adapt


def _recalibrator(
    spec: ReceiverSpec,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    unlabelled: torch.Tensor | None,
) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """State dict -> state dict with batch-norm statistics re-estimated (or as is)."""
    if not spec.recalibrate:
        return lambda sd: sd
    images = _pool(spec, spec.recalibrate, scorers, unlabelled)
    batch = scorers["test"].batch_size

    def recal(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        with scorers["test"].autocast():  # the scoring precision
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
        if w_hat.dim() == 2:  # [k, n]: k grid cells in one pass
            sds = [recal(unflatten(tx.vector, tx.spec, air=w)) for w in w_hat]
            return scorer.accuracies_of(sds, model)
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
    spec: ReceiverSpec,
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
    w_hat, sel = link.denoise(
        tx, den, score, lam_grid, beta_grid, select=select,
        cells_per_pass=scorer.cells_per_pass,
    )  # fmt: skip
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


def selection_key(spec: ReceiverSpec) -> ReceiverSpec:
    """``spec`` minus what happens after selection (post-selection recalibration)."""
    spec = replace(spec, label=None, adapt=None, views=1)  # both after selection
    if spec.recalibrate and spec.recalibrate_select and spec.select != "fixed":
        return spec
    return replace(spec, recalibrate=0, recalibrate_select=True)


@dataclass(frozen=True)
class Trial:
    """One (SNR point, draw) of a sweep: every listed receiver sees its noise draw.

    :param snr_db: Es/N0 per complex symbol [dB].
    :param draw: draw index at this point.
    :param seed: the trial's seed (noise, sampled decoding).
    :param denoisers: keys of the receivers to run; empty: all of the context's.
    """

    snr_db: float
    draw: int
    seed: int
    denoisers: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[float, int]:
        """What identifies the trial in its run: ``(snr_db, draw)``."""
        return (self.snr_db, self.draw)


@dataclass
class TrialContext:
    """What every trial of a sweep shares: link, model, scorers, receivers, grids.

    ``model`` is a working copy that trials load rebuilt weights into;
    ``clean_sd`` is the transmitted state dict (on the CPU). With ``subsets``
    (a :class:`TrainingSubsets`), each trial selects and recalibrates on its
    own validation images and pool, drawn with its seed; otherwise on
    ``scorers["validation"]`` and ``unlabelled``.
    """

    link: Link
    model: nn.Module
    clean_sd: dict[str, torch.Tensor]
    scorers: Mapping[str, Scorer]
    denoisers: Sequence[ReceiverSpec]
    lam_grid: Sequence[float]
    beta_grid: Sequence[float]
    unlabelled: torch.Tensor | None = None
    subsets: Callable[[int], Scorer] | None = None

    @classmethod
    def build(
        cls,
        link: Link,
        model: nn.Module,
        scorers: Mapping[str, Scorer],
        denoisers: Sequence[ReceiverSpec],
        lam_grid: Sequence[float],
        beta_grid: Sequence[float],
        unlabelled: torch.Tensor | None = None,
        subsets: Callable[[int], Scorer] | None = None,
    ) -> TrialContext:
        """A context around ``model`` (not modified: trials use a copy)."""
        clean_sd = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        return cls(
            link, copy.deepcopy(model), clean_sd, scorers, list(denoisers),
            list(lam_grid), list(beta_grid), unlabelled, subsets,
        )  # fmt: skip

    def to(self, device: torch.device) -> TrialContext:
        """This context with model and scorers on ``device`` (a Ray GPU worker's).

        Transmission and denoising stay where they are (the CPU), as in a local
        run with ``evaluation.device: cuda``.
        """
        subsets = self.subsets
        if isinstance(subsets, TrainingSubsets):  # per-trial scorers: built there
            kw = {**(subsets.scorer_kwargs or {}), "device": device}
            subsets = replace(subsets, scorer_kwargs=kw)
        return replace(
            self,
            model=self.model.to(device),
            scorers={k: s.to(device) for k, s in self.scorers.items()},
            unlabelled=None if self.unlabelled is None else self.unlabelled.to(device),
            subsets=subsets,
        )


def trial_subset_seed(trial: Trial) -> int:
    """Seed of the trial's validation images and recalibration pool (from its own)."""
    return mix_seed(trial.seed, 7)


def run_trial(ctx: TrialContext, trial: Trial) -> list[dict[str, Any]]:
    """Run one trial: transmit once, rebuild and score with each receiver; rows.

    Deterministic given ``ctx`` and ``trial``; touches no results folder (the
    caller stores the rows). Receivers that differ only in a recalibration
    applied after selection share one selection (same draw, same scores).
    """
    wanted = set(trial.denoisers)
    todo = [dn for dn in ctx.denoisers if not wanted or dn.key in wanted]
    scorers, unlabelled = ctx.scorers, ctx.unlabelled
    if ctx.subsets is not None:  # this trial's validation images and pool
        scorers = {**scorers, "validation": ctx.subsets(trial_subset_seed(trial))}
        unlabelled = None
    steps = progress_bar(
        1 + len(todo), f"trial {trial.snr_db:g} dB draw {trial.draw}", "step"
    )
    steps.set_postfix_str("transmit")
    tx = ctx.link.transmit(ctx.clean_sd, trial.snr_db, seed=trial.seed)
    steps.update(1)
    selected: dict[ReceiverSpec, tuple[torch.Tensor, dict[str, Any]]] = {}
    rows = []
    for dn in todo:
        steps.set_postfix_str(dn.key)
        t0 = time.perf_counter()
        base = selection_key(dn)
        if base not in selected:
            selected[base] = denoise_one(
                ctx.link, tx, dn, ctx.model, scorers, ctx.lam_grid,
                ctx.beta_grid, unlabelled,
            )  # fmt: skip
        w_hat, extra = selected[base]
        sd_hat, stats = ctx.link.rebuild(tx, w_hat=w_hat)
        sd_hat = _recalibrator(dn, ctx.model, scorers, unlabelled)(sd_hat)
        sd_hat = _adapter(dn, ctx.model, scorers, unlabelled)(sd_hat)
        test = scorers["test"].with_views(dn.views) if dn.views > 1 else scorers["test"]
        acc = test.accuracy_of(sd_hat, ctx.model)
        rows.append(
            {
                "esno_db": trial.snr_db,
                "draw": trial.draw,
                "denoiser": dn.key,
                "seed": trial.seed,
                "wnr_db": stats.wnr_db,
                "weight_mse": stats.weight_mse,
                "accuracy": acc,
                **extra,
                "recalibrate": dn.recalibrate,
                "adapt": dn.adapt.tag[1:] if dn.adapt else "",
                "views": ",".join(getattr(test, "views", ("id",))),
                "forward_passes": len(getattr(test, "views", ("id",))),
                "precision": test.precision,
                **tx.reception.info,
                "seconds": time.perf_counter() - t0,
            }
        )
        steps.update(1)
    steps.close()
    return rows


def pending_trials(
    plan: SweepPlan, denoisers: Sequence[ReceiverSpec], folder: ResultsFolder
) -> list[Trial]:
    """The plan's trials with the receivers whose rows ``folder`` lacks."""
    out = []
    for t in plan.trials():
        todo = tuple(
            dn.key
            for dn in denoisers
            if not folder.done(esno_db=t.snr_db, draw=t.draw, denoiser=dn.key)
        )
        if todo:
            out.append(replace(t, denoisers=todo))
    return out


def run_sweep(
    link: Link,
    model: nn.Module,
    scorers: Mapping[str, Scorer],
    denoisers: Sequence[ReceiverSpec],
    plan: SweepPlan,
    folder: ResultsFolder,
    lam_grid: Sequence[float],
    beta_grid: Sequence[float],
    progress: bool = True,
    unlabelled: torch.Tensor | None = None,
    subsets: Callable[[int], Scorer] | None = None,
    backend: Backend | None = None,
) -> list[dict[str, Any]]:
    """Run every (point, draw, denoiser) not yet in ``folder``; return all rows.

    The driver: plans the trials, skips finished rows, calls :func:`run_trial`
    per trial and stores its rows. All denoisers of a (point, draw) see the
    same noise draw. ``model`` is not modified: a copy receives the rebuilt
    weights. A receiver with ``recalibrate=n`` re-estimates batch-norm
    statistics on the first ``n`` ``unlabelled`` images (default:
    ``scorers["validation"].unlabelled``, see :class:`ValidationScorer`) after
    rebuilding, before test scoring. With ``subsets`` (a
    :class:`TrainingSubsets`) each trial draws its own validation images and
    pool instead (see :class:`TrialContext`). ``backend`` (default: this
    process, in order) runs the trials; rows are stored as trials finish, in
    any order.
    """
    backend = backend or LocalBackend()
    ctx = TrialContext.build(
        link, model, scorers, denoisers, lam_grid, beta_grid, unlabelled, subsets
    )
    todo = pending_trials(plan, denoisers, folder)
    total = len(plan.trials()) * len(denoisers)
    bar = progress_bar(
        total, "sweep", "row", show=progress, leave=True, delay=0,
        initial=total - sum(len(t.denoisers) for t in todo),
    )  # fmt: skip
    for _trial, rows in backend.map(run_trial, todo, ctx, place=TrialContext.to):
        for row in rows:
            folder.add(row)
            bar.set_postfix_str(
                f"{row['esno_db']:g} dB {row['denoiser']}: {row['accuracy'] * 100:.1f}%"
            )
            bar.update(1)
    bar.close()
    return folder.rows
