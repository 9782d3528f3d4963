# SPDX-License-Identifier: Apache-2.0
"""Flat-fading MIMO links (N_t x N_r) with their receivers, seen as one scalar channel per symbol.

The block runs Sionna's flat-fading MIMO channel (``GenerateFlatFadingChannel``
with an optional ``KroneckerModel`` of exponential correlation matrices,
``ApplyFlatFadingChannel``), the transmission mode's precoding/space-time code
and the receiver (Sionna's ``lmmse_equalizer`` / ``zf_equalizer``). What comes
out of each stream is an unbiased estimate ``x_hat = x + e`` with a known
post-equalization noise-plus-interference variance ``no_eff`` (per stream and
channel use). It is returned in the calling convention of every fading channel
(``(y, h_hat, err_var)``, docs/conventions.md "Fading") as the *equivalent
scalar channel* ``y = g x_hat = g x + n``, ``g = sqrt(no / no_eff)`` real, so
``n ~ CN(0, no)`` and the Link's ZF equalizer gives back ``x_hat`` and
``no_eff`` unchanged: the denoiser's per-weight prior then carries each
stream's own noise (docs/mimo.md).
"""

from __future__ import annotations

import math

import torch
from sionna.phy import Block
from sionna.phy.channel import (
    ApplyFlatFadingChannel,
    GenerateFlatFadingChannel,
    KroneckerModel,
    exp_corr_mat,
)
from sionna.phy.mimo import lmmse_equalizer, zf_equalizer

from airmodel._validation import check_one_of, check_positive_int
from airmodel.channels._shared_rng import SharedSeedMixin, make_seedable
from airmodel.channels.base import scalar_no
from airmodel.channels.registry import register_channel

__all__ = ["MIMOChannel", "MODES", "waterfill"]

#: Transmission modes: spatial multiplexing, receive diversity (1 x N_r),
#: Alamouti (2 x N_r), SVD precoding (CSI at the transmitter).
MODES = ("sm", "mrc", "alamouti", "svd")

#: Coherence blocks per Sionna call (bounds the [blocks, N_r, N_t] tensors).
BLOCKS_PER_CALL = 1 << 16


def waterfill(gains: torch.Tensor, no: float) -> torch.Tensor:
    r"""Water-filling power over eigen-channels: ``p_k = (mu - no/g_k)^+``, ``sum p_k = 1``.

    :input gains: [..., K], float. Eigen-channel gains ``sigma_k^2``.
    :input no: noise variance per complex symbol.
    :output p: [..., K], float. Powers (``>= 0``, summing to 1 over ``K``).
    """
    inv = no / gains.clamp_min(1e-30)
    srt, order = torch.sort(inv, dim=-1)
    k = torch.arange(1, gains.shape[-1] + 1, dtype=gains.dtype, device=gains.device)
    mu = (1.0 + srt.cumsum(-1)) / k  # water level with the k strongest streams on
    active = mu > srt  # prefix of True: streams kept
    n_act = active.sum(-1, keepdim=True).clamp_min(1)
    level = mu.gather(-1, n_act - 1)
    p_sorted = (level - srt).clamp_min(0.0)
    return torch.empty_like(p_sorted).scatter_(-1, order, p_sorted)


