# SPDX-License-Identifier: Apache-2.0
"""A receiver to compare (:class:`ReceiverSpec`) and the key its rows are stored under.

:class:`ReceiverKey` is the one place a receiver's results identity (row column
``denoiser``, e.g. ``mmse_pb[fit]+bn500``) is rendered and parsed; resuming a
results folder compares these strings, so the rendering never changes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from airmodel.errors import ConfigError
from airmodel.receiver.adaptation import Adaptation

__all__ = ["ReceiverKey", "ReceiverSpec", "SELECTS", "PRIORS"]

#: ``select`` values; each but ``fixed`` shows in the key as ``[select]``.
SELECTS = ("fixed", "validation", "oracle", "fit", "oracle_fit", "fit_layer")
#: ``prior`` values; each but ``estimated`` shows in the key as ``[prior]``.
PRIORS = ("estimated", "genie", "power")

_KEY = re.compile(
    r"(?P<name>[\w.:-]+)"
    rf"(?:\[(?P<select>{'|'.join(SELECTS[1:])})\])?"
    rf"(?:\[(?P<prior>{'|'.join(PRIORS[1:])})\])?"
    r"(?P<layer>\[layer\])?(?P<avg>\[avg-no\])?"
    r"(?:\+bn(?P<bn>[1-9]\d*)(?P<post>post)?)?"
    r"(?:\+(?P<adapt>(?:ent|im)[1-9]\d*h?(?:bn)?|bal(?:bn)?))?"
    r"(?:\+aug(?P<views>[2-9]))?"
)


@dataclass(frozen=True)
class ReceiverKey:
    """The identity a receiver's rows are stored and resumed under.

    Rendered as ``name[select][prior][layer][avg-no]+bnN[post]+ADAPT+augK``,
    each part only when it differs from the default; a receiver given a
    ``label`` renders as that label. ``parse(render(k)) == k`` for every key
    without a label, and ``render(parse(s)) == s`` for every string.
    """

    name: str
    select: str = "fixed"
    prior: str = "estimated"
    prior_scope: Literal["global", "layer"] = "global"
    noise: Literal["per_symbol", "average"] = "per_symbol"
    #: Batch-norm recalibration images (0: off).
    recalibrate: int = 0
    #: Recalibrated after selection only (``recalibrate_select: false``).
    post: bool = False
    #: :attr:`Adaptation.tag` without its ``+`` (``""``: no adaptation).
    adapt: str = ""
    views: int = 1
    label: str | None = None

    @classmethod
    def of(cls, spec: ReceiverSpec) -> ReceiverKey:
        """The key of ``spec``."""
        return cls(
            name=spec.name,
            select=spec.select,
            prior=spec.prior,
            prior_scope=spec.prior_scope,
            noise=spec.noise,
            recalibrate=spec.recalibrate,
            post=bool(
                spec.recalibrate
                and not spec.recalibrate_select
                and spec.select != "fixed"
            ),  # fmt: skip
            adapt=spec.adapt.tag[1:] if spec.adapt is not None else "",
            views=spec.views,
            label=spec.label or None,
        )

    def render(self) -> str:
        """The key as stored in the row column ``denoiser``."""
        if self.label:
            return self.label
        key = self.name
        if self.select != "fixed":
            key += f"[{self.select}]"
        if self.prior != "estimated":
            key += f"[{self.prior}]"
        if self.prior_scope == "layer":
            key += "[layer]"
        if self.noise == "average":
            key += "[avg-no]"
        if self.recalibrate:
            key += f"+bn{self.recalibrate}" + ("post" if self.post else "")
        if self.adapt:
            key += f"+{self.adapt}"
        if self.views > 1:
            key += f"+aug{self.views}"
        return key

    @classmethod
    def parse(cls, text: str) -> ReceiverKey:
        """The key a stored ``denoiser`` string renders from; a string that is no
        rendered key (a ``label``, e.g. ``mmse_pb(0.95)``) comes back as a label."""
        m = _KEY.fullmatch(text)
        if m is not None:
            g = m.groupdict()
            key = cls(
                name=g["name"],
                select=g["select"] or "fixed",
                prior=g["prior"] or "estimated",
                prior_scope="layer" if g["layer"] else "global",
                noise="average" if g["avg"] else "per_symbol",
                recalibrate=int(g["bn"] or 0),
                post=bool(g["post"]),
                adapt=g["adapt"] or "",
                views=int(g["views"] or 1),
            )
            if key.render() == text and not (key.post and key.select == "fixed"):
                return key
        return cls(name="", label=text)

    @property
    def base(self) -> str:
        """The rendered key without its ``+…`` suffixes (``mmse_pb[fit]``)."""
        return self.render().partition("+")[0]

    @property
    def suffixes(self) -> str:
        """The rendered key's ``+…`` suffixes (``+bn500+aug3``; ``""``: none)."""
        base, plus, rest = self.render().partition("+")
        return plus + rest


