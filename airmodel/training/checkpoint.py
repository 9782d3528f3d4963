"""Checkpoint files: atomic writes, loading, and key/shape checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from airmodel.models import get_model

__all__ = ["check_state_dict", "load_checkpoint", "portable_state_dict", "save_atomic"]


def save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file next to ``path``, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


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
        raise ValueError(
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
        raise FileNotFoundError(
            f"Checkpoint {path} not found; train one with `airmodel train ... "
            f"--out {path.parent}`."
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = ckpt.get("state_dict", ckpt.get("model"))
    name = model_name or ckpt.get("model_name")
    if state is None or name is None:
        raise ValueError(
            f"{path} has no `state_dict`/`model_name`; pass a checkpoint written "
            "by airmodel.training.train, or give `model_name=`."
        )
    model = get_model(
        name,
        num_classes=int(ckpt.get("num_classes", 10)),
        in_channels=int(ckpt.get("in_channels", 3)),
    )
    check_state_dict(model, state, what=f"checkpoint {path}")
    model.load_state_dict(state)
    return model.to(device).eval(), ckpt
