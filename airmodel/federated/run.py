# SPDX-License-Identifier: Apache-2.0
"""``experiment: federated``: read the config, build the parts, sweep, store, plot."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from airmodel import channels
from airmodel.builder import build_data, build_denoiser, build_device
from airmodel.config import ExperimentConfig, to_dict
from airmodel.data import DatasetNotFoundError, load_dataset
from airmodel.data.transforms import default_augmentation
from airmodel.errors import ConfigError
from airmodel.evaluation.plot import plot_accuracy
from airmodel.evaluation.scoring import bf16_is_fast
from airmodel.evaluation.shard import in_shard, shard_dir, shard_label
from airmodel.execution import (
    LocalBackend,
    check_execution,
    driver_device,
    get_backend,
)
from airmodel.federated.loop import federated_run
from airmodel.federated.results import FederatedResults
from airmodel.federated.server import bn_policy_to_payload
from airmodel.federated.split import dirichlet_split, iid_split, paper_split
from airmodel.federated.uplink import OverTheAirUplink
from airmodel.models import get_model, init_weights
from airmodel.plugins import check_denoisers
from airmodel.progress import steps as progress_steps
from airmodel.provenance import provenance
from airmodel.seed import derive_seed, make_generator, point_key
from airmodel.transmitter.payload import flatten

__all__ = [
    "FederatedContext",
    "FederatedUnit",
    "build_split",
    "build_uplink",
    "federated_units",
    "run_federated",
    "run_unit",
]


def build_split(cfg: ExperimentConfig, labels: np.ndarray) -> list[np.ndarray]:
    """Per-device training indices for ``federated.split`` (seeded by ``seed``)."""
    f = cfg.federated
    try:
        if f.split == "paper":
            return paper_split(
                labels, f.num_devices, f.iid_per_device, f.shard_size, cfg.seed
            )
        if f.split == "dirichlet":
            return dirichlet_split(labels, f.num_devices, f.alpha, cfg.seed)
        return iid_split(labels, f.num_devices, cfg.seed)
    except ValueError as err:
        keys = {
            "paper": "federated.iid_per_device / federated.shard_size",
            "dirichlet": "federated.alpha",
            "iid": "federated.num_devices",
        }[f.split]
        raise ConfigError(
            f"config key `{keys}` (split {f.split!r}, {len(labels)} training "
            f"images): {err}"
        ) from err


def build_uplink(cfg: ExperimentConfig, device: torch.device) -> OverTheAirUplink:
    """The over-the-air uplink from ``channel`` and ``transmitter.precision``.

    ``channel.options`` may hold ``power_control: truncated_inversion`` and
    ``inversion_threshold`` (required over fading; default 0.1); the rest go to
    the channel.
    """
    opts = dict(cfg.channel.options)
    pc = opts.pop("power_control", None)
    thr = opts.pop("inversion_threshold", None)
    try:
        ch = channels.get(
            cfg.channel.name,
            precision=cfg.transmitter.precision,
            device=str(device),
            **opts,
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config key `channel`: {err}") from err
    fading = ch.is_fading
    if fading and pc not in (None, "truncated_inversion"):
        raise ConfigError(
            "config key `channel.options.power_control`: over-the-air aggregation "
            "over fading needs aligned devices; use truncated_inversion."
        )
    if not fading and (pc not in (None, "none") or thr is not None):
        raise ConfigError(
            "config key `channel.options`: power_control / inversion_threshold "
            f"apply to fading channels only; drop them for {cfg.channel.name!r}."
        )
    try:
        return OverTheAirUplink(
            ch,
            precision=cfg.transmitter.precision,
            inversion_threshold=(0.1 if thr is None else thr) if fading else None,
            device=device,
        )
    except ValueError as err:
        raise ConfigError(f"config key `channel`: {err}") from err


def _check(cfg: ExperimentConfig) -> None:
    check_denoisers(cfg.receiver.denoisers)
    check_execution(cfg.execution)
    if not cfg.sweep.snr_db:
        raise ConfigError(
            "config key `sweep.snr_db`: give at least one Es/N0 in dB (.inf: no noise)."
        )
    if cfg.transmitter.scheme != "analog":
        raise ConfigError(
            "config key `transmitter.scheme`: over-the-air aggregation is analog; "
            "set scheme: analog."
        )
    if not isinstance(cfg.transmitter.policy, str) or cfg.transmitter.policy != "paper":
        raise ConfigError(
            "config key `transmitter.policy`: federated runs choose the payload with "
            "`federated.bn_policy` (clean | noisy); leave policy at 'paper'."
        )


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
    """What every unit of a federated experiment shares (built once)."""

    cfg: ExperimentConfig
    uplink: OverTheAirUplink
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
    cfg: ExperimentConfig, shard: tuple[int, int] | None = None
) -> list[FederatedUnit]:
    """Every (Es/N0, receiver, run) of ``cfg``, seeded by (run seed, Es/N0 value, run).

    The receiver is not part of the seed: the receivers of one (Es/N0, run)
    start from the same model and see the same device draws and shuffles.
    ``shard=(i, N)`` keeps shard ``i`` of ``N`` (:mod:`airmodel.evaluation.shard`).
    """
    return [
        FederatedUnit(float(snr), den.key, r, federated_seed(cfg.seed, snr, r))
        for snr in cfg.sweep.snr_db
        for den in cfg.receiver.denoisers
        for r in range(cfg.federated.runs)
        if in_shard(shard, snr, den.key, r)
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
    cfg, f = ctx.cfg, ctx.cfg.federated
    den = next(d for d in cfg.receiver.denoisers if d.key == unit.denoiser)
    model = get_model(cfg.model.name, ctx.info.num_classes, ctx.info.in_channels)
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
        amp_bf16=ctx.amp, select=select, lam_grid=cfg.receiver.lam_grid,
        beta_grid=cfg.receiver.beta_grid, validation=ctx.data.validation,
        recalibrate=recal, recalibrate_batch=cfg.evaluation.batch_size, on_row=emit,
    )  # fmt: skip
    return rows


def _place(ctx: FederatedContext, device: torch.device) -> FederatedContext:
    """``ctx`` on ``device`` (a Ray GPU worker's): uplink, training and test data."""
    return replace(
        ctx,
        uplink=build_uplink(ctx.cfg, device),
        data=replace(
            ctx.data,
            test=ctx.data.test.to(device),
            validation=ctx.data.validation.to(device),
        ),
        images=ctx.images.to(device),
        labels=ctx.labels.to(device),
    )


def run_federated(
    cfg: ExperimentConfig,
    progress: bool = True,
    shard: tuple[int, int] | None = None,
) -> Path:
    """Run every (Es/N0, denoiser, run) of ``cfg`` not yet stored; return the folder.

    The model is trained from scratch (``model.checkpoint``/``model.train`` are
    not used). The receivers of one (Es/N0, run) share its seed
    (:func:`federated_units`): same initial model, device draws, local
    shuffles and channel seeds. ``shard=(i, N)`` runs shard ``i`` of ``N``
    into ``out_dir/shard-i-of-N``.
    """
    if shard is not None:
        cfg = replace(cfg, out_dir=str(shard_dir(cfg.results_dir, shard)))
    _check(cfg)
    f = cfg.federated
    if cfg.evaluation.threads:
        torch.set_num_threads(cfg.evaluation.threads)
    device = driver_device(cfg.execution, build_device(cfg))
    uplink = build_uplink(cfg, device)
    data = build_data(cfg, device)
    d = cfg.data
    try:
        x_tr, y_tr, info = load_dataset(
            d.dataset, d.root, "train", download=d.download, cache_dir=d.cache_dir
        )
    except DatasetNotFoundError as err:
        raise ConfigError(f"config key `data.root`: {err}") from err
    parts = build_split(cfg, y_tr)
    images = torch.from_numpy(x_tr).to(device)
    labels = torch.from_numpy(y_tr).to(device)
    pad, flip = default_augmentation(info)
    amp = bf16_is_fast(device) if f.amp_bf16 is None else f.amp_bf16
    policy = bn_policy_to_payload(f.bn_policy)
    try:
        probe = get_model(cfg.model.name, info.num_classes, info.in_channels)
    except ValueError as err:
        raise ConfigError(f"config key `model.name`: {err}") from err
    _, spec = flatten(probe.state_dict(), policy)
    if cfg.transmitter.allocation != "uniform":
        raise ConfigError(
            "config key `transmitter.allocation`: per-tensor power allocation applies "
            "to inference runs only; use `uniform` for federated experiments."
        )
    for den in cfg.receiver.denoisers:
        post = den.adapt is not None or den.views > 1
        if den.select not in ("fixed", "validation", "oracle") or post:
            raise ConfigError(
                f"config key `receiver.denoisers` entry {den.key!r}: the federated "
                "server supports select fixed|validation|oracle (and `recalibrate`) "
                "without `adapt` or `views`; remove them for this experiment."
            )
        if den.recalibrate and den.select != "fixed":
            raise ConfigError(
                f"config key `receiver.denoisers` entry {den.key!r}: `recalibrate` "
                "(batch-norm statistics re-estimated after each round) applies to "
                "select: fixed receivers only in federated runs; drop one of them."
            )

    folder = FederatedResults(cfg.results_dir, to_dict(cfg), shard=shard_label(shard))
    with folder:
        folder.set_meta(
            provenance=provenance(cfg.seed, device),
            model={
                "name": cfg.model.name,
                "num_air": spec.num_air,
                "numel": spec.numel,
            },
            complex_symbols_per_round=math.ceil(spec.num_air / 2),
            device_images=[len(p) for p in parts],
            device_labels=[
                np.bincount(y_tr[p], minlength=info.num_classes).tolist() for p in parts
            ],
            test_images=len(data.test),
            validation_images=len(data.validation),
            amp_bf16=amp,
            snr_convention=(
                "snr_db is Es/N0 of the aligned over-the-air sum (unit-energy symbols, "
                "two weights per complex symbol): noise per real weight = mean(sum^2) / "
                "10^(snr_db/10) (/c under truncated inversion)"
            ),
        )
        folder.add_provenance(folder.meta["provenance"])

        ctx = FederatedContext(
            cfg, uplink, data, parts, images, labels, info, pad, flip, amp, policy
        )
        pending = []
        for unit in federated_units(cfg, shard):
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

        with get_backend(cfg.execution) as backend:
            if isinstance(backend, LocalBackend):  # rows stored round by round
                for unit in progress_steps(pending, "federated runs", unit="run"):
                    run_unit(ctx, unit, on_row=store)
            else:  # one task per unit; its rows are stored when it finishes
                for _, unit_rows in backend.map(run_unit, pending, ctx, place=_place):
                    for row in unit_rows:
                        store(row)
        plot_accuracy(
            folder.rows,
            cfg.results_dir / "accuracy_vs_round.png",
            title=(
                f"FEEL {cfg.model.name} on {cfg.data.dataset}: {f.num_devices} devices, "
                f"{f.active} active, split {f.split}, {cfg.channel.name}\nmean ± std over "
                f"{f.runs} run(s); dB = Es/N0 of the summed signal per complex symbol"
            ),
            x="round",
            curve="denoiser",
            dash="snr_db",  # colour = receiver, line style = SNR
            dash_unit=" dB",
            xlabel="communication round",
        )
    return cfg.results_dir
