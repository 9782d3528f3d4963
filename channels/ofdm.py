# SPDX-License-Identifier: Apache-2.0
"""OFDM over 3GPP TDL/CDL channels with perfect or LS-estimated CSI (Sionna blocks)."""

from __future__ import annotations

import math

import torch
from sionna.phy import Block
from sionna.phy.channel import OFDMChannel
from sionna.phy.channel.tr38901 import CDL, TDL, Antenna
from sionna.phy.ofdm import (
    LSChannelEstimator,
    PilotPattern,
    ResourceGrid,
    ResourceGridMapper,
)

from airmodel._validation import check_finite, check_one_of, check_positive_int
from airmodel.channels._shared_rng import SharedSeedMixin, make_seedable
from airmodel.channels.registry import register_channel
from airmodel.seed import make_generator

__all__ = ["OFDMFadingChannel", "TDLChannel", "CDLChannel"]

#: Seed of the fixed QPSK pilot sequence (the same for every instance).
PILOT_SEED = 0


def _pilot_pattern(
    num_ofdm_symbols: int, fft_size: int, pilot_ofdm_symbol_indices: tuple[int, ...]
) -> PilotPattern:
    """Kronecker-style pattern (full pilot OFDM symbols) with fixed QPSK pilots."""
    mask = torch.zeros(1, 1, num_ofdm_symbols, fft_size, dtype=torch.bool)
    mask[..., list(pilot_ofdm_symbol_indices), :] = True
    n = len(pilot_ofdm_symbol_indices) * fft_size
    bits = torch.randint(0, 2, (2, n), generator=make_generator(PILOT_SEED))
    qpsk = torch.complex(1.0 - 2.0 * bits[0], 1.0 - 2.0 * bits[1]) / math.sqrt(2)
    return PilotPattern(mask, qpsk.view(1, 1, n).to(torch.complex64))


