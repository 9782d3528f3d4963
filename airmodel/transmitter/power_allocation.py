# SPDX-License-Identifier: Apache-2.0
"""Per-tensor power allocation at the transmitter under a fixed total energy.

Tensor ``t`` (``n_t`` weights, mean square ``P_t``) is sent as ``g_t w_t``;
the receiver divides by ``g_t``, so its noise variance becomes ``no_w / g_t^2``.
The gains keep the total energy: ``Σ n_t g_t^2 P_t = Σ n_t P_t``, so the
symbols carry the uniform allocation's energy per weight (the analog scale is
computed from the unscaled weights' mean square).

Allocation from a measured sensitivity: with ``F_t`` the mean diagonal Fisher
information of tensor ``t``'s weights, a second-order loss increase
``ΔL ≈ ½ Σ_t n_t F_t no / g_t^2`` is minimized under the energy constraint by
``g_t^2 ∝ sqrt(F_t / P_t)`` (Lagrange: ``F_t / g_t^4 = μ P_t``). ``F_t`` is
measured on unlabelled images with labels *sampled from the model's own
prediction* (the Fisher of the model, no dataset labels). Ratios
``g_t^2 / mean`` are clipped to ``[1/clip, clip]`` before normalization so no
tensor is left with (almost) no energy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from airmodel.seed import make_generator
from airmodel.transmitter.payload import PayloadSpec

__all__ = [
    "AllocatedScheme",
    "allocation_gains",
    "fisher_allocation",
    "fisher_sensitivity",
]


def fisher_sensitivity(
    model: nn.Module,
    images: torch.Tensor,
    keys: list[str],
    seed: int = 0,
) -> dict[str, float]:
    """Mean diagonal Fisher information per tensor, labels sampled from the model.

    For each image ``x`` (one backward pass each), ``ŷ ~ p(·|x)`` from a
    generator seeded with ``seed`` and the squared gradient of
    ``log p(ŷ|x)`` is accumulated; the result is its mean over images and
    over the tensor's entries. The model runs in eval mode.

    :param model: the network to send (not modified).
    :param images: [N, C, H, W], float. Normalized unlabelled images.
    :param keys: state-dict keys (parameters) to measure.
    :output fisher: ``{key: F_t}``, floats >= 0.
    """
    params = dict(model.named_parameters())
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"keys {missing} are not parameters of the model.")
    gen = make_generator(seed, purpose="fisher")
    acc = {k: 0.0 for k in keys}
    was_training = model.training
    model.eval()
    try:
        for i in range(images.shape[0]):
            logp = torch.log_softmax(model(images[i : i + 1]).float(), dim=1)[0]
            y = torch.multinomial(logp.detach().exp().cpu(), 1, generator=gen)
            grads = torch.autograd.grad(logp[int(y)], [params[k] for k in keys])
            for k, g in zip(keys, grads, strict=True):
                acc[k] += float(g.double().square().mean())
    finally:
        model.train(was_training)
    return {k: v / max(images.shape[0], 1) for k, v in acc.items()}


def allocation_gains(
    fisher: Mapping[str, float],
    power: Mapping[str, float],
    numel: Mapping[str, int],
    clip: float = 100.0,
) -> dict[str, float]:
    """Amplitude gains ``g_t`` with ``g_t^2 ∝ sqrt(F_t / P_t)`` and equal total energy.

    :param fisher: ``F_t`` per tensor.
    :param power: mean square ``P_t`` per tensor.
    :param numel: ``n_t`` per tensor.
    :param clip: ``g_t^2`` within ``[1/clip, clip]`` times their weighted mean
        before normalization.
    :output gains: ``{key: g_t}``; ``Σ n_t g_t^2 P_t = Σ n_t P_t``.
    """
    keys = list(fisher)
    f = torch.tensor([fisher[k] for k in keys], dtype=torch.float64)
    p = torch.tensor([power[k] for k in keys], dtype=torch.float64).clamp_min(1e-30)
    n = torch.tensor([numel[k] for k in keys], dtype=torch.float64)
    g2 = (f.clamp_min(0) / p).sqrt()
    ref = float((n * g2).sum() / n.sum())
    if not ref > 0:
        g2 = torch.ones_like(g2)
    else:
        g2 = g2.clamp(ref / clip, ref * clip)
    g2 = g2 * (n * p).sum() / (n * p * g2).sum()
    return {k: float(v) for k, v in zip(keys, g2.sqrt(), strict=True)}


@dataclass(frozen=True)
class _AllocatedSide:
    inner: Any
    gains: torch.Tensor  # [num_air], per weight


class AllocatedScheme:
    """A scheme that sends each on-air tensor ``t`` as ``g_t w_t`` (see module doc).

    :param inner: the scheme that carries the scaled weights (e.g. analog).
    :param gains: ``{key: g_t}`` from :func:`allocation_gains`; tensors not
        listed get 1.
    """

    uses_spec = True

    def __init__(self, inner: Any, gains: Mapping[str, float]) -> None:
        self.inner = inner
        self.gains = dict(gains)
        self.name = f"{getattr(inner, 'name', 'scheme')}+allocated"
        self.channel_uses_per_weight = inner.channel_uses_per_weight

    def weight_gains(self, spec: PayloadSpec, device: Any = None) -> torch.Tensor:
        """[num_air] float64: each on-air weight's gain, in vector order."""
        out = torch.ones(spec.num_air, dtype=torch.float64)
        for t in spec.tensors:
            if t.on_air:
                out[t.offset : t.offset + t.numel] = self.gains.get(t.name, 1.0)
        return out.to(device)

    def modulate(
        self, w: torch.Tensor, power: float | None = None, spec: PayloadSpec = None
    ) -> tuple[torch.Tensor, _AllocatedSide]:
        """Scale by the gains, then the inner scheme at the *unscaled* power."""
        if spec is None:
            raise ValueError("AllocatedScheme needs the payload spec (uses_spec).")
        g = self.weight_gains(spec, w.device)
        scaled = (w.double() * g).to(w.dtype)
        if power is None:
            power = float(w.double().square().mean())
        extra = {"spec": spec} if self.inner.uses_spec else {}
        x, side = self.inner.modulate(scaled, power=power, **extra)
        return x, _AllocatedSide(side, g)

    def receive(
        self, y: torch.Tensor, no: Any, side: _AllocatedSide, seed: int | None = None
    ) -> Any:
        """Inner reception divided by the gains (noise variance by their square)."""
        rx = self.inner.receive(y, no, side.inner, seed=seed)
        g = side.gains.to(rx.y.device)
        return replace(
            rx,
            y=(rx.y.double() / g).to(rx.y.dtype),
            no_w=(rx.no_w.double() / g.square()).to(rx.no_w.dtype),
        )


def fisher_allocation(
    inner: Any,
    model: nn.Module,
    policy: Any,
    images: torch.Tensor,
    clip: float = 100.0,
    seed: int = 0,
) -> AllocatedScheme:
    """``inner`` wrapped with the Fisher allocation of ``model``'s on-air tensors.

    :param policy: the link's payload policy (which tensors go on the air).
    :param images: [N, C, H, W], float. Normalized unlabelled images.
    """
    from airmodel.transmitter.payload import flatten

    sd = model.state_dict()
    _, spec = flatten(sd, policy)
    names = set(dict(model.named_parameters()))
    air = [t for t in spec.tensors if t.on_air and t.name in names]
    keys = [t.name for t in air]
    fisher = fisher_sensitivity(model, images, keys, seed)
    power = {k: float(sd[k].double().square().mean()) for k in keys}
    gains = allocation_gains(fisher, power, {t.name: t.numel for t in air}, clip)
    return AllocatedScheme(inner, gains)
