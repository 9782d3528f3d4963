# SPDX-License-Identifier: Apache-2.0
"""Seedable Sionna blocks: one generator per block, reset through ``seed()``."""

from __future__ import annotations

import torch

from airmodel.devices import sionna_device
from airmodel.seed import make_generator

__all__ = ["SeededMixin", "block_device", "scalar_no"]


def block_device(device: str | torch.device | None) -> str | None:
    """Torch's spelling (``"cuda"``, ``torch.device``) as Sionna takes it
    (``"cuda:0"``: Sionna refuses ``"cuda"``); ``None`` stays Sionna's default."""
    return None if device is None else sionna_device(device)


def scalar_no(no, dtype: torch.dtype, device, channel: str) -> torch.Tensor:
    """``no`` as a 0-d tensor of the block's dtype and device; anything else is refused
    (``channel`` names the block in the message)."""
    no = torch.as_tensor(no, dtype=dtype, device=device)
    if no.dim() != 0:
        raise ValueError(f"`no` must be a scalar for {channel}; got shape {list(no.shape)}.")
    return no


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
