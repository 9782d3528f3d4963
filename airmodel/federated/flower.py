# SPDX-License-Identifier: Apache-2.0
"""Over-the-air FedAvg for Flower (``pip install 'airmodel[flower]'``).

:class:`AirFedAvg` replaces Flower's ``flwr.serverapp.strategy.FedAvg``: the
clients' updates are summed through :class:`OverTheAirUplink` at the given
Es/N0 and denoised by the server's denoiser before the global model is
updated. Needs ``flwr`` (imported here only; the rest of airmodel does not).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from airmodel import progress
from airmodel.federated.server import aggregate, model_delta
from airmodel.federated.uplink import OverTheAirUplink
from airmodel.receiver.denoiser import Denoiser, get_denoiser
from airmodel.seed import mix_seed
from airmodel.transmitter.payload import flatten, unflatten

try:
    from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
    from flwr.serverapp import Grid
    from flwr.serverapp.strategy import FedAvg
except ImportError as err:  # pragma: no cover - depends on the extra
    raise ImportError(
        "airmodel.federated.flower needs Flower: pip install 'airmodel[flower]'"
    ) from err

__all__ = ["AirFedAvg"]


def _first(records: Any) -> Any:
    """The one record of a reply (FedAvg checks there is exactly one)."""
    return next(iter(records.values()))


class AirFedAvg(FedAvg):
    r"""Flower's FedAvg with the clients' updates summed over the air.

    Round ``t``: client ``k`` (``n_k`` examples, ``M`` replies,
    ``N = sum n_k``) sends ``M n_k / N (w_k - w)`` through one
    :class:`OverTheAirUplink` round (channel seeded by ``(seed, t)``); the
    server denoises the received sum ``y = s + n`` with ``denoiser`` and adds
    ``y_hat / count`` to the global model, which is FedAvg's weighted mean
    when there is no noise. Entries kept off the air by ``policy`` (``paper``:
    batch-norm layers; integer counters always) are averaged noise-free.

    The train metrics of each round carry ``air_noise_var`` (configured noise
    per real weight, ``mean(s^2) / 10^(snr_db/10)``), ``air_error_var``
    (measured ``mean((y - s)^2)``), ``air_weight_mse`` (after denoising) and
    ``air_skipped_fraction``.

    :param snr_db: Es/N0 [dB] of the aligned sum; ``inf``: no noise.
    :param channel: ``awgn``, ``rayleigh`` or ``rician`` (name or block).
    :param denoiser: a :class:`Denoiser` or a registered name (``ml``, ``mmse``).
    :param inversion_threshold: truncated channel inversion's ``|h|^2``
        threshold (fading channels only).
    :param policy: payload policy (``paper`` | ``all_float``).
    :param seed: run seed of the channel draws.
    :param kwargs: passed to ``FedAvg`` (``fraction_train``, ...).
    """

    def __init__(
        self,
        *,
        snr_db: float,
        channel: Any = "awgn",
        denoiser: Denoiser | str = "ml",
        inversion_threshold: float | None = None,
        precision: str = "single",
        policy: str = "paper",
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(snr_db, int | float) or math.isnan(snr_db):
            raise ValueError(
                f"`snr_db` must be a number (inf: no noise); got {snr_db!r}."
            )
        self.snr_db = float(snr_db)
        self.uplink = OverTheAirUplink(
            channel, precision=precision, inversion_threshold=inversion_threshold
        )
        self.denoiser = (
            get_denoiser(denoiser) if isinstance(denoiser, str) else denoiser
        )
        self.policy = policy
        self.seed = seed
        self._global: ArrayRecord | None = None
        self._rounds: Any = None  # the bar over rounds while start() runs

    def start(self, grid: Grid, initial_arrays: ArrayRecord, num_rounds: int = 3,
              *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        """FedAvg's ``start``, with a progress bar over the rounds (time left)."""
        self._rounds = progress.bar(num_rounds, "AirFedAvg rounds", "round")
        try:
            return super().start(grid, initial_arrays, num_rounds, *args, **kwargs)
        finally:
            self._rounds.close()
            self._rounds = None

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        """FedAvg's, keeping the round's global arrays (the deltas' reference)."""
        self._global = arrays
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Sum the replies' updates over the air, denoise, update the global arrays."""
        valid, _ = self._check_and_log_replies(replies, is_train=True)
        if not valid or self._global is None:
            return None, None
        contents = [m.content for m in valid]
        sd = self._global.to_torch_state_dict()
        global_vec, spec = flatten(sd, self.policy)
        n = [float(_first(c.metric_records)[self.weighted_by_key]) for c in contents]
        m = len(contents)
        rnd = self.uplink.round(self.snr_db, mix_seed(self.seed, server_round))
        off_sum = torch.zeros_like(global_vec[spec.num_air :])
        pairs = zip(contents, n, strict=True)
        for c, n_k in progress.steps(pairs, "over-the-air sum", m, unit="client"):
            arr = _first(c.array_records).to_torch_state_dict()
            delta = model_delta(arr, global_vec, spec) * (m * n_k / sum(n))
            rnd.add(delta[: spec.num_air])
            off_sum += delta[spec.num_air :]
            del arr, delta
        rx = rnd.receive()
        upd = aggregate(global_vec, spec, rx, off_sum, m, self.denoiser)
        new = unflatten(upd.vector, spec)
        arrays = ArrayRecord({k: v.to(sd[k].dtype) for k, v in new.items()})
        metrics = self.train_metrics_aggr_fn(contents, self.weighted_by_key)
        sent = rx.count > 0
        err = (rx.y - rx.clean)[sent].double()
        metrics["air_noise_var"] = float(rx.info["noise_var"])
        metrics["air_error_var"] = float(err.square().mean()) if err.numel() else 0.0
        metrics["air_weight_mse"] = float(upd.weight_mse)
        metrics["air_skipped_fraction"] = float(rx.info.get("skipped_fraction", 0.0))
        if self._rounds is not None:
            self._rounds.update(1)
        return arrays, metrics
