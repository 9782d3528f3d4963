"""Test-data factories: small state dicts and modules, built in memory."""

from __future__ import annotations

import torch
from torch import nn


def make_state_dict(
    layers: int = 2, dtype: torch.dtype = torch.float32, width: int = 8, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Conv + BN layers and a linear head, with BN buffers and an int counter."""
    g = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    for i in range(layers):
        sd[f"layer{i}.conv.weight"] = (
            torch.randn(width, width, 3, 3, generator=g) * 0.1
        ).to(dtype)
        sd[f"layer{i}.bn.weight"] = torch.rand(width, generator=g).to(dtype) + 0.5
        sd[f"layer{i}.bn.bias"] = (torch.randn(width, generator=g) * 0.1).to(dtype)
        sd[f"layer{i}.bn.running_mean"] = torch.randn(width, generator=g).to(dtype)
        sd[f"layer{i}.bn.running_var"] = torch.rand(width, generator=g).to(dtype) + 0.1
        sd[f"layer{i}.bn.num_batches_tracked"] = torch.tensor(123, dtype=torch.int64)
    sd["linear.weight"] = (torch.randn(10, width, generator=g) * 0.2).to(dtype)
    sd["linear.bias"] = (torch.randn(10, generator=g) * 0.01).to(dtype)
    return sd


class TiedModel(nn.Module):
    """Two linears sharing one weight, plus a projection shortcut with BN."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 6, bias=False)
        self.b = nn.Linear(6, 6, bias=False)
        self.b.weight = self.a.weight
        self.shortcut = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4))


def assert_seed_reproducible(ch, x: torch.Tensor, no: float = 0.1, part: int = 0) -> None:
    """``ch.seed(3)`` twice gives identical outputs; ``ch.seed(4)`` changes output ``part``."""
    ch.seed(3)
    a = ch(x, no)
    ch.seed(3)
    b = ch(x, no)
    ch.seed(4)
    c = ch(x, no)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[part], c[part])
