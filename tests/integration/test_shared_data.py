"""Integration test: the shared CIFAR-10 JPEG copy (skipped when absent)."""

from pathlib import Path

import numpy as np
import pytest

from airmodel.data import CIFAR10_MEAN, load_dataset

SHARED = Path(__file__).resolve().parents[3] / "shared"
CIFAR_JPEG = SHARED / "datasets" / "cifar10-jpeg.tar.gz"


@pytest.mark.slow
@pytest.mark.skipif(not CIFAR_JPEG.is_file(), reason="shared CIFAR-10 JPEG absent")
def test_shared_cifar10_jpeg(tmp_path):
    """The shared JPEG copy decodes to 50k/10k 32x32 RGB images in 10 classes."""
    x, y, info = load_dataset("image_folder", CIFAR_JPEG, cache_dir=tmp_path)
    assert x.shape == (50000, 32, 32, 3) and np.bincount(y).tolist() == [5000] * 10
    assert info.classes[0] == "airplane" and info.mean == CIFAR10_MEAN
