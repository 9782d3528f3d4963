# SPDX-License-Identifier: Apache-2.0
"""ShuffleNetV2 for 32x32 images (Ma et al. 2018; the CIFAR variant of kuangliu/pytorch-cifar).

CIFAR variant: a 3x3 stride-1 stem with 24 channels and no max-pool; three
stages (widths 116/232/464 at width 1.0), each one down-sampling block and
3/7/3 basic blocks (4/8/4 units, as in the ImageNet network); a 1x1 conv to
1024 channels, global average pooling and a linear classifier.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from airmodel.models.registry import register_model
from airmodel.models.resnet_cifar import init_weights

__all__ = ["ShuffleNetV2", "shufflenetv2"]

#: Stage widths and basic blocks per stage (after the down-sampling block).
WIDTHS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
          1.5: (176, 352, 704, 1024), 2.0: (224, 488, 976, 2048)}  # fmt: skip
BLOCKS = (3, 7, 3)


def channel_shuffle(x: torch.Tensor, groups: int = 2) -> torch.Tensor:
    """[B, C, H, W] -> same shape, channels interleaved across ``groups``."""
    b, c, h, w = x.shape
    return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> list:
    return [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class BasicUnit(nn.Module):
    """Split channels in half; 1x1-ReLU, depthwise 3x3, 1x1-ReLU on one half; concat, shuffle."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels // 2
        self.branch = nn.Sequential(
            *_conv_bn(c, c, 1), nn.ReLU(inplace=True),
            *_conv_bn(c, c, 3, groups=c),
            *_conv_bn(c, c, 1), nn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        keep, through = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat([keep, self.branch(through)], 1))


class DownUnit(nn.Module):
    """Stride-2 unit: both branches see the whole input; output ``cout`` channels."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        mid = cout // 2
        self.left = nn.Sequential(
            *_conv_bn(cin, cin, 3, 2, groups=cin),
            *_conv_bn(cin, mid, 1), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.right = nn.Sequential(
            *_conv_bn(cin, mid, 1), nn.ReLU(inplace=True),
            *_conv_bn(mid, mid, 3, 2, groups=mid),
            *_conv_bn(mid, mid, 1), nn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(torch.cat([self.left(x), self.right(x)], 1))


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2, CIFAR variant.

    :input x: [B, in_channels, H, W] float (32x32 for CIFAR).
    :output logits: [B, num_classes].
    """

    def __init__(
        self, width: float = 1.0, num_classes: int = 10, in_channels: int = 3
    ) -> None:
        super().__init__()
        if width not in WIDTHS:
            raise ValueError(f"`width` must be one of {sorted(WIDTHS)}; got {width!r}.")
        widths = WIDTHS[width]
        self.stem = nn.Sequential(*_conv_bn(in_channels, 24, 3), nn.ReLU(inplace=True))
        cin, stages = 24, []
        for cout, n in zip(widths[:3], BLOCKS, strict=True):
            stages.append(
                nn.Sequential(DownUnit(cin, cout), *(BasicUnit(cout) for _ in range(n)))
            )
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(*_conv_bn(cin, widths[3], 1), nn.ReLU(inplace=True))
        self.linear = nn.Linear(widths[3], num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.stages(self.stem(x)))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


@register_model("shufflenetv2")
def shufflenetv2(
    num_classes: int = 10, in_channels: int = 3, width: float = 1.0
) -> ShuffleNetV2:
    """ShuffleNetV2 (CIFAR variant), 1,263,854 parameters at width 1.0, 10 classes."""
    return ShuffleNetV2(width, num_classes, in_channels)
