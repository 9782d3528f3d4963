# SPDX-License-Identifier: Apache-2.0
"""Transmit power control over flat fading: truncated channel inversion."""

from __future__ import annotations

import torch

from airmodel._validation import check_finite

__all__ = ["TruncatedInversion"]


class TruncatedInversion:
    r"""Invert the channel of symbols whose gain ``|h|^2`` reaches ``threshold``.

    Symbols with ``|h|^2 < threshold`` are not sent (precoder 0) and count as
    lost. Sent symbols get the precoder ``p = sqrt(c) / h``, so every one of
    them arrives with the same real gain ``h p = sqrt(c)``;
    ``c = 1 / mean_sent(1/|h|^2)`` makes the average transmit power over the
    sent symbols 1 (this realization's mean; the transmitter knows ``h``).
    After ZF every sent symbol has ``no_eff = no / c``. On Rayleigh fading,
    ``P(lost) = 1 - exp(-threshold)`` and ``1/c -> exp(t) E1(t)``
    (threshold 0.1: 9.5 % lost, ``c`` = -3.0 dB).

    :param threshold: Gain threshold on ``|h|^2`` [linear, relative to
        ``E|h|^2 = 1``]; must be > 0 (inverting a Rayleigh channel's deep fades
        takes unbounded power).

    :input h: [..., num_symbols], torch.complex. Channel known at the transmitter.
    :output precoder: [..., num_symbols], torch.complex. Multiplies the symbols.
    :output sent: [..., num_symbols], torch.bool. False for lost symbols.
    """

    def __init__(self, threshold: float = 0.1) -> None:
        t = check_finite("inversion_threshold", threshold)
        if t <= 0:
            raise ValueError(
                f"`inversion_threshold` must be > 0 (a |h|^2 level, e.g. 0.1); got {t}. "
                "Use power_control='none' to send every symbol."
            )
        self.threshold = t

    def __call__(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the precoder and the mask of sent symbols."""
        h2 = h.real.square() + h.imag.square()
        sent = h2 >= self.threshold
        inv = torch.where(sent, h2.reciprocal(), 0.0)  # 1/|h|^2 on sent symbols
        num_sent = int(sent.sum())
        if num_sent == 0:
            raise ValueError(
                f"No symbol has |h|^2 >= inversion_threshold={self.threshold}; "
                "lower `inversion_threshold`."
            )
        c = num_sent / float(inv.double().sum())
        return h.conj() * (inv * c**0.5), sent
