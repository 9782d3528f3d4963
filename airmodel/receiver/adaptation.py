# SPDX-License-Identifier: Apache-2.0
"""Test-time adaptation: fit the rebuilt network to its own noise on unlabelled inputs.

A receiver stage after any denoiser and batch-norm recalibration. It sees a
state dict and a tensor of unlabelled images (or token ids of unlabelled
sentences, for a text model), nothing else: there is no argument through
which a label could arrive. For a LayerNorm network (a transformer), which
keeps no statistics to re-estimate, adapting the LayerNorm affine parameters
is the counterpart of batch-norm recalibration.

Objective (``objective``), on the softmax ``p(x)`` of a minibatch ``B``:

- ``"entropy"``: mean prediction entropy ``1/|B| Σ_x H(p(x))`` (TENT, Wang
  et al. 2021);
- ``"im"``: information maximization, entropy minus the entropy of the mean
  prediction, ``1/|B| Σ_x H(p(x)) - H(1/|B| Σ_x p(x))`` (SHOT, Liang et al.
  2020): the second term keeps the classes balanced so that entropy
  minimization cannot collapse onto one class.

- ``"balance"``: no gradient steps: the final linear layer's bias is shifted
  by the vector ``delta`` (mean zero) that makes the mean softmax over the
  pool uniform, ``1/N Σ_x softmax(z(x) + delta) = 1/C``, found by the
  fixed-point iteration ``delta_c -= log(C p̄_c)`` on the pool's logits
  ``z`` (one forward pass; the logits move by exactly ``delta``). A
  label-shift correction toward balanced classes (Saerens et al. 2002):
  noise in the weights tilts a network's decisions toward one class, and
  a network without batch-norm has no stored statistic to re-estimate.
  ``steps``, ``lr``, ``params`` and ``batch_size`` do not apply.

Parameters updated (``params``): ``"norm"`` the normalization layers' affine
weight and bias; ``"norm+head"`` those plus the final linear layer. Every
other entry is returned unchanged. The network runs in eval mode (batch-norm
uses the running statistics in the state dict, as scoring does); Adam with
learning rate ``lr`` for ``steps`` steps on minibatches of ``batch_size``
images drawn from a generator seeded with ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from airmodel.seed import make_generator

__all__ = ["Adaptation", "adapt_state", "adapted_keys", "balance_shift"]


@dataclass(frozen=True)
class Adaptation:
    """Settings of the test-time adaptation stage (config key ``adapt``).

    :param steps: optimizer steps (>= 1).
    :param lr: Adam learning rate.
    :param objective: ``"entropy"``, ``"im"`` (entropy + class balance) or
        ``"balance"`` (closed-form shift of the final bias; see the module).
    :param params: ``"norm"`` or ``"norm+head"``.
    :param images: unlabelled images from the receiver's pool (the first ones).
    :param batch_size: images per step.
    :param seed: minibatch draws.
    :param recalibrate: re-estimate batch-norm statistics again afterwards
        (needs the receiver's ``recalibrate`` > 0, on the same images).
        ``None`` (the default): again whenever the receiver recalibrates
        (resolved by the receiver's config). Adapted affine parameters with
        the statistics estimated before them lost 0.55 points at no noise on
        the digits ResNet-8 and 0.85 on the CIFAR-10 ResNet-20; recalibrated
        again, 0.0 and 0.25 (docs/league_e2e.md).
    """

    steps: int = 10
    lr: float = 1e-3
    objective: Literal["entropy", "im", "balance"] = "entropy"
    params: Literal["norm", "norm+head"] = "norm"
    images: int = 500
    batch_size: int = 128
    seed: int = 0
    recalibrate: bool | None = None

    def problem(self) -> str | None:
        """What is wrong with these settings (one line naming the field), or None."""
        for name in ("steps", "images", "batch_size"):
            if getattr(self, name) < 1:
                return f"`adapt.{name}` must be >= 1; got {getattr(self, name)}."
        if not self.lr > 0:
            return f"`adapt.lr` must be > 0; got {self.lr}."
        return None

    @property
    def tag(self) -> str:
        """Key suffix, e.g. ``+im10``, ``+ent10hbn`` (``h``: head too; ``bn``:
        recalibrated again afterwards) or ``+bal``."""
        if self.objective == "balance":
            return "+bal" + ("bn" if self.recalibrate else "")
        obj = "ent" if self.objective == "entropy" else "im"
        head = "h" if self.params == "norm+head" else ""
        return f"+{obj}{self.steps}{head}" + ("bn" if self.recalibrate else "")


def _last_linear(model: nn.Module) -> str | None:
    """Key prefix of the last ``nn.Linear`` registered in ``model`` (the head)."""
    last = None
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            last = f"{name}." if name else ""
    return last


def adapted_keys(model: nn.Module, params: str) -> list[str]:
    """State-dict keys the stage updates: norm affine (+ the last linear layer)."""
    keys = []
    for name, m in model.named_modules():
        prefix = f"{name}." if name else ""
        norm = isinstance(
            m, nn.modules.batchnorm._NormBase | nn.LayerNorm | nn.GroupNorm
        )
        if norm and getattr(m, "weight", None) is not None:
            keys += [prefix + "weight", prefix + "bias"]
    last_linear = _last_linear(model)
    if params == "norm+head" and last_linear is not None:
        keys += [last_linear + "weight", last_linear + "bias"]
    return [k for k in keys if k in dict(model.named_parameters())]


def _objective(logits: torch.Tensor, objective: str) -> torch.Tensor:
    logp = torch.log_softmax(logits.float(), dim=1)
    p = logp.exp()
    loss = -(p * logp).sum(1).mean()  # mean entropy
    if objective == "im":
        mean_p = p.mean(0)
        loss = loss + (mean_p * torch.log(mean_p + 1e-12)).sum()  # - H(mean p)
    return loss


def adapt_state(
    state_dict: Mapping[str, torch.Tensor],
    model: nn.Module,
    images: torch.Tensor,
    cfg: Adaptation,
) -> dict[str, torch.Tensor]:
    """State dict in, adapted state dict out (see the module docstring).

    :param state_dict: rebuilt (and possibly recalibrated) weights.
    :param model: a module of the matching architecture (used for its structure).
    :param images: [N, C, H, W], float. Normalized unlabelled images, or
        [N, L] int64 token ids of unlabelled sentences (a text model; padding
        is the model's business); the first ``cfg.images`` are used.
    :param cfg: :class:`Adaptation`.
    :output state_dict: same keys, shapes, dtypes and devices; only the
        :func:`adapted_keys` entries differ.
    """
    tokens = (
        torch.is_tensor(images) and images.dim() == 2 and images.dtype == torch.int64
    )
    if not (tokens or (torch.is_tensor(images) and images.dim() == 4)):
        what = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
        raise ValueError(
            "`images` must be a tensor [N, C, H, W] of normalized unlabelled images "
            f"or token ids [N, L] int64 of unlabelled sentences; got {what}."
        )
    if cfg.problem():
        raise ValueError(cfg.problem())
    x = images[: cfg.images]
    if cfg.objective == "balance":
        return _balance(state_dict, model, x)
    keys = adapted_keys(model, cfg.params)
    param = next(model.parameters(), None)
    device = param.device if param is not None else x.device
    frozen = {k: v.detach().to(device) for k, v in state_dict.items()}
    train = {k: frozen[k].float().clone().requires_grad_(True) for k in keys}
    opt = torch.optim.Adam(list(train.values()), lr=cfg.lr)
    gen = make_generator(cfg.seed, purpose="recalibration")
    was_training = model.training
    model.eval()
    try:
        for _ in range(cfg.steps):
            idx = torch.randperm(x.shape[0], generator=gen)[: cfg.batch_size]
            batch = x[idx].to(device)
            logits = torch.func.functional_call(model, {**frozen, **train}, (batch,))
            loss = _objective(logits, cfg.objective)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    finally:
        model.train(was_training)
    out = {}
    for k, v in state_dict.items():
        new = train[k].detach() if k in train else v
        out[k] = new.to(device=v.device, dtype=v.dtype).clone()
    return out


def balance_shift(logits: torch.Tensor, iterations: int = 200) -> torch.Tensor:
    """[N, C] logits -> [C] shift ``delta`` (mean zero) with uniform mean softmax.

    Fixed point ``delta_c -= log(C * mean_n softmax(z_n + delta)_c)``; each step
    moves the mean prediction toward ``1/C`` (exact for C = 2 in the limit).
    """
    z = logits.double()
    c = z.shape[1]
    delta = torch.zeros(c, dtype=z.dtype, device=z.device)
    for _ in range(iterations):
        p = torch.softmax(z + delta, dim=1).mean(0)
        delta = delta - torch.log(p * c)
        delta = delta - delta.mean()
    return delta.to(logits.dtype)


def _balance(
    state_dict: Mapping[str, torch.Tensor], model: nn.Module, x: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The ``balance`` objective: shift the head's bias (see the module docstring)."""
    head = _last_linear(model)
    key = None if head is None else head + "bias"
    if key is None or key not in state_dict:
        raise ValueError(
            "`adapt.objective: balance` shifts the bias of the network's last linear "
            "layer, and this network has none; use `objective: im` instead."
        )
    param = next(model.parameters(), None)
    device = param.device if param is not None else x.device
    weights = {k: v.detach().to(device) for k, v in state_dict.items()}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = torch.cat(
                [
                    torch.func.functional_call(
                        model, weights, (x[i : i + 256].to(device),)
                    )
                    for i in range(0, x.shape[0], 256)
                ]
            )
    finally:
        model.train(was_training)
    out = {k: v.clone() for k, v in state_dict.items()}
    bias = state_dict[key]
    out[key] = (
        bias + balance_shift(logits.float()).to(bias.device, bias.dtype)
    ).clone()
    return out
