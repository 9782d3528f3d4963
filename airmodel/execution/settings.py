# SPDX-License-Identifier: Apache-2.0
"""Where a run's trials execute: the settings a backend is chosen and built from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from airmodel._validation import ranged

__all__ = ["ExecutionSettings"]


@dataclass(frozen=True)
class ExecutionSettings:
    """Where trials run (``airmodel/execution``); results do not depend on it.

    ``backend: local`` runs trials one after another in this process; ``ray``
    runs one task per (Es/N0, draw) trial (federated: per Es/N0, receiver,
    run) on a Ray cluster (``pip install airmodel[ray]``). ``address``:
    ``local`` starts a private cluster on this machine, ``auto`` joins the one
    ``ray start --head`` started, ``ray://host:port`` a remote one. Each task
    reserves ``cpus_per_trial`` CPUs (its torch thread count) and
    ``gpus_per_trial`` GPUs (> 0: it scores on the GPU Ray assigned it); a task
    whose worker dies is retried ``max_retries`` times. ``cells_per_pass``: grid
    cells of MMSE_pb's selection scored per forward pass (stacked weights,
    ``torch.func.vmap``); ``null`` = 1 on the CPU (the fused one-by-one scorer
    is faster there, benchmarks/selection_batched.py), 16 on a GPU.
    """

    backend: Literal["local", "ray"] = "local"
    address: str = "local"
    cpus_per_trial: int = ranged(1, 1, 1024)
    gpus_per_trial: float = ranged(0.0, 0.0, 1024.0)
    max_retries: int = ranged(3, 0, 1000)
    cells_per_pass: int | None = ranged(None, 1, 4096)
