# SPDX-License-Identifier: Apache-2.0
"""Bandwidth as an axis: an analog link held to a budget of channel uses per weight.

The plain analog scheme spends ``cu = 0.5`` complex channel uses per on-air
weight (two weights per complex symbol). :class:`BudgetScheme` wraps it and
spends ``cu`` of them, counted over *all* ``N`` on-air weights of the payload
(the total is ``cu * N`` complex channel uses, i.e. ``2 cu N`` real
dimensions), at the same energy per channel use ``Es``:

* ``cu < 0.5`` (**compression**): magnitude pruning. Only weight tensors
  (two or more dimensions: convolutions, linear layers) are pruned; biases and
  other 1-D tensors are always sent. ``prune="global"`` keeps the largest
  magnitudes over all weight tensors, ``"layer"`` the same fraction of each.
  The receiver knows the pruned weights are zero (:attr:`Reception.known`):
  the denoiser never sees them. The mask reaches it either

  - ``mask="side_info"``: as counted side information, coded at the ideal
    rate ``Σ_t n_t H2(ρ_t)`` bits (``ρ_t`` the kept fraction of tensor ``t``,
    ``H2`` the binary entropy; an arithmetic code comes within a few bits per
    tensor) plus 32 bits per tensor for its count, sent error-free at
    ``mask_bits_per_use`` bits per complex channel use (default 1: a rate-1/2
    code on QPSK, which needs about Es/N0 >= 2 dB on AWGN to be error-free;
    rows below that are optimistic for this mask). These channel uses come out
    of the budget, so fewer weights fit: at ``cu = 0.25`` and 1 bit per use
    about 4 % of the weights survive, not 50 %.
  - ``mask="architecture"``: free, because the receiver already has the
    network's structure (a network pruned, and ideally fine-tuned, before
    transmission: its zeros are fixed). On an unpruned checkpoint this is the
    magnitude-pruned network *without* fine-tuning, which the receiver is
    assumed to know.

* ``cu > 0.5`` (**expansion**): repetition. Weight ``i`` is sent ``r_i``
  times (``Σ r_i = 2 cu N``); the copies ride in separate passes over the
  vector (copy ``k`` of every weight with ``r_i > k``, in vector order), so
  that under fading they see different fades. The receiver combines them by
  maximum-ratio combining after zero forcing, ``ŵ = Σ_k (y_k / no_k) / Σ_k
  (1 / no_k)`` with noise ``1 / Σ_k (1 / no_k)``: on AWGN with equal
  ``r_i = r`` the weight noise falls by ``r`` (WNR + 10 log10 r dB).
  ``expansion="uniform"`` spreads the repetitions evenly (fractional ``2 cu``:
  ``floor((i+1) R) - floor(i R)`` copies for weight ``i``);
  ``"fisher"`` gives tensor ``t`` the rate ``R_t = max(1, c sqrt(F_t))``
  (``F_t`` its mean diagonal Fisher information,
  :func:`~airmodel.transmitter.power_allocation.fisher_sensitivity`), ``c``
  set so that ``Σ n_t R_t = 2 cu N``: the minimizer of the second-order loss
  increase ``½ Σ_t n_t F_t σ² / R_t`` under that budget (Lagrange:
  ``F_t / R_t² = μ``), floored at one copy.

The analog ``scale`` is the sent (pruned or repeated) vector's, so every
complex symbol still has unit average energy: ``Es/N0`` is per channel use and
the energy per weight is ``Ew/N0 = Es/N0 + 10 log10(cu)`` (docs/bandwidth.md).
At ``cu = 0.5`` the scheme sends exactly what the plain analog scheme sends.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

from airmodel.transmitter.payload import PayloadSpec

__all__ = [
    "BudgetScheme",
    "BudgetPlan",
    "attach_sensitivity",
    "mask_bits",
    "prune_mask",
    "repetitions",
]

#: Bits per tensor for the kept count in the side-information mask.
COUNT_BITS = 32
#: Largest number of copies of one weight (``fisher`` expansion).
MAX_REPEAT = 256


def _h2(p: float) -> float:
    """Binary entropy [bits]."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _air(spec: PayloadSpec) -> list[Any]:
    return sorted((t for t in spec.tensors if t.on_air), key=lambda t: t.offset)


