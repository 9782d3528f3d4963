"""sweep.draws: auto and sweep.refine: stages decided from the rows, resumable, shardable."""

from __future__ import annotations

import numpy as np
import pytest

from airmodel.config import AutoDrawsConfig, RefineConfig, SweepConfig
from airmodel.evaluation.adaptive import adaptive_sweep, refine_points
from airmodel.evaluation.shard import in_shard
from airmodel.evaluation.uncertainty import bootstrap_gains, crossing, curves_from_rows
from airmodel.seed import numpy_rng, point_key


def _mean(x, shift):
    return 0.1 + 0.85 / (1 + np.exp(-(x + shift - 5) / 0.8))


class FakeFolder:
    """Rows keyed like a results folder; a trial's scores depend on its key only."""

    def __init__(self, sd=0.05, fail_after=None):
        self.rows, self.sd, self.fail_after, self.trials = {}, sd, fail_after, 0

    def run(self, plan):
        for t in plan.trials():
            if (t.snr_db, t.draw) in {(k[0], k[1]) for k in self.rows}:
                continue
            if self.fail_after is not None and self.trials >= self.fail_after:
                raise KeyboardInterrupt  # killed
            self.trials += 1
            rng = numpy_rng(point_key(t.snr_db) % 2**62 + t.draw, "test")
            common = rng.normal(0, self.sd)
            for name, shift in (("ml", 0.0), ("rx", 1.0)):
                self.rows[(t.snr_db, t.draw, name)] = {
                    "denoiser": name, "esno_db": t.snr_db, "draw": t.draw,
                    "wnr_db": t.snr_db, "accuracy": _mean(t.snr_db, shift) + common
                    + rng.normal(0, self.sd),
                }  # fmt: skip
        return list(self.rows.values())


AUTO = AutoDrawsConfig(half_width_db=0.3, min_draws=4, step=4, max_draws=40, targets=[0.6])


def test_auto_adds_draws_until_the_gain_is_narrow_enough():
    """Start at 4 draws, +4 per stage: stops once the 90 % interval of rx's gain over
    ml at 60 % is within ±0.3 dB, with more draws than the first stage and fewer
    than the maximum; every point holds the same draws."""
    sweep = SweepConfig(snr_db=list(range(0, 11)), draws="auto", auto=AUTO)
    f = FakeFolder()
    rows = adaptive_sweep(sweep, 0, None, f.run, log=lambda s: None)
    n = {r["draw"] for r in rows}
    assert 4 < len(n) < 40
    g = bootstrap_gains(curves_from_rows(rows), "ml", [0.6])["rx"][0.6]
    assert g.half_width <= 0.3


def test_auto_stops_at_max_draws_and_says_so():
    sweep = SweepConfig(snr_db=[0, 2, 4, 6, 8, 10], draws="auto",
                        auto=AutoDrawsConfig(half_width_db=0.01, min_draws=2, step=2,
                                             max_draws=6, targets=[0.6]))  # fmt: skip
    said = []
    rows = adaptive_sweep(sweep, 0, None, FakeFolder().run, log=said.append)
    assert {r["draw"] for r in rows} == set(range(6))
    assert "stopped at max_draws=6" in said[-1]


def test_refine_bisects_where_the_mean_curves_cross():
    """A 3 dB grid: refine adds midpoints until each 60 % crossing's bracket is at most
    0.5 dB wide (0.375 after 3 bisections); the crossings then match those of the mean
    curves on a 0.125 dB grid within 0.1 dB."""
    sweep = SweepConfig(snr_db=[0, 3, 6, 9], draws=3,
                        refine=RefineConfig(targets=[0.6], resolution_db=0.5))  # fmt: skip
    f = FakeFolder(sd=0.0)
    rows = adaptive_sweep(sweep, 0, None, f.run, log=lambda s: None)
    pts = sorted({r["esno_db"] for r in rows})
    assert len(pts) > 4
    assert refine_points(rows, pts, [0.6], 0.5) == []
    fine = np.arange(0, 9.001, 0.125)
    for name, shift in (("ml", 0.0), ("rx", 1.0)):
        c = curves_from_rows(rows)[name]
        xs, ys = c.mean_curve()
        assert crossing(xs, ys, 0.6) == pytest.approx(
            crossing(fine, _mean(fine, shift), 0.6), abs=0.1
        )


def test_a_killed_adaptive_sweep_resumes_to_the_same_rows():
    sweep = SweepConfig(snr_db=[0, 3, 6, 9], draws="auto", auto=AUTO,
                        refine=RefineConfig(targets=[0.6], resolution_db=1.0))  # fmt: skip
    whole = FakeFolder()
    full = adaptive_sweep(sweep, 0, None, whole.run, log=lambda s: None)
    part = FakeFolder(fail_after=37)
    with pytest.raises(KeyboardInterrupt):
        adaptive_sweep(sweep, 0, None, part.run, log=lambda s: None)
    part.fail_after = None
    resumed = adaptive_sweep(sweep, 0, None, part.run, log=lambda s: None)
    key = lambda r: (r["esno_db"], r["draw"], r["denoiser"])  # noqa: E731
    assert sorted(map(key, resumed)) == sorted(map(key, full))


def test_shards_adapt_on_their_own_trials_and_never_overlap():
    """Two shards of an auto + refine sweep: each runs only its own trials of every
    stage, so their rows never share a (point, draw)."""
    sweep = SweepConfig(snr_db=[0, 3, 6, 9], draws="auto", auto=AUTO,
                        refine=RefineConfig(targets=[0.6], resolution_db=1.0))  # fmt: skip
    keys = []
    for i in (1, 2):
        rows = adaptive_sweep(sweep, 0, (i, 2), FakeFolder().run, log=lambda s: None)
        assert all(in_shard((i, 2), r["esno_db"], r["draw"]) for r in rows)
        keys.append({(r["esno_db"], r["draw"]) for r in rows})
    assert keys[0] and keys[1] and not keys[0] & keys[1]


def test_fixed_sweep_is_one_plan():
    sweep = SweepConfig(snr_db=[0, 5], draws=3)
    plans = []
    adaptive_sweep(sweep, 7, None, lambda p: plans.append(p) or [], log=lambda s: None)
    assert [(list(p.snr_db), p.draws, p.seed) for p in plans] == [([0.0, 5.0], 3, 7)]


def test_config_accepts_auto_and_names_a_bad_value():
    from airmodel.config import ConfigError, ExperimentConfig, from_dict

    cfg = from_dict(ExperimentConfig, {"sweep": {"draws": "auto", "auto": {"max_draws": 20},
                                                 "refine": {"resolution_db": 0.25}}})  # fmt: skip
    assert cfg.sweep.draws == "auto" and cfg.sweep.auto.max_draws == 20
    assert cfg.sweep.refine.resolution_db == 0.25
    with pytest.raises(ConfigError, match="sweep.draws.*'many'"):
        from_dict(ExperimentConfig, {"sweep": {"draws": "many"}})
    with pytest.raises(ConfigError, match="sweep.auto.max_draws"):
        from_dict(ExperimentConfig, {"sweep": {"draws": "auto", "auto": {"max_draws": 1}}})
