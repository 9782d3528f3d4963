"""Checkpoint files: atomic writes, loading, and key/shape checks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from airmodel.models.loading import check_state_dict, load_model

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


def load_checkpoint(
    path: str | Path,
    model_name: str | None = None,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Build a model and load its weights: airmodel checkpoint, state dict or safetensors.

    :param path: A ``final.pt``/``last.pt`` written by :func:`airmodel.training.train`,
        a plain ``torch.save(model.state_dict())`` file, or a ``.safetensors`` file.
    :param model_name: Override the recorded model name (must still fit); needed
        for a plain state dict. A registered name or ``package.module:factory``.
    :param device: Where to put the model.
    :output model: The model in eval mode.
    :output checkpoint: The checkpoint's metadata (``dataset``, ``normalization``,
        ``test_accuracy``, ``config``, ...; only ``model_name`` for a plain file).
    """
    return load_model(path, model_name=model_name, device=device)
