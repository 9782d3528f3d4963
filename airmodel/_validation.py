# SPDX-License-Identifier: Apache-2.0
"""Small argument checks with uniform, actionable error messages."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from numbers import Real
from typing import Any

import torch

from airmodel.errors import UserError

__all__ = [
    "MIN_ESNO_DB",
    "check_esno_db",
    "check_finite",
    "check_finite_tensors",
    "check_nonnegative",
    "check_one_of",
    "check_positive_int",
    "ranged",
]

#: Lowest Es/N0 [dB] a link accepts. Below about -300 dB the noise overflows
#: float32 (NaN rows); at -100 dB the noise is 10^10 times the signal, and a
#: rebuilt model is pure noise from about -10 dB on, so nothing is lost.
MIN_ESNO_DB = -100.0


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
            "airmodel.channels.snr_db_to_no(snr_db)."
        )


def check_esno_db(name: str, value: Any) -> float:
    """Return ``value`` as a float Es/N0 [dB] in ``[MIN_ESNO_DB, inf]``, or raise."""
    value = check_finite(name, value, allow_inf=True)
    if value < MIN_ESNO_DB:
        raise UserError(
            f"`{name}` = {value:g} dB is below {MIN_ESNO_DB:g} dB: the noise would be "
            f"10^{-value / 10:.0f} times the signal and overflow to NaN. Use a value "
            f">= {MIN_ESNO_DB:g} dB (a model is pure noise from about -10 dB on)."
        )
    return value


def check_finite_tensors(tensors: Any, what: str = "state dict") -> None:
    """Raise :class:`UserError` naming each tensor with NaN/inf entries and their count.

    :param tensors: a mapping name -> tensor; non-floating entries are skipped.
    """
    bad = {}
    for k, v in tensors.items():
        if isinstance(v, torch.Tensor) and (v.is_floating_point() or v.is_complex()):
            n = int((~torch.isfinite(v)).sum())
            if n:
                bad[k] = (n, v.numel())
    if bad:
        shown = ", ".join(f"{k} {n} of {m}" for k, (n, m) in list(bad.items())[:8])
        more = f", and {len(bad) - 8} more tensors" if len(bad) > 8 else ""
        raise UserError(
            f"The {what} has non-finite (NaN/inf) entries: {shown}{more}. They would "
            "turn every rebuilt weight into NaN. Retrain (a lower learning rate "
            "avoids divergence) or restore the file from a copy."
        )


def ranged(default: Any, lo: float, hi: float) -> Any:
    """A dataclass field with ``default`` whose value must lie in ``[lo, hi]``: the
    config converter refuses others, naming the range; the JSON Schema states it."""
    return dataclasses.field(default=default, metadata={"range": (lo, hi)})
