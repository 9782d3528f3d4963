"""Crossings and paired bootstrap gains: the intervals cover a known gain at their level."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airmodel.evaluation.uncertainty import (
    LEVEL,
    Curve,
    Gain,
    bootstrap_gains,
    crossing,
    crossings,
    curves_from_rows,
    format_crossing,
    format_gain,
    per_draw_spread,
)

GRID = np.arange(0.0, 10.01, 0.5)


def _mean(x):
    return 0.1 + 0.85 / (1 + np.exp(-(x - 5) / 1.2))


def _rows(rng, draws, delta=1.0, sd_common=0.04, sd_own=0.02):
    """Two receivers on one grid; ``rx``'s mean curve is ML's shifted by ``delta`` dB.

    Per (point, draw) a noise term common to both receivers (the shared channel
    draw) plus one of each's own. Both mean curves are the same logistic shifted
    by a multiple of the grid step, so their piecewise-linear crossings differ by
    exactly ``delta``: the true gain.
    """
    rows = []
    for p in GRID:
        for d in range(draws):
            c = rng.normal(0, sd_common)
            for name, shift in (("ml", 0.0), ("rx", delta)):
                acc = _mean(p + shift) + c + rng.normal(0, sd_own)
                rows.append({"denoiser": name, "esno_db": p, "draw": d, "wnr_db": p, "accuracy": acc})
    return rows


def _coverage(replicas, draws, resamples):
    rng = np.random.default_rng(1)
    hits = {0.6: 0, 0.8: 0}
    for r in range(replicas):
        g = bootstrap_gains(
            curves_from_rows(_rows(rng, draws)), "ml", list(hits), resamples=resamples, seed=r
        )["rx"]
        for t in hits:
            hits[t] += g[t].lo <= 1.0 <= g[t].hi
    return {t: h / replicas for t, h in hits.items()}


@pytest.mark.slow
def test_gain_intervals_cover_a_known_gain_at_their_level():
    """400 synthetic replicas, 10 draws, 1,000 resamples: coverage of the 90 % interval
    of a 1 dB gain at 60 % and 80 % within 4 points of nominal (binomial se 1.5
    points; measured 89.3 % and 92.3 % with 500 resamples)."""
    cov = _coverage(400, 10, 1000)
    for t, c in cov.items():
        assert abs(c - LEVEL) < 0.04, (t, c)


def test_gain_intervals_cover_a_known_gain_fast():
    """The fast variant: 60 replicas, 8 draws, 300 resamples; coverage within
    [0.78, 0.98] (binomial se 3.9 points at 90 %; an interval left unexpanded
    and a tenth as wide would fall far below)."""
    cov = _coverage(60, 8, 300)
    for t, c in cov.items():
        assert 0.78 <= c <= 0.98, (t, c)


def test_crossing_rules():
    assert crossing([0, 1, 2], [0.1, 0.5, 0.9], 0.7) == pytest.approx(1.5)
    assert crossing([0, 1], [0.8, 0.9], 0.7) == -math.inf
    assert math.isnan(crossing([0, 1], [0.1, 0.2], 0.7))
    x, c = crossings(np.array([0.0, 1, 2]), np.array([[0.1, 0.5, 0.9], [0.8, 0.9, 1], [0, 0, 0]]), 0.7)
    assert x.tolist() == pytest.approx([1.5, 0.0, 2.0]) and c.tolist() == [0, -1, 1]


def test_gain_is_paired_over_draws():
    """A receiver that scores exactly as ML on every draw has gain 0 with a
    zero-width interval, however noisy the draws (resampled independently per
    receiver, its interval would be as wide as with independent noise). And a
    receiver whose noise is its own gets a positive width."""
    rng = np.random.default_rng(0)
    rows = [r for r in _rows(rng, 6, delta=0.0, sd_own=0.0)]
    g = bootstrap_gains(curves_from_rows(rows), "ml", [0.6])["rx"][0.6]
    assert g.value == 0 and g.lo == 0 and g.hi == 0 and not g.resolved
    rows = _rows(rng, 6, delta=0.0, sd_common=0.0, sd_own=0.05)
    g = bootstrap_gains(curves_from_rows(rows), "ml", [0.6])["rx"][0.6]
    assert g.hi - g.lo > 0.1


def test_unresolved_and_bounds_are_printed_as_such():
    rng = np.random.default_rng(0)
    rows = _rows(rng, 6, delta=0.0)
    g = bootstrap_gains(curves_from_rows(rows), "ml", [0.6])["rx"][0.6]
    assert not g.resolved and format_gain(g).endswith("(not resolved)")
    # rx already above 60 % at the lowest point: a lower bound, no inf anywhere
    rows = _rows(rng, 6, delta=7.0)
    g = bootstrap_gains(curves_from_rows(rows), "ml", [0.6])["rx"][0.6]
    assert g.bound == "≥" and "inf" not in format_gain(g) and format_gain(g).startswith("≥ +")
    assert format_crossing(-math.inf, 0.0) == "< 0.00"
    assert format_crossing(1.234, spread=0.5) == "1.23 ± 0.50"
    assert format_crossing(1.234) == "1.23"  # one draw: no spread
    assert format_gain(Gain(math.nan, math.nan, math.nan)) == "n/a"


def test_per_draw_spread_needs_two_draws():
    c = Curve({0.0: 0.0, 1.0: 1.0}, {0.0: {0: 0.1}, 1.0: {0: 0.9}})
    assert math.isnan(per_draw_spread(c, 0.5))
    c = Curve({0.0: 0.0, 1.0: 1.0}, {0.0: {0: 0.1, 1: 0.3}, 1.0: {0: 0.9, 1: 0.7}})
    # draw crossings 0.5 and 0.5: spread 0
    assert per_draw_spread(c, 0.5) == pytest.approx(0.0)


def test_expanded_levels():
    """t_{0.95} quantiles from tables (9 dof: 1.8331, 4 dof: 2.1318, to 1e-4); with
    10 draws the 90 % interval reads the 2.67 % / 97.33 % quantiles; one draw: plain."""
    from airmodel.evaluation.uncertainty import _t_quantile, expanded_levels

    assert _t_quantile(0.95, 9) == pytest.approx(1.8331, abs=1e-4)
    assert _t_quantile(0.95, 4) == pytest.approx(2.1318, abs=1e-4)
    lo, hi = expanded_levels(0.9, 10)
    assert lo == pytest.approx(0.02666, abs=1e-4) and hi == pytest.approx(1 - lo)
    assert expanded_levels(0.9, 1) == pytest.approx((0.05, 0.95))


def test_each_curve_keeps_its_own_grid():
    """Transmitters swept over different ranges: ``rx`` only on 0..5 dB, ML on 3..10 dB.
    Each crossing is read on the curve's own grid (rx at 2.0, ML at 6.0 dB: gain 4.0),
    not on the shared points only (which would push rx's below its lowest point)."""
    rows = []
    for d in range(4):
        for p in range(0, 6):
            rows.append({"denoiser": "rx", "esno_db": p, "draw": d, "wnr_db": p,
                         "accuracy": 0.385 + 0.1 * p + 0.01 * d})  # fmt: skip
        for p in range(3, 11):
            rows.append({"denoiser": "ml", "esno_db": p, "draw": d, "wnr_db": p,
                         "accuracy": 0.1 * p + 0.01 * d - 0.015})  # fmt: skip
    g = bootstrap_gains(curves_from_rows(rows), "ml", [0.6])["rx"][0.6]
    assert g.value == pytest.approx(4.0, abs=1e-9) and not g.bound
    assert g.lo < 4.0 < g.hi and g.half_width < 0.2
