# SPDX-License-Identifier: Apache-2.0
"""Server: denoise the over-the-air sum, average it and update the global model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from airmodel.federated.uplink import UplinkReception
from airmodel.link import Link, Transmission
from airmodel.metrics import moments
from airmodel.receiver.denoiser import PAPER_BETA_GRID, PAPER_LAM_GRID, Denoiser
from airmodel.receiver.receiver import Reception
from airmodel.transmitter.payload import PayloadSpec, flatten

__all__ = ["ServerUpdate", "bn_policy_to_payload", "model_delta", "aggregate"]


def bn_policy_to_payload(bn_policy: str) -> str:
    """Payload policy for a ``bn_policy``: ``clean`` -> ``paper``, ``noisy`` -> ``all_float``.

    ``paper`` keeps every entry of a layer owning ``running_mean`` (batch-norm,
    including projection shortcuts' ``shortcut.1``) off the air, so those are
    averaged noise-free. Integer entries (``num_batches_tracked``) never go over
    the air under either policy.
    """
    policies = {"clean": "paper", "noisy": "all_float"}
    if bn_policy not in policies:
        raise ValueError(f"`bn_policy` must be 'clean' or 'noisy'; got {bn_policy!r}.")
    return policies[bn_policy]


def model_delta(
    state_dict: Mapping[str, torch.Tensor], global_vec: torch.Tensor, spec: PayloadSpec
) -> torch.Tensor:
    """A device's update as a payload vector: ``flatten(state_dict) - global_vec``.

    :output delta: [spec.numel]; ``delta[:spec.num_air]`` goes over the air,
        the rest over a noise-free side channel.
    """
    vec, _ = flatten(state_dict, like=spec)
    return vec.to(global_vec.device, global_vec.dtype) - global_vec


@dataclass
class ServerUpdate:
    """The new global payload vector and the round's statistics."""

    vector: torch.Tensor
    wnr_db: float
    weight_mse: float
    lam: float | None = None
    beta: float | None = None
    evaluations: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _compose(
    global_vec: torch.Tensor,
    spec: PayloadSpec,
    sum_hat: torch.Tensor,
    count: torch.Tensor,
    off_mean: torch.Tensor,
) -> torch.Tensor:
    """Global vector plus the averaged update (air: sum/count; off-air: clean mean)."""
    n = spec.num_air
    out = global_vec.clone()
    cnt = count.to(sum_hat.dtype)
    avg = torch.where(count > 0, sum_hat / cnt.clamp(min=1), 0.0)  # no sender: no step
    out[:n] += avg.to(out.dtype)
    out[n:] += off_mean.to(out.dtype)
    for t in spec.tensors:
        sl = slice(t.offset, t.offset + t.numel)
        if not t.dtype.startswith(("float", "bfloat")):
            out[sl] = out[sl].round()  # e.g. num_batches_tracked: mean step count
        elif t.name.endswith("running_var"):
            out[sl] = out[sl].clamp(min=0.0)  # noisy BN: a variance stays >= 0
    return out


def aggregate(
    global_vec: torch.Tensor,
    spec: PayloadSpec,
    rx: UplinkReception,
    off_air_sum: torch.Tensor,
    num_active: int,
    denoiser: Denoiser,
    score: Callable[[torch.Tensor], float] | None = None,
    lam_grid: Sequence[float] = PAPER_LAM_GRID,
    beta_grid: Sequence[float] = PAPER_BETA_GRID,
) -> ServerUpdate:
    """Denoise the summed update, divide by the senders and update the global model.

    The over-the-air part is denoised as one ``y = s + n`` observation (prior
    fitted on the received sum, as :meth:`Link.denoise` does, so lost weights
    and ``lam < 1 + eta`` are handled there), divided per weight by the number
    of devices whose symbol arrived (``M`` over AWGN), and added to the global
    weights. The off-air part (batch-norm under ``bn_policy: clean``, integer
    counters) is the noise-free mean of the ``num_active`` devices' deltas;
    integer entries are rounded and ``running_var`` is clamped at 0.

    :param global_vec: [spec.numel] current global payload vector.
    :param rx: the round's :class:`UplinkReception` (over-the-air part).
    :param off_air_sum: [spec.numel - spec.num_air] sum of the off-air deltas.
    :param score: rates a candidate new global vector (e.g. validation
        accuracy); with it MMSE_pb's (lam, beta) are selected on the grid.
    """
    if num_active < 1:
        raise ValueError(f"`num_active` must be >= 1; got {num_active}.")
    mean, power = moments(rx.clean)
    info = (
        {"lost_weights": float((rx.count == 0).sum())}
        if rx.info.get("skipped_fraction")
        else {}
    )
    tx = Transmission(
        vector=rx.clean,
        spec=spec,
        reception=Reception(y=rx.y, no_w=rx.no_w, info=info),
        esno_db=float("nan"),
        clean_mean=mean,
        clean_power=power,
    )
    off_mean = off_air_sum / num_active
    cand = None
    if score is not None:

        def cand(w: torch.Tensor) -> float:
            return score(_compose(global_vec, spec, w, rx.count, off_mean))

    w_hat, sel = Link.denoise(tx, denoiser, cand, lam_grid, beta_grid)
    stats = Link.stats(tx, w_hat)
    lam = sel.lam if sel else getattr(denoiser, "lam", None)
    beta = sel.beta if sel else getattr(denoiser, "beta", None)
    return ServerUpdate(
        vector=_compose(global_vec, spec, w_hat, rx.count, off_mean),
        wnr_db=stats.wnr_db,
        weight_mse=stats.weight_mse,
        lam=lam,
        beta=beta,
        evaluations=sel.evaluations if sel else 0,
    )
