# SPDX-License-Identifier: Apache-2.0
"""Receiver specs to registered components: denoisers and their checks.

Below the builder, the sweep and the federated runner (all three call it),
so none of them imports another for these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airmodel.errors import ConfigError
from airmodel.receiver.denoiser import DENOISERS, Denoiser
from airmodel.receiver.spec import ReceiverSpec
from airmodel.registry import RegistryError

__all__ = ["build_denoiser", "check_denoisers"]

#: ReceiverSpec fields that are constructor options (the others are the sweep's).
_DENOISER_FIELDS = ("prior", "prior_scope", "lam", "beta")


def build_denoiser(d: ReceiverSpec) -> Denoiser:
    """A denoiser from its config entry (selection is the sweep's job).

    The entry's fields the denoiser's constructor takes (``prior``,
    ``prior_scope``, ``lam``, ``beta``) go to it, plus ``options``; an option
    it does not take is refused with the accepted ones listed.
    """
    where = f"config key `receiver.denoisers` entry {d.key!r}"
    try:
        accepted = DENOISERS.options(d.name)
        kwargs: dict[str, Any] = {
            k: getattr(d, k)
            for k in _DENOISER_FIELDS
            if accepted is None or k in accepted
        }
        kwargs.update(d.options)
        return DENOISERS.build(d.name, kwargs)
    except RegistryError as err:
        raise ConfigError(f"{where}: {err}") from err
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"{where}: {err} Accepted options: {DENOISERS.options(d.name)}."
        ) from err


def check_denoisers(denoisers: Sequence[ReceiverSpec]) -> None:
    """Every receiver builds; selection applies to MMSE_pb only."""
    for d in denoisers:
        build_denoiser(d)
        if d.select != "fixed" and d.name != "mmse_pb":
            raise ConfigError(
                f"config key `receiver.denoisers` entry {d.key!r}: select={d.select!r} "
                "applies to mmse_pb only; use select: fixed."
            )
