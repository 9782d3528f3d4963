"""Checkpoint files: sealed atomic writes, verified reads, key/shape/accuracy checks.

A checkpoint is ``torch.save``'s zip file whose zip comment holds
``airmodel-sha256=<hex>``, the sha256 of every byte before the comment: any
flipped or missing byte fails :func:`read_checkpoint`. The payload records
``"integrity": "sha256-zip-comment"`` so that a damaged comment cannot pass
the file off as an older, unsealed one.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from airmodel._validation import check_finite_tensors
from airmodel.errors import CorruptFileError, MissingFileError, UserError
from airmodel.models import get_model

__all__ = [
    "ACCURACY_SLACK",
    "accuracy_tolerance",
    "check_clean_accuracy",
    "check_state_dict",
    "load_checkpoint",
    "portable_state_dict",
    "read_checkpoint",
    "save_atomic",
    "seal",
]

_TAG = b"airmodel-sha256="
_SEAL_LEN = len(_TAG) + 64
_EOCD = b"PK\x05\x06"  # zip end-of-central-directory record (22 bytes + comment)
INTEGRITY = "sha256-zip-comment"


def seal(data: bytes) -> bytes:
    """Append ``airmodel-sha256=<hex>`` as the zip comment of ``torch.save`` bytes."""
    if len(data) < 22 or data[-22:-18] != _EOCD or data[-2:] != b"\0\0":
        raise ValueError("expected torch.save zip bytes without a zip comment")
    head = data[:-2] + _SEAL_LEN.to_bytes(2, "little")
    return head + _TAG + hashlib.sha256(head).hexdigest().encode()


def save_atomic(obj: Any, path: str | Path) -> Path:
    """Write a sealed ``torch.save`` of ``obj`` atomically (temporary file, fsync,
    ``os.replace``); a dict ``obj`` also records ``"integrity"``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, dict):
        obj = {**obj, "integrity": INTEGRITY}
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = seal(buf.getvalue())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(
    path: str | Path, weights_only: bool = True, fix: str | None = None
) -> dict[str, Any]:
    """Read a checkpoint dict after checking its seal.

    :param weights_only: ``torch.load``'s; only ever applied to verified bytes
        or to an unsealed file of an older airmodel.
    :param fix: What the user should do about a corrupt file (default: retrain).
    :output checkpoint: The dict ``torch.save`` wrote (``integrity`` removed).
    """
    path = Path(path)
    fix = fix or (
        "Restore it from a copy, or retrain it: `airmodel train ... --out DIR` "
        "writes DIR/final.pt."
    )
    if not path.is_file():
        raise MissingFileError(f"Checkpoint {path} not found (or not a file). {fix}")
    data = path.read_bytes()
    sealed = data[-_SEAL_LEN:].startswith(_TAG)
    if sealed:
        want = data[-64:].decode("ascii", "replace")
        got = hashlib.sha256(data[:-_SEAL_LEN]).hexdigest()
        if got != want:
            raise CorruptFileError(
                path,
                f"sha256 {got[:12]}... does not match the recorded {want[:12]}...",
                fix,
            )
    try:
        ckpt = torch.load(
            io.BytesIO(data), map_location="cpu", weights_only=weights_only
        )
    except Exception as err:  # pickle/zip errors of a damaged file say nothing useful
        first = str(err).split(". ")[0][:120]
        what = "empty file" if not data else f"{type(err).__name__}: {first}"
        raise CorruptFileError(path, f"torch.load fails: {what}", fix) from err
    if not isinstance(ckpt, dict):
        raise UserError(
            f"{path} holds a {type(ckpt).__name__}, not an airmodel checkpoint dict. "
            "Give a final.pt written by `airmodel train`."
        )
    if ckpt.pop("integrity", None) is not None and not sealed:
        raise CorruptFileError(path, "its sha256 seal is missing or damaged", fix)
    if not sealed:
        warnings.warn(
            f"{path} has no sha256 seal (written before airmodel sealed checkpoints), "
            "so its bytes cannot be checked; `airmodel run` still compares its "
            "clean accuracy with the recorded one.",
            stacklevel=2,
        )
    return ckpt


