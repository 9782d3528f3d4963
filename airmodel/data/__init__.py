"""Datasets as decoded uint8 arrays, chosen by name, plus tensor transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from airmodel.data.cifar10 import load_cifar10
from airmodel.data.digits import load_digits_dataset
from airmodel.data.image_folder import load_image_folder
from airmodel.data.info import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    DatasetInfo,
    DatasetNotFoundError,
)
from airmodel.data.transforms import augment, to_tensor

__all__ = [
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DatasetInfo",
    "DatasetNotFoundError",
    "augment",
    "list_datasets",
    "load_dataset",
    "to_tensor",
]

DATASETS = ("cifar10", "digits", "image_folder")


def list_datasets() -> list[str]:
    """Return the dataset names :func:`load_dataset` accepts."""
    return list(DATASETS)


def load_dataset(
    name: str,
    root: str | Path | None = None,
    split: str = "train",
    download: bool = False,
    cache_dir: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """Load a dataset split by name.

    :param name: ``"cifar10"``, ``"image_folder"`` or ``"digits"``.
    :param root: Where the files are (required except for ``"digits"``).
    :param split: ``"train"`` or ``"test"``.
    :param download: ``cifar10`` only: fetch the official tarball if missing.
    :param cache_dir: ``image_folder`` only: where decoded arrays are cached.
    :output images: [N, H, W, C] uint8.
    :output labels: [N] int64.
    :output info: :class:`DatasetInfo`.
    """
    if name not in DATASETS:
        raise ValueError(f"`dataset` must be one of {DATASETS}; got {name!r}.")
    if name == "digits":
        return load_digits_dataset(split)
    if root is None:
        raise ValueError(
            f"Dataset {name!r} needs `root` (CLI: --data-root PATH), the folder "
            "or archive that holds it."
        )
    if name == "cifar10":
        return load_cifar10(root, split, download=download)
    return load_image_folder(root, split, cache_dir=cache_dir)