@register_channel("mimo")
class MIMOChannel(SharedSeedMixin, Block):
    r"""Flat-fading MIMO link with its transmit mode and linear receiver.

    ``y_t = H x_t + n_t``, ``H`` [N_r, N_t] with i.i.d. ``CN(0, 1)`` entries
    (``rho_tx = rho_rx = 0``) or Kronecker-correlated ``R_rx^{1/2} H_w
    R_tx^{1/2}``, ``R_ij = rho^{|i-j|}`` (Sionna ``exp_corr_mat``); one ``H``
    per coherence block of ``block_length`` channel uses; ``n_t ~ CN(0, no I)``
    per receive antenna. The total transmit energy per channel use is 1 in
    every mode, so ``no = N0/Es`` and the mean SNR per receive antenna is
    ``Es/N0``. The receiver knows ``H`` (perfect CSI; ``svd`` also at the
    transmitter).

    Modes (``symbols_per_use`` complex symbols per channel use):

    * ``"sm"``: spatial multiplexing of ``N_s = N_t`` streams, ``x = s/sqrt(N_t)``;
      ``equalizer="lmmse"`` (unbiased, Sionna ``lmmse_equalizer``) or ``"zf"``.
      ``symbols_per_use = N_t`` (needs ``N_r >= N_t`` for ZF).
    * ``"mrc"``: one stream from one antenna, maximum-ratio combining over
      ``N_r`` (``num_tx`` must be 1; ZF and LMMSE are MRC here).
    * ``"alamouti"``: 2 x N_r Alamouti code, two symbols over two channel uses
      at ``1/2`` energy per antenna; ``block_length`` must be even.
    * ``"svd"``: ``x = V P^{1/2} s`` on the ``num_streams`` strongest
      eigen-channels of ``H = U S V^H``, ``power="equal"`` or ``"waterfill"``
      (:func:`waterfill`, per channel realization). A stream given no power
      carries no symbol: water-filling sends fewer symbols in poor blocks,
      and ``symbols_per_use`` is the mean number of active streams
      (measured per call; ``num_streams`` until the first call).

    Symbols fill streams first (symbol ``i`` of a channel use goes to stream
    ``i mod N_s``), so every layer's weights are spread over all streams and a
    weak eigen-channel never takes a whole layer; ``Link(interleave=True)``
    also spreads them over coherence blocks.

    :param num_tx: ``N_t`` transmit antennas.
    :param num_rx: ``N_r`` receive antennas.
    :param mode: one of :data:`MODES`.
    :param equalizer: ``"lmmse"`` or ``"zf"`` (``sm`` only; the other modes
        have orthogonal streams, where both are the matched filter).
    :param num_streams: ``svd`` streams, ``<= min(N_t, N_r)``; default all.
    :param power: ``svd`` power allocation, ``"equal"`` or ``"waterfill"``.
    :param rho_tx, rho_rx: exponential correlation at each end, ``0 <= rho < 1``.
    :param block_length: data channel uses per coherence block; default 1 (2 for Alamouti).
    :param csi: ``"perfect"`` or ``"lmmse"``: ``N_t`` orthogonal pilot uses per
        block and the LMMSE channel estimate; the estimation error variance
        ``err_var`` is added to the noise the equalizer and the reported
        ``no_eff`` account for (exact for i.i.d. ``H``; with correlation the
        entry-wise estimate ignores it). The pilot uses count in
        ``symbols_per_use``. Not with ``svd``.
    :param precision: ``"single"`` or ``"double"``.
    :param device: Torch device; Sionna's default if ``None``.

    :input x: [num_symbols], torch.complex. Unit-energy symbols.
    :input no: Scalar, float. Noise variance per complex symbol and receive antenna.
    :output y: [num_symbols], torch.complex. Equivalent scalar channel output
        ``g x_hat`` (see the module docstring).
    :output h_hat: [num_symbols], torch.complex. The real gain ``g = sqrt(no/no_eff)``
        (``0`` for a symbol not sent).
    :output err_var: [], float. CSI error variance (0: perfect CSI).

    .. rubric:: Examples

    >>> ch = MIMOChannel(num_tx=2, num_rx=2); ch.seed(0)
    >>> y, g, _ = ch(torch.ones(10, dtype=torch.complex64), 0.1)
    >>> x_hat, no_eff = y / g, 0.1 / g.real**2   # what the Link's ZF gives
    """

    is_fading = True

    def __init__(
        self,
        num_tx: int = 2,
        num_rx: int = 2,
        mode: str = "sm",
        equalizer: str = "lmmse",
        num_streams: int | None = None,
        power: str = "equal",
        rho_tx: float = 0.0,
        rho_rx: float = 0.0,
        block_length: int | None = None,
        csi: str = "perfect",
        precision: str | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(precision=precision, device=device)
        self.mode = check_one_of("mode", mode, MODES)
        self.num_tx = check_positive_int("num_tx", num_tx)
        self.num_rx = check_positive_int("num_rx", num_rx)
        self.equalizer = check_one_of("equalizer", equalizer, ("lmmse", "zf"))
        self.power = check_one_of("power", power, ("equal", "waterfill"))
        nt, nr = self.num_tx, self.num_rx
        if mode == "mrc" and nt != 1:
            raise ValueError(
                f"mode 'mrc' sends from one antenna: `num_tx` must be 1; got {nt}. "
                "Set num_tx: 1, or mode: alamouti / sm for more transmit antennas"
            )
        if mode == "alamouti" and nt != 2:
            raise ValueError(
                f"mode 'alamouti' is a 2-antenna code: `num_tx` must be 2; got {nt}"
            )
        if mode == "sm" and equalizer == "zf" and nr < nt:
            raise ValueError(
                f"ZF separates N_t={nt} streams only with `num_rx` >= {nt}; got "
                f"{nr}. Use equalizer: lmmse, mode: svd, or more receive antennas"
            )
        if mode != "svd" and (num_streams is not None or power != "equal"):
            raise ValueError(
                f"`num_streams` and `power` are options of mode 'svd' only; got "
                f"mode {mode!r}. Remove them or set mode: svd"
            )
        rank = min(nt, nr)
        if num_streams is None:
            num_streams = rank
        num_streams = check_positive_int("num_streams", num_streams)
        if num_streams > rank:
            raise ValueError(
                f"`num_streams` must be <= min(num_tx, num_rx) = {rank}; got {num_streams}"
            )
        self.num_streams = {"sm": nt, "mrc": 1, "alamouti": 2}.get(mode, num_streams)
        default_block = 2 if mode == "alamouti" else 1
        self.block_length = check_positive_int(
            "block_length", default_block if block_length is None else block_length
        )
        if mode == "alamouti" and self.block_length % 2:
            raise ValueError(
                "mode 'alamouti' needs the channel constant over each 2-use codeword: "
                f"`block_length` must be even; got {self.block_length}"
            )
        self.csi = check_one_of("csi", csi, ("perfect", "lmmse"))
        if self.csi != "perfect" and mode == "svd":
            raise ValueError(
                "mode 'svd' precodes with the transmitter's CSI, which is perfect here: "
                f"`csi` must be 'perfect'; got {csi!r}"
            )
        #: Variance of each entry of H - H_hat (0: perfect CSI).
        self.err_var = 0.0
        self.rho_tx, self.rho_rx = (
            _check_rho("rho_tx", rho_tx),
            _check_rho("rho_rx", rho_rx),
        )
        kw = {"precision": self.precision, "device": self.device}
        corr = None
        if self.rho_tx or self.rho_rx:
            corr = KroneckerModel(
                exp_corr_mat(self.rho_tx, nt, **kw),
                exp_corr_mat(self.rho_rx, nr, **kw),
                **kw,
            )
        self._draw_h = GenerateFlatFadingChannel(nt, nr, spatial_corr=corr, **kw)
        self._send = ApplyFlatFadingChannel(**kw)
        make_seedable(self)
        #: ``symbols_per_use`` is measured per call (water-filling): the Link
        #: records the call's channel uses per weight in the results rows.
        self.symbols_per_use_measured = mode == "svd" and power == "waterfill"
        #: Complex symbols per channel use (time: ``channel_uses = symbols / this``).
        per_block = self._per_block()
        pilots = self.num_tx if self.csi != "perfect" else 0
        self.symbols_per_use = per_block / (self.block_length + pilots)

    # ------------------------------------------------------------------ helpers
    def _per_block(self) -> int:
        """Symbols carried by one coherence block (all streams active)."""
        if self.mode == "alamouti":
            return self.block_length  # 2 symbols per 2 uses
        return self.block_length * self.num_streams

    def _equalize(
        self, y: torch.Tensor, h_eff: torch.Tensor, no: torch.Tensor, zf: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sionna's unbiased LMMSE or ZF: ``y`` [..., M], ``h_eff`` [..., M, K]."""
        m = h_eff.shape[-2]
        s = no.to(h_eff.dtype) * torch.eye(m, dtype=h_eff.dtype, device=h_eff.device)
        if zf or float(no) == 0.0:  # LMMSE -> ZF as no -> 0
            return zf_equalizer(y, h_eff, s, precision=self.precision)
        return lmmse_equalizer(
            y, h_eff, s, whiten_interference=False, precision=self.precision
        )

    def _blocks(
        self, s: torch.Tensor, no: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch of coherence blocks: s [nb, L, K] -> (x_hat, no_eff) [nb, L, K]."""
        nb = s.shape[0]
        h = self._draw_h(nb)  # [nb, Nr, Nt]
        if self.mode == "svd":
            return self._svd(s, h, no)
        h_rx, no_rx = self._estimate(h, no)
        if self.mode == "alamouti":
            return self._alamouti(s, h, h_rx, no, no_rx)
        k = self.num_tx
        x = s / math.sqrt(k)  # total energy 1 per channel use
        y = self._send(x, h[:, None], no)  # [nb, 1, Nr, Nt]: broadcast over the uses
        x_hat, no_eff = self._equalize(
            y, h_rx[:, None] / math.sqrt(k), no_rx, self.equalizer == "zf"
        )
        return x_hat, no_eff.expand_as(x_hat.real)

    def _estimate(
        self, h: torch.Tensor, no: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The receiver's channel and the noise it equalizes against.

        Perfect CSI: ``(h, no)``. ``csi="lmmse"``: ``N_t`` pilot uses per block,
        each with energy 1 on one antenna (``Y_p = H + N_p``, through the same
        Sionna block as the data), and the LMMSE estimate ``H_hat = Y_p/(1 + no)``
        of the unit-variance entries, whose error ``E`` (variance ``err_var =
        no/(1 + no)`` per entry) is independent of ``H_hat``. The data then see
        ``y = H_hat x + (E x + n)``, noise-plus-error variance ``no + err_var``
        per antenna for unit total energy.
        """
        if self.csi == "perfect":
            return h, no
        nb, nt = h.shape[0], self.num_tx
        pilots = torch.eye(nt, dtype=h.dtype, device=h.device).expand(nb, nt, nt)
        y_p = self._send(pilots, h[:, None], no).transpose(1, 2)  # [nb, Nr, Nt]
        self.err_var = float(no) / (1.0 + float(no))
        return y_p / (1.0 + no), no + self.err_var

    def _alamouti(
        self,
        s: torch.Tensor,
        h: torch.Tensor,
        h_rx: torch.Tensor,
        no: torch.Tensor,
        no_rx: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Codewords [[s1, s2], [-s2*, s1*]]/sqrt(2) over two uses; [r1; conj(r2)]
        = H_eq [s1; s2] + noise with orthogonal H_eq = [[h1, h2], [h2*, -h1*]]/sqrt(2)."""
        nb, big_l, _ = s.shape
        c = big_l // 2
        pairs = s.reshape(nb, c, 2)
        s1, s2 = pairs[..., 0], pairs[..., 1]
        x = torch.stack(
            [torch.stack([s1, s2], -1), torch.stack([-s2.conj(), s1.conj()], -1)], 2
        ) / math.sqrt(2.0)  # [nb, c, 2 uses, 2 antennas]
        r = self._send(x, h[:, None, None], no)  # [nb, c, 2, Nr]
        h1, h2 = h_rx[..., 0], h_rx[..., 1]  # [nb, Nr]: the receiver's channel
        h_eq = torch.cat(
            [torch.stack([h1, h2], -1), torch.stack([h2.conj(), -h1.conj()], -1)], -2
        ) / math.sqrt(2.0)  # [nb, 2 Nr, 2]
        r_eq = torch.cat([r[:, :, 0], r[:, :, 1].conj()], -1)  # [nb, c, 2 Nr]
        x_hat, no_eff = self._equalize(r_eq, h_eq[:, None], no_rx, zf=True)
        no_eff = no_eff.expand_as(x_hat.real)
        return x_hat.reshape(nb, big_l, 1), no_eff.reshape(nb, big_l, 1)

    def _svd(
        self, s: torch.Tensor, h: torch.Tensor, no: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x = V_K P^{1/2} s``; the receiver ZF-equalizes ``H V_K P^{1/2}`` (= ``U_K S_K P^{1/2}``)."""
        nb, big_l, k = s.shape
        u, sv, vh = torch.linalg.svd(h)  # sv [nb, r] descending
        v = vh.mH[..., :k]  # [nb, Nt, K]
        gains = sv[..., :k].square()
        if self.power == "equal":
            p = torch.full_like(gains, 1.0 / k)
        else:
            p = waterfill(gains.double(), float(no)).to(gains.dtype)
        on = p > 0
        p_sqrt = p.sqrt().to(v.dtype)
        prec = v * p_sqrt[:, None, :]  # [nb, Nt, K]
        x = (prec[:, None] @ s.unsqueeze(-1)).squeeze(-1)  # [nb, L, Nt]
        y = self._send(x, h[:, None], no)
        # A stream given no power has a zero column: put U's (orthogonal to the
        # others) in its place, so ZF of the others is unchanged, then erase it.
        h_eff = (h @ prec) + u[..., :k] * (~on)[:, None, :].to(v.dtype)
        x_hat, no_eff = self._equalize(y, h_eff[:, None], no, True)
        no_eff = no_eff.expand_as(x_hat.real)
        off = (~on)[:, None, :].expand_as(no_eff)
        return x_hat.masked_fill(off, 0), no_eff.masked_fill(off, math.inf)

    # --------------------------------------------------------------------- call
    def call(
        self, x: torch.Tensor, no: float | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Send ``x`` over as many coherence blocks as it needs; see the class."""
        no = scalar_no(no, self.dtype, self.device, "the MIMO channel")
        if x.dim() != 1:
            raise ValueError(
                f"`x` must be 1-D [num_symbols]; got shape {list(x.shape)}."
            )
        if self.mode == "svd" and self.power == "waterfill":
            x_hat, no_eff = self._waterfill_call(x, no)
        else:
            n, per = x.numel(), self._per_block()
            nb = -(-n // per)
            flat = torch.cat([x, x.new_zeros(nb * per - n)])
            s = flat.view(nb, self.block_length, per // self.block_length)
            outs = [
                self._blocks(s[i : i + BLOCKS_PER_CALL], no)
                for i in range(0, nb, BLOCKS_PER_CALL)
            ]
            x_hat = torch.cat([o[0] for o in outs]).reshape(-1)[:n]
            no_eff = torch.cat([o[1] for o in outs]).reshape(-1)[:n]
        g = _gain(no, no_eff)
        err = torch.zeros((), dtype=self.dtype, device=self.device)
        return (x_hat * g).to(x.dtype), g.to(x.dtype), err

    def _waterfill_call(
        self, x: torch.Tensor, no: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Water-filling: draw blocks until every symbol has an active stream.

        The transmitter knows ``H``, so a block with ``m`` active streams carries
        ``m * block_length`` symbols; ``symbols_per_use`` is updated to the mean.
        """
        n, k, big_l = x.numel(), self.num_streams, self.block_length
        got_hat, got_no, sent, uses = [], [], 0, 0
        while sent < n:
            nb = min(BLOCKS_PER_CALL, -(-(n - sent) // (big_l * k)))  # at least
            s = torch.zeros(nb, big_l, k, dtype=x.dtype, device=x.device)
            h = self._draw_h(nb)
            sv = torch.linalg.svdvals(h)[..., :k]
            on = waterfill(sv.square().double(), float(no)) > 0  # [nb, K]
            slots = on[:, None, :].expand(nb, big_l, k)
            cap = int(slots.sum())
            take = min(cap, n - sent)
            idx = slots.reshape(-1).nonzero().squeeze(-1)[:take]
            s.view(-1)[idx] = x[sent : sent + take]
            x_hat, no_eff = self._svd(s, h, no)
            got_hat.append(x_hat.reshape(-1)[idx])
            got_no.append(no_eff.reshape(-1)[idx])
            last_block = int(idx[-1]) // (big_l * k) + 1 if take else nb
            uses += last_block * big_l
            sent += take
        self.symbols_per_use = n / uses
        return torch.cat(got_hat), torch.cat(got_no)


def _gain(no: torch.Tensor, no_eff: torch.Tensor) -> torch.Tensor:
    """``g = sqrt(no / no_eff)``: 1 where both are 0 (no noise), 0 where not sent."""
    no_eff = no_eff.to(no.dtype)
    g = torch.where(no_eff > 0, (no / no_eff).sqrt(), torch.ones_like(no_eff))
    return torch.where(torch.isinf(no_eff), torch.zeros_like(g), g)


def _check_rho(name: str, rho: float) -> float:
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0 <= rho < 1:
        raise ValueError(
            f"`{name}` must be a number in [0, 1) (exponential correlation "
            f"between neighbouring antennas); got {rho!r}"
        )
    return float(rho)
