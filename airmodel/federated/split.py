# SPDX-License-Identifier: Apache-2.0
"""Split a training set over devices: the paper's non-IID split, Dirichlet, IID."""

from __future__ import annotations

import numpy as np

from airmodel.seed import numpy_rng

__all__ = ["paper_split", "dirichlet_split", "iid_split", "SPLITS"]

#: Names accepted by ``federated.split``.
SPLITS = ("paper", "dirichlet", "iid")


def _labels(labels: np.ndarray) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`labels` must be a 1-D integer array; got {y.dtype} {y.shape}."
        )
    return y


def _check_devices(num_devices: int) -> None:
    if isinstance(num_devices, bool) or not isinstance(num_devices, int):
        raise TypeError(f"`num_devices` must be an int; got {num_devices!r}.")
    if num_devices < 1:
        raise ValueError(f"`num_devices` must be >= 1; got {num_devices}.")


def paper_split(
    labels: np.ndarray,
    num_devices: int,
    iid_per_device: int,
    shard_size: int,
    seed: int = 0,
) -> list[np.ndarray]:
    """The paper's non-IID split: an IID part plus one single-label shard per device.

    Device ``k``'s shard holds ``shard_size`` images of class
    ``order[k % num_classes]`` (``order`` a seeded permutation of the classes
    present), taken first; the IID part is then ``iid_per_device`` images drawn
    uniformly from what is left. All parts are disjoint. With CIFAR-10's 50,000
    training images, 20 devices, 2,000 IID and 500-image shards use every image.

    :param labels: [N] integer class labels of the training set.
    :param seed: The split is a pure function of ``(labels, sizes, seed)``.
    :output indices: ``num_devices`` sorted int64 arrays of training indices.
    """
    y = _labels(labels)
    _check_devices(num_devices)
    if iid_per_device < 0 or shard_size < 0:
        raise ValueError("`iid_per_device` and `shard_size` must be >= 0.")
    rng = numpy_rng(seed, "split")
    classes = rng.permutation(np.unique(y))
    pools = {c: list(rng.permutation(np.flatnonzero(y == c))) for c in classes}
    shards = []
    for k in range(num_devices):
        c = classes[k % len(classes)]
        if len(pools[c]) < shard_size:
            raise ValueError(
                f"Class {int(c)} has too few images left for another shard of "
                f"`shard_size`={shard_size} (device {k} of {num_devices}); lower "
                "shard_size or num_devices."
            )
        shards.append(np.asarray(pools[c][:shard_size], dtype=np.int64))
        pools[c] = pools[c][shard_size:]
    rest = rng.permutation(
        np.concatenate([np.asarray(p, np.int64) for p in pools.values()])
    )
    need = num_devices * iid_per_device
    if need > len(rest):
        raise ValueError(
            f"`iid_per_device`={iid_per_device} x {num_devices} devices needs {need} "
            f"images but only {len(rest)} remain after the shards; lower "
            "iid_per_device, shard_size or num_devices."
        )
    return [
        np.sort(
            np.concatenate(
                [rest[k * iid_per_device : (k + 1) * iid_per_device], shards[k]]
            )
        )
        for k in range(num_devices)
    ]


def dirichlet_split(
    labels: np.ndarray,
    num_devices: int,
    alpha: float,
    seed: int = 0,
    min_size: int = 1,
    max_tries: int = 100,
) -> list[np.ndarray]:
    """Label-skewed split: each class is divided over devices by Dir(alpha) proportions.

    Every image goes to exactly one device. Small ``alpha`` gives strong skew
    (few classes per device), large ``alpha`` approaches IID. Draws are repeated
    (from the same seeded generator) until every device holds ``min_size`` images.

    :param labels: [N] integer class labels.
    :param alpha: Dirichlet concentration, > 0.
    :output indices: ``num_devices`` sorted int64 arrays.
    """
    y = _labels(labels)
    _check_devices(num_devices)
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0; got {alpha!r}.")
    rng = numpy_rng(seed, "split")
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_devices)]
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            p = rng.dirichlet(np.full(num_devices, float(alpha)))
            cuts = (np.cumsum(p)[:-1] * len(idx)).astype(np.int64)
            for k, chunk in enumerate(np.split(idx, cuts)):
                parts[k].append(chunk)
        out = [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
        if min(len(o) for o in out) >= min_size:
            return out
    raise ValueError(
        f"No Dirichlet(alpha={alpha}) split in {max_tries} tries gave every one of "
        f"{num_devices} devices {min_size} images; raise `alpha` or lower num_devices."
    )


def iid_split(labels: np.ndarray, num_devices: int, seed: int = 0) -> list[np.ndarray]:
    """Shuffle and cut into ``num_devices`` near-equal parts (sizes differ by <= 1)."""
    y = _labels(labels)
    _check_devices(num_devices)
    if num_devices > len(y):
        raise ValueError(f"`num_devices`={num_devices} exceeds the {len(y)} images.")
    perm = numpy_rng(seed, "split").permutation(len(y))
    return [np.sort(p).astype(np.int64) for p in np.array_split(perm, num_devices)]
