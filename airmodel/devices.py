# SPDX-License-Identifier: Apache-2.0
"""The run's device: resolved and checked once, then passed to every block."""

from __future__ import annotations

import torch

__all__ = ["resolve_device", "sionna_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/None -> ``cuda`` if available else ``cpu``; otherwise checked.

    Raises ``RuntimeError`` naming the fix when the device does not exist
    (e.g. ``cuda`` on a CPU-only torch, ``cuda:3`` on a one-GPU machine).
    """
    if device is None or device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise RuntimeError(
            f"{device!r} is not a torch device; use 'auto', 'cpu' or 'cuda[:N]'."
        ) from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise RuntimeError(
                f"{device!r} asked for, but this torch ({torch.__version__}) sees no "
                "CUDA device; use 'cpu' or 'auto'."
            )
        index = 0 if dev.index is None else dev.index
        if index >= count:
            raise RuntimeError(
                f"{device!r} asked for, but only {count} CUDA device(s) exist "
                f"(cuda:0..cuda:{count - 1})."
            )
        return torch.device("cuda", index)
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(
            f"{device!r} asked for, but MPS is not available; use 'cpu'."
        )
    return dev


def sionna_device(device: str | torch.device) -> str:
    """The device string Sionna blocks take (``"cpu"``, ``"cuda:0"``)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"cuda:{0 if dev.index is None else dev.index}"
    return dev.type
