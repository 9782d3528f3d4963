# SPDX-License-Identifier: Apache-2.0
"""What a sweep runs: Es/N0 points, draws per point, and the adaptive stages' rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from airmodel._validation import ranged

__all__ = ["AutoDraws", "Refine", "SweepSettings"]


@dataclass(frozen=True)
class AutoDraws:
    """``sweep.draws: auto``: add draws until each gain is known well enough.

    Starting from ``min_draws`` per point, ``step`` draws are added to every
    point until each receiver's gain over ``versus`` at each of ``targets``
    (x: ``x``) has a 90 % interval of half-width <= ``half_width_db``, or
    ``max_draws`` is reached (airmodel/evaluation/adaptive.py).
    """

    half_width_db: float = ranged(0.3, 1e-3, 100.0)
    min_draws: int = ranged(5, 2, 1_000_000)
    step: int = ranged(5, 1, 1_000_000)
    max_draws: int = ranged(40, 2, 1_000_000)
    targets: list[float] = field(default_factory=lambda: [0.6, 0.8])
    versus: str = "ml"
    x: Literal["wnr_db", "esno_db"] = "wnr_db"


@dataclass(frozen=True)
class Refine:
    """``sweep.refine``: Es/N0 points added where the mean curves cross the targets.

    For each receiver (``receivers``; empty: all) and target, the grid interval
    where its mean curve over draws first reaches the target is bisected until
    it is at most ``resolution_db`` wide; at most ``max_points`` points are
    added in all (airmodel/evaluation/adaptive.py).
    """

    targets: list[float] = field(default_factory=lambda: [0.6, 0.8])
    receivers: list[str] = field(default_factory=list)
    resolution_db: float = ranged(0.5, 1e-3, 100.0)
    max_points: int = ranged(12, 0, 10_000)


@dataclass(frozen=True)
class SweepSettings:
    """Es/N0 points [dB] and noise draws per point (``auto``: see ``sweep.auto``);
    ``refine`` adds points around the target crossings."""

    snr_db: list[float] = field(default_factory=lambda: [0.0, 5.0, 10.0])
    draws: int | Literal["auto"] = ranged(3, 1, 1_000_000)
    auto: AutoDraws = field(default_factory=AutoDraws)
    refine: Refine | None = None
