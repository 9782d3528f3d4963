# SPDX-License-Identifier: Apache-2.0
"""The link: state dict -> transmitter -> channel -> receiver -> denoiser -> state dict."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from airmodel import channels, progress
from airmodel._validation import check_esno_db, check_finite_tensors
from airmodel.channels.utils import db, snr_db_to_no
from airmodel.devices import sionna_device
from airmodel.metrics import moments, mse
from airmodel.modulation import get_scheme
from airmodel.modulation.analog import AnalogScheme, Precision
from airmodel.modulation.interleaver import Interleaver
from airmodel.protocols import Channel, FlatFadingChannel, Scheme
from airmodel.receiver.denoiser import (
    ML,
    PAPER_BETA_GRID,
    PAPER_LAM_GRID,
    Denoiser,
    Prior,
    Selection,
    get_denoiser,
    mean_noise,
    mmse_pb,
    select_mmse_pb,
)
from airmodel.receiver.equalizer import Equalizer
from airmodel.receiver.receiver import Reception
from airmodel.transmitter.payload import PayloadSpec, Policy, flatten, unflatten
from airmodel.transmitter.power_control import TruncatedInversion

__all__ = ["Link", "LinkStats", "Transmission", "AWGN_CHUNK"]

#: Symbols per AWGN call; bounds the noise buffer (32 MB in complex64).
AWGN_CHUNK = 1 << 22


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
    """Transmission of a state dict through a channel, by any scheme, and its rebuild.

    The scheme maps weights to symbols: ``"analog"`` (the default: two weights
    per complex symbol, :class:`~airmodel.modulation.analog.AnalogScheme`) or
    ``"digital"`` (quantize, LDPC-code, QAM-map;
    :class:`~airmodel.modulation.digital.DigitalScheme`, docs/digital.md), or a
    plugin's. Names take the same values as a config's ``channel.name``,
    ``transmitter.scheme`` and ``receiver.denoisers[].name``.

    :param channel: a channel name (``channels.list_channels()``) or a
        :class:`~airmodel.protocols.Channel` block.
    :param denoiser: default denoiser for :meth:`__call__`: a name
        (``receiver.denoiser.list_denoisers()``, e.g. ``"mmse"``) or a
        :class:`~airmodel.receiver.denoiser.Denoiser`; ML if ``None``.
    :param policy: which tensors go over the air (see ``select_on_air``).
    :param scheme: a scheme name (``modulation.list_schemes()``: ``"analog"``,
        ``"digital"``) or a :class:`~airmodel.protocols.Scheme` block (e.g.
        ``DigitalScheme(source="q8", code_rate=0.5)`` for options); analog if
        ``None``.
    :param precision: ``"single"`` (complex64 symbols, fast) or ``"double"``
        (complex128). With no noise, ``"double"`` rebuilds every state dict
        bit-exactly; ``"single"`` does so for float16/bfloat16 weights and
        is within one ulp for float32 ones (docs/conventions.md).
    :param interleave: permute the symbols with a seeded :class:`Interleaver`
        so that a deep fade hits weights spread over all layers.
    :param power_control: ``"none"`` or ``"truncated_inversion"`` (flat fading
        channels only; see :class:`TruncatedInversion`). Lost weights are
        replaced by the prior mean and counted in ``info["lost_weights"]``.
    :param inversion_threshold: ``|h|^2`` below which a symbol is not sent.
    :param device: where the payload, symbols and noise live (a channel built
        from its name is built there). ``None``: a given channel block's own
        device, else the CPU. The state dict may come from any device: it is
        moved here, and :class:`LinkStats` are computed here.

    Fading channels (``channel.is_fading``) are equalized by ZF, so the
    denoiser gets ``y = w + n`` with a known per-weight variance
    (docs/conventions.md, "Fading").

    .. rubric:: Examples

    >>> link = Link("awgn", denoiser="mmse")
    >>> sd_hat, stats = link(model.state_dict(), snr_db=10.0, seed=0)
    >>> digital = Link("awgn", scheme="digital")  # 8-bit, rate-1/2 LDPC, 16-QAM
    """

    def __init__(
        self,
        channel: str | Channel = "awgn",
        denoiser: str | Denoiser | None = None,
        policy: Policy = "paper",
        precision: Precision = "single",
        scheme: str | Scheme | None = None,
        interleave: bool = False,
        power_control: str = "none",
        inversion_threshold: float = 0.1,
        device: str | torch.device | None = None,
    ) -> None:
        if device is None:
            device = (
                "cpu" if isinstance(channel, str) else getattr(channel, "device", "cpu")
            )
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise TypeError(
                f"`device` must name a torch device ('cpu', 'cuda', 'cuda:1'); "
                f"got {device!r}."
            ) from None
        if isinstance(channel, str):
            channel = channels.get(
                channel, precision=precision, device=sionna_device(self.device)
            )
        if not isinstance(channel, Channel):
            raise TypeError(
                f"`channel` must be a registered name or a Channel block "
                f"(airmodel.protocols.Channel); got {type(channel).__name__}."
            )
        if isinstance(scheme, str):
            scheme = get_scheme(
                scheme, precision=precision, device=sionna_device(self.device)
            )
        if scheme is not None and not isinstance(scheme, Scheme):
            raise TypeError(
                "`scheme` must be a registered name or implement airmodel.protocols."
                "Scheme (modulate, receive, channel_uses_per_weight, uses_spec); "
                f"got {type(scheme).__name__}."
            )
        self.channel = channel
        self.denoiser = as_denoiser(denoiser) if denoiser is not None else ML()
        self.policy = policy
        self.scheme = scheme if scheme is not None else AnalogScheme(precision)
        self.equalizer = Equalizer("zf")
        self.interleaver = Interleaver() if interleave else None
        self.power_control = _power_control(power_control, inversion_threshold, channel)

    @property
    def channel_uses_per_weight(self) -> float | None:
        """Complex channel uses per weight: the scheme's, divided by the symbols the
        channel carries per use (``symbols_per_use``: MIMO streams; 1 otherwise)."""
        cu = self.scheme.channel_uses_per_weight
        per_use = getattr(self.channel, "symbols_per_use", 1)
        return None if cu is None else cu / per_use

    def transmit(
        self,
        state_dict: Mapping[str, torch.Tensor],
        snr_db: float,
        seed: int | None = None,
    ) -> Transmission:
        """Send ``state_dict`` once at Es/N0 ``snr_db``; return what the receiver got.

        Refuses (``UserError``) a state dict with NaN/inf entries, naming each
        tensor and its count, and an Es/N0 below ``MIN_ESNO_DB``
        (:mod:`airmodel._validation`).
        """
        no = snr_db_to_no(check_esno_db("snr_db", snr_db))
        vector, spec = flatten(state_dict, self.policy)
        vector = vector.to(self.device)
        if vector.is_floating_point() and not bool(torch.isfinite(vector).all()):
            check_finite_tensors(state_dict, "state dict handed to the link")
        mean, power = moments(vector[: spec.num_air])
        extra = {"spec": spec} if self.scheme.uses_spec else {}
        x, side = self.scheme.modulate(vector[: spec.num_air], power=power, **extra)
        x = x.to(self.device)  # a scheme may compute elsewhere (digital: CPU)
        self.channel.seed(seed)
        if self.interleaver is not None:
            x = self.interleaver(x)
        y, no_eff = self.propagate(x, no, overwrite=True)  # x is ours: reuse it
        del x
        if self.interleaver is not None:
            y, no_eff = (
                self.interleaver.deinterleave(y),
                self.interleaver.deinterleave(no_eff),
            )
        reception = self.scheme.receive(y, no_eff, side, seed=seed)
        reception = replace(
            reception,
            y=reception.y.to(self.device),
            no_w=reception.no_w.to(self.device),
        )
        if self.power_control is not None:
            reception.info["lost_weights"] = float(torch.isinf(reception.no_w).sum())
        if getattr(self.channel, "symbols_per_use_measured", False):  # MIMO water-filling
            reception.info["channel_uses_per_weight"] = self.channel_uses_per_weight
        return Transmission(
            vector=vector,
            spec=spec,
            reception=reception,
            esno_db=float(snr_db),
            clean_mean=mean,
            clean_power=power,
        )

    def propagate(
        self, x: torch.Tensor, no: float, overwrite: bool = False
    ) -> tuple[torch.Tensor, float | torch.Tensor]:
        """Channel plus equalization: symbols in, equalized symbols and their noise out.

        :input x: [num_symbols], complex. Unit-energy symbols.
        :input no: noise variance per complex symbol at the channel input.
        :input overwrite: AWGN may write ``y`` into ``x``'s memory (``x`` is lost).
        :output y: [num_symbols], complex. Equalized symbols.
        :output no_eff: scalar or [num_symbols]. Noise variance per symbol after
            equalization (``no`` for AWGN; ``inf`` for symbols not sent).
        """
        if not self.channel.is_fading:
            if x.numel() <= AWGN_CHUNK:
                return self.channel(x, no), no
            y = x if overwrite else torch.empty_like(x)  # noise never exists in full
            chunks = range(0, x.numel(), AWGN_CHUNK)
            for i in progress.steps(chunks, "channel (AWGN)", unit="chunk"):
                y[i : i + AWGN_CHUNK] = self.channel(x[i : i + AWGN_CHUNK], no)
            return y, no
        if self.power_control is None:
            y, h_hat, err_var = self.channel(x, no)
            return self.equalizer(y, h_hat, no, err_var)
        h = self.channel.generate(x.shape)
        precoder, _ = self.power_control(h)
        y = self.channel.apply(x * precoder, h, no)
        return self.equalizer(y, h * precoder, no)

    def rebuild(
        self,
        tx: Transmission,
        denoiser: Denoiser | None = None,
        w_hat: torch.Tensor | None = None,
    ) -> tuple[dict[str, torch.Tensor], LinkStats]:
        """Denoise a transmission (or take ``w_hat``) and rebuild the state dict.

        :param tx: what :meth:`transmit` returned.
        :param denoiser: a name or a :class:`Denoiser`; the link's if ``None``.
        """
        if not isinstance(tx, Transmission):
            raise TypeError(
                "`tx` must be what Link.transmit returned (a Transmission); got "
                f"{type(tx).__name__}. Send first: tx = link.transmit(state_dict, snr_db)."
            )
        if w_hat is None:
            w_hat, _ = self.denoise(tx, as_denoiser(denoiser or self.denoiser))
        return unflatten(tx.vector, tx.spec, air=w_hat), self.stats(tx, w_hat)

    @staticmethod
    def denoise(
        tx: Transmission,
        denoiser: Denoiser,
        score: Callable[[torch.Tensor], float] | None = None,
        lam_grid: Sequence[float] = PAPER_LAM_GRID,
        beta_grid: Sequence[float] = PAPER_BETA_GRID,
        select: Callable[..., tuple[torch.Tensor, Selection]] | None = None,
        cells_per_pass: int = 1,
    ) -> tuple[torch.Tensor, Selection | None]:
        """Denoise a transmission; lost weights (``no_w = inf``) get the prior mean.

        The prior is fitted on the received weights only, per on-air tensor
        when ``denoiser.prior_scope == "layer"`` (segments from ``tx.spec``).
        With ``score``, MMSE_pb's (lam, beta) are selected on the grid by that
        score (e.g. validation accuracy of the rebuilt model) instead of taken
        from ``denoiser``; with ``select`` as well, ``select(y, no_w, prior,
        score, segments) -> (w_hat, selection)`` replaces the grid (e.g. a fit
        on the validation loss; ``score(w, grad=False)`` is then that loss, and
        with ``grad=True`` returns ``(loss, dloss/dw)``). ``cells_per_pass > 1``
        hands the grid's ``score`` stacked candidates ``[k, n]``
        (:func:`select_mmse_pb`).
        """
        rx = tx.reception
        keep = torch.isfinite(rx.no_w) if rx.info.get("lost_weights") else None
        known = rx.known  # pruned weights whose mask the receiver has: not denoised
        if known is not None:
            keep = ~known if keep is None else keep & ~known
        if hasattr(denoiser, "with_shapes"):  # structured: needs the tensors' shapes
            air = sorted((t.offset, t.shape) for t in tx.spec.tensors if t.on_air)
            denoiser = denoiser.with_shapes([s for _, s in air], keep is not None)
        y, no_w, clean = rx.y, rx.no_w, tx.clean
        segments = air_segments(tx.spec)
        counts = [n for _, n in segments]
        if keep is not None:
            y, no_w, clean = y[keep], no_w[keep], clean[keep]
            kept = [int(k.sum()) for k in keep.split(counts)]
            offsets = [sum(kept[:i]) for i in range(len(kept))]
            segments = list(zip(offsets, kept, strict=True))

        def full(w: torch.Tensor) -> torch.Tensor:  # [n_kept] or [k, n_kept]
            if keep is None:
                return w
            if prior.layer_mean is not None:  # per-layer prior: each layer's mean
                dev = rx.y.device  # expand on the device: no [N] host copy
                out = prior.layer_mean.to(dev, rx.y.dtype).repeat_interleave(
                    torch.tensor(counts, device=dev)
                )
            else:
                out = torch.full_like(rx.y, float(prior.mean))
            out = out.expand(*w.shape[:-1], -1).clone()
            out[..., keep] = w
            if known is not None:
                out[..., known] = rx.y[known]
            return out

        if score is None and not denoiser.needs_prior and keep is None:
            return denoiser.denoise(y, no_w, Prior(0.0, 1.0, "none")), None
        prior = denoiser.fit_prior(y, no_w, clean, segments)
        if score is None:
            return full(denoiser.denoise(y, no_w, prior)), None
        if select is not None:

            def scored(w: torch.Tensor, **kw: bool) -> Any:
                out = score(full(w), **kw)
                if keep is not None and isinstance(out, tuple):  # (loss, gradient)
                    return out[0], out[1][keep]
                return out

            w, sel = select(y, no_w, prior, scored, segments)
            return full(w), sel
        sel = select_mmse_pb(
            y, no_w, prior, lambda w: score(full(w)), lam_grid, beta_grid,
            cells_per_pass,
        )  # fmt: skip
        return full(mmse_pb(y, no_w, prior, sel.lam, sel.beta)), sel

    @staticmethod
    def stats(tx: Transmission, w_hat: torch.Tensor) -> LinkStats:
        """Statistics of a rebuilt weight vector (see :mod:`airmodel.metrics`)."""
        clean = tx.clean
        no_w = tx.reception.no_w
        if tx.reception.info.get("lost_weights"):
            no_w = no_w[torch.isfinite(no_w)]  # statistics of the received weights
        if tx.reception.known is not None:  # pruned: known, not received
            no_w = tx.reception.no_w[~tx.reception.known & torch.isfinite(tx.reception.no_w)]
        mean_no = mean_noise(no_w)
        power = tx.clean_power
        var_w = power - tx.clean_mean**2
        wnr_db = db(var_w / mean_no) if mean_no > 0 else math.inf
        return LinkStats(
            esno_db=tx.esno_db,
            wnr_db=wnr_db,
            noise_var=no_w,
            weight_mse=mse(w_hat.to(clean.device), clean),
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


def as_denoiser(denoiser: str | Denoiser) -> Denoiser:
    """A denoiser from its registered name, or ``denoiser`` itself; else one ``TypeError`` line."""
    if isinstance(denoiser, str):
        return get_denoiser(denoiser)
    if not isinstance(denoiser, Denoiser):
        raise TypeError(
            "`denoiser` must be a registered name (receiver.denoiser.list_denoisers(),"
            f" e.g. 'mmse') or a Denoiser; got {type(denoiser).__name__}."
        )
    return denoiser


def air_segments(spec: PayloadSpec) -> list[tuple[int, int]]:
    """``(offset, numel)`` of each on-air tensor, in vector order."""
    return sorted((t.offset, t.numel) for t in spec.tensors if t.on_air)


def _power_control(
    name: str, threshold: float, channel: Channel
) -> TruncatedInversion | None:
    """Build the power-control block named ``name`` for ``channel``."""
    if name == "none":
        return None
    if name != "truncated_inversion":
        raise ValueError(
            f"`power_control` must be one of ('none', 'truncated_inversion'); got {name!r}."
        )
    if not isinstance(channel, FlatFadingChannel) or not channel.is_fading:
        raise ValueError(
            "`power_control='truncated_inversion'` needs a flat fading channel with "
            f"generate/apply ('rayleigh', 'rician'); got {type(channel).__name__}. "
            "Use power_control='none'."
        )
    return TruncatedInversion(threshold)
