"""Model registry: CIFAR-style ResNets chosen by name, or the user's own factory."""

from __future__ import annotations

from airmodel.models import shufflenet as _shufflenet  # noqa: F401 (registers)
from airmodel.models import transformer as _transformer  # noqa: F401 (registers)
from airmodel.models.registry import (
    MODELS,
    get_model,
    import_factory,
    list_models,
    register_model,
)
from airmodel.models.resnet_cifar import init_weights

__all__ = [
    "MODELS",
    "get_model",
    "import_factory",
    "init_weights",
    "list_models",
    "register_model",
]