def _prunable(t: Any) -> bool:
    return len(t.shape) >= 2


class _Ranking:
    """Magnitude order of the weight tensors' entries, sorted once per transmission."""

    def __init__(self, w: torch.Tensor, spec: PayloadSpec, scope: str) -> None:
        if scope not in ("global", "layer"):
            raise ValueError(f"`prune` must be 'global' or 'layer'; got {scope!r}.")
        self.n, self.device, self.scope = w.numel(), w.device, scope
        tensors = [t for t in _air(spec) if _prunable(t)]
        self.groups: list[torch.Tensor] = []  # positions, largest magnitude first
        if scope == "layer":
            for t in tensors:
                seg = w[t.offset : t.offset + t.numel].abs()
                order = torch.sort(seg, descending=True, stable=True).indices
                self.groups.append(order + t.offset)
        elif tensors:
            idx = torch.cat(
                [
                    torch.arange(t.offset, t.offset + t.numel, device=w.device)
                    for t in tensors
                ]
            )
            order = torch.sort(w[idx].abs(), descending=True, stable=True).indices
            self.groups.append(idx[order])

    def mask(self, fraction: float) -> torch.Tensor:
        keep = torch.ones(self.n, dtype=torch.bool, device=self.device)
        for g in self.groups:
            k = round(fraction * g.numel())
            if self.scope == "layer":
                k = max(1, k)
            keep[g[k:]] = False
        return keep


def prune_mask(
    w: torch.Tensor, spec: PayloadSpec, fraction: float, scope: str = "global"
) -> torch.Tensor:
    """[num_air] bool: the weights kept when a ``fraction`` of the weight tensors' entries survives.

    Entries of tensors with fewer than two dimensions are always kept.
    ``scope="global"`` keeps the ``round(fraction * n_w)`` largest magnitudes
    over all weight tensors (``n_w`` their total size); ``"layer"`` keeps
    ``round(fraction * n_t)`` in each (at least one). Ties are broken by
    position (a stable sort), so the mask is deterministic.

    :input w: [num_air], real. The on-air weights.
    """
    return _Ranking(w, spec, scope).mask(fraction)


def mask_bits(keep: torch.Tensor, spec: PayloadSpec) -> float:
    """Bits of the side-information mask: ``Σ_t (n_t H2(ρ_t) + COUNT_BITS)`` over weight tensors."""
    bits = 0.0
    for t in _air(spec):
        if _prunable(t):
            rho = float(keep[t.offset : t.offset + t.numel].double().mean())
            bits += t.numel * _h2(rho) + COUNT_BITS
    return bits


