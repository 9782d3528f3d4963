"""Image folders ``root/{train,test}/<class>/*.png|jpg``, from a directory or .tar.gz."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from airmodel.data.info import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    READ_ERRORS,
    DatasetInfo,
    DatasetNotFoundError,
    channel_stats,
    corrupt_dataset,
)
from airmodel.paths import cache_root

__all__ = ["IMAGE_EXTENSIONS", "default_cache_dir", "load_image_folder"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
SPLITS = ("train", "test")
_CACHE_VERSION = "1"


def default_cache_dir() -> Path:
    """``$AIRMODEL_CACHE_DIR`` if set, else ``~/.cache/airmodel`` (:func:`cache_root`)."""
    return cache_root()


def _parse(name: str) -> tuple[str, str] | None:
    """Map ``[prefix/]split/class/file.ext`` to (split, class), else None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 3 or not parts[-1].lower().endswith(IMAGE_EXTENSIONS):
        return None
    split, cls = parts[-3], parts[-2]
    return (split, cls) if split in SPLITS else None


def _iter_files(root: Path):
    """Yield (split, class, name, bytes) for every image under ``root``."""
    if root.is_file():
        with tarfile.open(root, "r:*") as tar:
            for m in tar:  # streaming: one pass over the archive
                key = _parse(m.name) if m.isfile() else None
                if key is not None:
                    f = tar.extractfile(m)
                    assert f is not None
                    yield key[0], key[1], m.name, f.read()
    else:
        for p in sorted(root.rglob("*")):
            key = _parse(p.relative_to(root).as_posix()) if p.is_file() else None
            if key is not None:
                yield key[0], key[1], p.as_posix(), p.read_bytes()


def _decode_all(root: Path) -> dict[str, np.ndarray]:
    """Decode every image once; return arrays for both splits and the class list."""
    raw: dict[str, list[tuple[str, str, np.ndarray]]] = {s: [] for s in SPLITS}
    where: str | Path = root
    try:
        for split, cls, name, data in _iter_files(root):
            where = name
            with Image.open(io.BytesIO(data)) as im:
                im = im.convert("L" if im.mode in ("L", "1", "I;16") else "RGB")
                arr = np.asarray(im, dtype=np.uint8)
            raw[split].append((cls, name, arr if arr.ndim == 3 else arr[..., None]))
    except READ_ERRORS as err:  # PIL's UnidentifiedImageError is an OSError
        bad = corrupt_dataset(root if root.is_file() else where, err)  # a file
        raise bad from (None if bad is err else err)
    classes = sorted({c for c, _, _ in raw["train"]})
    if not classes:
        raise DatasetNotFoundError(
            f"No images found under {root}: expected train/<class>/*.png|jpg "
            "(and test/<class>/...), in a folder or a .tar.gz."
        )
    index = {c: i for i, c in enumerate(classes)}
    out: dict[str, np.ndarray] = {"classes": np.array(classes)}
    for split in SPLITS:
        items = sorted(raw[split], key=lambda t: (index.get(t[0], -1), t[1]))
        unknown = sorted({c for c, _, _ in items if c not in index})
        if unknown:
            raise ValueError(
                f"{root}: {split}/ has classes {unknown} that train/ lacks; "
                "every test class needs a train folder of the same name."
            )
        shapes = {a.shape for _, _, a in items}
        if len(shapes) > 1:
            raise ValueError(
                f"{root}: {split}/ images have different shapes {sorted(shapes)}; "
                "resize them to one size first."
            )
        h, w, c = next(iter(shapes)) if shapes else (0, 0, 1)
        out[f"{split}_images"] = (
            np.stack([a for _, _, a in items])
            if items
            else np.zeros((0, h, w, c), np.uint8)
        )
        out[f"{split}_labels"] = np.array([index[c] for c, _, _ in items], np.int64)
    return out


def _file_digest(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _cache_key(root: Path) -> str:
    """An archive by its content (a copied or re-extracted one still hits the
    cache); a folder by its files' paths, sizes and mtimes."""
    h = hashlib.sha256(_CACHE_VERSION.encode())
    if root.is_file():
        h.update(_file_digest(root).encode())
    else:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def _load_cached(root: Path, cache_dir: Path | None) -> dict[str, np.ndarray]:
    cache_dir = default_cache_dir() if cache_dir is None else Path(cache_dir)
    try:
        path = cache_dir / f"image_folder-{_cache_key(root)}.npz"
    except READ_ERRORS as err:
        bad = corrupt_dataset(root, err)
        raise bad from (None if bad is err else err)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
            warnings.warn(
                f"decode cache {path} is unreadable ({type(err).__name__}); "
                "decoding the images again.",
                stacklevel=2,
            )
            path.unlink(missing_ok=True)
    arrays = _decode_all(root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return arrays


def load_image_folder(
    root: str | Path, split: str = "train", cache_dir: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """Load ``root/{train,test}/<class>/*`` (a folder or a .tar.gz of one).

    Images are decoded once with PIL and cached as a ``.npz`` of uint8 arrays in
    ``cache_dir`` (default :func:`default_cache_dir`), keyed by the archive's
    content (a folder: its files' paths, sizes and mtimes); later loads read
    the cache. Labels index the sorted class names.

    :output images: [N, H, W, C] uint8, C = 1 (grayscale) or 3.
    :output labels: [N] int64.
    :output info: :class:`DatasetInfo`; CIFAR constants for 32x32x3 images,
        else mean/std computed on the train split.
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}; got {split!r}.")
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetNotFoundError(
            f"Image folder not found: {root}. Pass the folder (or .tar.gz) that "
            "holds train/<class>/*.png|jpg and test/<class>/*.png|jpg."
        )
    arrays = _load_cached(root, None if cache_dir is None else Path(cache_dir))
    train = arrays["train_images"]
    h, w, c = train.shape[1:]
    if (h, w, c) == (32, 32, 3):
        mean, std = CIFAR10_MEAN, CIFAR10_STD
    else:
        mean, std = channel_stats(train)
    classes = tuple(str(x) for x in arrays["classes"])
    info = DatasetInfo("image_folder", len(classes), c, mean, std, (h, w), classes)
    return arrays[f"{split}_images"], arrays[f"{split}_labels"], info
