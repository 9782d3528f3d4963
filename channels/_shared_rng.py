# SPDX-License-Identifier: Apache-2.0
"""One seedable generator shared by a wrapper and every Sionna block inside it."""

from __future__ import annotations

from functools import cache

import torch
from sionna.phy import Object

from airmodel.channels.base import SeededMixin

__all__ = ["SharedSeedMixin", "make_seedable"]


@cache
def _seeded_class(cls: type) -> type:
    return type(f"Seeded{cls.__name__}", (SeededMixin, cls), {})


def make_seedable(module: torch.nn.Module) -> torch.nn.Module:
    """Give every Sionna block under ``module`` a :class:`SeededMixin` ``torch_rng``.

    Sionna draws from ``self.torch_rng`` in each block (e.g. TDL's Doppler
    draws, CDL's ray coupling, the AWGN inside ``OFDMChannel``). Swapping in a
    subclass that adds :class:`SeededMixin` keeps the object and its state and
    only lets :class:`SharedSeedMixin` point it at a private generator.
    """
    for m in module.modules():
        if isinstance(m, Object) and not isinstance(m, SeededMixin):
            m.__class__ = _seeded_class(type(m))
    return module


class SharedSeedMixin(SeededMixin):
    """``seed(s)`` seeds one generator and hands it to every seedable sub-block.

    All draws then come from one stream in call order, as with Sionna's global
    generator after ``sionna.phy.config.seed = s``.
    """

    def seed(self, seed: int | None) -> None:
        """Reseed this block and its sub-blocks (``None``: Sionna's global RNG)."""
        super().seed(seed)
        for m in self.modules():  # type: ignore[attr-defined]
            if m is not self and isinstance(m, SeededMixin):
                m._generator = self._generator
