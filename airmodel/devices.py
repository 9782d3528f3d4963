# SPDX-License-Identifier: Apache-2.0
"""The run's device: resolved and checked once, then passed to every block."""

from __future__ import annotations

import torch

from airmodel.errors import UserError

__all__ = ["resolve_device", "sionna_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/None -> ``cuda`` if available else ``cpu``; otherwise checked.

    Raises :class:`~airmodel.errors.UserError` naming the fix when the device
    does not exist (e.g. ``cuda`` on a CPU-only torch, ``cuda:3`` on a one-GPU
    machine) or is not a device name.
    """
    if device is None or device == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise UserError(
            f"{device!r} is not a torch device; use 'auto', 'cpu' or 'cuda[:N]'."
        ) from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(
                f"{device!r} asked for, but this torch ({torch.__version__}) sees no "
                "CUDA device; use 'cpu' or 'auto'."
            )
        index = 0 if dev.index is None else dev.index
        if index >= count:
            raise UserError(
                f"{device!r} asked for, but only {count} CUDA device(s) exist "
                f"(cuda:0..cuda:{count - 1})."
            )
        return torch.device("cuda", index)
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"{device!r} asked for, but MPS is not available; use 'cpu'.")
    return dev


def sionna_device(device: str | torch.device) -> str:
    """The device string Sionna blocks take (``"cpu"``, ``"cuda:0"``)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"cuda:{0 if dev.index is None else dev.index}"
    return dev.type
