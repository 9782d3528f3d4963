# SPDX-License-Identifier: Apache-2.0
"""One federated run: rounds of local training, over-the-air uplink, server update."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from airmodel import progress
from airmodel.data.info import DatasetInfo
from airmodel.evaluation.scoring import Scorer
from airmodel.federated.local import local_train, round_lr
from airmodel.federated.server import aggregate, model_delta
from airmodel.federated.uplink import OverTheAirUplink
from airmodel.receiver.bn_recalibration import recalibrate_bn
from airmodel.receiver.denoiser import PAPER_BETA_GRID, PAPER_LAM_GRID, Denoiser
from airmodel.seed import make_generator, numpy_rng
from airmodel.seed import mix_seed as derive_seed
from airmodel.transmitter.payload import flatten, unflatten

__all__ = ["derive_seed", "federated_run"]


def federated_run(
    model: nn.Module,
    parts: Sequence[np.ndarray],
    images: torch.Tensor,
    labels: torch.Tensor,
    info: DatasetInfo,
    uplink: OverTheAirUplink,
    denoiser: Denoiser,
    test: Scorer,
    *,
    snr_db: float,
    active: int,
    rounds: int,
    local_epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    schedule: str = "cosine",
    eval_every: int = 5,
    divergence_loss: float = 20.0,
    policy: str = "paper",
    seed: int = 0,
    pad: int = 4,
    flip: bool = True,
    amp_bf16: bool = False,
    select: Scorer | None = None,
    lam_grid: Sequence[float] = PAPER_LAM_GRID,
    beta_grid: Sequence[float] = PAPER_BETA_GRID,
    validation: Scorer | None = None,
    recalibrate: torch.Tensor | None = None,
    recalibrate_batch: int = 500,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` (the initial global model, left unchanged) federatedly.

    Per round ``t`` (1-based): ``active`` devices are drawn without
    replacement (generator seeded by ``(seed, 1)``); each trains
    ``local_epochs`` from the global weights (augmentation and shuffles from
    one generator seeded by ``(seed, 2)``); the deltas go through ``uplink``
    (channel seeded by ``(seed, 3, t)``, noise drawn now, never in advance);
    :func:`~airmodel.federated.server.aggregate` denoises with ``denoiser``
    (selecting MMSE_pb's (lam, beta) on ``select`` if given) and updates the
    global model. A round whose mean local loss is not finite or exceeds
    ``divergence_loss`` ends the run with a ``diverged`` row carrying the last
    test accuracy. Test accuracy every ``eval_every`` rounds and at the last
    (and ``val_accuracy`` on ``validation`` if given: it picks among runs
    without looking at the test set). With ``recalibrate`` (normalized
    unlabelled images [N, C, H, W]) the server re-estimates the global model's
    batch-norm statistics on them after every round's update
    (:func:`~airmodel.receiver.bn_recalibration.recalibrate_bn`).

    :param parts: per-device training indices (``airmodel.federated.split``).
    :param images: [N, H, W, C] uint8 training images on the model's device.
    :param on_row: called with each row as it is made (e.g. to store it).
    :output rows: one dict per evaluated round; the last has ``last=True``.
    """
    work = copy.deepcopy(model)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    global_vec, spec = flatten(sd, policy)
    global_vec = global_vec.to(images.device)
    pick = numpy_rng(derive_seed(seed, 1), "clients")
    gen = make_generator(derive_seed(seed, 2), purpose="local_training")
    idx = [torch.as_tensor(p, dtype=torch.int64, device=images.device) for p in parts]
    rows: list[dict[str, Any]] = []
    last_acc = test.accuracy_of(unflatten(global_vec, spec), work)
    peak = last_acc
    t0 = time.perf_counter()

    def emit(row: dict[str, Any]) -> None:
        nonlocal t0
        row["seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows.append(row)
        if on_row is not None:
            on_row(row)

    bar = progress.bar(rounds, f"federated rounds ({snr_db:g} dB)", "round")
    for t in range(1, rounds + 1):
        bar.update(1)
        lr_t = round_lr(lr, t - 1, rounds, schedule)
        chosen = sorted(pick.choice(len(parts), size=active, replace=False).tolist())
        rnd = uplink.round(snr_db, derive_seed(seed, 3, t))
        off_sum = torch.zeros_like(global_vec[spec.num_air :])
        losses = []
        for k in progress.steps(chosen, f"round {t}: local training", unit="device"):
            work.load_state_dict(unflatten(global_vec, spec))
            losses.append(
                local_train(
                    work, images[idx[k]], labels[idx[k]], info,
                    epochs=local_epochs, batch_size=batch_size, lr=lr_t,
                    momentum=momentum, weight_decay=weight_decay, generator=gen,
                    pad=pad, flip=flip, amp_bf16=amp_bf16,
                )
            )  # fmt: skip
            delta = model_delta(work.state_dict(), global_vec, spec)
            rnd.add(delta[: spec.num_air])
            off_sum += delta[spec.num_air :]
        loss = float(np.mean(losses))
        base = {"round": t, "lr": lr_t, "train_loss": loss}
        if not math.isfinite(loss) or loss > divergence_loss:
            emit({**base, "accuracy": last_acc, "peak_accuracy": peak,
                  "diverged": True, "last": True})  # fmt: skip
            bar.close()
            return rows
        rx = rnd.receive()
        score = None
        if select is not None:

            def score(vec: torch.Tensor) -> float:
                return select.accuracy_of(unflatten(vec, spec), work)

        upd = aggregate(
            global_vec, spec, rx, off_sum, len(chosen), denoiser, score,
            lam_grid, beta_grid,
        )  # fmt: skip
        global_vec = upd.vector
        if recalibrate is not None:
            work.load_state_dict(unflatten(global_vec, spec))
            recalibrate_bn(work, recalibrate, recalibrate_batch)
            global_vec = flatten(work.state_dict(), like=spec)[0].to(global_vec)
        if t % eval_every and t != rounds:
            continue
        last_acc = test.accuracy_of(unflatten(global_vec, spec), work)
        peak = max(peak, last_acc)
        val = {}
        if validation is not None:
            val["val_accuracy"] = validation.accuracy_of(
                unflatten(global_vec, spec), work
            )
        emit({
            **base, "accuracy": last_acc, "peak_accuracy": peak,
            "diverged": False, "last": t == rounds,
            "wnr_db": upd.wnr_db, "weight_mse": upd.weight_mse,
            "noise_var": rx.info["noise_var"], "signal_power": rx.info["signal_power"],
            "skipped_fraction": rx.info.get("skipped_fraction", 0.0),
            "lam": upd.lam, "beta": upd.beta, "evaluations": upd.evaluations,
            **val,
        })  # fmt: skip
    bar.close()
    return rows
