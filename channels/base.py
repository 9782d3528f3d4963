# SPDX-License-Identifier: Apache-2.0
"""Seedable Sionna blocks: one generator per block, reset through ``seed()``."""

from __future__ import annotations

import torch

from airmodel.devices import sionna_device
from airmodel.seed import make_generator

__all__ = ["SeededMixin", "block_device"]


def block_device(device: str | torch.device | None) -> str | None:
    """Torch's spelling (``"cuda"``, ``torch.device``) as Sionna takes it
    (``"cuda:0"``: Sionna refuses ``"cuda"``); ``None`` stays Sionna's default."""
    return None if device is None else sionna_device(device)


class SeededMixin:
    """Make a Sionna block draw from its own generator once ``seed()`` is called.

    Sionna's blocks draw from ``self.torch_rng`` (the global generator of
    ``sionna.phy.config``). After ``block.seed(s)`` they draw from a private
    generator for the stream ``"channel"`` of ``s`` instead
    (:func:`~airmodel.seed.make_generator`: never the stream of a user's
    ``torch.manual_seed(s)``), which is what
    ``sionna.phy.config.seed = stream_seed(s, "channel")`` would give on the
    CPU, without touching global state.
    """

    _generator: torch.Generator | None = None

    def __init__(self, *args, **kwargs) -> None:
        if "device" in kwargs:
            kwargs["device"] = block_device(kwargs["device"])
        super().__init__(*args, **kwargs)

    def seed(self, seed: int | None) -> None:
        """Reseed this block (``None`` returns it to Sionna's global RNG)."""
        self._generator = None if seed is None else make_generator(seed, self.device, purpose="channel")

    @property
    def torch_rng(self) -> torch.Generator:  # noqa: D102
        if self._generator is not None:
            return self._generator
        return super().torch_rng  # type: ignore[misc]
