"""CIFAR-10 in the official python release format (tarball or extracted folder)."""

from __future__ import annotations

import hashlib
import pickle
import shutil
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from airmodel.data.info import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    READ_ERRORS,
    DatasetInfo,
    corrupt_dataset,
)
from airmodel.data.info import DatasetNotFoundError as DatasetNotFoundError
from airmodel.errors import EnvironmentFailure

__all__ = ["CIFAR10_CLASSES", "CIFAR10_MD5", "CIFAR10_URL", "load_cifar10"]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_BATCHES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    dst = root / TARBALL
    tmp = dst.with_suffix(".part")
    try:
        with urllib.request.urlopen(CIFAR10_URL, timeout=60) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        tmp.unlink(missing_ok=True)
        raise EnvironmentFailure(
            f"downloading {CIFAR10_URL} failed ({getattr(err, 'reason', err)}). "
            f"Without network, fetch {TARBALL} on another machine and put it at {dst}."
        ) from None
    got = _md5(tmp)
    if got != CIFAR10_MD5:
        tmp.unlink()
        raise EnvironmentFailure(
            f"Downloaded {CIFAR10_URL} has md5 {got}, expected {CIFAR10_MD5}; "
            "the download is corrupt. Try again, or fetch the file by hand."
        )
    tmp.replace(dst)
    return dst


#: The only globals a CIFAR-10 python batch names: numpy's array rebuilders
#: (and ``_codecs.encode``, how Python 3 pickles bytes at protocol 2).
_ARRAY_GLOBALS = frozenset([("_codecs", "encode")]) | frozenset(
    (mod, name)
    for core in ("numpy.core", "numpy._core")
    for mod, name in (
        (f"{core}.multiarray", "_reconstruct"),
        (f"{core}.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    )
)


class _ArrayUnpickler(pickle.Unpickler):
    """Reads dicts, lists, bytes, numbers and numpy arrays; refuses any other
    global (a class, ``os.system``, ...) before it is looked up, so a batch file
    cannot run code."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ARRAY_GLOBALS:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}; a CIFAR-10 batch holds only arrays, "
                "lists and bytes, and airmodel never unpickles code"
            )
        return super().find_class(module, name)


def _unpickle(f) -> dict:
    """A CIFAR-10 batch (a python-2 pickle of a dict) read by :class:`_ArrayUnpickler`."""
    entry = _ArrayUnpickler(f, encoding="bytes").load()
    if not isinstance(entry, dict):
        raise pickle.UnpicklingError(f"it holds a {type(entry).__name__}, not a dict")
    return entry


def _decode(entries: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    data = np.concatenate([np.asarray(e[b"data"], dtype=np.uint8) for e in entries])
    labels = np.concatenate([np.asarray(e[b"labels"], dtype=np.int64) for e in entries])
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # NCHW -> NHWC
    return np.ascontiguousarray(images), labels


def _from_folder(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    entries = []
    for name in _BATCHES[split]:
        with open(folder / name, "rb") as f:
            entries.append(_unpickle(f))
    return _decode(entries)


def _from_tar(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    entries = []
    with tarfile.open(path, "r:gz") as tar:
        for name in _BATCHES[split]:
            f = tar.extractfile(f"{FOLDER}/{name}")
            if f is None:
                raise DatasetNotFoundError(f"{path} has no member {FOLDER}/{name}.")
            entries.append(_unpickle(f))
    return _decode(entries)


def _read(reader, path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``reader(path, split)``, a damaged file reported as such."""
    try:
        return reader(path, split)
    except DatasetNotFoundError:
        raise
    except READ_ERRORS as err:
        bad = corrupt_dataset(path, err)
        raise bad from (None if bad is err else err)


def load_cifar10(
    root: str | Path, split: str = "train", download: bool = False
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """Load CIFAR-10 from ``root``.

    ``root`` may be the tarball itself, the extracted ``cifar-10-batches-py``
    folder, or a folder holding either of them.

    :param root: Path as described above.
    :param split: ``"train"`` (50,000 images) or ``"test"`` (10,000).
    :param download: Fetch the official tarball into ``root`` if it is missing.
    :output images: [N, 32, 32, 3] uint8.
    :output labels: [N] int64.
    :output info: :class:`DatasetInfo`.
    """
    if split not in _BATCHES:
        raise ValueError(f"`split` must be one of ('train', 'test'); got {split!r}.")
    root = Path(root).expanduser()
    if root.is_file():
        images, labels = _read(_from_tar, root, split)
    elif (root / "data_batch_1").is_file() or (root / "test_batch").is_file():
        images, labels = _read(_from_folder, root, split)
    elif (root / FOLDER).is_dir():
        images, labels = _read(_from_folder, root / FOLDER, split)
    elif (root / TARBALL).is_file():
        images, labels = _read(_from_tar, root / TARBALL, split)
    elif download:
        images, labels = _read(_from_tar, _download(root), split)
    else:
        raise DatasetNotFoundError(
            f"CIFAR-10 not found: put {TARBALL} (from {CIFAR10_URL}) or its "
            f"extracted {FOLDER}/ folder at {root / TARBALL} or {root / FOLDER}, "
            "or let airmodel fetch it (airmodel train --download; airmodel run "
            "--set data.download=true; Python: download=True)."
        )
    info = DatasetInfo(
        "cifar10", 10, 3, CIFAR10_MEAN, CIFAR10_STD, (32, 32), CIFAR10_CLASSES
    )
    return images, labels, info
