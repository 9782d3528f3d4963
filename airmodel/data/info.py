"""Dataset metadata, shared errors and normalization constants."""

from __future__ import annotations

import errno
import pickle
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from airmodel.errors import CorruptFileError, EnvironmentFailure, UserError

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DatasetInfo",
    "DatasetNotFoundError",
    "READ_ERRORS",
    "channel_stats",
    "corrupt_dataset",
]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)


class DatasetNotFoundError(UserError, FileNotFoundError):
    """A dataset's files are not where the caller said they would be."""


#: What a damaged archive, pickle or image raises while it is read.
READ_ERRORS = (
    tarfile.TarError,
    EOFError,
    zlib.error,
    pickle.UnpicklingError,
    ValueError,
    KeyError,
    IndexError,
    OSError,  # truncated gzip/PIL images; not permission errors (see below)
)


def corrupt_dataset(path: str | Path, err: BaseException) -> Exception:
    """The error to raise for ``err`` while reading dataset file ``path``."""
    if isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM):
        return err  # the error layer reports permissions
    if isinstance(err, OSError) and err.errno in (errno.EIO, errno.ENOSPC):
        return EnvironmentFailure(f"reading {path} failed: {err}")
    return CorruptFileError(
        path,
        f"{type(err).__name__}: {err}"[:200],
        "Copy or download it again (compare its checksum with the source's); "
        "a partial copy or download ends this way.",
    )


@dataclass(frozen=True)
class DatasetInfo:
    """What a model and a scorer need to know about a dataset.

    :param name: Registry name, e.g. ``"cifar10"``.
    :param num_classes: Number of labels.
    :param in_channels: Image channels (C in [N, H, W, C]).
    :param mean: Per-channel mean of pixel/255, used for normalization.
    :param std: Per-channel std of pixel/255.
    :param image_size: (H, W).
    :param classes: Class names, label = index.
    """

    name: str
    num_classes: int
    in_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    image_size: tuple[int, int]
    classes: tuple[str, ...] = ()


def channel_stats(images: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of ``images`` [N, H, W, C] uint8, on the 0..1 scale."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    return tuple(x.mean(0).tolist()), tuple(x.std(0).tolist())
