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
from airmodel.data.sst2 import TextInfo, load_sst2
from airmodel.data.transforms import augment, to_tensor
from airmodel.errors import UserError
from airmodel.registry import Registry

__all__ = [
    "DATASETS",
    "CIFAR10_MEAN",
    "CIFAR10_STD",
    "DatasetInfo",
    "DatasetNotFoundError",
    "TextInfo",
    "augment",
    "list_datasets",
    "load_dataset",
    "to_tensor",
]

#: Dataset loaders by name; plugins register under the entry-point group
#: ``airmodel.datasets`` as ``loader(root, split, **options) -> (images, labels,
#: info)`` (images [N, H, W, C] uint8, labels [N] int64, a :class:`DatasetInfo`).
DATASETS: Registry[tuple[np.ndarray, np.ndarray, DatasetInfo]] = Registry(
    "dataset", "airmodel.datasets", context=("root", "split", "download", "cache_dir")
)


def _needs_root(name: str, root: str | Path | None) -> str | Path:
    if root is None:
        raise UserError(
            f"Dataset {name!r} needs `root` (CLI: --data-root PATH), the folder "
            "or archive that holds it."
        )
    return root


@DATASETS.register("digits")
def _digits(split: str = "train") -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    return load_digits_dataset(split)


@DATASETS.register("cifar10")
def _cifar10(
    root: str | Path | None = None, split: str = "train", download: bool = False
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    return load_cifar10(_needs_root("cifar10", root), split, download=download)


@DATASETS.register("image_folder")
def _image_folder(
    root: str | Path | None = None,
    split: str = "train",
    cache_dir: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    return load_image_folder(
        _needs_root("image_folder", root), split, cache_dir=cache_dir
    )


@DATASETS.register("sst2")
def _sst2(
    root: str | Path | None = None,
    split: str = "train",
    max_len: int = 64,
    min_freq: int = 1,
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """SST-2 as token ids [N, max_len] (:mod:`airmodel.data.sst2`)."""
    return load_sst2(_needs_root("sst2", root), split, max_len, min_freq)


def list_datasets() -> list[str]:
    """Return the dataset names :func:`load_dataset` accepts (plugins included)."""
    return DATASETS.names()


def load_dataset(
    name: str,
    root: str | Path | None = None,
    split: str = "train",
    download: bool = False,
    cache_dir: str | Path | None = None,
    options: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """Load a dataset split by name.

    :param name: ``"cifar10"``, ``"image_folder"``, ``"digits"`` or a plugin's name.
    :param root: Where the files are (required except for ``"digits"``).
    :param split: ``"train"`` or ``"test"``.
    :param download: ``cifar10`` only: fetch the official tarball if missing.
    :param cache_dir: ``image_folder`` only: where decoded arrays are cached.
    :param options: the loader's own keyword options (plugins).
    :output images: [N, H, W, C] uint8.
    :output labels: [N] int64.
    :output info: :class:`DatasetInfo`.
    """
    ctx = {"root": root, "split": split, "download": download, "cache_dir": cache_dir}
    return DATASETS.build(name, options, **ctx)
