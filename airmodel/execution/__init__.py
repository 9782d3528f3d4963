# SPDX-License-Identifier: Apache-2.0
"""Execution backends: where a run's trials execute (``execution`` config section).

The sweep and federated drivers hand a backend one function, the trials and
what they share; the backend returns ``(trial, result)`` pairs as trials
finish. Results never depend on the backend (docs/cluster.md says what is
equal); the driver alone writes the results folder.
"""

from __future__ import annotations

import importlib.util

import torch

from airmodel.errors import ConfigError
from airmodel.execution.base import RAY_MISSING, Backend
from airmodel.execution.local import LocalBackend
from airmodel.execution.settings import ExecutionSettings

#: The one line a run or dry run gives when ``backend: ray`` lacks Ray.

__all__ = [
    "Backend",
    "LocalBackend",
    "RAY_MISSING",
    "ExecutionSettings",
    "check_execution",
    "driver_device",
    "get_backend",
]


def check_execution(ex: ExecutionSettings) -> None:
    """Validate ``execution`` without starting anything (one line per problem)."""
    if ex.address not in ("local", "auto") and not ex.address.startswith("ray://"):
        raise ConfigError(
            f"config key `execution.address`: {ex.address!r} is not an address; use "
            "local (a private cluster on this machine), auto (the cluster `ray start "
            "--head` started) or ray://HOST:PORT."
        )
    if ex.backend == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError(RAY_MISSING)
    if ex.backend == "local" and ex.gpus_per_trial:
        raise ConfigError(
            "config key `execution.gpus_per_trial`: applies to backend ray only; "
            "with backend local set evaluation.device instead."
        )


def driver_device(ex: ExecutionSettings, device: torch.device) -> torch.device:
    """Where the driver builds what trials share: ``device``, or the CPU for Ray.

    Ray workers receive the shared context through the object store, which
    needs CPU tensors; a worker given a GPU (``gpus_per_trial``) moves it there.
    """
    return torch.device("cpu") if ex.backend == "ray" else device


def get_backend(ex: ExecutionSettings) -> Backend:
    """The backend ``ex`` names (``ray`` needs the ``airmodel[ray]`` extra)."""
    check_execution(ex)
    if ex.backend == "local":
        return LocalBackend()
    from airmodel.execution.ray import RayBackend

    return RayBackend(
        address=ex.address,
        cpus_per_trial=ex.cpus_per_trial,
        gpus_per_trial=ex.gpus_per_trial,
        max_retries=ex.max_retries,
    )
