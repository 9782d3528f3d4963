# SPDX-License-Identifier: Apache-2.0
"""Typed interfaces of the blocks the Link plugs together (no implementations).

The lowest layer of the package: it imports nothing of airmodel at run time,
so transmitter, modulation, channels and receiver can all name these types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:
    from airmodel.receiver.receiver import Reception

__all__ = ["Channel", "FlatFadingChannel", "Scheme", "BitScheme"]


@runtime_checkable
class Channel(Protocol):
    """A channel block (docs/conventions.md, "Fading", calling convention).

    ``is_fading`` False: ``y = channel(x, no)``. True: ``channel(x, no)``
    returns ``(y, h_hat, err_var)``, the received symbols and the receiver's CSI.

    :input x: [num_symbols], complex. Unit-energy symbols.
    :input no: noise variance per complex symbol.
    """

    is_fading: bool
    #: Where the block computes (Sionna blocks: ``"cpu"``, ``"cuda:0"``).
    device: Any

    def seed(self, seed: int | None) -> None:
        """Seed the channel's own generator (``None``: unseeded)."""

    def __call__(self, x: torch.Tensor, no: float | torch.Tensor) -> Any: ...


@runtime_checkable
class FlatFadingChannel(Channel, Protocol):
    """A flat fading channel split into ``h = generate(shape)`` and ``apply(x, h, no)``."""

    def generate(self, shape: Any) -> torch.Tensor: ...

    def apply(
        self, x: torch.Tensor, h: torch.Tensor, no: float | torch.Tensor
    ) -> torch.Tensor: ...


@runtime_checkable
class Scheme(Protocol):
    """A transmission scheme: weights to symbols and back.

    ``modulate(w, power=..., spec=...) -> (x, side)`` (``spec`` only when
    ``uses_spec``) and ``receive(y, no_eff, side, seed=...) -> Reception``.
    """

    #: Complex channel uses per transmitted weight.
    channel_uses_per_weight: float
    #: ``modulate`` takes the payload spec (per-tensor quantization).
    uses_spec: bool

    def modulate(
        self, w: torch.Tensor, power: float | None = None, **kwargs: Any
    ) -> tuple[torch.Tensor, Any]: ...

    def receive(
        self,
        y: torch.Tensor,
        no: float | torch.Tensor,
        side: Any,
        seed: int | None = None,
    ) -> Reception: ...


class BitScheme(Protocol):
    """What the digital receiver reads of its scheme: code and mapping blocks."""

    k: int
    n: int
    m: int
    chunk_bits: int
    encoder: Any
    decoder: Any
    demapper: Any
