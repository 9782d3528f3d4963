# SPDX-License-Identifier: Apache-2.0
"""Channel registry: ``@register_channel(name)``, ``get(name, **kwargs)``, ``list_channels()``.

An :class:`airmodel.registry.Registry`; plugins register under the
entry-point group ``airmodel.channels``. ``precision`` and ``device`` are
the run's (context), not channel options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from airmodel.registry import Registry

__all__ = ["CHANNELS", "register_channel", "get", "list_channels"]

CHANNELS: Registry[Any] = Registry(
    "channel", "airmodel.channels", context=("precision", "device")
)


def register_channel(
    name: str, options: Iterable[str] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Class decorator registering a channel under ``name``."""
    return CHANNELS.register(name, options=options)


def get(name: str, **kwargs: Any) -> Any:
    """Build the channel registered as ``name`` with ``kwargs``."""
    context = {k: kwargs.pop(k) for k in ("precision", "device") if k in kwargs}
    return CHANNELS.build(name, kwargs, **context)


def list_channels() -> list[str]:
    """Sorted names of all registered channels."""
    return CHANNELS.names()
