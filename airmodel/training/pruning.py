# SPDX-License-Identifier: Apache-2.0
"""Pruning-aware training: a fixed magnitude mask re-applied after every update.

The mask is :func:`airmodel.transmitter.budget.prune_mask` of the weights at
the start of training (after ``init_from``): the same rule the link's
``BudgetScheme`` uses, so a network fine-tuned with ``keep`` = ``2 cu`` and
sent with ``mask: architecture`` at ``cu`` channel uses per weight is sent with
exactly its own zeros (the largest magnitudes of the trained network are its
nonzero entries).

With weight noise (pruning-aware hardening) the mask is applied after the
noise is added too, so pruned weights stay exactly zero in the forward pass,
as at the receiver. The noise power is the mean square of *all* on-air
entries, zeros included (:class:`~airmodel.training.weight_noise.WeightNoise`),
while the link scales by the *sent* entries' mean square: with a kept
fraction ``ρ`` of the on-air entries, ``--weight-noise LO:HI`` trains at the
link's Es/N0 ``LO - 10 log10 ρ`` to ``HI - 10 log10 ρ`` (ρ = 0.5: +3.01 dB)
when the pruned network is sent at ``cu = ρ / 2``. Sent at ``cu = 0.5`` with
``budget.keep = ρ`` instead (each survivor repeated ``1 / ρ`` times and
combined), the energy freed by the zeros returns to the survivors and the
weight noise relative to all on-air entries is the plain link's: ``LO:HI`` is
then the link's Es/N0 range itself.
"""

from __future__ import annotations

import torch
from torch import nn

from airmodel.transmitter.budget import prune_mask
from airmodel.transmitter.payload import flatten

__all__ = ["Pruner"]


class Pruner:
    """Zero a fixed set of on-air weights of ``model`` (in place).

    :param model: the network being trained.
    :param keep: fraction of the weight tensors' entries kept, in (0, 1].
    :param scope: ``"global"`` or ``"layer"`` (see :func:`prune_mask`).
    :param policy: payload policy naming the on-air tensors.
    """

    def __init__(
        self,
        model: nn.Module,
        keep: float,
        scope: str = "global",
        policy: str = "paper",
    ) -> None:
        if not 0.0 < float(keep) <= 1.0:
            raise ValueError(
                f"`prune` (kept fraction) must be in (0, 1]; got {keep!r}."
            )
        state = model.state_dict(keep_vars=True)
        with torch.no_grad():
            vec, spec = flatten({k: v.detach().cpu() for k, v in state.items()}, policy)
            mask = prune_mask(vec[: spec.num_air], spec, float(keep), scope)
        self.masks: list[tuple[torch.Tensor, torch.Tensor]] = []
        for t in spec.tensors:
            if t.on_air and len(t.shape) >= 2:
                m = mask[t.offset : t.offset + t.numel].reshape(t.shape)
                if not bool(m.all()):
                    p = state[t.name]
                    self.masks.append((p, m.to(p.device)))
        self.kept = float(mask.double().mean())

    @torch.no_grad()
    def apply(self) -> None:
        """Zero the pruned entries."""
        for p, m in self.masks:
            p.mul_(m.to(p.dtype))
