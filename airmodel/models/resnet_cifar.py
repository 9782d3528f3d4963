"""CIFAR ResNets (kuangliu layout: 3x3 stem, no max-pool, projection shortcuts)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from airmodel.models.registry import register_model

__all__ = [
    "BasicBlock",
    "ResNet",
    "init_weights",
    "resnet8",
    "resnet18",
    "resnet20",
    "resnet34",
]


def init_weights(model: nn.Module, generator: torch.Generator | None = None) -> None:
    """(Re-)initialise ``model`` in place, drawing only from ``generator``.

    Convs: Kaiming normal (fan_out, ReLU). Linear: PyTorch's default uniform
    init. BatchNorm: weight 1, bias 0, fresh running statistics. With a seeded
    generator the result is reproducible without touching the global RNG.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(
                    m.weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    bound = 1.0 / math.sqrt(m.in_features)
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity or 1x1-conv-BN shortcut."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block. :input x: [B, C, H, W]."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """CIFAR ResNet with ``len(widths)`` stages; global average pool + ``linear``.

    :param num_blocks: Blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
    :param widths: Channels per stage; the stem has ``widths[0]`` channels.
    :input x: [B, in_channels, H, W], float. Any H, W >= 1 (adaptive pool).
    :output logits: [B, num_classes].
    """

    def __init__(
        self,
        num_blocks: tuple[int, ...],
        widths: tuple[int, ...],
        num_classes: int = 10,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(num_blocks) != len(widths):
            raise ValueError("`num_blocks` and `widths` must have the same length.")
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        in_planes = widths[0]
        for i, (n, w) in enumerate(zip(num_blocks, widths, strict=True)):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(BasicBlock(in_planes, w, stride))
                in_planes = w
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_stages = len(widths)
        self.linear = nn.Linear(in_planes, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits for a batch of images."""
        out = F.relu(self.bn1(self.conv1(x)))
        for i in range(self.num_stages):
            out = getattr(self, f"layer{i + 1}")(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)  # (B, C, h, w) -> (B, C)
        return self.linear(out)


@register_model("resnet18")
def resnet18(num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """ResNet-18 (kuangliu), about 11.17M parameters for 10 classes."""
    return ResNet((2, 2, 2, 2), (64, 128, 256, 512), num_classes, in_channels)


@register_model("resnet34")
def resnet34(num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """ResNet-34 (kuangliu), about 21.28M parameters for 10 classes."""
    return ResNet((3, 4, 6, 3), (64, 128, 256, 512), num_classes, in_channels)


@register_model("resnet20")
def resnet20(num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """ResNet-20 (He et al. 2016, projection shortcuts), about 0.27M parameters."""
    return ResNet((3, 3, 3), (16, 32, 64), num_classes, in_channels)


@register_model("resnet8")
def resnet8(num_classes: int = 10, in_channels: int = 3) -> ResNet:
    """Tiny ResNet-8 (one block per stage, 16/32/64) for tests and quickstarts."""
    return ResNet((1, 1, 1), (16, 32, 64), num_classes, in_channels)
