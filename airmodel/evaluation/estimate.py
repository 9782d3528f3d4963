"""Wall time of a sweep before it runs, from a short calibration on this machine.

Cost model (the plan's counts: :func:`airmodel.experiment.plan_counts`)::

    wall = setup + clean + trials * (link + evaluations * a + images * b
                                     + 3 * b * adaptation images)

``a`` (seconds per model evaluation: denoise, unflatten, load, fuse) and ``b``
(seconds per forward image) come from timing airmodel's own grid cell
(:meth:`Link.denoise` with MMSE_pb, ``unflatten``, :meth:`Scorer.accuracy_of`)
on random images of the dataset's shape at two sizes (``kappa`` and two
batches), at the precision and thread count the run uses; ``link`` is one timed
:meth:`Link.transmit` of the model's weights (after a warm-up one). ``setup``
is the measured loading of both dataset splits, ``clean`` one pass over the
test images (plus the ``auto`` precision check's passes where bf16 is native).
Recalibration images are counted at ``b`` (they run in training mode, so this
is a lower bound for them), test-time adaptation's images at ``3 b`` (forward
and backward).
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from airmodel.data.info import DatasetInfo
from airmodel.evaluation.precision import CHECK_TIMING_IMAGES
from airmodel.evaluation.scoring import Scorer

__all__ = ["WallTimeEstimate", "calibrate_cell", "format_seconds"]


def format_seconds(s: float) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


@dataclass(frozen=True)
class WallTimeEstimate:
    """The estimate and what it was computed from (``meta.json``'s ``wall_time``)."""

    seconds: float
    trials: int
    per_trial_s: float
    setup_s: float
    clean_s: float
    link_s: float
    eval_s: float
    image_s: float
    precision: str
    threads: int

    def line(self) -> str:
        """The dry run's line."""
        return (
            f"  wall time: ~{format_seconds(self.seconds)} on this machine "
            f"({self.trials} trials x {self.per_trial_s:.2f} s + "
            f"{self.setup_s + self.clean_s:.1f} s data and clean pass; calibrated "
            f"{1 / self.image_s:,.0f} img/s at {self.precision}, {self.threads} "
            f"thread(s), {self.eval_s * 1e3:.1f} ms per model evaluation, link "
            f"{self.link_s:.2f} s per trial)"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _random_inputs(
    model: nn.Module, info: DatasetInfo, n: int, token_len: int | None
) -> np.ndarray:
    """``n`` random images [n, H, W, C] uint8, or token ids [n, L] for a text model."""
    rng = np.random.default_rng(0)
    emb = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
    if emb is not None and token_len:
        return rng.integers(1, emb.num_embeddings, (n, token_len), dtype=np.int64)
    h, w = info.image_size
    return rng.integers(0, 256, (n, h, w, info.in_channels), dtype=np.uint8)


def calibrate_cell(
    model: nn.Module,
    info: DatasetInfo,
    tx: Any,
    scorer_kwargs: dict[str, Any],
    kappa: int,
    token_len: int | None = None,
) -> tuple[float, float]:
    """``(a, b)``: seconds per model evaluation and per forward image of a cell.

    Times airmodel's grid cell (MMSE_pb denoise of ``tx``, ``unflatten``,
    :meth:`Scorer.accuracy_of`) on ``small = min(kappa, 100)`` and
    ``big = 2 x max(batch_size, small)`` random images (median of 9 and of 3), and solves
    ``t = a + b * n`` through the two points. ``model`` is not changed (the
    cells score a copy).
    """
    from airmodel.link import Link
    from airmodel.receiver.denoiser.estimators import MMSEpb
    from airmodel.transmitter import unflatten

    model = copy.deepcopy(model)  # the cell loads noisy weights into it
    batch = int(scorer_kwargs.get("batch_size", 128))
    small = max(1, min(kappa, 100))
    big = max(2 * batch, 2 * small)  # a small batch_size (text) must not undercut kappa
    x = _random_inputs(model, info, big, token_len)
    y = np.zeros(big, dtype=np.int64)
    scorer = Scorer(x, y, info, **scorer_kwargs)
    sets = {small: scorer.subset(range(small)), big: scorer}

    def cell(s: Scorer) -> float:
        t0 = time.perf_counter()
        w_hat, _ = Link.denoise(tx, MMSEpb(0.99, 0.0))
        s.accuracy_of(unflatten(tx.vector, tx.spec, air=w_hat), model)
        return time.perf_counter() - t0

    cell(sets[small])  # warm-up
    # Medians, not minima: on a shared machine the run sees the typical speed.
    t_small = statistics.median(cell(sets[small]) for _ in range(9))
    t_big = statistics.median(cell(sets[big]) for _ in range(3))
    if t_big <= t_small:  # timing noise on a busy machine: no fixed cost then
        return 0.0, t_big / big
    b = (t_big - t_small) / (big - small)
    return max(t_small - b * small, 0.0), b


def estimate(
    counts: dict[str, int],
    a: float,
    b: float,
    link_s: float,
    setup_s: float,
    precision: str,
    auto_check: bool,
) -> WallTimeEstimate:
    """Combine the plan's counts with the calibration (module docstring)."""
    n_test = counts["test_images"]
    clean = a + b * n_test
    if auto_check:  # both precisions, a full and a short pass each
        clean += 2 * (2 * a + b * (n_test + min(n_test, CHECK_TIMING_IMAGES)))
    per_trial = link_s + counts["evaluations"] * a + counts["images"] * b
    per_trial += 3 * b * counts.get("adapt_images", 0)  # forward + backward
    return WallTimeEstimate(
        seconds=setup_s + clean + counts["trials"] * per_trial,
        trials=counts["trials"], per_trial_s=per_trial, setup_s=setup_s,
        clean_s=clean, link_s=link_s, eval_s=a, image_s=b, precision=precision,
        threads=torch.get_num_threads(),
    )  # fmt: skip
