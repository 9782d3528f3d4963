# SPDX-License-Identifier: Apache-2.0
"""Batch-norm recalibration: re-estimate running statistics from unlabelled inputs."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

__all__ = ["recalibrate_bn", "recalibrate_bn_state", "batchnorm_layers"]


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every batch-norm layer of ``model`` that tracks running statistics."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


def recalibrate_bn(
    model: nn.Module, images: torch.Tensor, batch_size: int = 500
) -> nn.Module:
    """Re-estimate every batch-norm layer's running mean and variance, in place.

    A receiver stage that may follow any denoiser: after the weights are
    rebuilt, each batch-norm layer's statistics are reset and re-estimated
    as the cumulative average (``momentum=None``) over forward passes of
    ``images`` with only the batch-norm layers in train mode (dropout and
    the rest stay in eval mode), under ``torch.no_grad``. Affine parameters
    are untouched.

    This is side information in the form of *unlabelled* inputs: the receiver
    sees images only (no labels go in). This function uses ``images`` as
    given. In a sweep they are training images (the first ``kappa`` of them
    the same images the validation-based selection already uses, there
    without augmentation), given the training augmentation (seeded random
    crop + flip) by default; ``receiver.recalibrate_augment: false`` sends
    them plain (:class:`~airmodel.evaluation.sweep.TrainingSubsets`).

    With more than ``batch_size`` images, the running mean is the average of
    the batch means and the running variance the average of the (unbiased)
    batch variances, as PyTorch's cumulative average gives; one batch gives
    the exact statistics of ``images``.

    :param model: Network whose batch-norm layers are recalibrated (in place).
    :param images: [N, C, H, W], float. Normalized inputs, as the model expects.
    :param batch_size: Images per forward pass.
    :output model: The same ``model``; its mode and momenta are restored.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(f"`batch_size` must be an int; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1; got {batch_size}.")
    if not torch.is_tensor(images) or images.dim() < 2:
        raise ValueError(
            "`images` must be a tensor [N, C, H, W] of normalized inputs (no "
            f"labels); got {type(images).__name__}."
        )
    if images.shape[0] < 2:
        raise ValueError(
            f"`images` must hold at least 2 samples to estimate a variance; got "
            f"{images.shape[0]}. Raise the number of recalibration samples."
        )
    layers = batchnorm_layers(model)
    if not layers:
        return model
    was_training = {m: m.training for m in model.modules()}
    momenta = [m.momentum for m in layers]
    param = next(model.parameters(), None)
    device = param.device if param is not None else images.device
    try:
        model.eval()
        for m in layers:
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average
            m.train()
        with torch.no_grad():
            for i in range(0, images.shape[0], batch_size):
                model(images[i : i + batch_size].to(device))
    finally:
        for m, mom in zip(layers, momenta, strict=True):
            m.momentum = mom
        for m, mode in was_training.items():
            m.train(mode)
    return model


def recalibrate_bn_state(
    state_dict: Mapping[str, torch.Tensor],
    model: nn.Module,
    images: torch.Tensor,
    batch_size: int = 500,
) -> dict[str, torch.Tensor]:
    """State dict in, state dict out: :func:`recalibrate_bn` on ``state_dict``.

    ``model`` is used as scratch space (``state_dict`` is loaded into it). The
    result has the same keys, shapes and dtypes; only batch-norm buffers
    (running mean, variance, batch count) differ.

    :param state_dict: Rebuilt weights.
    :param model: A module of the matching architecture (overwritten).
    :param images: [N, C, H, W], float. Normalized unlabelled inputs.
    :output state_dict: Recalibrated copy, tensors on ``state_dict``'s devices.
    """
    model.load_state_dict(state_dict, strict=True)
    recalibrate_bn(model, images, batch_size)
    out = model.state_dict()
    return {
        k: out[k].detach().to(device=v.device, dtype=v.dtype).clone()
        for k, v in state_dict.items()
    }
