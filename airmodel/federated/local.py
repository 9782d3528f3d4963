# SPDX-License-Identifier: Apache-2.0
"""Local training on one device: SGD with momentum, crop (+ flip) augmentation."""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from airmodel.data.info import DatasetInfo
from airmodel.data.transforms import augment, normalize

__all__ = ["local_train", "round_lr"]


def round_lr(lr: float, round_index: int, rounds: int, schedule: str) -> float:
    """Learning rate of round ``round_index`` (0-based) of ``rounds``.

    ``cosine``: ``lr * (1 + cos(pi * t / rounds)) / 2``, held within a round;
    ``constant``: ``lr``.
    """
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return 0.5 * lr * (1.0 + math.cos(math.pi * round_index / rounds))
    raise ValueError(f"`schedule` must be 'cosine' or 'constant'; got {schedule!r}.")


def local_train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    info: DatasetInfo,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    weight_decay: float,
    generator: torch.Generator,
    pad: int,
    flip: bool,
    amp_bf16: bool = False,
) -> float:
    """Train ``model`` in place on one device's images; return the mean batch loss.

    A fresh SGD optimizer (no Nesterov) per call, as in FedAvg. Each epoch
    shuffles with ``generator`` and drops the ragged last batch (a device with
    fewer than ``batch_size`` images trains on one batch of all of them).
    One host sync, at the end.

    :input images: [n, H, W, C] uint8 on the model's device.
    :input labels: [n] int64 on the model's device.
    """
    n = int(labels.shape[0])
    if n == 0:
        return 0.0
    opt = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )
    bs = min(batch_size, n)
    steps = n // bs
    dev = images.device
    amp = (
        torch.autocast(dev.type, dtype=torch.bfloat16)
        if amp_bf16
        else contextlib.nullcontext()
    )
    model.train()
    total = torch.zeros((), device=dev)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(dev)
        for i in range(steps):
            idx = perm[i * bs : (i + 1) * bs]
            xb = normalize(augment(images[idx], generator, pad, flip), info)
            with amp:
                loss = F.cross_entropy(model(xb).float(), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
    return float(total.item()) / (epochs * steps)
