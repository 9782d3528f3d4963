# SPDX-License-Identifier: Apache-2.0
"""Seeded random symbol interleaver: spreads a deep fade over the whole payload."""

from __future__ import annotations

import torch

from airmodel.seed import make_generator

__all__ = ["Interleaver"]


class Interleaver:
    """Random permutation of the last axis, fixed by ``seed`` (no side information).

    Transmitter and receiver build the same permutation from the seed and the
    length, so nothing is sent besides the symbols. Block fading then hits
    weights scattered over all layers instead of a run of neighbours.

    :param seed: Seed of the permutation (the same at both ends).

    :input x: [..., num_symbols]. Symbols (or any tensor) to permute.
    :output x_pi: [..., num_symbols]. ``x[..., perm]``.

    .. rubric:: Examples

    >>> pi = Interleaver(seed=0); x = torch.arange(6.)
    >>> torch.equal(pi.deinterleave(pi(x)), x)
    True
    """

    def __init__(self, seed: int = 0) -> None:
        make_generator(seed)  # validates the seed
        self.seed = seed
        self._cache: tuple[int, torch.Tensor, torch.Tensor] | None = None

    def permutation(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(perm, inverse)`` of length ``n``; ``inverse[perm] = arange(n)``."""
        if self._cache is None or self._cache[0] != n:
            perm = torch.randperm(n, generator=make_generator(self.seed, purpose="interleaver"))
            inverse = torch.empty_like(perm)
            inverse[perm] = torch.arange(n)
            self._cache = (n, perm, inverse)
        return self._cache[1], self._cache[2]

    def _on(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`permutation` kept on ``device`` (copied there once, not per call)."""
        perm, inverse = self.permutation(n)
        if perm.device != device:
            perm, inverse = perm.to(device), inverse.to(device)
            self._cache = (n, perm, inverse)
        return perm, inverse

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Interleave along the last axis."""
        perm, _ = self._on(x.shape[-1], x.device)
        return x[..., perm]

    def deinterleave(self, y: torch.Tensor | float) -> torch.Tensor | float:
        """Undo :meth:`__call__`; scalars (e.g. a constant ``no``) pass through."""
        if not isinstance(y, torch.Tensor) or y.dim() == 0:
            return y
        _, inverse = self._on(y.shape[-1], y.device)
        return y[..., inverse]
