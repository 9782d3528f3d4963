# SPDX-License-Identifier: Apache-2.0
"""Sweeps that ask for a precision: draws until sure, points where the curves cross.

``sweep.draws: auto`` (:class:`~airmodel.evaluation.sweep_settings.AutoDraws`) and
``sweep.refine`` (:class:`~airmodel.evaluation.sweep_settings.Refine`) turn one sweep into
stages. Each stage is an ordinary :class:`~airmodel.evaluation.sweep.SweepPlan`
run by the caller (``run(plan) -> rows``: the folder's rows, finished ones
skipped); the next stage is a pure function of the rows so far:

1. **Refine**: for each receiver and target, the grid interval where its mean
   curve over draws first reaches the target is bisected (its midpoint added)
   until it is at most ``resolution_db`` wide, at most ``max_points`` points
   added in all.
2. **Draws**: while some gain over ``versus`` has a 90 % interval wider than
   ``±half_width_db`` (:func:`~airmodel.evaluation.uncertainty.bootstrap_gains`),
   ``step`` draws are added to every point, up to ``max_draws``.

Trials are keyed by (run seed, Es/N0, draw), so earlier rows stay valid as
points and draws are added, a killed run resumes where it stopped (the stages
are recomputed from the stored rows of each stage's own trials and come out
the same), and a shard adapts
on its own rows: its trials are its share of every stage's plan, and the merged
folder holds the union (rows are never run twice; a point may then hold more
draws than another, which the bootstrap takes as it comes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from airmodel.evaluation.sweep import SweepPlan
from airmodel.evaluation.sweep_settings import AutoDraws, SweepSettings
from airmodel.evaluation.uncertainty import bootstrap_gains, crossings, curves_from_rows

__all__ = [
    "adaptive_sweep",
    "initial_draws",
    "max_draws",
    "max_points",
    "needs_more_draws",
    "refine_points",
]

Rows = Sequence[dict[str, Any]]


def initial_draws(sweep: SweepSettings) -> int:
    """Draws per point of the first stage."""
    return sweep.auto.min_draws if sweep.draws == "auto" else int(sweep.draws)


def max_draws(sweep: SweepSettings) -> int:
    """Most draws per point the sweep can run (for cost estimates)."""
    return sweep.auto.max_draws if sweep.draws == "auto" else int(sweep.draws)


def max_points(sweep: SweepSettings) -> int:
    """Most Es/N0 points the sweep can run (for cost estimates)."""
    extra = sweep.refine.max_points if sweep.refine is not None else 0
    return len(sweep.snr_db) + extra


def _mean_curves(rows: Rows, receivers: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per receiver: (Es/N0 points, mean score over draws there), finite points."""
    rows = [r for r in rows if math.isfinite(float(r["esno_db"]))]
    curves = curves_from_rows(rows, x="esno_db")
    out = {}
    for name, c in curves.items():
        if receivers and name not in receivers:
            continue
        xs, ys = c.mean_curve()
        out[name] = (np.array(xs), np.array(ys))
    return out


def refine_points(
    rows: Rows,
    points: Sequence[float],
    targets: Sequence[float],
    resolution_db: float,
    receivers: Sequence[str] = (),
) -> list[float]:
    """Midpoints of the grid intervals (wider than ``resolution_db``) where a mean
    curve first reaches a target; sorted, none already in ``points``."""
    have = {float(p) for p in points}
    new: set[float] = set()
    for xs, ys in _mean_curves(rows, receivers).values():
        for t in targets:
            _, cens = crossings(xs, ys[None], t)
            if cens[0] != 0:
                continue  # above at the lowest point or never reached: no bracket
            i = int(np.argmax(ys >= t))
            lo, hi = float(xs[i - 1]), float(xs[i])
            if hi - lo > resolution_db:
                mid = round((lo + hi) / 2, 6)
                if mid not in have:
                    new.add(mid)
    return sorted(new)


def needs_more_draws(rows: Rows, auto: AutoDraws) -> list[str]:
    """The gains whose interval is wider than asked: ``"receiver@target: ±w dB"``.

    Gains that are bounds or not reached in the swept range are left out: more
    draws do not narrow them (a wider range or ``sweep.refine`` does).
    """
    rows = [r for r in rows if math.isfinite(float(r["esno_db"]))]
    curves = curves_from_rows(rows, x=auto.x)
    if auto.versus not in curves:
        return []
    gains = bootstrap_gains(curves, auto.versus, auto.targets)
    wide = []
    for name, by_t in gains.items():
        for t, g in by_t.items():
            if name == auto.versus or g.bound or math.isnan(g.value) or math.isnan(g.lo):
                continue
            if g.half_width > auto.half_width_db:
                wide.append(f"{name}@{t:.0%}: ±{g.half_width:.2f} dB")
    return wide


def _in_plan(rows: Rows, points: Sequence[float], draws: int) -> list[dict[str, Any]]:
    """The rows of this stage's trials: a resumed run decides on the same rows."""
    keep = {float(p) for p in points}
    return [r for r in rows if float(r["esno_db"]) in keep and int(r["draw"]) < draws]


def adaptive_sweep(
    sweep: SweepSettings,
    seed: int,
    shard: tuple[int, int] | None,
    run: Callable[[SweepPlan], list[dict[str, Any]]],
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Run ``sweep`` (a :class:`~airmodel.evaluation.sweep_settings.SweepSettings`) in stages; return all rows.

    ``run(plan)`` runs one :class:`SweepPlan` and returns the folder's rows. A
    fixed sweep (integer draws, no refine) is one stage, exactly
    ``run(SweepPlan(snr_db, draws, seed, shard))``.
    """
    points = [float(p) for p in sweep.snr_db]
    draws = initial_draws(sweep)
    added = 0
    while True:
        everything = run(SweepPlan(points, draws, seed, shard))
        rows = _in_plan(everything, points, draws)
        ref = sweep.refine
        if ref is not None and added < ref.max_points:
            new = refine_points(rows, points, ref.targets, ref.resolution_db, ref.receivers)
            new = new[: ref.max_points - added]
            if new:
                added += len(new)
                points = sorted(points + new)
                log(f"sweep.refine: adding Es/N0 {', '.join(f'{p:g}' for p in new)} dB")
                continue
        if sweep.draws != "auto" or draws >= sweep.auto.max_draws:
            if sweep.draws == "auto":
                wide = needs_more_draws(rows, sweep.auto)
                if wide:
                    log(
                        f"sweep.draws auto: stopped at max_draws={draws}; still wider "
                        f"than ±{sweep.auto.half_width_db:g} dB: {'; '.join(wide)}"
                    )
            return everything
        wide = needs_more_draws(rows, sweep.auto)
        if not wide:
            log(
                f"sweep.draws auto: every gain's 90 % interval within "
                f"±{sweep.auto.half_width_db:g} dB at {draws} draws"
            )
            return everything
        draws = min(draws + sweep.auto.step, sweep.auto.max_draws)
        log(f"sweep.draws auto: {draws} draws per point ({'; '.join(wide[:4])})")
