# SPDX-License-Identifier: Apache-2.0
"""Over-the-air uplink: active devices' analog deltas add up on the channel."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from airmodel import channels
from airmodel.channels.utils import snr_db_to_no
from airmodel.devices import sionna_device
from airmodel.metrics import moments
from airmodel.modulation.analog import AnalogDemodulator, AnalogModulator, Precision
from airmodel.protocols import Channel, FlatFadingChannel
from airmodel.transmitter.power_control import TruncatedInversion

__all__ = ["OverTheAirUplink", "UplinkRound", "UplinkReception"]

_REAL = {"single": torch.float32, "double": torch.float64}


@dataclass
class UplinkReception:
    """What the server gets from one round of over-the-air aggregation.

    :ivar y: [num_weights], real. Noisy sum of the deltas (0 where no device's
        symbol arrived).
    :ivar no_w: [num_weights], real. Noise variance of each summed weight
        (``inf`` where no device's symbol arrived).
    :ivar count: [num_weights], int64. How many devices' symbols each summed
        weight holds (``M`` everywhere over AWGN).
    :ivar clean: [num_weights], real. The noise-free sum of what was sent
        (simulation only: genie priors and error statistics).
    :ivar info: round statistics for results files.
    """

    y: torch.Tensor
    no_w: torch.Tensor
    count: torch.Tensor
    clean: torch.Tensor
    info: dict[str, float] = field(default_factory=dict)


class UplinkRound:
    """One round: call :meth:`add` once per active device, then :meth:`receive`.

    Memory is O(model size): the deltas are summed as they arrive and each
    device's channel is drawn, used and dropped in :meth:`add`.
    """

    def __init__(self, uplink: OverTheAirUplink, snr_db: float) -> None:
        self._up = uplink
        self.no = snr_db_to_no(snr_db)
        self.snr_db = float(snr_db)
        self._sum: torch.Tensor | None = None
        self._count: torch.Tensor | None = None
        self._gains: list[float] = []  # c_k of the devices that sent something
        self.devices = 0
        self.skipped_symbols = 0
        self.total_symbols = 0

    def add(self, delta: torch.Tensor) -> None:
        """Superimpose one device's delta.

        :input delta: [num_weights], real. The device's over-the-air entries.
        """
        up = self._up
        if delta.dim() != 1:
            raise ValueError(f"`delta` must be 1-D; got shape {list(delta.shape)}.")
        w = delta.to(up.device, _REAL[up.precision])
        if self._sum is None:
            self._sum = torch.zeros_like(w)
        elif w.shape != self._sum.shape:
            raise ValueError(
                f"`delta` has {w.numel()} weights but earlier devices sent "
                f"{self._sum.numel()}; every device must send the same payload."
            )
        self.devices += 1
        num_symbols = -(-w.numel() // 2)
        self.total_symbols += num_symbols
        if up.inversion is None:
            self._sum += w
            return
        h = up.channel.generate(num_symbols)  # this device's channel, [num_symbols]
        h2 = h.real.square() + h.imag.square()
        sent = h2 >= up.inversion.threshold
        num_sent = int(sent.sum())
        self.skipped_symbols += num_symbols - num_sent
        if num_sent:
            self._gains.append(num_sent / float(h2[sent].double().reciprocal().sum()))
        mask = sent.repeat_interleave(2)[: w.numel()]  # both weights of a symbol
        if self._count is None:
            self._count = torch.zeros(w.numel(), dtype=torch.int64, device=w.device)
        self._count += mask
        self._sum += w * mask

    def receive(self) -> UplinkReception:
        """Modulate the aligned sum, add the channel noise, demodulate."""
        up = self._up
        if self._sum is None:
            raise ValueError("No device sent anything this round; call add() first.")
        s = self._sum
        n = s.numel()
        _, power = moments(s)
        x, side = up.modulate(s, power=power)  # E|x|^2 = 1 for the sum
        c = min(self._gains) if self._gains else 1.0
        if up.inversion is None:
            y = up.channel(x, self.no)
            no_eff = self.no
            count = torch.full((n,), self.devices, dtype=torch.int64, device=s.device)
        else:
            # every sent symbol arrives with the common gain sqrt(c)
            g = torch.full_like(x, c**0.5)
            y = up.channel.apply(x, g, self.no) / g  # ZF
            no_eff = self.no / c
            count = self._count
        w, no_w = up.demodulate(y, no_eff, side)
        info = {
            "devices": float(self.devices),
            "signal_power": power,
            "noise_var": no_eff * side.scale**2 / 2.0,  # per real weight
        }
        if up.inversion is not None:
            lost = count == 0
            w = torch.where(lost, 0.0, w)
            no_w = torch.where(lost, torch.inf, no_w)
            info["skipped_fraction"] = self.skipped_symbols / max(self.total_symbols, 1)
            info["inversion_gain"] = c
        return UplinkReception(y=w, no_w=no_w, count=count, clean=s, info=info)


class OverTheAirUplink:
    r"""Analog over-the-air computation of the sum of the active devices' deltas.

    Every device maps its delta to complex symbols exactly as
    :class:`~airmodel.modulation.analog.AnalogModulator` does (weight ``2k`` on
    I, ``2k+1`` on Q) with one **common** scale ``sqrt(2 P)``,
    ``P = mean(s^2)`` of the sum ``s`` of the deltas (the paper's convention:
    the noise follows the summed signal's power). The channel adds the
    symbols, so the server receives ``sum_k x_k + n = s/scale + n``,
    ``n ~ CN(0, no)``, ``no = 10^(-snr_db/10)``, i.e. ``s + n'`` with noise
    variance ``no scale^2 / 2 = P / 10^(snr_db/10)`` per real weight
    (docs/conventions.md, "Analog weights"). Because the mapping is linear
    with a common scale, the sum is formed in the weight domain and modulated
    once; this equals the sum of the devices' symbols up to float rounding
    (tested).

    Over flat fading (``rayleigh``/``rician``) each device draws its own
    channel per symbol block and applies truncated channel inversion: symbols
    with ``|h_k|^2 < inversion_threshold`` are skipped (counted per weight in
    ``count`` and as ``skipped_fraction``); the others are precoded so that all
    devices arrive aligned with the common gain ``sqrt(c)``,
    ``c = min_k 1/mean_sent(1/|h_k|^2)`` (every device within unit average
    power). After ZF the noise per weight is ``P / 10^(snr_db/10) / c``.

    The channel is reseeded every round (:meth:`round`), device channels are
    drawn in the order the devices are added, then the noise.

    :param channel: a channel name or block (``awgn``, ``rayleigh``, ``rician``).
    :param precision: ``"single"`` (complex64) or ``"double"`` (complex128; the
        noise-free sum is then exact for float32 deltas).
    :param inversion_threshold: ``|h|^2`` threshold; required for fading
        channels, not allowed for AWGN.
    :param device: torch device of the symbols.

    .. rubric:: Examples

    >>> up = OverTheAirUplink("awgn")
    >>> rnd = up.round(snr_db=10.0, seed=0)
    >>> for d in deltas: rnd.add(d)                    # doctest: +SKIP
    >>> rx = rnd.receive()                              # doctest: +SKIP
    """

    def __init__(
        self,
        channel: str | Channel = "awgn",
        precision: Precision = "single",
        inversion_threshold: float | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        if precision not in _REAL:
            raise ValueError(
                f"`precision` must be 'single' or 'double'; got {precision!r}."
            )
        self.device = (
            torch.device(device) if device is not None else torch.device("cpu")
        )
        if isinstance(channel, str):
            channel = channels.get(
                channel, precision=precision, device=sionna_device(self.device)
            )
        self.channel = channel
        self.precision = precision
        fading = channel.is_fading
        if fading and not isinstance(channel, FlatFadingChannel):
            raise ValueError(
                f"Over-the-air aggregation needs a flat fading channel with "
                f"generate/apply ('rayleigh', 'rician') or 'awgn'; got "
                f"{type(channel).__name__}."
            )
        if fading and inversion_threshold is None:
            raise ValueError(
                "Over fading the devices must invert their channels to add up "
                "aligned: give `inversion_threshold` (e.g. 0.1)."
            )
        if not fading and inversion_threshold is not None:
            raise ValueError(
                "`inversion_threshold` applies to fading channels only; drop it "
                "for AWGN."
            )
        self.inversion = TruncatedInversion(inversion_threshold) if fading else None
        self.modulate = AnalogModulator(precision)
        self.demodulate = AnalogDemodulator()

    def round(self, snr_db: float, seed: int | None) -> UplinkRound:
        """Start a round at Es/N0 ``snr_db`` [dB]; reseeds the channel with ``seed``."""
        self.channel.seed(seed)
        return UplinkRound(self, snr_db)
