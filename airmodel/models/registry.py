# SPDX-License-Identifier: Apache-2.0
"""Model registry: builders by name, or any ``package.module:factory``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from airmodel.registry import Registry, RegistryError

__all__ = [
    "MODELS",
    "check_model",
    "get_model",
    "list_models",
    "register_model",
    "import_factory",
]

#: Models by name; plugins register under the entry-point group ``airmodel.models``.
#: ``num_classes`` and ``in_channels`` come from the dataset (context).
MODELS: Registry[nn.Module] = Registry(
    "model", "airmodel.models", context=("num_classes", "in_channels")
)


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable]:
    """Register a model builder ``fn(num_classes, in_channels, **options) -> nn.Module``."""
    return MODELS.register(name)


def list_models() -> list[str]:
    """Return the registered model names, sorted."""
    return MODELS.names()


def import_factory(spec: str) -> Callable[..., nn.Module]:
    """The callable named by ``"package.module:factory"`` (``factory`` may be dotted)."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RegistryError(
            f"model {spec!r}: expected a registered name ({list_models()}) or "
            "'package.module:factory'."
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise RegistryError(
            f"model {spec!r}: cannot import it ({err}). Check the module is on the "
            "Python path and the factory name is right."
        ) from err
    if not callable(obj):
        raise RegistryError(f"model {spec!r}: {attr!r} is not callable.")
    return obj


def check_model(name: str, options: Mapping[str, Any] | None = None) -> None:
    """Raise :class:`RegistryError` for an unknown model or option (builds nothing)."""
    if ":" in name:
        reg: Registry[nn.Module] = Registry(
            "model", "", context=("num_classes", "in_channels")
        )
        reg.add(name, import_factory(name))
        reg.check(name, options or {})
    else:
        MODELS.check(name, options or {})


def get_model(
    name: str,
    num_classes: int = 10,
    in_channels: int = 3,
    options: Mapping[str, Any] | None = None,
) -> nn.Module:
    """Build the model registered as ``name`` (or a ``package.module:factory``).

    :param name: Registered name, e.g. ``"resnet20"``, or ``"pkg.mod:factory"``.
    :param num_classes: Number of output logits (passed if the builder takes it).
    :param in_channels: Number of image channels (passed if the builder takes it).
    :param options: The builder's own keyword options (checked against its signature).
    :output model: A freshly initialised ``nn.Module``.
    """
    context = {"num_classes": num_classes, "in_channels": in_channels}
    if ":" in name:
        reg: Registry[nn.Module] = Registry("model", "", context=tuple(context))
        reg.add(name, import_factory(name))
        model = reg.build(name, options, **context)
    else:
        model = MODELS.build(name, options, **context)
    if not isinstance(model, nn.Module):
        raise RegistryError(
            f"model {name!r} returned {type(model).__name__}, not a torch.nn.Module."
        )
    return model
