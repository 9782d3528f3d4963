"""scikit-learn's bundled 8x8 handwritten digits as a tiny real-image dataset."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from airmodel.data.info import DatasetInfo, channel_stats

__all__ = ["DIGITS_SPLIT_SEED", "load_digits_dataset"]

DIGITS_SPLIT_SEED = 0
_TEST_FRACTION = 0.2  # 1,437 train / 360 test


@lru_cache(maxsize=1)
def _split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    images = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        images,
        labels,
        test_size=_TEST_FRACTION,
        stratify=labels,
        random_state=DIGITS_SPLIT_SEED,
    )
    return xtr, ytr, xte, yte


def load_digits_dataset(
    split: str = "train",
) -> tuple[np.ndarray, np.ndarray, DatasetInfo]:
    """Load the 8x8 digits (offline), 1,437 train / 360 test, stratified, fixed seed.

    :output images: [N, 8, 8, 1] uint8 (0..16 scaled to 0..255).
    :output labels: [N] int64.
    :output info: :class:`DatasetInfo` with mean/std computed on the train split.
    """
    if split not in ("train", "test"):
        raise ValueError(f"`split` must be one of ('train', 'test'); got {split!r}.")
    xtr, ytr, xte, yte = _split()
    mean, std = channel_stats(xtr)
    info = DatasetInfo(
        "digits", 10, 1, mean, std, (8, 8), tuple(str(i) for i in range(10))
    )
    x, y = (xtr, ytr) if split == "train" else (xte, yte)
    return x.copy(), y.copy(), info
