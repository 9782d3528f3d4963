# SPDX-License-Identifier: Apache-2.0
"""Small argument checks with uniform, actionable error messages."""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import torch

__all__ = ["check_finite", "check_one_of", "check_positive_int", "check_nonnegative"]


def check_finite(name: str, value: Any, *, allow_inf: bool = False) -> float:
    """Return ``value`` as a float, or raise naming ``name`` and the fix."""
    if isinstance(value, bool) or not isinstance(value, Real | torch.Tensor):
        raise TypeError(
            f"`{name}` must be a number (e.g. {name}=10.0); got {value!r} "
            f"of type {type(value).__name__}."
        )
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        hint = " Use float('inf') only for a noise-free link." if not allow_inf else ""
        raise ValueError(f"`{name}` must be a finite number; got {value}.{hint}")
    return value


def check_one_of(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}; got {value!r}.")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """Raise unless ``value`` is an ``int`` >= 1 (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int; got {value!r}.")
    if value < 1:
        raise ValueError(f"`{name}` must be >= 1; got {value}.")
    return value


def check_nonnegative(name: str, value: torch.Tensor | float) -> None:
    """Raise if any entry of ``value`` is negative or NaN (a noise variance)."""
    t = torch.as_tensor(value)
    if t.numel() and not bool(torch.all(t >= 0)):
        raise ValueError(
            f"`{name}` must be a non-negative noise variance; got a minimum of "
            f"{t.min().item():.3g}. Compute it from an SNR in dB with "
            "channels.snr_db_to_no(snr_db)."
        )
