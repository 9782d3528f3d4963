"""Keyed seeds: a trial's draw belongs to (run seed, Es/N0 value, draw), not to a position."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from airmodel.config import DenoiserConfig
from airmodel.data import DatasetInfo
from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.scoring import Scorer
from airmodel.evaluation.sweep import (
    ROW_KEY,
    SweepPlan,
    TrainingSubsets,
    TrialContext,
    run_sweep,
    run_trial,
    trial_subset_seed,
)
from airmodel.federated.run import federated_seed
from airmodel.link import Link
from airmodel.seed import derive_seed, point_key, trial_seed

SNRS = [-10.0, -2.0, 0.0, 2.5, 10.0, 30.0, float("inf")]


def test_point_key_is_the_value_not_its_spelling():
    assert point_key(2) == point_key(2.0) == point_key("2")
    assert point_key(-0.0) == point_key(0.0)
    assert len({point_key(s) for s in SNRS}) == len(SNRS)
    with pytest.raises(ValueError, match="NaN"):
        point_key(float("nan"))


def test_no_two_trials_of_a_run_share_a_seed():
    """7 points x 100 draws: 700 distinct seeds; federated units too."""
    seeds = [trial_seed(0, s, d) for s in SNRS for d in range(100)]
    assert len(set(seeds)) == len(seeds)
    fed = [federated_seed(0, s, r) for s in SNRS for r in range(20)]
    assert len(set(fed)) == len(fed) and not set(fed) & set(seeds)


def test_runs_with_different_seeds_share_no_draw():
    """Run seeds 0..9, 7 points x 20 draws each: no seed of one run in another.

    The old scheme (seed + index) failed this: seed s+1's trial i was seed s's
    trial i+1."""
    runs = [{trial_seed(r, s, d) for s in SNRS for d in range(20)} for r in range(10)]
    for a, b in itertools.combinations(runs, 2):
        assert not a & b
    # neighbours in particular: run s+1 trial i vs run s trial i+1
    flat = [[trial_seed(r, s, d) for s in SNRS for d in range(20)] for r in range(2)]
    assert all(flat[1][i] != flat[0][i + 1] for i in range(len(flat[0]) - 1))


def test_derive_seed_refuses_bad_run_seeds():
    with pytest.raises(ValueError, match="run seed"):
        derive_seed(-1, "sweep")
    assert 0 <= derive_seed(2**63 - 1, "sweep", 5) < 2**63


@pytest.fixture(scope="module")
def toy():
    """Tiny conv+BN net on random 6x6 images; ML, MMSE, grid-selected MMSE_pb,
    ML + recalibration; each trial draws 16 validation images and a 24-image
    augmented pool from 48 training images."""
    g = torch.Generator().manual_seed(0)
    info = DatasetInfo("toy", 3, 1, (0.5,), (0.25,), (6, 6))
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(64, 3)
    )
    x = torch.randint(0, 256, (112, 6, 6, 1), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 3, (112,), generator=g)
    scorers = {"test": Scorer(x[48:], y[48:], info, "cpu")}
    subsets = TrainingSubsets(
        x[:48].numpy(), y[:48].numpy(), info, kappa=16, pool=24, augment=True,
        scorer_kwargs={"device": "cpu"},
    )  # fmt: skip
    dens = [
        DenoiserConfig("ml"),
        DenoiserConfig("mmse"),
        DenoiserConfig("mmse_pb", select="validation"),
        DenoiserConfig("ml", recalibrate=24),
    ]
    return model, scorers, dens, subsets


def _sweep(toy, path, snr, draws, seed=0):
    model, scorers, dens, subsets = toy
    with ResultsFolder(path, {"x": 1}, ROW_KEY) as folder:
        rows = run_sweep(
            Link("awgn"), model, scorers, dens, SweepPlan(snr, draws, seed), folder,
            [0.99, 1.0], [-0.2, 0.0], progress=False, subsets=subsets,
        )  # fmt: skip
    return {
        (r["esno_db"], r["draw"], r["denoiser"]): {
            k: v for k, v in r.items() if k != "seconds"
        }
        for r in rows
    }


def test_more_draws_keep_the_first_draws_rows(toy, tmp_path):
    """draws 2 -> 5 (3 points x 4 receivers): the 24 rows of draws 0-1 are identical."""
    two = _sweep(toy, tmp_path / "a", [0.0, 5.0, 10.0], 2)
    five = _sweep(toy, tmp_path / "b", [0.0, 5.0, 10.0], 5)
    assert len(two) == 24 and len(five) == 60
    assert {k: five[k] for k in two} == two


def test_one_point_alone_reproduces_the_full_run(toy, tmp_path):
    """The 5 dB point run alone gives bit-identical rows to the 3-point run's."""
    full = _sweep(toy, tmp_path / "a", [0.0, 5.0, 10.0], 2)
    alone = _sweep(toy, tmp_path / "b", [5.0], 2)
    assert alone == {k: v for k, v in full.items() if k[0] == 5.0}
    # and the draws are really different across points (the test could fail)
    assert full[(0.0, 0, "ml")]["seed"] != full[(5.0, 0, "ml")]["seed"]


