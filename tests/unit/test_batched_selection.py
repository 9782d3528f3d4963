"""Batched grid selection: k (lam', beta) cells per forward pass pick what one-by-one picks."""

from __future__ import annotations

import copy

import pytest
import torch

from airmodel.builder import build_data, build_link, build_model
from airmodel.config import DenoiserConfig, load_config
from airmodel.evaluation.sweep import denoise_one
from airmodel.link import Link
from airmodel.receiver.denoiser import MMSEpb

GRID = ([0.95, 0.99, 1.0, 1.01, 1.03], [-3.2, -2.4, -1.6, -0.8, 0.0, 0.4])


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """Digits ResNet-8 (2 epochs) with its fused-path scorers (100 validation images)."""
    out = tmp_path_factory.mktemp("m")
    cfg = load_config(
        None,
        [
            "model.name=resnet8",
            f"model.train={{epochs: 2, batch_size: 64, lr: 0.05, out: {out}}}",
            "data.dataset=digits",
            "receiver.kappa=100",
            "evaluation.device=cpu",
        ],
    )
    model, _ = build_model(cfg, torch.device("cpu"))
    data = build_data(cfg, torch.device("cpu"))
    return cfg, model, data


def _on(parts, device):
    """The fixture's model and scorers on ``device`` (copies; the CPU ones as is)."""
    cfg, model, data = parts
    if device == "cpu":
        return model, data.test, data.validation
    return (
        copy.deepcopy(model).to(device),
        data.test.to(device),
        data.validation.to(device),
    )


@pytest.mark.parametrize(
    ("channel", "snr_db"),
    [("awgn", 0.0), ("awgn", 4.0), ("rayleigh", 6.0)],
)
def test_batched_grid_picks_the_same_cell_and_scores(parts, channel, snr_db, device):
    """30-cell grid on 100 validation images, cells 1 (fused copy, the CPU
    default) vs 8 and 30 per pass (vmap): the same score in every cell (exact
    equality of accuracies), the same selected cell and test accuracy. The
    Rayleigh case with truncated inversion loses weights (the [k, n] refill).

    On CUDA (eager one-by-one vs vmap, convolutions possibly TF32) a logit
    near a tie may flip one image: the best score agrees within 1/100 and,
    where the same cell is picked, the rebuilt weights and test accuracy are
    identical."""
    cfg, _, _ = parts
    model, test, validation = _on(parts, device)
    link = (
        Link("rayleigh", power_control="truncated_inversion", device=device)
        if channel == "rayleigh"
        else build_link(cfg, device)
    )
    clean = {k: v.clone() for k, v in model.state_dict().items()}
    tx = link.transmit(clean, snr_db, seed=7)
    assert tx.reception.y.device.type == device
    if channel == "rayleigh":
        assert tx.reception.info["lost_weights"] > 0
    spec = DenoiserConfig("mmse_pb", select="validation")
    scorers = {"test": test, "validation": validation}
    runs = {}
    for k in (1, 8, 30):
        validation.cells_per_pass = k
        runs[k] = denoise_one(link, tx, spec, model, scorers, *GRID)
    validation.cells_per_pass = 1
    (w1, e1), tables = runs[1], {}
    for k, (w, e) in runs.items():
        assert w.device.type == device
        assert e["evaluations"] == e1["evaluations"]
        if device != "cpu":
            assert abs(e["select_score"] - e1["select_score"]) <= 1 / 100
            if (e["lam"], e["beta"]) != (e1["lam"], e1["beta"]):
                continue
        assert (e["lam"], e["beta"]) == (e1["lam"], e1["beta"])
        assert e["select_score"] == e1["select_score"]
        assert torch.equal(w, w1)
        sd, _ = link.rebuild(tx, w_hat=w)
        tables[k] = test.accuracy_of(sd, model)
    assert len(set(tables.values())) == 1
    assert e1["evaluations"] == 30 or channel == "rayleigh"


def test_accuracies_of_equals_accuracy_of(parts, device):
    """Six rebuilt models (MMSE_pb over one draw at 0 dB): the vmap pass scores
    each exactly as the fused one-by-one scorer does, on all 360 test images
    (on CUDA, eager vs vmap with possibly TF32 convolutions: within one image,
    1/360)."""
    cfg, _, _ = parts
    model, test, _ = _on(parts, device)
    link = build_link(cfg, device)
    tx = link.transmit({k: v.clone() for k, v in model.state_dict().items()}, 0.0, 3)
    sds = [
        link.rebuild(tx, MMSEpb(lam=lam, beta=beta))[0]
        for lam, beta in [(0.95, -2.0), (1.0, 0.0), (0.99, -1.0)] * 2
    ]
    assert all(v.device.type == device for sd in sds for v in sd.values())
    one = [test.accuracy_of(sd, model) for sd in sds]
    batched = test.accuracies_of(sds, model)
    if device == "cpu":
        assert batched == one
    else:
        assert max(abs(a - b) for a, b in zip(batched, one, strict=True)) <= 1 / 360
    assert len(set(one)) > 1  # the candidates differ


def test_cells_per_pass_must_be_positive():
    from airmodel.receiver.denoiser import select_mmse_pb
    from airmodel.receiver.denoiser.base import Prior

    y = torch.zeros(4)
    with pytest.raises(ValueError, match="cells_per_pass"):
        select_mmse_pb(y, y + 1, Prior(0.0, 1.0, "x"), len, cells_per_pass=0)


def test_context_moved_to_a_device_gives_the_same_rows(parts):
    """What a Ray GPU worker does before its first trial (TrialContext.to), run
    here with the CPU as target: the moved copy is independent and its rows equal
    the original's (every column but seconds). The automatic cells_per_pass is
    re-resolved for the target (1 on the CPU, 16 on CUDA)."""
    from airmodel.evaluation.sweep import Trial, TrialContext, run_trial

    cfg, model, data = parts
    ctx = TrialContext.build(
        build_link(cfg), model, {"test": data.test, "validation": data.validation},
        [DenoiserConfig("ml"), DenoiserConfig("mmse_pb", select="validation")], *GRID,
    )  # fmt: skip
    moved = ctx.to(torch.device("cpu"))
    assert moved.scorers["test"] is not data.test
    assert moved.scorers["validation"].cells_per_pass == 1
    trial = Trial(2.0, 0, 11)

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert strip(run_trial(moved, trial)) == strip(run_trial(ctx, trial))
