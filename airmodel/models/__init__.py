"""Model registry: CIFAR-style ResNets chosen by name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

__all__ = ["get_model", "init_weights", "list_models", "register_model"]

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable]:
    """Register a model builder ``fn(num_classes, in_channels) -> nn.Module``."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _MODELS:
            raise ValueError(
                f"Model name {name!r} is already registered; pick another name."
            )
        _MODELS[name] = fn
        return fn

    return deco


def list_models() -> list[str]:
    """Return the registered model names, sorted."""
    return sorted(_MODELS)


def get_model(name: str, num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """Build the model registered as ``name``.

    :param name: Registered name, e.g. ``"resnet20"``.
    :param num_classes: Number of output logits.
    :param in_channels: Number of image channels (3 for CIFAR, 1 for digits).
    :output model: A freshly initialised ``nn.Module``.
    """
    if name not in _MODELS:
        raise ValueError(
            f"`model` must be one of {tuple(list_models())}; got {name!r}."
        )
    return _MODELS[name](num_classes=num_classes, in_channels=in_channels)


from airmodel.models.resnet_cifar import init_weights  # noqa: E402
