# SPDX-License-Identifier: Apache-2.0
"""Crossings and gains with their uncertainty: the one rule every table uses.

**Headline crossing.** The x (WNR or Es/N0 [dB]) at which the *mean curve over
draws* first reaches the target, linear in dB between grid points
(:func:`crossing`). The mean curve is what a user of the receiver gets on
average, and it always exists where the target is reached on average; a single
draw's curve is noisy, need not be monotone and may not cross at all.

**Spread.** The standard deviation of the per-draw crossings (each draw's own
curve, censored curves clamped to the grid's ends): how far one draw's answer
lies from the headline. Shown only with 2 draws or more.

**Gain interval.** Each gain over a reference (reference's crossing minus this
one's, positive = needs less SNR) gets a paired percentile bootstrap interval
at :data:`LEVEL` (90 %): each resample draws, per grid point, draw indices with
replacement, the *same* indices for every receiver (draw ``d`` of every
receiver at one point shares the noise), recomputes both mean curves and their
crossings. A gain whose interval contains 0 is *not resolved*.

**Censoring.** A mean curve already at the target at its lowest point crosses
"below the lowest point" (``-inf`` from :func:`crossing`); one never reaching
it, "not reached" (``nan``). Inside the bootstrap, both are clamped to the grid's
end (the lowest point, or the highest), so the resampled gain is a bound; an
interval end set by clamped resamples is printed as a bound (``≥``/``≤``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from airmodel.seed import numpy_rng

__all__ = [
    "LEVEL",
    "RESAMPLES",
    "Curve",
    "Gain",
    "bootstrap_gains",
    "crossing",
    "crossings",
    "curves_from_rows",
    "expanded_levels",
    "format_crossing",
    "format_gain",
    "per_draw_spread",
]

#: Two-sided level of every gain interval on every page.
LEVEL = 0.90
#: Bootstrap resamples per interval (Monte Carlo error of a 5 % quantile of a
#: 2,000-sample bootstrap: about 0.5 percentage points of coverage).
RESAMPLES = 2000


def crossing(xs: Sequence[float], ys: Sequence[float], target: float) -> float:
    """Smallest x where the piecewise-linear curve ``ys(xs)`` first reaches ``target``.

    ``nan`` if it never does; ``-inf`` if the first point is already above it.
    """
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if y >= target:
            if i == 0:
                return -math.inf
            x0, y0 = xs[i - 1], ys[i - 1]
            return x0 + (target - y0) * (x - x0) / (y - y0)
    return math.nan


def crossings(xs: np.ndarray, ys: np.ndarray, target: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`crossing` of many curves at once, censored values clamped.

    :input xs: [P] increasing grid.
    :input ys: [..., P] curves on it.
    :output x: [...] crossing, clamped to ``xs[0]`` (already above) or
        ``xs[-1]`` (never reached).
    :output censored: [...] int8: -1 below the lowest point, +1 not reached, 0 exact.
    """
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    above = ys >= target
    hit = above.any(-1)
    i = np.where(hit, above.argmax(-1), 0)
    first = hit & (i == 0)
    j = np.clip(i, 1, max(len(xs) - 1, 1)) if len(xs) > 1 else np.zeros_like(i)
    x0, x1 = xs[j - 1], xs[j]  # one point: every curve is censored there
    y0 = np.take_along_axis(ys, (j - 1)[..., None], -1)[..., 0]
    y1 = np.take_along_axis(ys, j[..., None], -1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        x = x0 + (target - y0) * (x1 - x0) / (y1 - y0)
    x = np.where(first, xs[0], np.where(hit, x, xs[-1]))
    cens = np.where(first, -1, np.where(hit, 0, 1)).astype(np.int8)
    return x, cens


@dataclass
class Curve:
    """One receiver's scores per grid point and draw.

    :param x: {point: x [dB]} (mean over draws of the x column).
    :param y: {point: {draw: score}}.
    """

    x: dict[float, float]
    y: dict[float, dict[int, float]]

    @property
    def points(self) -> list[float]:
        return sorted(self.y)

    def mean_curve(self) -> tuple[list[float], list[float]]:
        """(xs, mean scores) over the points, in increasing point order."""
        pts = self.points
        return [self.x[p] for p in pts], [float(np.mean(list(self.y[p].values()))) for p in pts]

    @property
    def draws(self) -> int:
        """Fewest draws of a point."""
        return min(len(v) for v in self.y.values())


def curves_from_rows(
    rows: Sequence[Mapping[str, Any]],
    x: str = "wnr_db",
    y: str = "accuracy",
    point: str = "esno_db",
    draw: str = "draw",
    name: str = "denoiser",
) -> dict[str, Curve]:
    """Group result rows into one :class:`Curve` per receiver (first-seen order).

    Rows without a ``draw`` field are numbered in order per (receiver, point);
    rows whose ``x`` is not finite (no noise) are left out.
    """
    ys: dict[str, dict[float, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    xv: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        n, p = r[name], float(r[point])
        if not math.isfinite(float(r[x])):
            continue  # no noise (Es/N0 = inf): not on a dB axis
        by = ys[n][p]
        d = int(r[draw]) if r.get(draw) is not None else len(by)
        by[d] = float(r[y])
        xv[n][p].append(float(r[x]))
    return {
        n: Curve({p: float(np.mean(v)) for p, v in xv[n].items()}, {p: dict(b) for p, b in by.items()})
        for n, by in ys.items()
    }


def per_draw_spread(c: Curve, target: float) -> float:
    """Std of the per-draw crossings (clamped), ``nan`` with fewer than 2 draws."""
    pts = c.points
    common = sorted(set.intersection(*(set(c.y[p]) for p in pts))) if pts else []
    if len(common) < 2:
        return math.nan
    xs = np.array([c.x[p] for p in pts])
    ys = np.array([[c.y[p][d] for p in pts] for d in common])
    order = np.argsort(xs, kind="stable")
    xc, _ = crossings(xs[order], ys[:, order], target)
    return float(np.std(xc, ddof=1))


@dataclass
class Gain:
    """A gain [dB] over the reference with its paired bootstrap interval.

    ``bound``: ``""`` exact, ``"≥"``/``"≤"`` where the point estimate itself is
    a bound (a crossing outside the grid). ``lo_bound``/``hi_bound``: that end of
    the interval is set by clamped resamples (a bound too).
    """

    value: float
    lo: float
    hi: float
    level: float = LEVEL
    bound: str = ""
    lo_bound: bool = False
    hi_bound: bool = False

    @property
    def resolved(self) -> bool:
        """Whether the interval excludes 0 (``False`` when it is unknown)."""
        return bool(self.lo > 0 or self.hi < 0)

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2


def _point_estimate(
    ref: tuple[float, int], this: tuple[float, int]
) -> tuple[float, str]:
    (r, rc), (t, tc) = ref, this
    if rc == 1 or tc == 1:  # either never reaches it
        if rc == 1 and tc != 1:
            return r - t, "≥"  # reference's crossing is above its last point
        if tc == 1 and rc != 1:
            return r - t, "≤"
        return math.nan, ""
    if rc == -1 and tc == -1:
        return math.nan, ""
    if tc == -1:
        return r - t, "≥"
    if rc == -1:
        return r - t, "≤"
    return r - t, ""


def expanded_levels(level: float, n: int) -> tuple[float, float]:
    """Quantile levels of the expanded percentile interval for ``n`` draws.

    The plain percentile bootstrap of a mean of ``n`` draws is too narrow by
    about ``sqrt((n - 1)/n)`` and ignores the Student-t tail; the expanded
    interval (Hesterberg 2015, "What teachers should know about the bootstrap")
    reads it at ``Phi(± sqrt(n/(n-1)) t_{n-1}((1 + level)/2))``. With 10 draws
    a nominal 90 % interval reads the 2.7 % and 97.3 % quantiles. Coverage:
    tests/unit/test_uncertainty.py.
    """
    if n < 2:
        return ((1 - level) / 2, (1 + level) / 2)
    z = math.sqrt(n / (n - 1)) * _t_quantile((1 + level) / 2, n - 1)
    lo = 0.5 * math.erfc(z / math.sqrt(2))  # Phi(-z)
    return lo, 1 - lo


def _t_quantile(p: float, nu: int) -> float:
    """Student-t quantile for p in (0.5, 1): bisection on the CDF, the density
    integrated by Simpson's rule (1e-6 of scipy.stats.t.ppf; no scipy import,
    which costs seconds)."""
    c = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)

    def cdf(x: float) -> float:
        u = np.linspace(0.0, x, 2001)
        f = c * (1 + u * u / nu) ** (-(nu + 1) / 2)
        return 0.5 + (u[1] - u[0]) / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def _resampled(
    c: Curve, draws_at: dict[float, list[int]], pick: np.ndarray, col: dict[float, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs [P], resampled mean curves [B, P], mean curve [P]) over ``draws_at``'s points."""
    pts = sorted(draws_at)
    xs = np.array([c.x[p] for p in pts])
    ys = np.empty((pick.shape[0], len(pts)))
    mean = np.empty(len(pts))
    for j, p in enumerate(pts):
        d = draws_at[p]
        vals = np.array([c.y[p][i] for i in d])
        k = (pick[:, col[p], : len(d)] * len(d)).astype(np.int64)  # [B, n]
        ys[:, j] = vals[k].mean(-1)
        mean[j] = vals.mean()
    return xs, ys, mean


def bootstrap_gains(
    curves: Mapping[str, Curve],
    reference: str,
    targets: Sequence[float],
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, dict[float, Gain]]:
    """Paired bootstrap over draws of each receiver's gain over ``reference``.

    One resample draws, per grid point, draw positions with replacement, the
    same for every curve: at a point both curves hold, both take the draws they
    share in the same order (draw ``d`` is the same noise for both: paired); at
    a point only one holds, it resamples its own. Each curve keeps its own grid
    (transmitters swept over different ranges), its mean curves are recomputed
    and their crossings (clamped, see the module) subtracted. The interval is the
    expanded percentile interval (:func:`expanded_levels`, with the fewest draws
    of a point as ``n``). With one draw the interval is ``nan`` (nothing to
    resample); a receiver with fewer than 2 points gets ``nan``.

    :output gains: ``{receiver: {target: Gain}}``; the reference itself gets 0
        where it crosses inside its grid.
    """
    if reference not in curves:
        return {}
    rng = numpy_rng(seed, "bootstrap")
    ref = curves[reference]
    pts = sorted({p for c in curves.values() for p in c.y})
    col = {p: j for j, p in enumerate(pts)}
    most = max((len(c.y[p]) for c in curves.values() for p in c.y), default=1)
    pick = rng.random(size=(resamples, len(pts), most))
    out: dict[str, dict[float, Gain]] = {}
    for name, c in curves.items():
        if name == reference:  # 0 where the reference crosses inside the grid
            xs, ys = ref.mean_curve()
            out[name] = {
                t: Gain(*(0.0,) * 3 if math.isfinite(crossing(xs, ys, t)) else (math.nan,) * 3,
                        level)
                for t in targets
            }  # fmt: skip
            continue
        shared = {p: sorted(set(c.y[p]) & set(ref.y[p])) for p in c.y if p in ref.y}
        shared = {p: d for p, d in shared.items() if d}
        at_c = {p: shared.get(p) or sorted(c.y[p]) for p in c.y}
        at_r = {p: shared.get(p) or sorted(ref.y[p]) for p in ref.y}
        if len(at_c) < 2 or len(at_r) < 2:
            out[name] = {t: Gain(math.nan, math.nan, math.nan, level) for t in targets}
            continue
        xs_c, ys_c, mc = _resampled(c, at_c, pick, col)
        xs_r, ys_r, mr = _resampled(ref, at_r, pick, col)
        n_min = min(len(d) for d in [*at_c.values(), *at_r.values()])
        q = expanded_levels(level, n_min)
        out[name] = {}
        for t in targets:
            xr, cr = crossings(xs_r, ys_r, t)
            xc, cc = crossings(xs_c, ys_c, t)
            g = xr - xc
            (pr,), (pcr,) = crossings(xs_r, mr[None], t)
            (pc,), (pcc,) = crossings(xs_c, mc[None], t)
            value, bound = _point_estimate((pr, pcr), (pc, pcc))
            lo, hi = np.quantile(g, q) if n_min > 1 else (math.nan, math.nan)
            # a resampled gain is a lower bound where the receiver's crossing is
            # clamped low or the reference's clamped high, an upper bound conversely
            low_b = (cc == -1) | (cr == 1)
            high_b = (cr == -1) | (cc == 1)
            out[name][t] = Gain(
                float(value), float(lo), float(hi), level, bound,
                lo_bound=bool(np.mean(high_b & (g <= lo)) > 0),
                hi_bound=bool(np.mean(low_b & (g >= hi)) > 0),
            )
    return out


def format_crossing(x: float, lowest: float | None = None, spread: float = math.nan) -> str:
    """``"4.52 ± 0.31"`` (spread over draws), ``"< -6"`` (below the lowest point),
    ``"n/a"`` (not reached)."""
    if math.isnan(x):
        return "n/a"
    if x == -math.inf:
        return f"< {lowest:.2f}" if lowest is not None else "< lowest point"
    s = f"{x:.2f}"
    return s + (f" ± {spread:.2f}" if not math.isnan(spread) else "")


def format_gain(g: Gain | None) -> str:
    """``"+1.23 [+0.95, +1.51]"``; ``"≥ +2.10"`` for a bound (no interval); ``"+1.23"``
    with one draw; ``" (not resolved)"`` appended where the interval contains 0;
    ``"n/a"`` where no gain exists."""
    if g is None or math.isnan(g.value):
        return "n/a"
    if g.value == 0 and g.lo == 0 and g.hi == 0:
        return "0 (reference)"
    head = f"{g.bound} {g.value:+.2f}" if g.bound else f"{g.value:+.2f}"
    if math.isnan(g.lo) or g.bound:  # one draw: no interval; a bound: the bound
        return head
    lo = ("≤ " if g.lo_bound else "") + f"{g.lo:+.2f}"
    hi = ("≥ " if g.hi_bound else "") + f"{g.hi:+.2f}"
    return f"{head} [{lo}, {hi}]" + ("" if g.resolved else " (not resolved)")
