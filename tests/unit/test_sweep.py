"""Sweep helpers: average-noise receivers, the trial plan, shared selections."""

from __future__ import annotations

import math

import torch
from torch import nn

from airmodel.config import DenoiserConfig
from airmodel.data import DatasetInfo
from airmodel.data.transforms import to_tensor
from airmodel.evaluation.results import ResultsFolder
from airmodel.evaluation.scoring import Scorer
from airmodel.evaluation.sweep import (
    ROW_KEY,
    SweepPlan,
    Trial,
    TrialContext,
    averaged_noise,
    run_sweep,
    run_trial,
)
from airmodel.link import Link
from airmodel.receiver.denoiser import FIT_EVALUATIONS, MMSE
from airmodel.seed import trial_seed


def test_averaged_noise_keeps_mean_and_loses_per_weight_detail():
    """Rayleigh, N = 2x10^5 weights: averaging no_w keeps its mean, raises MMSE's MSE."""
    g = torch.Generator().manual_seed(0)
    sd = {"w": torch.randn(200_000, generator=g) * 0.05}
    link = Link("rayleigh")
    tx = link.transmit(sd, 10.0, seed=1)
    avg = averaged_noise(tx)
    no = tx.reception.no_w
    assert torch.allclose(
        avg.reception.no_w.double().mean(), no.double().mean(), rtol=1e-5
    )
    assert avg.reception.no_w.unique().numel() == 1 < no.unique().numel()
    _, per = link.rebuild(tx, MMSE())
    _, flat = link.rebuild(avg, MMSE())
    assert per.weight_mse < flat.weight_mse


def test_key_and_plan():
    assert DenoiserConfig("mmse", noise="average").key == "mmse[avg-no]"
    plan = SweepPlan([0.0, 5.0], draws=2, seed=10)
    assert [t.key for t in plan.trials()] == [(0.0, 0), (0.0, 1), (5.0, 0), (5.0, 1)]
    assert [t.seed for t in plan.trials()] == [
        trial_seed(10, s, d) for s in (0.0, 5.0) for d in (0, 1)
    ]


class _CountingScorer(Scorer):
    calls = 0

    def accuracy_of(self, *args, **kwargs):
        type(self).calls += 1
        return super().accuracy_of(*args, **kwargs)

    def loss_of(self, *args, **kwargs):
        type(self).calls += 1
        return super().loss_of(*args, **kwargs)


class _Val(_CountingScorer):
    calls = 0


class _Test(_CountingScorer):
    calls = 0


def _toy():
    """A 6x6 one-channel toy dataset (64 images, 3 classes) and a conv+BN net."""
    g = torch.Generator().manual_seed(0)
    info = DatasetInfo("toy", 3, 1, (0.5,), (0.25,), (6, 6))
    x = torch.randint(0, 256, (64, 6, 6, 1), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 3, (64,), generator=g)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(64, 3)
    )
    return info, x, y, model


def test_post_recalibration_shares_selection_and_oracle_fit_uses_test(tmp_path):
    """Tiny conv+BN net, 2 draws: a '+bnNpost' receiver re-uses the selection."""
    info, x, y, model = _toy()
    val = _Val(x[:32], y[:32], info, "cpu")
    test = _Test(x[32:], y[32:], info, "cpu")
    pool = to_tensor(x[:16], info)
    grid = ([0.99, 1.0], [-0.2, 0.0, 0.2])
    dens = [
        DenoiserConfig("mmse_pb", select="validation"),
        DenoiserConfig(
            "mmse_pb", select="validation", recalibrate=16, recalibrate_select=False
        ),
        DenoiserConfig("mmse_pb", select="oracle_fit"),
    ]
    folder = ResultsFolder(tmp_path, {"x": 1}, ROW_KEY)
    plan = SweepPlan([5.0], draws=2, seed=0)
    rows = run_sweep(
        Link("awgn"), model, {"validation": val, "test": test}, dens, plan,
        folder, *grid, progress=False, unlabelled=pool,
    )  # fmt: skip
    assert len(rows) == 6
    by = {(r["draw"], r["denoiser"]): r for r in rows}
    for d in range(2):
        a = by[(d, "mmse_pb[validation]")]
        b = by[(d, "mmse_pb[validation]+bn16post")]
        assert (a["lam"], a["beta"], a["evaluations"]) == (
            b["lam"], b["beta"], b["evaluations"]
        )  # fmt: skip
        assert 0 < by[(d, "mmse_pb[oracle_fit]")]["evaluations"] <= FIT_EVALUATIONS
    assert _Val.calls == 2 * 6  # one 6-cell grid per draw, not two
    # test scorer: 3 rows x 2 draws scored + the oracle's fit evaluations
    fits = sum(by[(d, "mmse_pb[oracle_fit]")]["evaluations"] for d in range(2))
    assert _Test.calls == 6 + fits


def test_run_trial_with_context_on_device(device):
    """run_trial with a context placed on ``device`` (TrialContext.to, the Ray GPU
    worker's path) and a link on ``device``: every receiver (grid selection,
    per-layer fit through the scorer's gradient, recalibration) gives a row; at
    Es/N0 = inf ML rebuilds the clean weights (to float rounding), so its accuracy equals the
    clean model's accuracy computed on the CPU (32 test images; on CUDA the
    convolutions may use TF32, so one image may flip: tolerance 1/32 there)."""
    info, x, y, model = _toy()
    val = Scorer(x[:32], y[:32], info, "cpu")
    test = Scorer(x[32:], y[32:], info, "cpu")
    clean = test.accuracy(model)
    dens = [
        DenoiserConfig("ml"),
        DenoiserConfig("ml", recalibrate=16),
        DenoiserConfig("mmse_pb", select="validation"),
        DenoiserConfig("mmse_pb", select="fit_layer", prior_scope="layer"),
    ]
    ctx = TrialContext.build(
        Link("awgn", device=device), model, {"validation": val, "test": test},
        dens, [0.99, 1.0], [-0.2, 0.0], unlabelled=to_tensor(x[:16], info),
    ).to(torch.device(device))  # fmt: skip
    assert next(ctx.model.parameters()).device.type == device
    assert ctx.unlabelled.device.type == device
    assert all(v.device.type == "cpu" for v in ctx.clean_sd.values())
    rows = run_trial(ctx, Trial(5.0, 0, seed=3))
    assert [r["denoiser"] for r in rows] == [d.key for d in dens]
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
    assert all(math.isfinite(r["weight_mse"]) and r["weight_mse"] > 0 for r in rows)
    (ml,) = run_trial(ctx, Trial(math.inf, 0, seed=3, denoisers=("ml",)))
    assert ml["weight_mse"] < 1e-12  # modulation scaling rounds, nothing else
    tol = 0.0 if device == "cpu" else 1 / 32
    assert abs(ml["accuracy"] - clean) <= tol
