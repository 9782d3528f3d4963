# SPDX-License-Identifier: Apache-2.0
"""State dict <-> flat payload vector, with an explicit JSON-serializable spec."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

__all__ = [
    "TensorSpec",
    "PayloadSpec",
    "KeyMismatchError",
    "flatten",
    "unflatten",
    "select_on_air",
    "is_batchnorm_key",
    "is_layernorm_key",
    "check_keys",
    "check_state_dict",
    "POLICIES",
    "payload_dtype",
]

POLICIES = ("paper", "all_float")
Policy = str | Sequence[str]
_MAX_EXACT_INT = 2**53  # largest magnitude a float64 carries exactly


class KeyMismatchError(ValueError):
    """State dict keys differ from the expected ones."""


@dataclass(frozen=True)
class TensorSpec:
    """One state-dict entry: where it sits in the payload vector."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    numel: int
    on_air: bool
    #: Key of the tensor this one shares storage with (tied parameters): it is
    #: sent once, under that key, and rebuilt as the same tensor.
    tied_to: str | None = None


@dataclass(frozen=True)
class PayloadSpec:
    """Layout of a payload vector: over-the-air entries first, then the rest.

    ``vector[:num_air]`` is what the transmitter sends; ``vector[num_air:]``
    holds the tensors that stay off the air, carried unchanged.
    """

    tensors: tuple[TensorSpec, ...]
    num_air: int
    numel: int

    @property
    def names(self) -> list[str]:
        """Keys in the original state-dict order."""
        return [t.name for t in self.tensors]

    @property
    def air_names(self) -> list[str]:
        """Keys that go over the air."""
        return [t.name for t in self.tensors if t.on_air]

    def to_json(self) -> str:
        """Plain-JSON form (round-trips through :meth:`from_json`)."""
        return json.dumps(
            {
                "num_air": self.num_air,
                "numel": self.numel,
                "tensors": [asdict(t) for t in self.tensors],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PayloadSpec:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        tensors = tuple(
            TensorSpec(**{**t, "shape": tuple(t["shape"])}) for t in d["tensors"]
        )
        return cls(tensors=tensors, num_air=d["num_air"], numel=d["numel"])


def is_batchnorm_key(name: str, state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True if ``name`` belongs to a batch-norm layer.

    A layer is batch-norm when it owns a ``running_mean`` buffer, which also
    catches projection shortcuts (``shortcut.1``, ``downsample.1``) whatever
    they are called.
    """
    prefix = name.rsplit(".", 1)[0] if "." in name else ""
    return (
        f"{prefix}.running_mean" in state_dict
        if prefix
        else "running_mean" in state_dict
    )


#: Module names of LayerNorm-like layers (no stored statistics): BERT's
#: ``LayerNorm``, ``layer_norm``/``layernorm``, GPT's ``ln_1``/``ln_f``, ``norm1``.
_LAYERNORM_NAME = re.compile(r"(?i)(layer_?norm|^ln(_?\w+)?$|^norm\d*$|_norm\d*$)")


def is_layernorm_key(name: str, state_dict: Mapping[str, torch.Tensor]) -> bool:
    """True if ``name`` is a 1-D affine parameter of a LayerNorm-like layer.

    A state dict does not say a layer's type, so this goes by the module's
    name (see ``_LAYERNORM_NAME``) and shape: a ``weight``/``bias`` of one
    dimension whose layer has no ``running_mean`` (batch-norm is
    :func:`is_batchnorm_key`'s). Check ``select_on_air`` on a new model family.
    """
    prefix, _, leaf = name.rpartition(".")
    module = prefix.rpartition(".")[2]
    return (
        leaf in ("weight", "bias")
        and state_dict[name].dim() == 1
        and not is_batchnorm_key(name, state_dict)
        and bool(_LAYERNORM_NAME.search(module))
    )


def select_on_air(
    state_dict: Mapping[str, torch.Tensor], policy: Policy = "paper"
) -> set[str]:
    """Names of the tensors that ``policy`` sends over the air.

    :param policy: ``"paper"`` (every floating tensor except batch-norm
        parameters and buffers and LayerNorm parameters, :func:`is_layernorm_key`;
        integer buffers such as position ids never go), ``"all_float"`` (every
        floating tensor), or a
        list of glob patterns; a pattern starting with ``!`` excludes.
    """
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise ValueError(
                f"`policy` must be one of {POLICIES} or a list of glob patterns "
                f"(e.g. ['*.weight', '!*bn*']); got {policy!r}."
            )
        chosen = {k for k, v in state_dict.items() if v.is_floating_point()}
        if policy == "paper":
            chosen = {
                k
                for k in chosen
                if not is_batchnorm_key(k, state_dict)
                and not is_layernorm_key(k, state_dict)
            }
    else:
        patterns = list(policy)
        include = [p for p in patterns if not p.startswith("!")]
        exclude = [p[1:] for p in patterns if p.startswith("!")]
        chosen = {
            k
            for k in state_dict
            if any(fnmatch.fnmatchcase(k, p) for p in include or ["*"])
            and not any(fnmatch.fnmatchcase(k, p) for p in exclude)
        }
        bad = sorted(k for k in chosen if not state_dict[k].is_floating_point())
        if bad:
            raise ValueError(
                f"`policy` selects non-floating tensors for transmission: {bad}. "
                "Only floating tensors can go over the air; exclude them with "
                f"'!{bad[0]}' or use policy='all_float'."
            )
    if not chosen:
        raise ValueError(
            f"`policy` {policy!r} selects no tensor to send. Keys are e.g. "
            f"{list(state_dict)[:3]}; use 'paper', 'all_float' or matching globs."
        )
    return chosen


def check_keys(state_dict: Mapping[str, torch.Tensor], expected: Sequence[str]) -> None:
    """Raise one :class:`KeyMismatchError` listing missing and unexpected keys."""
    have, want = set(state_dict), set(expected)
    if have != want:
        raise KeyMismatchError(
            f"State dict keys do not match. Missing: {sorted(want - have)}; "
            f"unexpected: {sorted(have - want)}. Send a state dict of the same "
            "model (model.state_dict()) or rebuild the spec from this one."
        )


def payload_dtype(state_dict: Mapping[str, torch.Tensor]) -> torch.dtype:
    """Narrowest float dtype that carries every entry exactly.

    float32 holds float16/bfloat16/float32 values and integers up to 2**24;
    anything wider (float64 tensors, larger counters) needs float64.
    """
    dtype = torch.float32
    for name, t in state_dict.items():
        if t.is_complex():
            raise ValueError(
                f"Tensor {name!r} is complex; airmodel sends real tensors only."
            )
        if t.is_floating_point():
            if t.dtype == torch.float64:
                dtype = torch.float64
        elif t.numel() and t.dtype != torch.bool:
            # Python ints: a uint8 tensor compared with 2**24 would wrap it.
            big = max(abs(int(t.max())), abs(int(t.min())))
            if big <= 2**24:
                continue
            if big > _MAX_EXACT_INT:
                raise ValueError(
                    f"Integer tensor {name!r} exceeds 2**53 and cannot be carried "
                    "exactly; leave it out of the state dict."
                )
            dtype = torch.float64
    return dtype


def check_state_dict(state_dict: Any, what: str = "state_dict") -> None:
    """Refuse (``TypeError``, one line) what is not a mapping of tensor names to tensors."""
    if isinstance(state_dict, torch.nn.Module):
        raise TypeError(
            f"`{what}` is a {type(state_dict).__name__} module; pass its weights: "
            "model.state_dict()."
        )
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"`{what}` must be a state dict (name -> tensor, from "
            f"model.state_dict()); got {type(state_dict).__name__}."
        )


def flatten(
    state_dict: Mapping[str, torch.Tensor],
    policy: Policy = "paper",
    *,
    like: PayloadSpec | None = None,
) -> tuple[torch.Tensor, PayloadSpec]:
    """Flatten a state dict into one float vector and its spec.

    The vector is float32, or float64 where an entry needs it
    (:func:`payload_dtype`), so :func:`unflatten` is bit-exact.

    :param policy: which tensors go over the air (see :func:`select_on_air`).
    :param like: a spec to reuse; the keys must match it.
    :output vector: [numel], float32 or float64. Over-the-air entries first.
    :output spec: :class:`PayloadSpec`.
    """
    check_state_dict(state_dict)
    if like is not None:
        check_keys(state_dict, like.names)
        on_air = set(like.air_names)
    else:
        on_air = select_on_air(state_dict, policy)
    dtype = payload_dtype(state_dict)
    tied = _tied(state_dict)
    on_air = {tied.get(k, k) for k in on_air} | {k for k in tied if tied[k] in on_air}
    order = [k for k in state_dict if k in on_air and k not in tied] + [
        k for k in state_dict if k not in on_air and k not in tied
    ]
    offsets, pos = {}, 0
    for k in order:
        offsets[k] = pos
        pos += state_dict[k].numel()
    offsets |= {k: offsets[src] for k, src in tied.items()}
    specs = tuple(
        TensorSpec(
            name=k,
            shape=tuple(t.shape),
            dtype=str(t.dtype).removeprefix("torch."),
            offset=offsets[k],
            numel=t.numel(),
            on_air=k in on_air,
            tied_to=tied.get(k),
        )
        for k, t in state_dict.items()
    )
    num_air = sum(state_dict[k].numel() for k in on_air if k not in tied)
    if pos == 0:
        vector = torch.zeros(0, dtype=dtype)
    else:
        vector = torch.cat(
            [state_dict[k].detach().reshape(-1).to("cpu", dtype) for k in order]
        )
    return vector, PayloadSpec(tensors=specs, num_air=num_air, numel=pos)


def unflatten(
    vector: torch.Tensor, spec: PayloadSpec, *, air: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Rebuild the state dict from ``vector`` laid out as ``spec``.

    :input vector: [spec.numel], any real dtype (cast per tensor).
    :input air: [spec.num_air], optional. Over-the-air values to use instead
        of ``vector[:num_air]`` (saves a copy of the whole payload).
    :output state_dict: same keys, shapes and dtypes as the one flattened.
    """
    if vector.dim() != 1 or vector.numel() != spec.numel:
        raise ValueError(
            f"`vector` must have shape [{spec.numel}] for this spec; "
            f"got {list(vector.shape)}."
        )
    if air is not None and tuple(air.shape) != (spec.num_air,):
        raise ValueError(
            f"`air` must have shape [{spec.num_air}]; got {list(air.shape)}."
        )
    out: dict[str, torch.Tensor] = {}
    for t in spec.tensors:
        if t.tied_to is not None:
            continue
        src = air if (air is not None and t.on_air) else vector
        chunk = src[t.offset : t.offset + t.numel]
        out[t.name] = chunk.to(getattr(torch, t.dtype), copy=True).reshape(t.shape)
    # Tied keys get the very tensor of their source, in the state dict's order.
    return {t.name: out[t.tied_to or t.name] for t in spec.tensors}


def _tied(state_dict: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """``{alias: first key}`` for entries that are views of the same memory."""
    first: dict[tuple, str] = {}
    tied: dict[str, str] = {}
    for k, t in state_dict.items():
        if t.numel() == 0:
            continue
        ident = (
            t.device,
            t.untyped_storage().data_ptr(),
            t.storage_offset(),
            tuple(t.shape),
            t.stride(),
            t.dtype,
        )
        if ident in first:
            tied[k] = first[ident]
        else:
            first[ident] = k
    return tied
