"""Tests for dataset loaders (tiny files built here) and tensor transforms."""

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from airmodel.data import (
    CIFAR10_MEAN,
    DatasetInfo,
    DatasetNotFoundError,
    augment,
    load_dataset,
    to_tensor,
)
from airmodel.data import image_folder as image_folder_mod
from airmodel.data.transforms import default_augmentation


def make_cifar(root: Path, per_batch: int = 4) -> Path:
    """Write a fake ``cifar-10-batches-py`` whose pixels encode (index, channel)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        data = np.zeros((per_batch, 3, 32, 32), np.uint8)
        for i in range(per_batch):
            for c in range(3):
                data[i, c] = 10 * b + 3 * i + c
        entry = {
            b"data": data.reshape(per_batch, -1),
            b"labels": [(b + i) % 10 for i in range(per_batch)],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)
    return folder


def make_image_folder(root: Path, size=(5, 6), mode="RGB") -> Path:
    """root/{train,test}/<class>/*.png with a constant value per image."""
    for split, n in (("train", 3), ("test", 2)):
        for ci, cls in enumerate(["zebra", "ant", "moose"]):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                value = 40 * ci + 5 * i
                arr = np.full((*size, 3) if mode == "RGB" else size, value, np.uint8)
                Image.fromarray(arr, mode=mode).save(d / f"{i:03d}.png")
    return root


def tar_gz(src: Path, dst: Path, arcname: str = "") -> Path:
    with tarfile.open(dst, "w:gz") as tar:
        for p in sorted(src.rglob("*")):
            tar.add(p, arcname=str(Path(arcname) / p.relative_to(src)), recursive=False)
    return dst


class TestCifar10:
    def test_folder_and_tarball(self, tmp_path):
        folder = make_cifar(tmp_path / "raw")
        x, y, info = load_dataset("cifar10", tmp_path / "raw", "train")
        assert x.shape == (20, 32, 32, 3) and x.dtype == np.uint8
        assert y.dtype == np.int64 and y.tolist()[:4] == [0, 1, 2, 3]
        # NHWC: pixel (i=1, c=2) of batch 0 holds 3*1 + 2.
        assert x[1, 7, 9].tolist() == [3, 4, 5]
        assert info.mean == CIFAR10_MEAN and info.num_classes == 10
        xt, yt, _ = load_dataset("cifar10", folder, "test")
        assert xt.shape == (4, 32, 32, 3) and xt[0, 0, 0, 0] == 50
        tgz = tar_gz(folder, tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py")
        for root in (tgz, tmp_path):  # the tarball itself, or its folder
            x2, y2, _ = load_dataset("cifar10", root, "train")
            np.testing.assert_array_equal(x2, x)
            np.testing.assert_array_equal(y2, y)

    def test_not_found_names_path(self, tmp_path):
        missing = tmp_path / "nowhere"
        with pytest.raises(DatasetNotFoundError) as e:
            load_dataset("cifar10", missing)
        msg = str(e.value)
        assert isinstance(e.value, FileNotFoundError)
        assert str(missing / "cifar-10-python.tar.gz") in msg
        assert "download=True" in msg

    def test_bad_split(self, tmp_path):
        make_cifar(tmp_path)
        with pytest.raises(ValueError, match="split"):
            load_dataset("cifar10", tmp_path, "val")


class TestImageFolder:
    def test_folder_labels_sorted(self, tmp_path):
        root = make_image_folder(tmp_path / "imgs")
        x, y, info = load_dataset("image_folder", root, cache_dir=tmp_path / "c")
        assert info.classes == ("ant", "moose", "zebra")
        assert x.shape == (9, 5, 6, 3) and x.dtype == np.uint8
        assert y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        assert x[:, 0, 0, 0].tolist() == [40, 45, 50, 80, 85, 90, 0, 5, 10]
        assert info.in_channels == 3 and info.image_size == (5, 6)
        assert info.mean != CIFAR10_MEAN  # not 32x32x3: computed from train
        np.testing.assert_allclose(info.mean[0], x.mean() / 255, rtol=1e-6)
        xt, yt, _ = load_dataset("image_folder", root, "test", cache_dir=tmp_path / "c")
        assert xt.shape == (6, 5, 6, 3) and yt.tolist() == [0, 0, 1, 1, 2, 2]

    def test_tarball_and_cache_hit(self, tmp_path, monkeypatch):
        root = make_image_folder(tmp_path / "imgs", mode="L")
        tgz = tar_gz(root, tmp_path / "imgs.tar.gz", "imgs")
        cache = tmp_path / "cache"
        x, y, info = load_dataset("image_folder", tgz, cache_dir=cache)
        assert x.shape == (9, 5, 6, 1) and info.in_channels == 1
        assert len(list(cache.glob("*.npz"))) == 1

        def boom(_root):
            raise AssertionError("decoded again instead of reading the cache")

        monkeypatch.setattr(image_folder_mod, "_decode_all", boom)
        x2, y2, _ = load_dataset("image_folder", tgz, cache_dir=cache)
        np.testing.assert_array_equal(x2, x)
        np.testing.assert_array_equal(y2, y)
        # a copy elsewhere with a new mtime (a re-extracted shared archive) still hits
        copy = tmp_path / "elsewhere" / "copy.tar.gz"
        copy.parent.mkdir()
        copy.write_bytes(tgz.read_bytes())
        os.utime(copy, ns=(10**18, 10**18))
        x3, _, _ = load_dataset("image_folder", copy, cache_dir=cache)
        np.testing.assert_array_equal(x3, x)
        assert len(list(cache.glob("*.npz"))) == 1

    def test_changed_archive_is_decoded_again(self, tmp_path):
        root = make_image_folder(tmp_path / "imgs", mode="L")
        tgz = tar_gz(root, tmp_path / "imgs.tar.gz", "imgs")
        cache = tmp_path / "cache"
        x, _, _ = load_dataset("image_folder", tgz, cache_dir=cache)
        first = sorted((root / "train").rglob("*.png"))[0]
        Image.fromarray(np.full((5, 6), 7, np.uint8), "L").save(first)
        tar_gz(root, tgz, "imgs")
        x2, _, _ = load_dataset("image_folder", tgz, cache_dir=cache)
        assert len(list(cache.glob("*.npz"))) == 2
        assert not np.array_equal(x2, x)

    def test_cifar_constants_for_32x32_rgb(self, tmp_path):
        root = make_image_folder(tmp_path / "imgs", size=(32, 32))
        _, _, info = load_dataset("image_folder", root, cache_dir=tmp_path / "c")
        assert info.mean == CIFAR10_MEAN

    def test_missing_root(self, tmp_path):
        with pytest.raises(DatasetNotFoundError, match="nope"):
            load_dataset("image_folder", tmp_path / "nope", cache_dir=tmp_path)

    def test_no_images(self, tmp_path):
        (tmp_path / "empty").mkdir()
        with pytest.raises(DatasetNotFoundError, match="train/<class>"):
            load_dataset("image_folder", tmp_path / "empty", cache_dir=tmp_path)


class TestDigits:
    def test_split(self):
        x, y, info = load_dataset("digits", split="train")
        xt, yt, _ = load_dataset("digits", split="test")
        assert x.shape == (1437, 8, 8, 1) and xt.shape == (360, 8, 8, 1)
        assert x.dtype == np.uint8 and x.max() == 255
        assert np.bincount(yt).min() >= 35  # stratified: ~36 per class
        assert info.in_channels == 1 and info.image_size == (8, 8)
        x2, _, _ = load_dataset("digits", split="train")
        np.testing.assert_array_equal(x, x2)


def test_registry_errors():
    with pytest.raises(ValueError, match="digits"):
        load_dataset("mnist")
    with pytest.raises(ValueError, match="--data-root"):
        load_dataset("cifar10", root=None)


INFO = DatasetInfo("t", 10, 3, (0.5, 0.25, 0.0), (0.5, 0.25, 1.0), (4, 4))


class TestTransforms:
    def test_to_tensor(self):
        x = np.random.default_rng(0).integers(0, 256, (3, 4, 4, 3), dtype=np.uint8)
        t = to_tensor(x, INFO)
        assert t.shape == (3, 3, 4, 4) and t.dtype == torch.float32
        assert t.is_contiguous(memory_format=torch.channels_last)
        ref = (
            torch.from_numpy(x).permute(0, 3, 1, 2) / 255.0
            - torch.tensor(INFO.mean).view(1, 3, 1, 1)
        ) / torch.tensor(INFO.std).view(1, 3, 1, 1)
        torch.testing.assert_close(t, ref)
        assert to_tensor(x, INFO, channels_last=False).is_contiguous()

    def test_augment_deterministic(self):
        x = torch.randint(0, 256, (16, 8, 8, 3), dtype=torch.uint8)
        a = augment(x, torch.Generator().manual_seed(1), pad=2)
        b = augment(x, torch.Generator().manual_seed(1), pad=2)
        c = augment(x, torch.Generator().manual_seed(2), pad=2)
        assert a.shape == x.shape and a.dtype == torch.uint8
        assert torch.equal(a, b) and not torch.equal(a, c)

    def test_augment_crop_and_flip(self):
        x = (
            torch.arange(4 * 6 * 6, dtype=torch.uint8)
            .view(4, 6, 6, 1)
            .repeat(8, 1, 1, 1)
        )
        g = torch.Generator().manual_seed(0)
        assert torch.equal(augment(x, g, pad=0, flip=False), x)
        f = augment(x, g, pad=0, flip=True)
        same = (f == x).flatten(1).all(1)
        flipped = (f == x.flip(2)).flatten(1).all(1)
        assert bool((same | flipped).all()) and same.any() and flipped.any()
        c = augment(x, g, pad=1, flip=False)
        # Every crop is the padded image shifted by at most one pixel.
        pad = torch.nn.functional.pad(x.permute(0, 3, 1, 2), (1, 1, 1, 1))
        for i in range(len(x)):
            hits = [
                torch.equal(c[i, ..., 0], pad[i, 0, dy : dy + 6, dx : dx + 6])
                for dy in range(3)
                for dx in range(3)
            ]
            assert any(hits)

    def test_defaults(self):
        cifar = DatasetInfo("cifar10", 10, 3, (0.0,), (1.0,), (32, 32))
        digits = DatasetInfo("digits", 10, 1, (0.0,), (1.0,), (8, 8))
        assert default_augmentation(cifar) == (4, True)
        assert default_augmentation(digits) == (1, False)
