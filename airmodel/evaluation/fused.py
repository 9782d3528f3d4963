"""Inference-only ResNet for CPU scoring: batch-norm folded, oneDNN fused ops.

Eager ResNet-20 inference on a 2-core CPU spends ~24 % of its time outside
the convolutions (batch-norm 10 %, ReLU 7 %, residual add 4 %, measured with
``torch.profiler``). :func:`fuse` folds each batch-norm into the convolution
before it and runs every conv with its ReLU, and the second conv of a block
with its residual add and ReLU, as one oneDNN call (the ops ``torch.compile``
uses on the CPU). Preparation takes 2 ms for ResNet-20 (48 ms for ResNet-18),
so every scored model gets it. Logits match eager ones to a few 1e-6;
benchmarks/scoring_throughput.py compares the two paths (docs/results.md).

The bfloat16 copy (``fuse(model, torch.bfloat16)``, CPUs with native bf16
only) folds in fp32 and casts the folded weights once, so a batch runs
bf16 oneDNN kernels end to end with no per-batch weight casts.
"""

from __future__ import annotations

import copy
import functools

import torch
import torch.nn.functional as F
from torch import nn

from airmodel.models.resnet_cifar import BasicBlock, ResNet

__all__ = [
    "FusedResNet", "bf16_native_cpu", "fold_batchnorm", "fuse",
    "onednn_fusion_available",
]  # fmt: skip

_PARTS = (ResNet, BasicBlock, nn.Sequential, nn.Conv2d, nn.BatchNorm2d, nn.Linear)
_ConvArgs = tuple[torch.Tensor, torch.Tensor, list[int], list[int], list[int], int]


@functools.lru_cache(maxsize=1)
def onednn_fusion_available() -> bool:
    """Whether this torch build runs oneDNN's fused convolution ops (probed once)."""
    x, w, geometry = (
        torch.ones(1, 1, 2, 2),
        torch.ones(1, 1, 1, 1),
        ([0, 0], [1, 1], [1, 1], 1),
    )
    try:
        y = torch.ops.mkldnn._convolution_pointwise(
            x, w, None, *geometry, "relu", [], ""
        )
        z = torch.ops.mkldnn._convolution_pointwise_.binary(
            y.clone(), x, w, None, *geometry, "add", 1.0, "relu", [], ""
        )
        return bool(torch.equal(z, 2 * x))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def bf16_native_cpu() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16, AMX, AVX-NE)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def fold_batchnorm(
    conv: nn.Conv2d, bn: nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of one conv equal to ``bn(conv(x))`` in eval mode.

    :output weight: [C_out, C_in, kH, kW], channels_last.
    :output bias: [C_out].
    """
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    bias = -bn.running_mean * scale
    if bn.bias is not None:
        bias = bias + bn.bias
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    weight = conv.weight * scale[:, None, None, None]
    return weight.contiguous(memory_format=torch.channels_last), bias.contiguous()


def _conv_args(
    conv: nn.Conv2d, bn: nn.BatchNorm2d, dtype: torch.dtype = torch.float32
) -> _ConvArgs:
    w, b = fold_batchnorm(conv, bn)  # in fp32, then one cast
    w = w.to(dtype).contiguous(memory_format=torch.channels_last)
    b = b.to(dtype)
    return w, b, list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups


class FusedResNet(nn.Module):
    """A frozen, inference-only copy of an airmodel :class:`ResNet` (CPU).

    Build it with :func:`fuse`. Later changes to the source model do not
    reach it: build a new one per state dict. ``dtype``: float32, or
    bfloat16 (weights folded in fp32, then cast once; input cast once).

    :input x: [B, C, H, W] float on the CPU (cast to ``dtype``).
    :output logits: [B, num_classes], ``dtype``.
    """

    def __init__(self, model: ResNet, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.dtype = dtype
        args = functools.partial(_conv_args, dtype=dtype)
        with torch.no_grad():
            self.stem = args(model.conv1, model.bn1)
            self.blocks: list[tuple[_ConvArgs, _ConvArgs, _ConvArgs | None]] = []
            for i in range(model.num_stages):
                for b in getattr(model, f"layer{i + 1}"):
                    short = args(*b.shortcut) if len(b.shortcut) else None
                    self.blocks.append(
                        (args(b.conv1, b.bn1), args(b.conv2, b.bn2), short)
                    )
            self.linear = copy.deepcopy(model.linear).to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits for a batch of images."""
        conv = torch.ops.mkldnn._convolution_pointwise
        conv_add = torch.ops.mkldnn._convolution_pointwise_.binary  # writes into arg 0
        x = x.to(self.dtype, memory_format=torch.channels_last)
        out = conv(x, *self.stem, "relu", [], "")
        for first, second, short in self.blocks:
            h = conv(out, *first, "relu", [], "")
            res = out if short is None else conv(out, *short, "none", [], "")
            out = conv_add(res, h, *second, "add", 1.0, "relu", [], "")
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def fuse(
    model: nn.Module, dtype: torch.dtype = torch.float32
) -> FusedResNet | None:
    """A :class:`FusedResNet` of ``model``, or ``None`` where it does not apply.

    Applies to an airmodel :class:`ResNet` (not a subclass) of
    :class:`BasicBlock` blocks with float32 CPU weights, batch-norm with
    running statistics, no hooks, and a torch build with oneDNN (for
    ``dtype=torch.bfloat16`` also a CPU with native bf16,
    :func:`bf16_native_cpu`). Anything else returns ``None``: score the
    model as it is.
    """
    if type(model) is not ResNet or not onednn_fusion_available():
        return None
    if dtype not in (torch.float32, torch.bfloat16):
        return None
    if dtype == torch.bfloat16 and not bf16_native_cpu():
        return None
    for m in model.modules():
        if type(m) not in _PARTS or m._forward_hooks or m._forward_pre_hooks:
            return None
        if isinstance(m, nn.BatchNorm2d) and m.running_var is None:
            return None
    tensors = list(model.parameters()) + list(model.buffers())
    if any(t.is_floating_point() and t.dtype != torch.float32 for t in tensors):
        return None
    if any(t.device.type != "cpu" for t in tensors):
        return None
    return FusedResNet(model, dtype)