def portable_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """CPU, contiguous (NCHW-ordered) copies of ``model.state_dict()``."""
    return {
        k: v.detach().to("cpu").contiguous().clone()
        for k, v in model.state_dict().items()
    }


def check_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str = "checkpoint"
) -> None:
    """Raise ``ValueError`` listing missing, unexpected and mismatched keys (sorted)."""
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


def load_checkpoint(
    path: str | Path,
    model_name: str | None = None,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the model recorded in a ``final.pt`` and load its weights.

    :param path: A checkpoint written by :func:`airmodel.training.train`
        (``final.pt`` or ``last.pt``).
    :param model_name: Override the recorded model name (must still fit).
    :param device: Where to put the model.
    :output model: The model in eval mode.
    :output checkpoint: The checkpoint dict (``dataset``, ``normalization``,
        ``test_accuracy``, ``config``, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(
            f"Checkpoint {path} not found; train one with `airmodel train ... "
            f"--out {path.parent}`."
        )
    ckpt = read_checkpoint(path)
    state = ckpt.get("state_dict", ckpt.get("model"))
    name = model_name or ckpt.get("model_name")
    if not isinstance(state, Mapping) or not isinstance(name, str):
        raise UserError(
            f"{path} has no `state_dict`/`model_name`; pass a checkpoint written "
            "by airmodel.training.train, or give `model_name=`."
        )
    try:
        model = get_model(
            name,
            num_classes=int(ckpt.get("num_classes", 10)),
            in_channels=int(ckpt.get("in_channels", 3)),
        )
    except (TypeError, ValueError, KeyError) as err:
        raise UserError(
            f"{path} records a model that cannot be built ({err}); give a final.pt "
            "written by `airmodel train`."
        ) from err
    check_state_dict(model, state, what=f"checkpoint {path}")
    check_finite_tensors(state, what=f"checkpoint {path}")
    model.load_state_dict(state)
    return model.to(device).eval(), ckpt


#: Scoring-path allowance in the clean-accuracy check (bf16, GPU, another image
#: decoder may flip a few predictions). Measured on the CPU: fused and eager fp32
#: scoring reproduce both committed ResNet-20s' recorded accuracy exactly on all
#: 10,000 test images (gap 0.00 points); bf16/GPU gaps are not measured yet.
ACCURACY_SLACK = 0.005


def accuracy_tolerance(recorded: float, n: int) -> float:
    """Largest accepted gap between a checkpoint's recorded and measured accuracy.

    Four binomial standard errors of an accuracy measured on ``n`` images,
    ``4 sqrt(p (1 - p) / n)`` (a sampled subset of the test set: a false alarm
    about once in 16,000 runs), plus :data:`ACCURACY_SLACK`.
    """
    p = min(max(recorded, 0.0), 1.0)
    return 4.0 * math.sqrt(p * (1.0 - p) / max(n, 1)) + ACCURACY_SLACK


def check_clean_accuracy(
    measured: float, recorded: float | None, n: int, path: str | Path
) -> None:
    """Raise :class:`UserError` if ``measured`` is off ``recorded`` by more than
    :func:`accuracy_tolerance` (a corrupt or mismatched model)."""
    if recorded is None:
        return
    tol = accuracy_tolerance(float(recorded), n)
    if abs(measured - float(recorded)) > tol:
        raise UserError(
            f"Model {path} scores {measured:.2%} clean on {n} test images but its "
            f"checkpoint records {float(recorded):.2%} (tolerance {tol:.2%}): the "
            "weights or the data are not what the checkpoint was trained with. "
            "Check `data.root`/`data.dataset`, or restore the checkpoint; to run "
            "anyway, add --accept-accuracy-gap."
        )
