# SPDX-License-Identifier: Apache-2.0
"""Modulation: weights to channel symbols and back."""

from __future__ import annotations

from typing import Any

from airmodel.modulation.analog import (
    AnalogDemodulator,
    AnalogModulator,
    AnalogScheme,
    AnalogSideInfo,
)
from airmodel.modulation.digital import DigitalScheme, DigitalSideInfo

__all__ = [
    "AnalogDemodulator",
    "AnalogModulator",
    "AnalogScheme",
    "AnalogSideInfo",
    "DigitalScheme",
    "DigitalSideInfo",
    "SCHEMES",
    "get_scheme",
    "list_schemes",
]

#: Transmission schemes by name (what ``Link(scheme=...)`` plugs in).
SCHEMES: dict[str, type] = {"analog": AnalogScheme, "digital": DigitalScheme}


def list_schemes() -> list[str]:
    """Registered scheme names."""
    return sorted(SCHEMES)


def get_scheme(name: str, **kwargs: Any) -> AnalogScheme | DigitalScheme:
    """Build a scheme by name, e.g. ``get_scheme("digital", source="q8", code_rate=0.5)``."""
    if name not in SCHEMES:
        raise ValueError(
            f"`name` must be one of {tuple(list_schemes())}; got {name!r}. "
            "Register a new scheme by adding it to airmodel.modulation.SCHEMES."
        )
    return SCHEMES[name](**kwargs)
