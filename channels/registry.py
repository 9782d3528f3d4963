# SPDX-License-Identifier: Apache-2.0
"""Channel registry: ``@register_channel(name)``, ``get(name, **kwargs)``, ``list_channels()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["register_channel", "get", "list_channels"]

_CHANNELS: dict[str, Callable[..., Any]] = {}


def register_channel(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class decorator registering a channel under ``name``."""

    def wrap(cls: Callable[..., Any]) -> Callable[..., Any]:
        if name in _CHANNELS:
            raise ValueError(f"A channel named {name!r} is already registered.")
        _CHANNELS[name] = cls
        return cls

    return wrap


def get(name: str, **kwargs: Any) -> Any:
    """Build the channel registered as ``name`` with ``kwargs``."""
    if name not in _CHANNELS:
        raise ValueError(f"Unknown channel {name!r}; choose one of {list_channels()}.")
    return _CHANNELS[name](**kwargs)


def list_channels() -> list[str]:
    """Sorted names of all registered channels."""
    return sorted(_CHANNELS)
