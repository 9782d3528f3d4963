"""evaluation.precision (config, the bf16 path's accuracy, auto's fallbacks, rows)
and the wall-time estimate (dry run, estimate vs actual in meta.json)."""

import json

import pytest
import torch

from airmodel.config import ConfigError, ExperimentConfig, from_dict, load_config
from airmodel.data import load_dataset
from airmodel.evaluation import Scorer
from airmodel.evaluation import precision as prec
from airmodel.evaluation.precision import choose_precision, requested_precision
from airmodel.evaluation.results import read_results
from airmodel.training import load_checkpoint, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The quickstart's model kind: ResNet-8 on digits, 2 epochs (~5 s, 1 thread)."""
    out = tmp_path_factory.mktemp("precision_model")
    return train(
        "resnet8", "digits", epochs=2, batch_size=128, lr=0.05, out_dir=out,
        device="cpu", progress=False, amp_bf16=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def scored(trained):
    x, y, info = load_dataset("digits", split="test")
    model, _ = load_checkpoint(trained, device="cpu")
    return Scorer(x, y, info, device="cpu"), model.eval(), (x, y, info)


def _ev(**kw):
    return from_dict(ExperimentConfig, {"evaluation": kw}).evaluation


def test_config_values_and_the_old_flag():
    assert _ev().precision == "fp32"
    assert _ev(precision="auto").precision == "auto"
    old = _ev(bf16=True)
    assert requested_precision(old.precision, old.bf16) == "bf16"
    assert requested_precision("auto", False) == "auto"
    with pytest.raises(ConfigError, match=r"`evaluation.precision`.*'fp32'.*'auto'"):
        _ev(precision="fp16")
    with pytest.raises(ConfigError, match=r"`evaluation.precision_tolerance`.*range"):
        _ev(precision_tolerance=2.0)
    with pytest.raises(ConfigError, match=r"`evaluation.bf16`.*contradicts.*auto"):
        load_config(None, ["evaluation.bf16=true", "evaluation.precision=auto"])


def test_scorer_precision_arguments(scored):
    scorer, _, raw = scored
    assert scorer.precision == "fp32" and not scorer.bf16
    with pytest.raises(ValueError, match="`precision` must be one of"):
        Scorer(raw[0][:1], raw[1][:1], raw[2], device="cpu", precision="auto")  # fmt: skip
    with pytest.raises(ValueError, match="contradicts"):
        Scorer(raw[0][:1], raw[1][:1], raw[2], device="cpu", bf16=True,
               precision="fp32")  # fmt: skip


def test_fp32_is_exact(scored):
    """precision fp32 runs the same (fused) net as before: identical logits and
    predictions to the default scorer and to fuse(model) called directly."""
    from airmodel.evaluation.fused import fuse

    scorer, model, raw = scored
    fp32 = Scorer(*raw, device="cpu", precision="fp32")
    net = fp32._inference_net(model)
    with torch.inference_mode():
        assert torch.equal(net(scorer.x), fuse(model)(scorer.x))
    assert torch.equal(fp32.predict(model), scorer.predict(model))
    choice = choose_precision("fp32", fp32, model)
    assert choice.precision == "fp32" and fp32.precision == "fp32"


def test_bf16_accuracy_close_to_fp32(scored):
    """bf16 (weights cast once; emulated on a CPU without native bf16) vs fp32 on
    the 360 digits test images: within 2 points (N=360: 2 points = 7 images;
    bf16's 8-bit mantissa moves logits by ~1 %, flipping only near-ties)."""
    scorer, model, raw = scored
    fp32 = scorer.accuracy(model)
    bf16 = scorer.subset(range(len(scorer)))
    bf16.precision = "bf16"
    assert fp32 > 0.5  # a trained model, so the comparison means something
    assert abs(bf16.accuracy(model) - fp32) <= 0.02
    assert scorer.precision == "fp32"  # the subset is its own scorer


def test_auto_falls_back_when_not_native(scored):
    scorer, model, raw = scored
    choice = choose_precision("auto", scorer, model, native=(False, "AVX2 here"))
    assert choice.precision == "fp32"
    assert (
        choice.line() == "airmodel: precision auto -> fp32: bf16 not native: AVX2 here"
    )
    assert "\n" not in choice.line()


def _fake_rates(monkeypatch, fp32_rate, bf16_rate, bf16_acc=None):
    def timed(s, model):
        acc = s.accuracy(model) if bf16_acc is None or not s.bf16 else bf16_acc
        return (bf16_rate if s.bf16 else fp32_rate), acc

    monkeypatch.setattr(prec, "_timed_rate", timed)


def test_auto_never_picks_bf16_measured_slower(scored, monkeypatch):
    scorer, model, raw = scored
    _fake_rates(monkeypatch, fp32_rate=1000.0, bf16_rate=900.0)
    choice = choose_precision("auto", scorer, model, native=(True, "native"))
    assert choice.precision == "fp32"
    assert "bf16 not faster" in choice.line() and "900 vs 1000 img/s" in choice.line()


def test_auto_falls_back_when_accuracy_moves(scored, monkeypatch):
    scorer, model, raw = scored
    _fake_rates(monkeypatch, 1000.0, 3000.0, bf16_acc=0.0)
    choice = choose_precision("auto", scorer, model, 0.005, native=(True, "native"))
    assert choice.precision == "fp32" and "bf16 off by too much" in choice.line()


def test_auto_picks_bf16_when_native_close_and_faster(scored, monkeypatch):
    scorer, model, raw = scored
    _fake_rates(monkeypatch, 1000.0, 3000.0)
    choice = choose_precision("auto", scorer, model, 0.05, native=(True, "native"))
    assert choice.precision == "bf16", choice.line()
    assert abs(choice.bf16_accuracy - choice.fp32_accuracy) <= 0.05


@pytest.mark.parametrize(
    "precision", ["auto", pytest.param("bf16", marks=pytest.mark.slow)]
)
def test_rows_record_precision(trained, tmp_path, monkeypatch, precision):
    """A 1-point, 1-draw digits sweep: each row and meta.json say what it scored at
    (auto without native bf16 -> fp32; bf16 as configured)."""
    from airmodel.experiment import run_experiment

    monkeypatch.setattr(prec, "bf16_native", lambda d: (False, "patched"))
    cfg = load_config(None, [
        "model.name=resnet8", f"model.checkpoint={trained}", "data.dataset=digits",
        "data.test_samples=60", "receiver.kappa=20",
        "receiver.denoisers=[ml, {name: ml, recalibrate: 40}]", "sweep.snr_db=[10]",
        "sweep.draws=1", "evaluation.device=cpu", f"evaluation.precision={precision}",
        f"out_dir={tmp_path}",
    ])  # fmt: skip
    out = run_experiment(cfg, progress=False, accept_accuracy_gap=True)
    _, rows = read_results(out)
    want = "fp32" if precision == "auto" else "bf16"
    assert len(rows) == 2 and {r["precision"] for r in rows} == {want}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["precision"]["precision"] == want
    assert meta["precision"]["requested"] == precision
    wall = meta["wall_time"]
    assert wall["seconds"] > 0 and wall["actual_s"] > 0 and wall["precision"] == want
    from airmodel.experiment import wall_time_line

    line = wall_time_line(meta)
    assert line.startswith("Wall time: estimated ") and f"{want})" in line


def test_estimate_formula():
    """The estimate is setup + clean pass + trials x (link + evals a + images b
    + 3 b adaptation images), computed here by hand."""
    from airmodel.evaluation.estimate import estimate

    counts = {"trials": 6, "evaluations": 10, "images": 5000, "test_images": 2000,
              "adapt_images": 1280}  # fmt: skip
    a, b, link, setup = 0.01, 1e-4, 0.2, 3.0
    est = estimate(counts, a, b, link, setup, "fp32", auto_check=False)
    per = link + 10 * a + 5000 * b + 3 * b * 1280
    assert est.per_trial_s == pytest.approx(per)
    assert est.seconds == pytest.approx(setup + a + b * 2000 + 6 * per)
    checked = estimate(counts, a, b, link, setup, "bf16", auto_check=True)
    assert checked.seconds > est.seconds  # the auto check's passes cost time


def test_dry_run_prints_the_estimate(trained, tmp_path):
    from airmodel.experiment import (
        dry_run,
        estimate_wall_time,
        plan_cost,
        plan_counts,
    )

    base = ["model.name=resnet8", "data.dataset=digits", "receiver.kappa=20",
            "sweep.snr_db=[0, 10]", "sweep.draws=1", "evaluation.device=cpu"]  # fmt: skip
    cfg = load_config(None, [*base, f"model.checkpoint={trained}"])
    plan = dry_run(cfg)
    # The in-run calibration must leave the run's model as it was.
    model, _ = load_checkpoint(trained, device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    est, why = estimate_wall_time(cfg, model)
    assert est is not None and why == ""
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    (line,) = [x for x in plan.splitlines() if "wall time" in x]
    assert line.startswith("  wall time: ~") and "img/s at fp32" in line
    c = plan_counts(cfg, 360)
    assert f"{c['trials'] * c['images']:,} forward images" in plan_cost(cfg)[0]
    # A batch smaller than kappa (the SST-2 league: 32 vs 100) is still priced.
    small_batch = load_config(None, [*base, f"model.checkpoint={trained}",
                                     "receiver.kappa=100", "evaluation.batch_size=16"])  # fmt: skip
    assert estimate_wall_time(small_batch, model)[0] is not None
    untrained = load_config(None, [*base, f"model.train={{out: {tmp_path}}}"])
    assert "wall time: the model is trained first" in dry_run(untrained)