class OFDMFadingChannel(SharedSeedMixin, Block):
    r"""Symbols over an OFDM resource grid through a Sionna channel model.

    Data symbols fill the grid's data resource elements in order, slot by
    slot (``ResourceGridMapper``; the last slot is zero-padded); pilots are
    fixed QPSK on whole OFDM symbols. ``OFDMChannel(normalize_channel=True)``
    gives unit average energy per resource element. The receiver either knows
    the channel (``csi="perfect"``) or estimates it with
    ``LSChannelEstimator(interpolation_type=...)``. No guard carriers, no DC null.

    :param channel_model: Sionna CIR model ``(batch, num_time_steps, fs) -> (a, tau)``.
    :param csi: ``"perfect"`` or ``"ls"``.
    :param num_ofdm_symbols, fft_size, subcarrier_spacing, cyclic_prefix_length,
        pilot_ofdm_symbol_indices: Sionna ``ResourceGrid`` arguments
        (``subcarrier_spacing`` [Hz]).
    :param interpolation_type: LS interpolation, ``"nn"``, ``"lin"`` or ``"lin_time_avg"``.
    :param slots_per_batch: Slots simulated per Sionna call (memory vs. speed).
    :param precision: ``"single"`` or ``"double"``.
    :param device: Torch device; Sionna's default if ``None``.

    :input x: [..., num_symbols], torch.complex. Unit-energy data symbols.
    :input no: Scalar, float. Noise variance per complex symbol.
    :output y: [..., num_symbols], torch.complex. Received data symbols.
    :output h_hat: [..., num_symbols], torch.complex. Receiver's channel of
        each data symbol (true channel if ``csi="perfect"``).
    :output err_var: [..., num_symbols] for LS or [] for perfect CSI, float.
        Variance of the estimation error (Sionna's ``err_var``).
    """

    is_fading = True

    def __init__(
        self,
        channel_model: Block,
        csi: str = "ls",
        num_ofdm_symbols: int = 14,
        fft_size: int = 72,
        subcarrier_spacing: float = 30e3,
        cyclic_prefix_length: int = 6,
        pilot_ofdm_symbol_indices: tuple[int, ...] = (2, 11),
        interpolation_type: str = "lin",
        slots_per_batch: int = 512,
        precision: str | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(precision=precision, device=device)
        self.csi = check_one_of("csi", csi, ("perfect", "ls"))
        check_one_of(
            "interpolation_type", interpolation_type, ("nn", "lin", "lin_time_avg")
        )
        self.slots_per_batch = check_positive_int("slots_per_batch", slots_per_batch)
        num_ofdm_symbols = check_positive_int("num_ofdm_symbols", num_ofdm_symbols)
        fft_size = check_positive_int("fft_size", fft_size)
        pilots = tuple(pilot_ofdm_symbol_indices)
        if not pilots or not all(0 <= i < num_ofdm_symbols for i in pilots):
            raise ValueError(
                f"`pilot_ofdm_symbol_indices` must be non-empty indices in "
                f"[0, {num_ofdm_symbols}); got {list(pilots)}."
            )
        kw = {"precision": self.precision, "device": self.device}
        self.resource_grid = ResourceGrid(
            num_ofdm_symbols=num_ofdm_symbols,
            fft_size=fft_size,
            subcarrier_spacing=subcarrier_spacing,
            cyclic_prefix_length=cyclic_prefix_length,
            pilot_pattern=_pilot_pattern(num_ofdm_symbols, fft_size, pilots),
            pilot_ofdm_symbol_indices=list(pilots),
            **kw,
        )
        rg = self.resource_grid
        self._mapper = ResourceGridMapper(rg, **kw)
        self._channel = make_seedable(
            OFDMChannel(
                channel_model, rg, normalize_channel=True, return_channel=True, **kw
            )
        )
        self._estimator = LSChannelEstimator(
            rg, interpolation_type=interpolation_type, **kw
        )
        self._data = ~rg.pilot_pattern.mask[0, 0].bool().to(self.device)  # [sym, sc]
        self.num_data_symbols = int(rg.num_data_symbols)

    def _slots(self, x: torch.Tensor, no: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One batch of slots: [b, D] data symbols in, (y, h_hat, err_var) [b, D] out."""
        y, h = self._channel(
            self._mapper(x[:, None, None, :]), no
        )  # [b,1,1,S,F], [b,1,1,1,1,S,F]
        if self.csi == "ls":
            h, err = self._estimator(y, no)
            err = err.expand_as(h)[:, 0, 0, 0, 0][:, self._data]
        else:
            err = None
        return y[:, 0, 0][:, self._data], h[:, 0, 0, 0, 0][:, self._data], err

    def call(
        self, x: torch.Tensor, no: float | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Map, propagate slot batches, estimate, and return data-RE outputs."""
        no = torch.as_tensor(no, dtype=self.dtype, device=self.device)
        if no.dim() != 0:
            raise ValueError(
                f"`no` must be a scalar for OFDM channels; got shape {list(no.shape)}."
            )
        shape, d = x.shape, self.num_data_symbols
        flat = x.reshape(-1)
        nb = -(-flat.numel() // d)  # slots
        flat = torch.cat([flat, flat.new_zeros(nb * d - flat.numel())]).view(nb, d)
        outs = [
            self._slots(flat[i : i + self.slots_per_batch], no)
            for i in range(0, nb, self.slots_per_batch)
        ]
        n = math.prod(shape)
        y, h = (
            torch.cat([o[k] for o in outs]).view(-1)[:n].view(shape) for k in (0, 1)
        )
        if self.csi == "ls":
            err = torch.cat([o[2] for o in outs]).view(-1)[:n].view(shape)
        else:
            err = torch.zeros((), dtype=self.dtype, device=self.device)
        return y, h, err


@register_channel("tdl")
class TDLChannel(OFDMFadingChannel):
    """OFDM over a 3GPP TDL channel (Sionna ``TDL``), SISO.

    :param model: ``"A"``..``"E"`` (scaled by ``delay_spread``) or a fixed-delay
        profile (``"A30"``, ``"C300"``, ...).
    :param delay_spread: RMS delay spread [s].
    :param carrier_frequency: Carrier frequency [Hz].
    :param min_speed, max_speed: UT speed range [m/s], drawn per slot.
    :param ofdm_kwargs: :class:`OFDMFadingChannel` arguments (``csi``, grid, ...).

    Inputs and outputs as :class:`OFDMFadingChannel`.

    .. rubric:: Examples

    >>> ch = TDLChannel("C", csi="perfect"); ch.seed(0)
    >>> y, h_hat, err_var = ch(torch.ones(1000, dtype=torch.complex64), 0.01)
    >>> y.shape
    torch.Size([1000])
    """

    def __init__(
        self,
        model: str = "C",
        delay_spread: float | None = 300e-9,
        carrier_frequency: float = 3.5e9,
        min_speed: float = 0.0,
        max_speed: float | None = None,
        precision: str | None = None,
        device: str | None = None,
        **ofdm_kwargs,
    ) -> None:
        check_finite("carrier_frequency", carrier_frequency)
        tdl = TDL(
            model,
            delay_spread=delay_spread,
            carrier_frequency=carrier_frequency,
            min_speed=min_speed,
            max_speed=max_speed,
            precision=precision,
            device=device,
        )
        super().__init__(tdl, precision=precision, device=device, **ofdm_kwargs)


@register_channel("cdl")
class CDLChannel(OFDMFadingChannel):
    """OFDM over a 3GPP CDL channel (Sionna ``CDL``), single omni antennas.

    :param model: ``"A"``..``"E"``.
    :param delay_spread: RMS delay spread [s].
    :param carrier_frequency: Carrier frequency [Hz].
    :param direction: ``"uplink"`` or ``"downlink"``.
    :param min_speed, max_speed: UT speed range [m/s].
    :param ofdm_kwargs: :class:`OFDMFadingChannel` arguments (``csi``, grid, ...).

    Inputs and outputs as :class:`OFDMFadingChannel`.
    """

    def __init__(
        self,
        model: str = "C",
        delay_spread: float = 100e-9,
        carrier_frequency: float = 3.5e9,
        direction: str = "uplink",
        min_speed: float = 0.0,
        max_speed: float = 0.0,
        precision: str | None = None,
        device: str | None = None,
        **ofdm_kwargs,
    ) -> None:
        check_finite("carrier_frequency", carrier_frequency)
        check_one_of("direction", direction, ("uplink", "downlink"))
        ant = Antenna(
            "single", "V", "omni", carrier_frequency, precision=precision, device=device
        )
        cdl = CDL(
            model,
            delay_spread,
            carrier_frequency,
            ut_array=ant,
            bs_array=ant,
            direction=direction,
            min_speed=min_speed,
            max_speed=max_speed,
            precision=precision,
            device=device,
        )
        super().__init__(cdl, precision=precision, device=device, **ofdm_kwargs)
