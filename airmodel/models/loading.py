# SPDX-License-Identifier: Apache-2.0
"""Bring your own model: weights from any of the usual files, model from any factory.

Accepted weight files (``load_weights``):

- an airmodel checkpoint (``final.pt``: ``model_name``, ``state_dict``, ...);
- a plain ``torch.save(model.state_dict())`` file (``.pt``/``.pth``/``.bin``);
- a ``.safetensors`` file (needs ``pip install airmodel[safetensors]``).

The model comes from a registered name (``resnet20``, plugins) or a
``package.module:factory`` string (:func:`airmodel.models.get_model`).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from airmodel._validation import check_finite_tensors
from airmodel.errors import CorruptFileError, MissingFileError, UserError
from airmodel.integrity import ZIP_INTEGRITY, check_zip_seal
from airmodel.models.registry import get_model

__all__ = [
    "check_state_dict",
    "load_weights",
    "load_model",
    "model_from_weights",
    "read_torch_file",
    "tied_groups",
    "warn_unsealed",
]

_RETRAIN = (
    "Restore it from a copy, or retrain it: `airmodel train ... --out DIR` "
    "writes DIR/final.pt."
)


def read_torch_file(path: str | Path, fix: str | None = None) -> tuple[Any, bool]:
    """``(object, sealed)``: ``torch.load(weights_only=True)`` of ``path`` after
    checking its seal.

    Only tensors and plain data load: PyTorch's ``weights_only`` unpickler with
    its default allow-list (tensors, dtypes, dicts, lists, tuples, numbers,
    strings, ``None``); airmodel adds no type to it. A pickle that names any
    other global (a class, ``os.system``, ...) is refused before anything runs.
    A sealed file (:func:`airmodel.integrity.seal_zip`) whose bytes changed, a
    file ``torch.load`` cannot read, and a dict recording ``"integrity"``
    without a seal raise :class:`CorruptFileError`; an unsealed file (a plain
    ``torch.save``, or an airmodel checkpoint older than the seal) is read.

    :param fix: What the user should do about a corrupt file (default: retrain).
    """
    path = Path(path)
    fix = fix or _RETRAIN
    if not path.is_file():
        raise MissingFileError(f"Checkpoint {path} not found (or not a file). {fix}")
    data = path.read_bytes()
    sealed = check_zip_seal(data, path, fix)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "pickle protocol 4" notes of odd files
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:  # pickle/zip errors of a damaged file say nothing useful
        raise CorruptFileError(path, _load_failure(err, data), fix) from None
    if isinstance(obj, dict) and obj.get("integrity") == ZIP_INTEGRITY:
        del obj["integrity"]
        if not sealed:
            raise CorruptFileError(path, "its sha256 seal is missing or damaged", fix)
    return obj, sealed


def _load_failure(err: Exception, data: bytes) -> str:
    """One clause saying why ``torch.load(weights_only=True)`` refused ``data``."""
    if not data:
        return "torch.load fails: empty file"
    text = str(err)
    if text.startswith("Weights only load failed"):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        code = next((ln for ln in lines if "GLOBAL" in ln), None)
        if code is not None:
            return (
                f"it is a pickle that names code, not only tensors and plain data "
                f"({code[:160]}); airmodel never unpickles code or classes from a file"
            )
        why = next((ln for ln in lines if "Unsupported" in ln), lines[-1])
        return f"torch.load fails: not a readable weights file ({why[:120]})"
    first = text.split(". ")[0].splitlines()[0][:120] if text else ""
    return f"torch.load fails: {type(err).__name__}: {first}"


def warn_unsealed(path: str | Path, obj: Mapping[str, Any]) -> None:
    """Warn that the unsealed file ``path`` (holding ``obj``) cannot be checked."""
    what = (
        "written before airmodel sealed checkpoints"
        if "model_name" in obj or "config" in obj
        else "a plain torch.save file"
    )
    then = (
        "`airmodel run` still compares its clean accuracy with the recorded one"
        if "test_accuracy" in obj
        else "airmodel.training.save_atomic({'state_dict': ..., 'model_name': ...}, "
        "path) writes a sealed copy"
    )
    warnings.warn(
        f"{path} has no sha256 seal ({what}), so its bytes cannot be checked; {then}.",
        stacklevel=3,
    )


def load_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, metadata)`` from an airmodel checkpoint, plain state dict or safetensors.

    ``metadata`` is the checkpoint dict without its weights (``model_name``,
    ``num_classes``, ...) for an airmodel checkpoint, the file's string
    metadata for safetensors, ``{}`` for a plain state dict. A sealed
    checkpoint's sha256 is checked first (:func:`read_torch_file`).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(
            f"Checkpoint {path} not found; train one with `airmodel train ... "
            f"--out {path.parent}` or point at a state-dict / .safetensors file."
        )
    if path.suffix == ".safetensors":
        try:
            from safetensors import SafetensorError, safe_open
        except ImportError as err:
            raise UserError(
                f"{path} is a .safetensors file; install the optional dependency: "
                "pip install 'airmodel[safetensors]'."
            ) from err
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = dict(f.metadata() or {})
                state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
        except SafetensorError as err:
            raise CorruptFileError(
                path, f"safetensors cannot read it: {err}", "Restore it from a copy."
            ) from None
        return state, meta
    obj, sealed = read_torch_file(path)
    if not isinstance(obj, Mapping):
        raise UserError(
            f"{path} holds a {type(obj).__name__}, not a state dict; save "
            "`model.state_dict()`, not the model."
        )
    if not sealed:
        warn_unsealed(path, obj)
    inner = obj.get("state_dict", obj.get("model"))
    if isinstance(inner, Mapping):  # an airmodel (or similar) checkpoint
        meta = {k: v for k, v in obj.items() if k not in ("state_dict", "model")}
        return dict(inner), meta
    if all(isinstance(v, torch.Tensor) for v in obj.values()):
        return dict(obj), {}
    raise UserError(
        f"{path} is neither an airmodel checkpoint (`state_dict` + `model_name`) nor "
        "a plain state dict of tensors; save it with torch.save(model.state_dict())."
    )


def load_model(
    path: str | Path,
    model_name: str | None = None,
    device: str | torch.device = "cpu",
    num_classes: int | None = None,
    in_channels: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the model and load the weights of ``path`` into it.

    :param model_name: registered name or ``package.module:factory``; defaults
        to the name an airmodel checkpoint records (required otherwise).
    :param num_classes, in_channels: override the recorded values (defaults 10, 3).
    :param options: the model builder's own keyword options.
    :output model: in eval mode on ``device``; tied parameters stay tied.
    :output meta: the checkpoint's metadata (``{}`` for a plain state dict).
    """
    state, meta = load_weights(path)
    model = model_from_weights(
        state, meta, model_name, num_classes, in_channels, options, what=str(path)
    )
    return model.to(device).eval(), {"model_name": model_name, **meta}


