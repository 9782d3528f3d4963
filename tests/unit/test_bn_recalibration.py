"""Batch-norm recalibration from unlabelled images, and receivers that use it end to end."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

from airmodel.builder import build_data
from airmodel.cli import main
from airmodel.config import ExperimentConfig, from_dict
from airmodel.evaluation.sweep import _recalibrator
from airmodel.receiver.bn_recalibration import (
    batchnorm_layers,
    recalibrate_bn,
    recalibrate_bn_state,
)
from airmodel.training import load_checkpoint, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """ResNet-8 trained for 2 epochs on digits (about 5 s at 1 thread)."""
    out = tmp_path_factory.mktemp("bn_model")
    path = train(
        "resnet8",
        "digits",
        epochs=2,
        batch_size=128,
        lr=0.05,
        out_dir=out,
        device="cpu",
        progress=False,
        amp_bf16=False,
    )
    return path


def _data(pool: int, kappa: int = 20, augment: bool = True):
    cfg = from_dict(
        ExperimentConfig,
        {
            "data": {"dataset": "digits"},
            "receiver": {
                "kappa": kappa,
                "recalibrate_augment": augment,
                "denoisers": [{"name": "ml", "recalibrate": pool}],
            },
        },
    )
    return build_data(cfg, torch.device("cpu"))


class TestRecalibrateBN:
    def test_signature_has_no_labels(self):
        params = list(inspect.signature(recalibrate_bn).parameters)
        assert params == ["model", "images", "batch_size"]

    def test_properties(self, trained, device):
        """On CUDA the running mean and the hooked features come from the same
        (possibly TF32) convolution, so the tolerance widens only to 1e-3/1e-4."""
        model, _ = load_checkpoint(trained, device=device)
        data = _data(200, augment=False)
        x = data.validation.unlabelled
        assert x.shape[0] == 200
        # the pool's first kappa images are the validation images
        torch.testing.assert_close(x[:20], data.validation.x)
        # by default they are augmented like training batches (crop + shift)
        aug = _data(200).validation.unlabelled
        assert aug.shape == x.shape and not torch.equal(aug[:20], x[:20])
        layers = batchnorm_layers(model)
        assert layers and all(m.momentum == 0.1 for m in layers)
        model.train()
        recalibrate_bn(model, x)  # images follow the model's device
        assert model.training and all(m.momentum == 0.1 for m in layers)
        assert layers[0].running_mean.device.type == device
        # one batch: the running mean is the first BN layer's input mean exactly
        feats = {}
        h = layers[0].register_forward_hook(lambda m, i, o: feats.setdefault("x", i[0]))
        model.eval()
        with torch.no_grad():
            model(x.to(device))
        h.remove()
        tol = (1e-4, 1e-5) if device == "cpu" else (1e-3, 1e-4)
        torch.testing.assert_close(
            layers[0].running_mean,
            feats["x"].mean((0, 2, 3)),
            rtol=tol[0],
            atol=tol[1],
        )

    def test_labels_never_read(self, trained, device):
        """Shuffled validation labels give bit-identical recalibrated weights."""
        model, _ = load_checkpoint(trained, device=device)
        sd = {k: v.clone() for k, v in model.state_dict().items()}
        data = _data(100)
        shuffled = data.validation.subset(torch.arange(20))
        shuffled.y = shuffled.y[torch.randperm(20)]
        spec = from_dict(
            ExperimentConfig,
            {"receiver": {"denoisers": [{"name": "ml", "recalibrate": 100}]}},
        ).receiver.denoisers[0]
        outs = [
            _recalibrator(spec, model, {"test": data.test, "validation": v}, None)(sd)
            for v in (data.validation, shuffled)
        ]
        for k in sd:
            assert outs[0][k].device.type == device
            torch.testing.assert_close(outs[0][k], outs[1][k], rtol=0, atol=0)
        assert not torch.equal(outs[0]["bn1.running_mean"], sd["bn1.running_mean"])

    def test_clean_model_keeps_accuracy(self, trained):
        """No noise: recalibration on 1000 training images stays within 0.5 points."""
        model, _ = load_checkpoint(trained, device="cpu")
        data = _data(1000)
        clean = data.test.accuracy(model)
        sd = recalibrate_bn_state(
            model.state_dict(), model, data.validation.unlabelled, batch_size=1000
        )
        assert data.test.accuracy_of(sd, model) >= clean - 0.005

    def test_bad_input(self, trained, device):
        model, _ = load_checkpoint(trained, device=device)
        with pytest.raises(ValueError, match="images"):
            recalibrate_bn(model, torch.zeros(1, 1, 8, 8))
        with pytest.raises(ValueError, match="batch_size"):
            recalibrate_bn(model, torch.zeros(4, 1, 8, 8), batch_size=0)


CONFIG = """
name: tinybn
seed: 3
out_dir: {out}
model: {{name: resnet8, checkpoint: {ckpt}}}
data: {{dataset: digits, test_samples: 120}}
receiver:
  kappa: 20
  denoisers:
    - ml
    - {{name: ml, recalibrate: 100}}
    - {{name: mmse, prior_scope: layer}}
    - {{name: mmse_pb, select: fit, prior_scope: layer, recalibrate: 100}}
    - {{name: mmse_pb, select: fit_layer, recalibrate: 50, recalibrate_select: false}}
sweep: {{snr_db: [5], draws: 1}}
evaluation: {{device: cpu}}
"""


def test_airmodel_run_end_to_end(trained, tmp_path):
    cfg = tmp_path / "bn.yaml"
    cfg.write_text(CONFIG.format(out=tmp_path / "res", ckpt=trained))
    assert main(["run", str(cfg), "--no-progress"]) == 0
    rows = json.loads((tmp_path / "res" / "results.json").read_text())["rows"]
    by = {r["denoiser"]: r for r in rows}
    assert set(by) == {
        "ml",
        "ml+bn100",
        "mmse[layer]",
        "mmse_pb[fit][layer]+bn100",
        "mmse_pb[fit_layer]+bn50post",
    }
    fit = by["mmse_pb[fit][layer]+bn100"]
    assert 0 < fit["evaluations"] <= 30 and fit["recalibrate"] == 100
    lay = by["mmse_pb[fit_layer]+bn50post"]
    assert lay["evaluations"] <= 60 and lay["layer_beta"].count(";") >= 1
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
