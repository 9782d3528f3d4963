# SPDX-License-Identifier: Apache-2.0
"""MIMO-OFDM over 3GPP CDL/TDL with antenna arrays, seen as one scalar channel per symbol.

Spatial multiplexing of ``N_s = N_t`` streams from one transmitter with ``N_t``
antennas to one receiver with ``N_r`` antennas, all through Sionna's blocks:
``ResourceGrid`` with orthogonal (Kronecker-structured) pilots,
``ResourceGridMapper``, ``OFDMChannel`` over ``CDL`` (``AntennaArray`` at both
ends) or ``TDL`` (``num_tx_ant``/``num_rx_ant``, optional exponential
correlation), ``LSChannelEstimator`` with Sionna's interpolators (or
``LMMSEChannelEstimator`` given the TDL covariances),
``StreamManagement`` and Sionna's OFDM ``LMMSEEqualizer`` / ``ZFEqualizer``.
Each data symbol comes out as ``x_hat = x + e`` with the equalizer's
post-equalization noise-plus-interference variance ``no_eff``, returned as the
equivalent scalar channel ``y = g x_hat``, ``g = sqrt(no/no_eff)``: the calling
convention of :class:`~airmodel.channels.mimo.MIMOChannel` (docs/mimo.md).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sionna.phy import Block
from sionna.phy.channel import OFDMChannel, exp_corr_mat
from sionna.phy.channel.tr38901 import CDL, TDL, AntennaArray
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import (
    LinearInterpolator,
    LMMSEChannelEstimator,
    LMMSEEqualizer,
    LSChannelEstimator,
    NearestNeighborInterpolator,
    PilotPattern,
    ResourceGrid,
    ResourceGridMapper,
    ZFEqualizer,
    tdl_freq_cov_mat,
    tdl_time_cov_mat,
)

from airmodel._validation import check_finite, check_one_of, check_positive_int
from airmodel.channels._shared_rng import SharedSeedMixin, make_seedable
from airmodel.channels.base import block_device, scalar_no
from airmodel.channels.mimo import _check_rho, _gain
from airmodel.channels.registry import register_channel
from airmodel.seed import make_generator

__all__ = [
    "MIMOOFDMChannel",
    "CDLMIMOChannel",
    "TDLMIMOChannel",
    "noise_gain",
    "spatial_lmmse",
]

#: Seed of the fixed QPSK pilot sequences (the same for every instance).
PILOT_SEED = 0
#: Noise variance given to Sionna's LMMSE estimator when ``no = 0`` (``csi="sionna_lmmse"``).
NOISE_FLOOR = 1e-6


def kronecker_pilots(
    num_streams: int,
    num_ofdm_symbols: int,
    fft_size: int,
    pilot_ofdm_symbol_indices: tuple[int, ...],
    device: str | None,
) -> PilotPattern:
    """Orthogonal pilots on whole OFDM symbols: stream ``j`` on subcarriers ``j::N_s``.

    The structure of Sionna's ``KroneckerPilotPattern``, with QPSK drawn from a
    fixed seed (Sionna's draws from its global generator). ``PilotPattern``
    normalizes each stream's pilots to mean energy 1 over its pilot positions,
    so a nonzero pilot has energy ``N_s`` and every pilot resource element
    carries total energy ``N_s`` (1 after the transmitter's ``1/sqrt(N_s)``).
    """
    k, idx = num_streams, list(pilot_ofdm_symbol_indices)
    mask = torch.zeros(1, k, num_ofdm_symbols, fft_size, dtype=torch.bool)
    mask[..., idx, :] = True
    per = fft_size // k
    bits = torch.randint(
        0, 2, (2, k, len(idx), per),
        generator=make_generator(PILOT_SEED, purpose="pilots"),
    )  # fmt: skip
    qpsk = torch.complex(1.0 - 2.0 * bits[0], 1.0 - 2.0 * bits[1]) / math.sqrt(2)
    pilots = torch.zeros(1, k, len(idx), fft_size, dtype=torch.complex64)
    for j in range(k):
        pilots[0, j, :, j::k] = qpsk[j]
    return PilotPattern(mask, pilots.view(1, k, -1), normalize=True, device=device)


def noise_gain(interp, pilots: torch.Tensor) -> torch.Tensor:
    r"""``G[j, s, f] = Σ_p |W_jp[s, f]|² / |pilot_jp|²`` of a linear interpolator.

    Stream ``j``'s interpolated LS estimate is ``ĥ = Σ_p W_jp·y_p/pilot_jp`` over
    its nonzero pilots; its noise part has variance ``no·G``. The weights are
    the interpolator's responses to unit impulses at each pilot position.

    :input pilots: [N_s, P], complex. The pattern's pilots (zeros: other streams').
    :output G: [N_s, num_ofdm_symbols, fft_size], float.
    """
    k, num = pilots.shape
    eye = torch.eye(num, dtype=pilots.dtype, device=pilots.device)
    eye = eye.view(num, 1, 1, 1, 1, num).expand(num, 1, 1, 1, k, num).contiguous()
    w, _ = interp(eye, eye.real)
    w = w[:, 0, 0, 0]  # [P, N_s, S, F]
    p2 = pilots.abs().square()  # [N_s, P]
    scale = torch.where(p2 > 0, p2.reciprocal(), torch.zeros_like(p2)).T  # [P, N_s]
    return (w.abs().square() * scale[:, :, None, None]).sum(0)


def spatial_lmmse(
    h_ls: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Joint LMMSE of all ``N_r·N_s`` channel entries of each resource element from LS.

    ``z = h + e`` per resource element, ``e ~ CN(0, V)``, ``V = diag(v)`` (the
    LS noise of each entry: stream ``j``'s ``v_j`` on every receive antenna).
    The spatial covariance ``R = E[h hᴴ]`` is estimated from the estimates
    themselves, ``R = mean(z zᴴ) − mean(V)`` over all slots and resource
    elements, projected to the positive semi-definite cone. Then
    ``ĥ = R (R + V)⁻¹ z`` and the error covariance ``R − R (R + V)⁻¹ R``, whose
    diagonal is returned (Sionna's equalizers take per-entry variances).

    :input h_ls: [b, 1, N_r, 1, N_s, S, F], complex. Interpolated LS estimates.
    :input v: [N_s, S, F], float. Their error variance.
    :output h_hat: like ``h_ls``.
    :output err_var: [1, 1, N_r, 1, N_s, S, F], float.
    """
    b, _, nr, _, k, ns, nf = h_ls.shape
    if float(v.max()) <= 0.0:  # no noise: LS is the channel
        return h_ls, torch.zeros((), dtype=h_ls.real.dtype, device=h_ls.device)
    m = nr * k
    u = h_ls[:, 0, :, 0].permute(0, 3, 4, 1, 2).reshape(b, ns, nf, m)  # m = r·k + j
    vm = v.permute(1, 2, 0).repeat(1, 1, nr).to(u.real.dtype)  # [S, F, M]
    r = torch.einsum("bsfm,bsfn->mn", u, u.conj()) / (b * ns * nf)
    r = r - torch.diag(vm.mean((0, 1))).to(r.dtype)
    lam, q = torch.linalg.eigh(r)
    r = (q * lam.clamp_min(0.0).to(q.dtype)) @ q.mH  # PSD
    a = r + torch.diag_embed(vm).to(r.dtype)  # [S, F, M, M]
    w = torch.linalg.solve(a, r.expand_as(a)).mH  # R (R + V)^-1 (both Hermitian)
    h_hat = torch.einsum("sfmn,bsfn->bsfm", w, u)
    err = (r - w @ r).diagonal(dim1=-2, dim2=-1).real.clamp_min(0.0)  # [S, F, M]
    h_hat = h_hat.reshape(b, ns, nf, nr, k).permute(0, 3, 4, 1, 2)[:, None, :, None]
    err = err.reshape(ns, nf, nr, k).permute(2, 3, 0, 1)[None, None, :, None]
    return h_hat, err


class MIMOOFDMChannel(SharedSeedMixin, Block):
    r"""Spatial multiplexing over an OFDM resource grid through a Sionna MIMO channel model.

    One transmitter with ``N_t`` antennas sends ``N_s = N_t`` streams (stream
    ``j`` on antenna ``j``) to one receiver with ``N_r`` antennas. The mapped
    grid (data and pilots) is scaled by ``1/sqrt(N_s)``: every resource
    element carries total transmit energy 1, as in every mode of
    :class:`~airmodel.channels.mimo.MIMOChannel`, so ``no = N0/Es`` and the
    mean SNR per receive antenna is ``Es/N0`` (``OFDMChannel(normalize_channel=True)``:
    mean ``|h_ij|² = 1`` over each slot). Data symbols fill streams first
    (symbol ``i`` of a resource element goes to stream ``i mod N_s``), then the
    data resource elements slot by slot.

    Receiver: Sionna's OFDM ``LMMSEEqualizer`` (``equalizer="lmmse"``) or
    ``ZFEqualizer`` with ``StreamManagement`` for one link, given

    * ``csi="perfect"``: the true channel, ``err_var = 0``;
    * ``csi="ls"``: ``LSChannelEstimator`` with Sionna's ``"nn"``/``"lin"``/
      ``"lin_time_avg"`` interpolator, whose error at each resource element has
      the exact variance ``v = no·G`` (:func:`noise_gain`: the interpolation
      weights, measured once), then the per-entry LMMSE refinement
      ``ĥ = ĥ_LS/(1 + N_s v)`` of the effective channel (entries of mean
      energy ``1/N_s``) with error variance ``v/(1 + N_s v)``, uncorrelated
      with ``ĥ``. That variance goes to the equalizer as ``err_var``, so its
      ``no_eff`` includes the estimation error (exact for Gaussian entries and a
      channel constant over the slot, speed 0; Doppler adds an interpolation
      error not in ``err_var``);
    * ``csi="lmmse"``: the ``"ls"`` estimate refined by :func:`spatial_lmmse`
      (spatial covariance estimated from the call's LS estimates);
    * ``csi="sionna_lmmse"``: Sionna's ``LMMSEChannelEstimator`` (order
      ``"t-f-s"``) given the channel's frequency, time and receive-side spatial
      covariance matrices (:meth:`set_covariances`, each scaled by ``1/N_s``: the
      effective channel's entries have energy ``1/N_s``), and Sionna's
      returned per-entry error variance as ``err_var``.

    Pilots take whole OFDM symbols (``pilot_ofdm_symbol_indices``) in both CSI
    modes (same grid, same draws); they count as channel uses:
    ``symbols_per_use = N_s·D/(S·F)``, ``D`` data resource elements per slot.
    No guard carriers, no DC null.

    :param channel_model: Sionna CIR model with ``N_t`` transmit and ``N_r`` receive antennas.
    :param num_tx: ``N_t`` transmit antennas (= streams).
    :param num_rx: ``N_r`` receive antennas.
    :param equalizer: ``"lmmse"`` or ``"zf"`` (ZF needs ``num_rx >= num_tx``).
    :param csi: ``"perfect"``, ``"ls"``, ``"lmmse"`` or ``"sionna_lmmse"``.
    :param num_ofdm_symbols: Sionna ``ResourceGrid`` argument, as are ``fft_size``
        (a multiple of ``num_tx``), ``subcarrier_spacing`` [Hz],
        ``cyclic_prefix_length`` and ``pilot_ofdm_symbol_indices``.
    :param interpolation_type: LS interpolation, ``"nn"``, ``"lin"`` or ``"lin_time_avg"``.
    :param slots_per_batch: Slots per Sionna call (memory vs. speed).
    :param precision: ``"single"`` or ``"double"``.
    :param device: Torch device; Sionna's default if ``None``.

    :input x: [num_symbols], torch.complex. Unit-energy data symbols.
    :input no: Scalar, float. Noise variance per complex symbol and receive antenna.
    :output y: [num_symbols], torch.complex. Equivalent scalar channel output ``g x_hat``.
    :output h_hat: [num_symbols], torch.complex. The real gain ``g = sqrt(no/no_eff)``.
    :output err_var: [], float. 0 (the CSI error is inside ``no_eff``).
    """

    is_fading = True
    #: Whether a subclass gives Sionna's LMMSE estimator the channel's covariance
    #: matrices (:meth:`set_covariances`), as ``csi="sionna_lmmse"`` needs.
    has_covariances = False

    def __init__(
        self,
        channel_model: Block,
        num_tx: int = 2,
        num_rx: int = 2,
        equalizer: str = "lmmse",
        csi: str = "lmmse",
        num_ofdm_symbols: int = 14,
        fft_size: int = 72,
        subcarrier_spacing: float = 30e3,
        cyclic_prefix_length: int = 6,
        pilot_ofdm_symbol_indices: tuple[int, ...] = (2, 11),
        interpolation_type: str = "lin",
        slots_per_batch: int = 64,
        precision: str | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(precision=precision, device=device)
        self.num_tx, self.num_rx = num_tx, num_rx
        self.equalizer = equalizer
        self.csi = check_one_of("csi", csi, ("perfect", "ls", "lmmse", "sionna_lmmse"))
        if self.csi == "sionna_lmmse" and not self.has_covariances:
            raise ValueError(
                "`csi: sionna_lmmse` needs the channel's covariance matrices, "
                "known for mimo_tdl only; use csi: lmmse here"
            )
        check_one_of(
            "interpolation_type", interpolation_type, ("nn", "lin", "lin_time_avg")
        )
        self.slots_per_batch = check_positive_int("slots_per_batch", slots_per_batch)
        num_ofdm_symbols = check_positive_int("num_ofdm_symbols", num_ofdm_symbols)
        fft_size = check_positive_int("fft_size", fft_size)
        if fft_size % num_tx:
            raise ValueError(
                f"each of the {num_tx} streams gets every {num_tx}-th pilot "
                f"subcarrier: `fft_size` must be a multiple of num_tx; got {fft_size}"
            )
        pilots = tuple(pilot_ofdm_symbol_indices)
        if not pilots or not all(0 <= i < num_ofdm_symbols for i in pilots):
            raise ValueError(
                f"`pilot_ofdm_symbol_indices` must be non-empty indices in "
                f"[0, {num_ofdm_symbols}); got {list(pilots)}"
            )
        kw = {"precision": self.precision, "device": self.device}
        k = num_tx
        self.resource_grid = rg = ResourceGrid(
            num_ofdm_symbols=num_ofdm_symbols,
            fft_size=fft_size,
            subcarrier_spacing=subcarrier_spacing,
            num_tx=1,
            num_streams_per_tx=k,
            cyclic_prefix_length=cyclic_prefix_length,
            pilot_pattern=kronecker_pilots(
                k, num_ofdm_symbols, fft_size, pilots, self.device
            ),
            pilot_ofdm_symbol_indices=list(pilots),
            **kw,
        )
        self.stream_management = StreamManagement(np.ones([1, 1], int), k)
        self._mapper = ResourceGridMapper(rg, **kw)
        self._channel = make_seedable(
            OFDMChannel(
                channel_model, rg, normalize_channel=True, return_channel=True, **kw
            )
        )
        self._lmmse = LMMSEEqualizer(rg, self.stream_management, **kw)
        self._zf = ZFEqualizer(rg, self.stream_management, **kw)
        pattern = rg.pilot_pattern
        interp = (
            NearestNeighborInterpolator(pattern, **kw)
            if interpolation_type == "nn"
            else LinearInterpolator(
                pattern, time_avg=interpolation_type == "lin_time_avg", **kw
            )
        )
        self._estimator = LSChannelEstimator(rg, interpolator=interp, **kw)
        #: [N_s, S, F] noise gain of the LS estimate (``v = no·G``).
        self.ls_gain = noise_gain(interp, pattern.pilots[0])
        self.num_data_symbols = int(rg.num_data_symbols)  # per stream and slot
        #: Complex symbols per channel use (resource element, pilots counted).
        self.symbols_per_use = k * self.num_data_symbols / (num_ofdm_symbols * fft_size)

    def set_covariances(
        self, cov_time: torch.Tensor, cov_freq: torch.Tensor, cov_space: torch.Tensor
    ) -> None:
        """Build Sionna's ``LMMSEChannelEstimator`` (order ``"t-f-s"``) for ``csi="sionna_lmmse"``.

        Each matrix is divided by ``N_s``: the effective channel's entries have
        energy ``1/N_s``.

        :param cov_time: [S, S], complex. Time covariance, unit diagonal.
        :param cov_freq: [F, F], complex. Frequency covariance, unit diagonal.
        :param cov_space: [N_r, N_r], complex. Receive-antenna covariance.
        """
        k, kw = self.num_tx, {"precision": self.precision, "device": self.device}
        covs = (c.to(self.cdtype) / k for c in (cov_time, cov_freq, cov_space))
        self._sionna_lmmse = LMMSEChannelEstimator(
            self.resource_grid, *covs, order="t-f-s", **kw
        )

    def _estimate(self, y, h, no) -> tuple[torch.Tensor, torch.Tensor]:
        """The receiver's effective channel and its error variance (see the class)."""
        k = self.num_tx
        if self.csi == "perfect":
            return h / math.sqrt(k), torch.zeros(
                (), dtype=self.dtype, device=self.device
            )
        if self.csi == "sionna_lmmse":
            if float(no) > 0.0:
                return self._sionna_lmmse(y, no)
            # no = 0: Sionna's filters are singular; estimate at a floor, report 0
            h_hat, _ = self._sionna_lmmse(y, no.new_tensor(NOISE_FLOOR))
            return h_hat, torch.zeros((), dtype=self.dtype, device=self.device)
        h_ls, _ = self._estimator(y, no)  # estimates h/sqrt(k): the pilots were scaled
        v = no * self.ls_gain.to(h_ls.real.dtype)  # [k, S, F]: exact LS error variance
        if self.csi == "ls":
            shrink = 1.0 / (1.0 + k * v)
            return h_ls * shrink.to(h_ls.dtype), v * shrink
        return spatial_lmmse(h_ls, v)

    def _slots(
        self, x: torch.Tensor, no: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch of slots: [b, D·N_s] symbols in, (x_hat, no_eff) [b, D·N_s] out."""
        b, k, d = x.shape[0], self.num_tx, self.num_data_symbols
        s = x.view(b, d, k).transpose(1, 2)[:, None]  # [b, 1, k, D]: stream-first
        grid = self._mapper(s) / math.sqrt(k)  # total energy 1 per resource element
        y, h = self._channel(grid, no)  # [b,1,Nr,S,F], [b,1,Nr,1,k,S,F]
        h_rx, err = self._estimate(y, h, no)
        eq = self._zf if self.equalizer == "zf" or float(no) == 0.0 else self._lmmse
        x_hat, no_eff = eq(y, h_rx, err, no)  # [b, 1, k, D]
        x_hat = x_hat[:, 0].transpose(1, 2).reshape(b, -1)  # back to stream-first
        return x_hat, no_eff[:, 0].transpose(1, 2).reshape(b, -1)

    def call(
        self, x: torch.Tensor, no: float | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Send ``x`` over as many slots as it needs; see the class."""
        no = scalar_no(no, self.dtype, self.device, "the MIMO-OFDM channel")
        if x.dim() != 1:
            raise ValueError(
                f"`x` must be 1-D [num_symbols]; got shape {list(x.shape)}."
            )
        n, per = x.numel(), self.num_data_symbols * self.num_tx
        nb = -(-n // per)
        flat = torch.cat([x, x.new_zeros(nb * per - n)]).view(nb, per)
        outs = [
            self._slots(flat[i : i + self.slots_per_batch], no)
            for i in range(0, nb, self.slots_per_batch)
        ]
        x_hat = torch.cat([o[0] for o in outs]).reshape(-1)[:n]
        no_eff = torch.cat([o[1] for o in outs]).reshape(-1)[:n]
        # a (numerically) singular channel under ZF: the symbol is lost (g = 0)
        bad = ~(torch.isfinite(x_hat) & torch.isfinite(no_eff))
        x_hat, no_eff = x_hat.masked_fill(bad, 0), no_eff.masked_fill(bad, math.inf)
        g = _gain(no, no_eff)
        err = torch.zeros((), dtype=self.dtype, device=self.device)
        return (x_hat * g).to(x.dtype), g.to(x.dtype), err


def _check_antennas(num_tx, num_rx, equalizer) -> tuple[int, int, str]:
    nt = check_positive_int("num_tx", num_tx)
    nr = check_positive_int("num_rx", num_rx)
    equalizer = check_one_of("equalizer", equalizer, ("lmmse", "zf"))
    if equalizer == "zf" and nr < nt:
        raise ValueError(
            f"ZF separates N_t={nt} streams only with `num_rx` >= {nt}; got "
            f"{nr}. Use equalizer: lmmse or more receive antennas"
        )
    return nt, nr, equalizer


@register_channel("mimo_cdl")
class CDLMIMOChannel(MIMOOFDMChannel):
    """MIMO-OFDM over a 3GPP CDL channel (Sionna ``CDL``) with antenna arrays.

    Uplink by default: the UT sends from a 1 x ``num_tx`` uniform linear
    ``AntennaArray`` of omnidirectional, vertically polarized elements, the BS
    receives on a 1 x ``num_rx`` array with the 3GPP 38.901 element pattern;
    both spaced half a wavelength (``spacing`` [wavelengths]).

    :param model: ``"A"``..``"E"``.
    :param delay_spread: RMS delay spread [s].
    :param carrier_frequency: Carrier frequency [Hz].
    :param direction: ``"uplink"`` or ``"downlink"`` (then the BS array transmits).
    :param min_speed, max_speed: UT speed range [m/s].
    :param spacing: element spacing of both arrays [wavelengths].
    :param kwargs: :class:`MIMOOFDMChannel` arguments (``num_tx``, ``num_rx``,
        ``equalizer``, ``csi``, grid, ...).

    .. rubric:: Examples

    >>> ch = CDLMIMOChannel(num_tx=2, num_rx=4, csi="ls"); ch.seed(0)
    >>> y, g, _ = ch(torch.ones(2000, dtype=torch.complex64), 0.1)
    >>> x_hat, no_eff = y / g, 0.1 / g.real**2   # what the Link's ZF gives
    """

    def __init__(
        self,
        model: str = "C",
        delay_spread: float = 100e-9,
        carrier_frequency: float = 3.5e9,
        direction: str = "uplink",
        min_speed: float = 0.0,
        max_speed: float = 0.0,
        spacing: float = 0.5,
        num_tx: int = 2,
        num_rx: int = 2,
        equalizer: str = "lmmse",
        precision: str | None = None,
        device: str | None = None,
        **kwargs,
    ) -> None:
        check_finite("carrier_frequency", carrier_frequency)
        check_one_of("direction", direction, ("uplink", "downlink"))
        check_one_of("model", model, ("A", "B", "C", "D", "E"))
        nt, nr, equalizer = _check_antennas(num_tx, num_rx, equalizer)
        if (
            isinstance(spacing, bool)
            or not isinstance(spacing, (int, float))
            or spacing <= 0
        ):
            raise ValueError(
                f"`spacing` must be a positive number of wavelengths; got {spacing!r}"
            )
        device = block_device(device)

        def array(n: int, pattern: str) -> AntennaArray:
            return AntennaArray(
                1, n, "single", "V", pattern, carrier_frequency,
                horizontal_spacing=spacing, precision=precision, device=device,
            )  # fmt: skip

        uplink = direction == "uplink"
        ut = array(nt if uplink else nr, "omni")
        bs = array(nr if uplink else nt, "38.901")
        cdl = CDL(
            model, delay_spread, carrier_frequency, ut_array=ut, bs_array=bs,
            direction=direction, min_speed=min_speed, max_speed=max_speed,
            precision=precision, device=device,
        )  # fmt: skip
        super().__init__(
            cdl, num_tx=nt, num_rx=nr, equalizer=equalizer,
            precision=precision, device=device, **kwargs,
        )  # fmt: skip


@register_channel("mimo_tdl")
class TDLMIMOChannel(MIMOOFDMChannel):
    """MIMO-OFDM over a 3GPP TDL channel (Sionna ``TDL``, ``num_tx_ant``/``num_rx_ant``).

    Antennas i.i.d. (``rho_tx = rho_rx = 0``) or Kronecker-correlated with
    exponential correlation ``R_ij = rho^{|i-j|}`` at each end (Sionna
    ``exp_corr_mat`` as ``tx_corr_mat``/``rx_corr_mat``).

    :param model: ``"A"``..``"E"`` (scaled by ``delay_spread``) or a fixed-delay
        profile (``"A30"``, ``"C300"``, ...).
    :param delay_spread: RMS delay spread [s].
    :param carrier_frequency: Carrier frequency [Hz].
    :param min_speed, max_speed: UT speed range [m/s].
    :param rho_tx, rho_rx: exponential correlation at each end, ``0 <= rho < 1``.
    :param kwargs: :class:`MIMOOFDMChannel` arguments. ``csi="sionna_lmmse"``
        (models ``"A"``..``"E"``) gives Sionna's ``LMMSEChannelEstimator`` the
        model's covariances: ``tdl_freq_cov_mat``, ``tdl_time_cov_mat``
        (averaged over 16 speeds spread evenly over ``[min_speed, max_speed]``)
        and ``exp_corr_mat(rho_rx)`` across the receive antennas (identity when
        uncorrelated). ``rho_tx`` needs none: with orthogonal pilots each
        stream's column of ``H`` is estimated alone, with covariance ``R_rx``.
    """

    has_covariances = True

    def __init__(
        self,
        model: str = "C",
        delay_spread: float | None = 300e-9,
        carrier_frequency: float = 3.5e9,
        min_speed: float = 0.0,
        max_speed: float | None = None,
        rho_tx: float = 0.0,
        rho_rx: float = 0.0,
        num_tx: int = 2,
        num_rx: int = 2,
        equalizer: str = "lmmse",
        precision: str | None = None,
        device: str | None = None,
        **kwargs,
    ) -> None:
        check_finite("carrier_frequency", carrier_frequency)
        nt, nr, equalizer = _check_antennas(num_tx, num_rx, equalizer)
        rho_tx, rho_rx = _check_rho("rho_tx", rho_tx), _check_rho("rho_rx", rho_rx)
        if kwargs.get("csi") == "sionna_lmmse":
            if model not in ("A", "B", "C", "D", "E") or delay_spread is None:
                raise ValueError(
                    f"`csi: sionna_lmmse` needs a scaled model A..E with a "
                    f"delay_spread (Sionna's tdl_freq_cov_mat); got model "
                    f"{model!r}. Use csi: lmmse for fixed-delay profiles"
                )
        device = block_device(device)
        kw = {"precision": precision, "device": device}
        corr = {}
        if rho_tx or rho_rx:
            corr = {
                "tx_corr_mat": exp_corr_mat(rho_tx, nt, **kw),
                "rx_corr_mat": exp_corr_mat(rho_rx, nr, **kw),
            }
        tdl = TDL(
            model, delay_spread=delay_spread, carrier_frequency=carrier_frequency,
            min_speed=min_speed, max_speed=max_speed, num_rx_ant=nr, num_tx_ant=nt,
            **corr, **kw,
        )  # fmt: skip
        super().__init__(
            tdl, num_tx=nt, num_rx=nr, equalizer=equalizer, **kw, **kwargs
        )  # fmt: skip
        if self.csi == "sionna_lmmse":
            rg, speeds = self.resource_grid, _speed_grid(min_speed, max_speed)
            freq = tdl_freq_cov_mat(
                model, rg.subcarrier_spacing, rg.fft_size, delay_spread, **kw
            )
            time = sum(
                tdl_time_cov_mat(
                    model,
                    v,
                    carrier_frequency,
                    rg.ofdm_symbol_duration,
                    rg.num_ofdm_symbols,
                    **kw,
                )
                for v in speeds
            ) / len(speeds)
            self.set_covariances(time, freq, exp_corr_mat(rho_rx, nr, **kw))


def _speed_grid(min_speed: float, max_speed: float | None) -> list[float]:
    """16 speeds at the midpoints of equal parts of ``[min, max]`` (one if equal)."""
    hi = min_speed if max_speed is None else max_speed
    if hi == min_speed:
        return [float(min_speed)]
    return [min_speed + (i + 0.5) * (hi - min_speed) / 16 for i in range(16)]