def model_from_weights(
    state: dict[str, torch.Tensor],
    meta: Mapping[str, Any],
    model_name: str | None = None,
    num_classes: int | None = None,
    in_channels: int | None = None,
    options: Mapping[str, Any] | None = None,
    what: str = "state dict",
) -> nn.Module:
    """Build the model (see :func:`load_model`) and load ``state`` into it."""
    name = model_name or meta.get("model_name")
    if name is None:
        raise UserError(
            f"{what} is a plain state dict and does not say which model it fits; "
            "give `model_name=` (a registered name or 'package.module:factory'), "
            "in a config `model.name`."
        )
    if not isinstance(name, str):
        raise UserError(
            f"{what} records model_name={name!r}, not a name; give `model_name=` "
            "or a final.pt written by `airmodel train`."
        )
    try:
        model = get_model(
            name,
            num_classes=int(num_classes or meta.get("num_classes", 10)),
            in_channels=int(in_channels or meta.get("in_channels", 3)),
            options=options,
        )
    except UserError as err:  # names the factory (or the module not allowed)
        if model_name is None:  # the name came from the file
            raise UserError(f"{what} records model_name={name!r}: {err}") from err
        raise
    except (TypeError, ValueError, KeyError) as err:
        raise UserError(
            f"{what} asks for a model that cannot be built ({err}); give a final.pt "
            "written by `airmodel train`, or the model's `model_name=` and options."
        ) from err
    # A tied parameter appears under one key only in some files (safetensors
    # drops aliases): fill the aliases from the key that is there.
    for group in tied_groups(model):
        have = [k for k in group if k in state]
        for k in group:
            if have and k not in state:
                state[k] = state[have[0]]
    check_state_dict(model, state, what=f"checkpoint {what}")
    check_finite_tensors(state, what=f"checkpoint {what}")
    model.load_state_dict(state)
    return model


def check_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str = "checkpoint"
) -> None:
    """Raise :class:`UserError` listing missing, unexpected and mismatched keys (sorted)."""
    ref = model.state_dict()
    missing = sorted(set(ref) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(ref))
    mismatched = sorted(
        f"{k}: {tuple(state_dict[k].shape)} vs model {tuple(ref[k].shape)}"
        for k in set(ref) & set(state_dict)
        if tuple(state_dict[k].shape) != tuple(ref[k].shape)
    )
    if missing or unexpected or mismatched:
        raise UserError(
            f"The {what} does not fit {type(model).__name__}: "
            f"missing keys {missing}; unexpected keys {unexpected}; "
            f"shape mismatches {mismatched}. Build the model the checkpoint was "
            "trained with (its recorded `model_name`, `num_classes`, "
            "`in_channels`), or retrain for this model."
        )


def tied_groups(model: nn.Module) -> list[list[str]]:
    """State-dict keys that share storage (tied parameters), groups of 2 or more."""
    by_ptr: dict[tuple[int, int], list[str]] = {}
    for k, v in model.state_dict(keep_vars=True).items():
        if v.numel():
            by_ptr.setdefault(
                (v.untyped_storage().data_ptr(), v.storage_offset()), []
            ).append(k)
    return [sorted(g) for g in by_ptr.values() if len(g) > 1]
