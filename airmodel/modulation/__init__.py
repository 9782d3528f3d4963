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
from airmodel.protocols import Scheme
from airmodel.registry import Registry

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

#: Transmission schemes by name (what ``Link(scheme=...)`` plugs in); plugins
#: register under the entry-point group ``airmodel.schemes``. ``precision`` and
#: ``device`` are the run's (context), not scheme options.
SCHEMES: Registry[Scheme] = Registry(
    "scheme", "airmodel.schemes", context=("precision", "device")
)
SCHEMES.add("analog", AnalogScheme)
SCHEMES.add("digital", DigitalScheme)


def list_schemes() -> list[str]:
    """Registered scheme names (plugins included)."""
    return SCHEMES.names()


def get_scheme(name: str, **kwargs: Any) -> Scheme:
    """Build a scheme by name, e.g. ``get_scheme("digital", source="q8", code_rate=0.5)``.

    ``precision`` and ``device`` go to schemes that take them; any other
    keyword must be one of the scheme's options.
    """
    context = {k: kwargs.pop(k) for k in ("precision", "device") if k in kwargs}
    return SCHEMES.build(name, kwargs, **context)
