"""Checkpoint files: sealed atomic writes, verified reads, key/shape/accuracy checks.

A checkpoint is ``torch.save``'s zip file whose zip comment holds
``airmodel-sha256=<hex>``, the sha256 of every byte before the comment: any
flipped or missing byte fails :func:`read_checkpoint`. The payload records
``"integrity": "sha256-zip-comment"`` so that a damaged comment cannot pass
the file off as an older, unsealed one (the seal: :mod:`airmodel.integrity`;
reading any weight file: :mod:`airmodel.models.loading`).
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from airmodel.errors import CorruptFileError, UserError
from airmodel.integrity import ZIP_INTEGRITY as INTEGRITY
from airmodel.integrity import seal_zip as seal
from airmodel.models.loading import (
    check_state_dict,
    load_model,
    read_torch_file,
    warn_unsealed,
)
from airmodel.provenance import write_atomic

__all__ = [
    "ACCURACY_SLACK",
    "accuracy_tolerance",
    "check_clean_accuracy",
    "check_state_dict",
    "load_checkpoint",
    "portable_state_dict",
    "read_checkpoint",
    "read_train_state",
    "refuse_replacing_final",
    "save_atomic",
    "seal",
]


def save_atomic(obj: Any, path: str | Path) -> Path:
    """Write a sealed ``torch.save`` of ``obj`` atomically (temporary file, fsync,
    ``os.replace``); a dict ``obj`` also records ``"integrity"``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, dict):
        obj = {**obj, "integrity": INTEGRITY}
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_atomic(path, seal(buf.getvalue()))
    return path


def read_checkpoint(path: str | Path, fix: str | None = None) -> dict[str, Any]:
    """Read a checkpoint dict after checking its seal; only tensors and plain
    data load (``torch.load(weights_only=True)``, :func:`read_torch_file`).

    :param fix: What the user should do about a corrupt file (default: retrain).
    :output checkpoint: The dict ``torch.save`` wrote (``integrity`` removed).
    """
    ckpt, sealed = read_torch_file(path, fix=fix)
    if not isinstance(ckpt, dict):
        raise UserError(
            f"{path} holds a {type(ckpt).__name__}, not an airmodel checkpoint dict. "
            "Give a final.pt written by `airmodel train`."
        )
    if not sealed:
        warn_unsealed(path, ckpt)
    return ckpt


#: What a ``last.pt`` (training state) holds, and the type of each entry.
_TRAIN_STATE = {
    "model": dict, "optimizer": dict, "scheduler": dict, "epoch": int,
    "rng_state": torch.Tensor, "config": dict,
}  # fmt: skip


def read_train_state(path: str | Path, fix: str) -> dict[str, Any]:
    """The training state in ``last.pt``: tensors and plain data only.

    Read like any checkpoint (:func:`read_checkpoint`: seal checked,
    ``torch.load(weights_only=True)``, so a pickle that carries code is refused
    before anything runs); a file without the entries :func:`train` writes
    (``model``, ``optimizer``, ``scheduler``, ``epoch``, ``rng_state``,
    ``config``) raises :class:`~airmodel.errors.CorruptFileError` with ``fix``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unsealed: the key check below decides
        ck = read_checkpoint(path, fix=fix)
    bad = sorted(k for k, t in _TRAIN_STATE.items() if not isinstance(ck.get(k), t))
    if bad:
        raise CorruptFileError(
            path, f"not a training state: {bad} missing or of the wrong type", fix
        )
    return ck


def refuse_replacing_final(
    out: Path, config: dict[str, Any], keys: tuple[str, ...], overwrite: bool
) -> None:
    """Raise unless ``out/final.pt`` is absent, was written by a run of these
    settings (``config`` on ``keys``), or ``overwrite`` is given: training never
    replaces another model's ``final.pt`` by accident."""
    final = out / "final.pt"
    if overwrite or not (final.exists() or final.is_symlink()):
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old = read_checkpoint(final).get("config")
    except UserError:
        old = None
    diff = (
        {k: (old.get(k), config[k]) for k in keys if old.get(k) != config[k]}
        if isinstance(old, dict)
        else "a file this run cannot read"
    )
    if diff:
        raise UserError(
            f"{final} holds another model ({diff} saved, now); training would replace "
            "it. Train into another --out folder (model.train.out), or pass "
            "--overwrite (overwrite=True) to replace it."
        )


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
        A sealed checkpoint's sha256 is checked; the weights must fit the model
        and be finite (:class:`~airmodel.errors.UserError` otherwise).
    :param model_name: Override the recorded model name (must still fit); needed
        for a plain state dict. A registered name or ``package.module:factory``.
    :param device: Where to put the model.
    :output model: The model in eval mode.
    :output checkpoint: The checkpoint's metadata (``dataset``, ``normalization``,
        ``test_accuracy``, ``config``, ...; only ``model_name`` for a plain file).
    """
    return load_model(path, model_name=model_name, device=device)


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
