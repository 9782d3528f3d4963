# SPDX-License-Identifier: Apache-2.0
"""The link: state dict -> transmitter -> channel -> receiver -> denoiser -> state dict."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

import channels
from airmodel.metrics import moments, mse
from airmodel.modulation.analog import AnalogScheme, Precision
from airmodel.receiver.denoiser import ML, Denoiser, mean_noise
from airmodel.receiver.receiver import Reception
from airmodel.transmitter.payload import PayloadSpec, Policy, flatten, unflatten
from channels.utils import db, snr_db_to_no

__all__ = ["Link", "LinkStats", "Transmission"]


@dataclass
class LinkStats:
    """Per-transmission statistics.

    :ivar esno_db: Es/N0 at the channel input [dB].
    :ivar wnr_db: weight-variance-to-noise ratio Var(w)/mean(no_w) [dB].
    :ivar noise_var: [num_air] per-weight noise variance given to the denoiser.
    :ivar weight_mse: mean squared error of the rebuilt over-the-air weights.
    :ivar signal_power: mean(w^2) of the over-the-air weights.
    """

    esno_db: float
    wnr_db: float
    noise_var: torch.Tensor
    weight_mse: float
    signal_power: float
    num_air: int

    def as_row(self) -> dict[str, float]:
        """Scalar fields, for results tables."""
        return {
            "esno_db": self.esno_db,
            "wnr_db": self.wnr_db,
            "noise_var_mean": float(self.noise_var.double().mean()),
            "weight_mse": self.weight_mse,
            "num_air": self.num_air,
        }


@dataclass
class Transmission:
    """One pass over the channel, before denoising (shared by all denoisers)."""

    vector: torch.Tensor
    spec: PayloadSpec
    reception: Reception
    esno_db: float
    clean_mean: float
    clean_power: float

    @property
    def clean(self) -> torch.Tensor:
        """[num_air] the weights that were sent."""
        return self.vector[: self.spec.num_air]


class Link:
    """Analog transmission of a state dict through a registered channel.

    :param channel: a channel name (``channels.list_channels()``) or block.
    :param denoiser: default denoiser for :meth:`__call__` (ML if ``None``).
    :param policy: which tensors go over the air (see ``select_on_air``).
    :param scheme: transmission scheme (``modulate``/``receive``); analog if ``None``.
    :param precision: ``"single"`` (complex64 symbols, fast) or ``"double"``
        (complex128). With no noise, ``"double"`` rebuilds every state dict
        bit-exactly; ``"single"`` does so for float16/bfloat16 weights and
        is within one ulp for float32 ones (docs/conventions.md).

    .. rubric:: Examples

    >>> link = Link("awgn", denoiser=MMSE())
    >>> sd_hat, stats = link(model.state_dict(), snr_db=10.0, seed=0)
    """

    def __init__(
        self,
        channel: str | object = "awgn",
        denoiser: Denoiser | None = None,
        policy: Policy = "paper",
        precision: Precision = "single",
        scheme: object | None = None,
    ) -> None:
        if isinstance(channel, str):
            channel = channels.get(channel, precision=precision)
        self.channel = channel
        self.denoiser = denoiser or ML()
        self.policy = policy
        self.scheme = scheme if scheme is not None else AnalogScheme(precision)

    def transmit(
        self,
        state_dict: Mapping[str, torch.Tensor],
        snr_db: float,
        seed: int | None = None,
    ) -> Transmission:
        """Send ``state_dict`` once at Es/N0 ``snr_db``; return what the receiver got."""
        no = snr_db_to_no(snr_db)
        vector, spec = flatten(state_dict, self.policy)
        mean, power = moments(vector[: spec.num_air])
        x, side = self.scheme.modulate(vector[: spec.num_air], power=power)
        self.channel.seed(seed)
        y, no_eff = self.propagate(x, no)
        reception = self.scheme.receive(y, no_eff, side)
        return Transmission(
            vector=vector,
            spec=spec,
            reception=reception,
            esno_db=float(snr_db),
            clean_mean=mean,
            clean_power=power,
        )

    def propagate(
        self, x: torch.Tensor, no: float
    ) -> tuple[torch.Tensor, float | torch.Tensor]:
        """Channel plus equalization: symbols in, equalized symbols and their noise out.

        :input x: [num_symbols], complex. Unit-energy symbols.
        :input no: noise variance per complex symbol at the channel input.
        :output y: [num_symbols], complex. Equalized symbols.
        :output no_eff: scalar or [num_symbols]. Noise variance per symbol after
            equalization (``no`` for AWGN).
        """
        return self.channel(x, no), no

    def rebuild(
        self,
        tx: Transmission,
        denoiser: Denoiser | None = None,
        w_hat: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], LinkStats]:
        """Denoise a transmission (or take ``w_hat``) and rebuild the state dict."""
        rx = tx.reception
        if w_hat is None:
            w_hat = (denoiser or self.denoiser)(rx.y, rx.no_w, clean=tx.clean)
        return unflatten(tx.vector, tx.spec, air=w_hat), self.stats(tx, w_hat)

    @staticmethod
    def stats(tx: Transmission, w_hat: torch.Tensor) -> LinkStats:
        """Statistics of a rebuilt weight vector (see :mod:`airmodel.metrics`)."""
        clean = tx.clean
        no_w = tx.reception.no_w
        mean_no = mean_noise(no_w)
        power = tx.clean_power
        var_w = power - tx.clean_mean**2
        wnr_db = db(var_w / mean_no) if mean_no > 0 else math.inf
        return LinkStats(
            esno_db=tx.esno_db,
            wnr_db=wnr_db,
            noise_var=no_w,
            weight_mse=mse(w_hat, clean),
            signal_power=power,
            num_air=tx.spec.num_air,
        )

    def __call__(
        self,
        state_dict: Mapping[str, torch.Tensor],
        snr_db: float,
        seed: int | None = None,
    ) -> tuple[dict[str, torch.Tensor], LinkStats]:
        """Transmit, denoise with the default denoiser and rebuild."""
        return self.rebuild(self.transmit(state_dict, snr_db, seed))