def test_each_trial_draws_its_own_subsets(toy):
    """Validation images and pool follow the trial's seed: 10 trials, 10 subsets."""
    subsets = toy[3]
    plan = SweepPlan([0.0, 5.0], 5, 0)
    vals = [subsets(trial_subset_seed(t)) for t in plan.trials()]
    keys = {tuple(v.x.flatten()[:200].tolist()) for v in vals}
    assert len(keys) == 10
    again = subsets(trial_subset_seed(plan.trials()[3]))
    assert torch.equal(again.x, vals[3].x) and torch.equal(
        again.unlabelled, vals[3].unlabelled
    )
    # the first kappa pool images are the validation images, augmented
    assert vals[0].unlabelled.shape[0] == 24 and vals[0].x.shape[0] == 16


def test_run_trial_selects_on_the_trials_subset(toy):
    """run_trial asks the sampler for its own subset seed, once per trial."""
    model, scorers, dens, subsets = toy
    seen = []

    def sampler(seed):
        seen.append(seed)
        return subsets(seed)

    ctx = TrialContext.build(
        Link("awgn"), model, scorers, dens, [1.0], [0.0], subsets=sampler
    )
    trials = SweepPlan([0.0, 5.0], 1, 3).trials()
    for t in trials:
        assert len(run_trial(ctx, t)) == len(dens)
    assert seen == [trial_subset_seed(t) for t in trials]


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    return float((a @ b) / (a.norm() * b.norm()))


def test_link_noise_is_independent_of_a_model_drawn_with_the_same_seed():
    """Weights drawn after ``torch.manual_seed(0)``, sent with ``seed=0``.

    Under scheme keyed-v1 the channel replayed ``torch.manual_seed(0)``'s stream:
    the noise's real parts were the first half of the draws, so the noise on
    weight 2k was a scaled copy of weight k (correlation 1.0). Independent
    noise gives |r| ~ N(0, 1/N): N = 20,000 weights, bound 4/sqrt(N) (a false
    alarm about once in 15,000 runs), on the weights and on that lag pattern.
    """
    n = 20_000
    torch.manual_seed(0)
    w = torch.randn(n)
    tx = Link("awgn").transmit({"fc.weight": w}, 10.0, seed=0)
    noise = tx.reception.y[:n].cpu() - w
    bound = 4 / n**0.5
    assert abs(_corr(noise, w)) < bound
    assert abs(_corr(noise[0::2], w[: n // 2])) < bound
    assert abs(_corr(noise[1::2], w[: n // 2])) < bound


def test_no_two_purposes_and_no_user_seed_share_a_stream():
    """``make_generator(s, purpose=p)`` never replays ``torch.manual_seed(s)``."""
    from airmodel.seed import make_generator, numpy_rng, stream_seed

    purposes = ["channel", "subset", "augment", "training", "recalibration", "split"]
    seeds = {stream_seed(s, p) for s in range(5) for p in purposes}
    assert len(seeds) == 5 * len(purposes) and not seeds & set(range(5))
    torch.manual_seed(3)
    user = torch.rand(8)
    for p in purposes:
        assert not torch.equal(torch.rand(8, generator=make_generator(3, purpose=p)), user)
    assert numpy_rng(3, "split").random() != numpy_rng(3, "clients").random()