def repetitions(
    spec: PayloadSpec,
    dims: int,
    sensitivity: Mapping[str, float] | None = None,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """[num_air] int64: copies of each on-air weight, ``Σ r_i <= dims`` real dimensions.

    Uniform (``sensitivity=None``): rate ``R = dims / n`` (``n`` the weights
    sent) spread as ``floor((j+1) R) - floor(j R)`` over the ``j``-th sent
    weight. With ``sensitivity`` (``{name: F_t}``, tensors not listed get the
    largest listed value, i.e. they are protected like the most sensitive
    one): per-tensor rate ``R_t = max(1, c sqrt(F_t))`` (at most
    ``MAX_REPEAT``), ``c`` found by bisection so that ``Σ n_t R_t = dims``,
    then spread in each tensor the same way. ``keep`` ([num_air] bool): only
    these weights are sent (the others get 0 copies).
    """
    air = _air(spec)
    if keep is None:
        keep = torch.ones(spec.num_air, dtype=torch.bool)
    keep = keep.cpu()
    pos = {t.name: t.offset + torch.nonzero(keep[t.offset : t.offset + t.numel]).flatten()
           for t in air}  # fmt: skip
    count = {t.name: pos[t.name].numel() for t in air}
    n = sum(count.values())
    if dims < n:
        raise ValueError(
            f"repetition needs at least one copy per weight: {dims} < {n}."
        )
    if sensitivity is None:
        rates = {t.name: dims / n for t in air}
    else:
        top = max(sensitivity.values(), default=1.0)
        s = {t.name: math.sqrt(max(sensitivity.get(t.name, top), 0.0)) for t in air}

        def total(c: float) -> float:
            return sum(
                count[t.name] * min(MAX_REPEAT, max(1.0, c * s[t.name])) for t in air
            )

        hi = 1.0
        while total(hi) < dims and hi < 1e300:
            hi *= 2.0
        lo = 0.0
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if total(mid) < dims else (lo, mid)
        rates = {t.name: min(MAX_REPEAT, max(1.0, lo * s[t.name])) for t in air}
    reps = torch.zeros(spec.num_air, dtype=torch.int64)
    for t in air:
        i = torch.arange(count[t.name] + 1, dtype=torch.float64)
        edges = torch.floor(i * rates[t.name] + 1e-9).to(torch.int64)
        reps[pos[t.name]] = (edges[1:] - edges[:-1]).clamp_min(1)
    return reps


@dataclass(frozen=True)
class BudgetPlan:
    """What one transmission spends: which weights, how many copies, the mask's cost.

    :ivar keep: [num_air] bool. Weights sent (the rest are pruned to zero).
    :ivar reps: [num_air] int64. Copies of each weight (0 where pruned).
    :ivar mask_bits: side-information bits of the mask (0 if none or free).
    :ivar mask_uses: complex channel uses of the mask.
    :ivar channel_uses: total complex channel uses (weights' symbols + mask).
    """

    keep: torch.Tensor
    reps: torch.Tensor
    mask_bits: float
    mask_uses: float
    channel_uses: float

    def info(self, num_air: int) -> dict[str, float]:
        """Scalar counters for results rows."""
        return {
            "kept_fraction": float(self.keep.double().mean()),
            "mean_copies": float(self.reps.double().sum()) / max(num_air, 1),
            "mask_bits": self.mask_bits,
            "channel_uses_used": self.channel_uses / max(num_air, 1),
        }


@dataclass(frozen=True)
class _BudgetSide:
    inner: Any
    plan: BudgetPlan
    num_air: int


class BudgetScheme:
    """An analog scheme held to ``channel_uses_per_weight`` (see the module doc).

    :param inner: the analog scheme carrying the weights (two per symbol).
    :param channel_uses_per_weight: the budget, complex channel uses per on-air
        weight, mask included (0 < cu; 0.5 is the plain analog link).
    :param prune: ``"global"`` or ``"layer"`` (below 0.5).
    :param mask: ``"side_info"`` or ``"architecture"`` (below 0.5).
    :param mask_bits_per_use: bits of side information per complex channel use.
    :param expansion: ``"uniform"`` or ``"fisher"`` (above 0.5; ``fisher``
        needs :meth:`set_sensitivity` before the first transmission).
    :param keep: kept fraction of the weight tensors' entries, in (0, 1], or
        ``None`` (the budget decides: all at cu >= 0.5, as many as fit below).
        Given, the channel uses left after the kept weights (and the mask)
        are spent on repeating the kept weights (``expansion``): pruning and
        expansion at one budget, e.g. ``keep=0.5`` at cu 0.5 sends every
        surviving weight twice.

    :input w: [num_air], real (``modulate``; needs the payload spec).
    :output x: [num_symbols], complex, unit average energy.
    """

    uses_spec = True

    def __init__(
        self,
        inner: Any,
        channel_uses_per_weight: float,
        prune: Literal["global", "layer"] = "global",
        mask: Literal["side_info", "architecture"] = "side_info",
        mask_bits_per_use: float = 1.0,
        expansion: Literal["uniform", "fisher"] = "uniform",
        keep: float | None = None,
    ) -> None:
        cu = float(channel_uses_per_weight)
        if keep is not None and not 0.0 < float(keep) <= 1.0:
            raise ValueError(f"`keep` must be in (0, 1]; got {keep!r}.")
        if not cu > 0:
            raise ValueError(f"`channel_uses_per_weight` must be > 0; got {cu!r}.")
        for key, val, ok in (
            ("prune", prune, ("global", "layer")),
            ("mask", mask, ("side_info", "architecture")),
            ("expansion", expansion, ("uniform", "fisher")),
        ):
            if val not in ok:
                raise ValueError(f"`{key}` must be one of {ok}; got {val!r}.")
        if not mask_bits_per_use > 0:
            raise ValueError(
                f"`mask_bits_per_use` must be > 0; got {mask_bits_per_use!r}."
            )
        if getattr(inner, "name", None) != "analog":
            raise ValueError(
                "a channel-use budget reshapes the analog scheme only; a digital "
                "scheme's channel uses are fixed by its source, code and modulation."
            )
        self.inner = inner
        self.channel_uses_per_weight = cu
        self.prune, self.mask, self.expansion = prune, mask, expansion
        self.mask_bits_per_use = float(mask_bits_per_use)
        self.keep = None if keep is None else float(keep)
        self.sensitivity: dict[str, float] | None = None
        self.name = "analog"

    @property
    def needs_sensitivity(self) -> bool:
        """Whether :meth:`set_sensitivity` must run before transmitting."""
        if self.keep is not None:
            return self.expansion == "fisher"
        return self.expansion == "fisher" and self.channel_uses_per_weight > 0.5

    def set_sensitivity(self, fisher: Mapping[str, float]) -> None:
        """Per-tensor sensitivity ``{name: F_t}`` for ``expansion="fisher"``."""
        self.sensitivity = {k: float(v) for k, v in fisher.items()}

    def plan(self, w: torch.Tensor, spec: PayloadSpec) -> BudgetPlan:
        """Which weights to send and how many times, within the budget."""
        n = spec.num_air
        cu = self.channel_uses_per_weight
        if self.needs_sensitivity and self.sensitivity is None:
            raise ValueError(
                "expansion='fisher' needs the per-tensor Fisher information: "
                "call set_sensitivity() (airmodel run does it from the "
                "receiver.kappa validation images)."
            )
        sens = self.sensitivity if self.expansion == "fisher" else None
        if self.keep is not None:
            return self._prune_and_repeat(w, spec, sens)
        if cu >= 0.5:
            reps = repetitions(spec, math.floor(2 * cu * n + 1e-9), sens)
            keep = torch.ones(n, dtype=torch.bool)
            return BudgetPlan(keep, reps, 0.0, 0.0, float(reps.sum()) / 2)
        fixed = sum(t.numel for t in _air(spec) if not _prunable(t))

        ranking = _Ranking(w.detach().cpu(), spec, self.prune)

        def build(fraction: float) -> BudgetPlan:
            keep = ranking.mask(fraction)
            bits, uses = self._mask_cost(keep, spec)
            sent = int(keep.sum())
            return BudgetPlan(keep, keep.to(torch.int64), bits, uses, sent / 2 + uses)

        lo, hi = 0.0, 1.0  # fraction of the weight tensors kept
        best = build(lo)
        if best.channel_uses > cu * n:
            raise ValueError(
                f"channel_uses_per_weight={cu:g} is too small: the {fixed} entries "
                f"of 1-D tensors (always sent){' and the mask' if self.mask == 'side_info' else ''} "
                f"alone need {best.channel_uses / n:.4g} channel uses per weight. "
                "Raise it, or send fewer tensors (transmitter.policy)."
            )
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            p = build(mid)
            if p.channel_uses <= cu * n:
                lo, best = mid, p
            else:
                hi = mid
        return best

    def _mask_cost(self, keep: torch.Tensor, spec: PayloadSpec) -> tuple[float, float]:
        """Side-information bits of ``keep`` and their complex channel uses (0 if free)."""
        bits = mask_bits(keep, spec) if self.mask == "side_info" else 0.0
        return bits, bits / self.mask_bits_per_use

    def _prune_and_repeat(
        self, w: torch.Tensor, spec: PayloadSpec, sens: Mapping[str, float] | None
    ) -> BudgetPlan:
        """``keep`` of the weight tensors' entries, repeated to fill the budget."""
        n, cu = spec.num_air, self.channel_uses_per_weight
        keep = _Ranking(w.detach().cpu(), spec, self.prune).mask(self.keep)
        bits, uses = (0.0, 0.0) if bool(keep.all()) else self._mask_cost(keep, spec)
        dims = math.floor(2 * (cu * n - uses) + 1e-9)
        sent = int(keep.sum())
        if dims < sent:
            raise ValueError(
                f"budget keep={self.keep:g} sends {sent} weights"
                f"{' plus the mask' if uses else ''}: "
                f"{(sent / 2 + uses) / n:.4g} channel uses per weight, more than "
                f"channel_uses_per_weight={cu:g}. Lower `budget.keep` or raise the budget."
            )
        reps = repetitions(spec, dims, sens, keep)
        return BudgetPlan(keep, reps, bits, uses, float(reps.sum()) / 2 + uses)

    def modulate(
        self, w: torch.Tensor, power: float | None = None, spec: PayloadSpec = None
    ) -> tuple[torch.Tensor, _BudgetSide]:
        """Prune or repeat ``w`` per :meth:`plan`, then the analog scheme."""
        if spec is None:
            raise ValueError("BudgetScheme needs the payload spec (uses_spec).")
        plan = self.plan(w, spec)
        reps = plan.reps.to(w.device)
        copies = [w[reps > k] for k in range(int(reps.max()))]
        v = torch.cat(copies) if copies else w[:0]
        x, side = self.inner.modulate(v)
        return x, _BudgetSide(side, plan, spec.num_air)

    def receive(
        self, y: torch.Tensor, no: Any, side: _BudgetSide, seed: int | None = None
    ) -> Any:
        """Analog reception, then maximum-ratio combining of the copies.

        Pruned weights come back as exact zeros with ``no_w = 0`` and are
        flagged in ``Reception.known``; a weight whose every copy was lost
        (``no = inf``) comes back with ``no_w = inf``.
        """
        from airmodel.receiver.combining import combine

        rx = self.inner.receive(y, no, side.inner, seed=seed)
        plan = side.plan
        w, no_w = combine(rx.y, rx.no_w, plan.reps.to(rx.y.device))
        known = None
        if not bool(plan.keep.all()):
            known = ~plan.keep.to(w.device)
        info = {**rx.info, **plan.info(side.num_air)}
        return type(rx)(y=w, no_w=no_w, info=info, known=known)


def attach_sensitivity(
    scheme: Any, model: torch.nn.Module, policy: Any, images: torch.Tensor, seed: int
) -> None:
    """Measure the Fisher information ``scheme`` needs, if it needs any.

    Walks wrappers (``.inner``) to a :class:`BudgetScheme` with
    ``needs_sensitivity``; measures ``F_t`` of the on-air parameters on
    ``images`` (labels sampled from the model, no dataset labels).
    """
    while scheme is not None and not isinstance(scheme, BudgetScheme):
        scheme = getattr(scheme, "inner", None)
    if scheme is None or not scheme.needs_sensitivity:
        return
    from airmodel.transmitter.payload import flatten
    from airmodel.transmitter.power_allocation import fisher_sensitivity

    _, spec = flatten(model.state_dict(), policy)
    names = set(dict(model.named_parameters()))
    keys = [t.name for t in spec.tensors if t.on_air and t.name in names]
    scheme.set_sensitivity(fisher_sensitivity(model, images, keys, seed))
