"""Batched tensor transforms: uint8 NHWC -> normalized NCHW, random crop + flip."""

from __future__ import annotations

import numpy as np
import torch

from airmodel.data.info import DatasetInfo

__all__ = ["augment", "default_augmentation", "normalize", "to_tensor"]


def default_augmentation(info: DatasetInfo) -> tuple[int, bool]:
    """Return ``(pad, flip)``: pad 4 for 32x32 (H // 8, at least 1); no flip for digits."""
    pad = max(1, info.image_size[0] // 8)
    return pad, info.name != "digits"


def normalize(
    x: torch.Tensor, info: DatasetInfo, channels_last: bool = True
) -> torch.Tensor:
    """Normalize a uint8 batch.

    :input x: [B, H, W, C] torch.uint8 (any device).
    :output y: [B, C, H, W] torch.float32, ``(x/255 - mean)/std``, channels_last
        memory format if ``channels_last``.
    """
    mean = torch.tensor(info.mean, dtype=torch.float32, device=x.device)
    std = torch.tensor(info.std, dtype=torch.float32, device=x.device)
    scale = 1.0 / (255.0 * std)
    y = x.to(torch.float32).mul_(scale).sub_(mean / std)  # [B, H, W, C]
    y = y.permute(0, 3, 1, 2)  # NHWC memory viewed as NCHW == channels_last
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return y.contiguous(memory_format=fmt)


def to_tensor(
    images: np.ndarray | torch.Tensor,
    info: DatasetInfo,
    device: str | torch.device = "cpu",
    channels_last: bool = True,
) -> torch.Tensor:
    """Turn decoded images into one normalized float tensor on ``device``.

    :input images: [N, H, W, C] uint8 numpy array or tensor.
    :output x: [N, C, H, W] torch.float32 on ``device``.
    """
    x = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if x.dtype != torch.uint8 or x.ndim != 4:
        raise ValueError(
            f"`images` must be [N, H, W, C] uint8; got {tuple(x.shape)} {x.dtype}."
        )
    return normalize(x.to(device), info, channels_last)


def augment(
    x: torch.Tensor,
    generator: torch.Generator,
    pad: int = 4,
    flip: bool = True,
) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, batched.

    Draws ``2*B`` (+ ``B`` for flips) integers from ``generator`` (on the CPU) and
    gathers all crops with one indexing op; no per-sample Python loop.

    :input x: [B, H, W, C] tensor (uint8 before normalization, any device).
    :output y: [B, H, W, C], same dtype and device.
    """
    b, h, w, c = x.shape
    if pad > 0:
        padded = x.new_zeros((b, h + 2 * pad, w + 2 * pad, c))
        padded[:, pad : pad + h, pad : pad + w] = x
        off = torch.randint(0, 2 * pad + 1, (2, b), generator=generator)
        off = off.to(x.device)
        rows = off[0, :, None] + torch.arange(h, device=x.device)  # (B, H)
        cols = off[1, :, None] + torch.arange(w, device=x.device)  # (B, W)
        bidx = torch.arange(b, device=x.device)[:, None, None]
        x = padded[bidx, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    if flip:
        mask = torch.rand(b, generator=generator) < 0.5
        x = torch.where(mask.to(x.device)[:, None, None, None], x.flip(2), x)
    return x
