# SPDX-License-Identifier: Apache-2.0
"""Model registry: builders by name, or any ``package.module:factory``."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from airmodel.imports import ImportNotAllowed, import_allowed
from airmodel.registry import Registry, RegistryError

__all__ = [
    "MODELS",
    "check_model",
    "get_model",
    "list_models",
    "register_model",
    "declared",
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
    """The callable named by ``"package.module:factory"`` (``factory`` may be dotted).

    The module is imported only if the user allowed it
    (:mod:`airmodel.imports`: ``--allow-import``, ``AIRMODEL_ALLOW_IMPORT``);
    it is found on ``sys.path``, in the config file's folder and in the
    working directory.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise RegistryError(
            f"model {spec!r}: expected a registered name ({list_models()}) or "
            "'package.module:factory'."
        )
    obj: Any = import_allowed(module_name, f"model {spec!r}")
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        where = getattr(sys.modules.get(module_name), "__file__", module_name)
        raise RegistryError(
            f"model {spec!r}: {where} has no {attr!r}; check the factory's name."
        ) from None
    if not callable(obj):
        raise RegistryError(f"model {spec!r}: {attr!r} is not callable.")
    return obj


def declared(factory: Callable[..., Any]) -> set[str]:
    """Parameter names ``factory``'s signature names (not what ``**kwargs`` may take)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {
        p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


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
    try:
        if ":" in name:
            factory = import_factory(name)
            # A factory gets num_classes / in_channels only if its signature names
            # them: a torchvision/timm-style ``build(**kwargs)`` takes them from
            # ``model.options`` (e.g. {num_classes: 10}) or not at all.
            context = {k: v for k, v in context.items() if k in declared(factory)}
            reg: Registry[nn.Module] = Registry("model", "", context=tuple(context))
            reg.add(name, factory)
            model = reg.build(name, options, **context)
        else:
            model = MODELS.build(name, options, **context)
    except (ImportNotAllowed, RegistryError):
        raise
    except Exception as err:  # the factory's own error, named as the factory's
        given = {**context, **dict(options or {})}
        raise RegistryError(
            f"model factory {name!r} failed when called with {given}: "
            f"{type(err).__name__}: {err}. Fix the factory or `model.options`."
        ) from err
    if not isinstance(model, nn.Module):
        raise RegistryError(
            f"model {name!r} returned {type(model).__name__}, not a torch.nn.Module."
        )
    return model
