# SPDX-License-Identifier: Apache-2.0
"""``experiment: federated``'s runs: units, one run per unit, and the loop storing rows.

Plain arguments only: :func:`airmodel.builder.build_federated` builds the
:class:`FederatedContext` from the config, :func:`airmodel.experiment.run_experiment`
opens the results folder and calls :func:`run_units`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from airmodel import channels
from airmodel.evaluation.shard import in_shard
from airmodel.execution import Backend, LocalBackend
from airmodel.federated.loop import federated_run
from airmodel.federated.results import FederatedResults
from airmodel.federated.uplink import OverTheAirUplink
from airmodel.models import get_model, init_weights
from airmodel.plugins import build_denoiser
from airmodel.progress import steps as progress_steps
from airmodel.receiver.spec import ReceiverSpec
from airmodel.seed import derive_seed, make_generator, point_key

__all__ = [
    "FederatedContext",
    "FederatedUnit",
    "Rounds",
    "federated_seed",
    "federated_units",
    "make_uplink",
    "run_unit",
    "run_units",
]


def make_uplink(
    channel: str,
    options: dict[str, Any],
    precision: str,
    inversion_threshold: float | None,
    device: torch.device | str,
) -> OverTheAirUplink:
    """The over-the-air uplink over registered channel ``channel`` (``options``
    its constructor's); ``inversion_threshold`` is used over fading channels only."""
    ch = channels.get(channel, precision=precision, device=str(device), **options)
    return OverTheAirUplink(
        ch,
        precision=precision,
        inversion_threshold=inversion_threshold if ch.is_fading else None,
        device=device,
    )


@dataclass(frozen=True)
class Rounds:
    """The round loop's settings (see :func:`airmodel.federated.loop.federated_run`)."""

    active: int
    rounds: int
    local_epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    schedule: str
    eval_every: int
    divergence_loss: float


@dataclass(frozen=True)
class FederatedUnit:
    """One federated run: (Es/N0 [dB], receiver key, run index) and its seed."""

    snr_db: float
    denoiser: str
    run: int
    seed: int

    @property
    def key(self) -> dict[str, Any]:
        """The row columns that identify the unit."""
        return {"snr_db": self.snr_db, "denoiser": self.denoiser, "run": self.run}


@dataclass
class FederatedContext:
    """What every unit of a federated experiment shares (built once).

    ``uplink_args``: :func:`make_uplink`'s arguments but the device (a Ray
    worker rebuilds the uplink on its own device from them).
    """

    model_name: str
    receivers: Sequence[ReceiverSpec]
    rounds: Rounds
    lam_grid: Sequence[float]
    beta_grid: Sequence[float]
    recalibrate_batch: int
    uplink: OverTheAirUplink
    uplink_args: dict[str, Any]
    data: Any
    parts: list[np.ndarray]
    images: torch.Tensor
    labels: torch.Tensor
    info: Any
    pad: int
    flip: bool
    amp: bool
    policy: str


def federated_units(
    snr_dbs: Sequence[float],
    receivers: Sequence[str],
    runs: int,
    run_seed: int,
    shard: tuple[int, int] | None = None,
) -> list[FederatedUnit]:
    """Every (Es/N0, receiver key, run), seeded by (run seed, Es/N0 value, run).

    The receiver is not part of the seed: the receivers of one (Es/N0, run)
    start from the same model and see the same device draws and shuffles.
    ``shard=(i, N)`` keeps shard ``i`` of ``N`` (:mod:`airmodel.evaluation.shard`).
    """
    return [
        FederatedUnit(float(snr), key, r, federated_seed(run_seed, snr, r))
        for snr in snr_dbs
        for key in receivers
        for r in range(runs)
        if in_shard(shard, snr, key, r)
    ]


def federated_seed(run_seed: int, snr_db: float, run: int) -> int:
    """Seed of federated run ``run`` at Es/N0 ``snr_db`` [dB] (keyed, see airmodel.seed)."""
    return derive_seed(run_seed, "federated", point_key(snr_db), run)


def run_unit(
    ctx: FederatedContext,
    unit: FederatedUnit,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train one federated run from scratch; its rows (``on_row`` sees each).

    Deterministic given ``ctx`` and ``unit``; touches no results folder.
    """
    f = ctx.rounds
    den = next(d for d in ctx.receivers if d.key == unit.denoiser)
    model = get_model(ctx.model_name, ctx.info.num_classes, ctx.info.in_channels)
    init_weights(model, make_generator(unit.seed, purpose="init"))
    model = model.to(ctx.images.device, memory_format=torch.channels_last)
    select = {"validation": ctx.data.validation, "oracle": ctx.data.test}.get(
        den.select
    )
    pool = getattr(ctx.data.validation, "unlabelled", None)
    recal = pool[: den.recalibrate] if den.recalibrate else None

    def emit(row: dict[str, Any]) -> None:
        full = {**unit.key, **row, "seed": unit.seed}
        row.clear()
        row.update(full)  # the key columns first, as federated_run's list sees it
        if on_row is not None:
            on_row(row)

    rows = federated_run(
        model, ctx.parts, ctx.images, ctx.labels, ctx.info, ctx.uplink,
        build_denoiser(den), ctx.data.test,
        snr_db=unit.snr_db, active=f.active, rounds=f.rounds,
        local_epochs=f.local_epochs, batch_size=f.batch_size, lr=f.lr,
        momentum=f.momentum, weight_decay=f.weight_decay, schedule=f.schedule,
        eval_every=f.eval_every, divergence_loss=f.divergence_loss,
        policy=ctx.policy, seed=unit.seed, pad=ctx.pad, flip=ctx.flip,
        amp_bf16=ctx.amp, select=select, lam_grid=ctx.lam_grid,
        beta_grid=ctx.beta_grid, validation=ctx.data.validation,
        recalibrate=recal, recalibrate_batch=ctx.recalibrate_batch, on_row=emit,
    )  # fmt: skip
    return rows


def _place(ctx: FederatedContext, device: torch.device) -> FederatedContext:
    """``ctx`` on ``device`` (a Ray GPU worker's): uplink, training and test data."""
    return replace(
        ctx,
        uplink=make_uplink(**ctx.uplink_args, device=device),
        data=replace(
            ctx.data,
            test=ctx.data.test.to(device),
            validation=ctx.data.validation.to(device),
        ),
        images=ctx.images.to(device),
        labels=ctx.labels.to(device),
    )


def run_units(
    ctx: FederatedContext,
    units: Sequence[FederatedUnit],
    folder: FederatedResults,
    backend: Backend,
    progress: bool = True,
) -> None:
    """Run every unit ``folder`` has not finished and store its rows there.

    A run stopped part-way is discarded and rerun. The local backend stores
    rows round by round; others store a unit's rows when it finishes.
    """
    pending = []
    for unit in units:
        key = unit.key
        if folder.finished(**key):
            continue
        if folder.discard_run(**key) and progress:
            print(f"restarting unfinished run {key}", file=sys.stderr)
        pending.append(unit)

    def store(row: dict[str, Any]) -> None:
        folder.add(row)
        if progress:
            print(
                f"{row['denoiser']} @ {row['snr_db']:g} dB run {row['run']} "
                f"round {row['round']}: "
                f"acc {row['accuracy'] * 100:.1f}% loss {row['train_loss']:.3f}"
                + (" DIVERGED" if row["diverged"] else ""),
                file=sys.stderr,
                flush=True,
            )

    if isinstance(backend, LocalBackend):  # rows stored round by round
        for unit in progress_steps(pending, "federated runs", unit="run"):
            run_unit(ctx, unit, on_row=store)
    else:  # one task per unit; its rows are stored when it finishes
        for _, unit_rows in backend.map(run_unit, pending, ctx, place=_place):
            for row in unit_rows:
                store(row)