@dataclass(frozen=True)
class ReceiverSpec:
    """One receiver to compare.

    ``select``: ``"fixed"`` uses ``lam``/``beta`` as given; ``"validation"``
    picks them on the grid by accuracy on ``kappa`` training images (no
    augmentation); ``"oracle"`` does so on the test set and is labelled as
    such; ``"fit"`` fits one global ``(lam, beta)`` by golden-section search
    on the validation cross-entropy (30 evaluations instead of the grid's
    299); ``"oracle_fit"`` is that fit on the test set (an oracle);
    ``"fit_layer"`` adds a per-layer gain and beta by 20 gradient steps
    (51 evaluations). ``prior``: ``estimated`` from the received weights,
    ``genie`` (the sent weights' true moments; labelled) or ``power`` (zero
    mean, the sent vector's power, which the power control fixes and the
    receiver knows). ``prior_scope``: one Gaussian prior for all weights
    (``"global"``) or one per on-air tensor (``"layer"``). ``recalibrate``:
    re-estimate batch-norm statistics from that many unlabelled training
    images after denoising (0 = off; the first ``kappa`` are the validation
    images). ``recalibrate_select``: selection scores each candidate after
    recalibration too (costs ``recalibrate`` forward images per evaluation);
    false recalibrates the selected weights only (key suffix ``post``), and a
    sweep then reuses the selection of the same receiver without
    recalibration on the same draw. ``adapt``: test-time adaptation on the
    unlabelled pool after rebuilding and recalibration
    (:mod:`airmodel.receiver.adaptation`; key suffix e.g. ``+im10``).
    ``views``: test-time augmentation, the mean softmax over that many views
    (k x the inference forward passes; key suffix ``+augK``). Both run after
    selection and share it.

    A config's ``receiver.denoisers`` entries map onto it 1:1
    (``airmodel.config.DenoiserConfig`` is this class).
    """

    name: str = "ml"
    label: str | None = None
    prior: Literal["estimated", "genie", "power"] = "estimated"
    prior_scope: Literal["global", "layer"] = "global"
    #: ``per_symbol``: each weight's own post-equalization noise variance;
    #: ``average``: one mean variance for all (what an AWGN-only receiver assumes).
    noise: Literal["per_symbol", "average"] = "per_symbol"
    select: Literal[
        "fixed", "validation", "oracle", "fit", "oracle_fit", "fit_layer"
    ] = "fixed"
    lam: float = 1.0
    beta: float = 0.0
    recalibrate: int = 0
    recalibrate_select: bool = True
    #: Test-time adaptation after rebuilding and recalibration
    #: (:class:`~airmodel.receiver.adaptation.Adaptation`; key suffix ``+ent10``).
    adapt: Adaptation | None = None
    #: Test-time augmentation: score the mean softmax over this many views
    #: (:data:`~airmodel.evaluation.scoring.VIEWS`; k x the forward passes).
    views: int = 1
    #: Further constructor options of the denoiser (plugins), checked by name.
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not 0 <= self.recalibrate <= 1 << 31:
            raise ConfigError(
                f"config key `receiver.denoisers` entry {self.name!r}: `recalibrate` "
                f"must be a number of images >= 0 (0 = off); got {self.recalibrate}."
            )
        if self.recalibrate == 1:
            raise ConfigError(
                f"config key `receiver.denoisers` entry {self.name!r}: `recalibrate` "
                "needs at least 2 images to estimate a variance; use 0 (off) or >= 2."
            )
        if self.prior == "power" and self.prior_scope == "layer":
            raise ConfigError(
                f"config key `receiver.denoisers` entry {self.name!r}: `prior: power` "
                "is one known power for all weights; set `prior_scope: global`."
            )
        if not 1 <= self.views <= 9:
            raise ConfigError(
                f"config key `receiver.denoisers` entry {self.name!r}: `views` must be "
                f"in [1, 9] (1 = off); got {self.views}."
            )
        if self.adapt is not None and self.adapt.problem():
            raise ConfigError(
                f"config key `receiver.denoisers` entry {self.name!r}: "
                f"{self.adapt.problem()}"
            )
        if self.adapt is not None and self.adapt.recalibrate is None:
            # default: recalibrate again after adapting whenever this receiver recalibrates
            again = dataclasses.replace(self.adapt, recalibrate=bool(self.recalibrate))
            object.__setattr__(self, "adapt", again)
        if self.adapt is not None and self.adapt.recalibrate and not self.recalibrate:
            raise ConfigError(
                f"config key `receiver.denoisers` entry {self.name!r}: "
                "`adapt.recalibrate: true` needs `recalibrate` > 0 (the image count)."
            )

    @classmethod
    def from_plain(cls, entry: dict[str, Any] | str) -> ReceiverSpec:
        """A spec from its plain form as a results folder's ``config.yaml`` stores
        it (``adapt`` a mapping); a bare string is the receiver's name."""
        if isinstance(entry, str):
            return cls(name=entry)
        adapt = entry.get("adapt")
        if isinstance(adapt, dict):
            entry = {**entry, "adapt": Adaptation(**adapt)}
        return cls(**entry)

    @property
    def receiver_key(self) -> ReceiverKey:
        """The identity its rows are stored and resumed under (:class:`ReceiverKey`)."""
        return ReceiverKey.of(self)

    @property
    def key(self) -> str:
        """Unique label used in results, e.g. ``mmse_pb[fit][layer]+bn500``."""
        return self.receiver_key.render()
