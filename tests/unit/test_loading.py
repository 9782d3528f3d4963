"""Bring your own model (issue #15, item 3): weight files, factories, tied
parameters, a pluggable metric — from the Python API and from YAML."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from airmodel.config import load_config
from airmodel.data.info import DatasetInfo
from airmodel.errors import UserError
from airmodel.evaluation.scoring import Scorer
from airmodel.link import Link
from airmodel.models import get_model
from airmodel.models.loading import load_model, load_weights
from airmodel.training import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))


class TiedLM(nn.Module):
    """Embedding and output layer sharing one weight (as in GPT-2)."""

    def __init__(
        self, vocab: int = 50, dim: int = 16, num_classes=None, in_channels=None
    ):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.mix = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, vocab, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.mix(self.emb(tokens))))


def tied_lm(vocab: int = 50, dim: int = 16) -> TiedLM:
    """A ``package.module:factory`` target (this test module)."""
    return TiedLM(vocab, dim)


def _resnet20_state(path: Path) -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    sd = get_model("resnet20").state_dict()
    torch.save(sd, path)
    return sd


def test_plain_state_dict_with_model_name(tmp_path):
    """The call the old error message suggested now works."""
    sd = _resnet20_state(tmp_path / "plain.pt")
    # Unsealed (issue #16): read, with a warning that its bytes cannot be checked.
    with pytest.warns(UserWarning, match=r"no sha256 seal \(a plain torch.save file"):
        model, meta = load_checkpoint(tmp_path / "plain.pt", model_name="resnet20")
    assert meta == {"model_name": "resnet20"}
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    with (
        pytest.raises(UserError, match="give `model_name=`"),
        pytest.warns(UserWarning, match="no sha256 seal"),
    ):
        load_checkpoint(tmp_path / "plain.pt")


def test_safetensors_file(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch")
    sd = get_model("resnet8", num_classes=10, in_channels=1).state_dict()
    safetensors.save_file(
        {k: v.contiguous() for k, v in sd.items()}, tmp_path / "m.safetensors"
    )
    state, _ = load_weights(tmp_path / "m.safetensors")
    assert set(state) == set(sd)
    with pytest.raises(ValueError, match="shape mismatches"):
        load_checkpoint(tmp_path / "m.safetensors", model_name="resnet8")  # 3 channels
    model, _ = load_model(tmp_path / "m.safetensors", "resnet8", in_channels=1)
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_corrupt_safetensors_file_says_corrupt(tmp_path):
    """A truncated .safetensors file: one CorruptFileError naming it, no traceback."""
    safetensors = pytest.importorskip("safetensors.torch")
    from airmodel.errors import CorruptFileError

    sd = get_model("resnet8", num_classes=10, in_channels=1).state_dict()
    path = tmp_path / "m.safetensors"
    safetensors.save_file({k: v.contiguous() for k, v in sd.items()}, path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CorruptFileError, match=r"m.safetensors is corrupt"):
        load_weights(path)


def test_safetensors_with_tied_parameters(tmp_path, monkeypatch):
    """safetensors refuses shared tensors: saved once, the alias is restored on load."""
    monkeypatch.setenv("AIRMODEL_ALLOW_IMPORT", __name__)
    safetensors = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    m = TiedLM()
    safetensors.save_model(m, str(tmp_path / "lm.safetensors"))
    model, _ = load_checkpoint(
        tmp_path / "lm.safetensors", model_name=f"{__name__}:tied_lm"
    )
    assert model.out.weight is model.emb.weight
    assert torch.equal(model.emb.weight, m.emb.weight)


def test_airmodel_checkpoint_still_loads():
    path = ROOT / "checkpoints" / "resnet20_cifar10jpeg_e60.pt"
    if not path.is_file():
        pytest.skip("bundled checkpoint absent")
    model, ckpt = load_checkpoint(path)
    assert ckpt["model_name"] == "resnet20" and ckpt["test_accuracy"] > 0.88


def test_factory_model_and_tied_pair_over_the_link(device, monkeypatch):
    """Tied weights: sent once (num_air counts them once), rebuilt tied, model still tied."""
    monkeypatch.setenv("AIRMODEL_ALLOW_IMPORT", __name__)
    torch.manual_seed(0)
    model = get_model(f"{__name__}:tied_lm", options={"vocab": 40, "dim": 8}).to(device)
    sd = model.state_dict()
    assert sd["emb.weight"].data_ptr() == sd["out.weight"].data_ptr()
    link = Link("awgn", policy="all_float", device=device)
    tx = link.transmit(sd, snr_db=10.0, seed=0)
    untied = sum(v.numel() for k, v in sd.items() if k != "out.weight")
    assert tx.spec.num_air == untied  # the embedding went over the air once
    sd_hat, stats = link.rebuild(tx)
    assert sd_hat["out.weight"] is sd_hat["emb.weight"]
    assert stats.num_air == untied and stats.weight_mse > 0
    model.load_state_dict(sd_hat)
    assert model.out.weight is model.emb.weight
    assert torch.equal(model.out.weight, sd_hat["emb.weight"].to(device))


def test_model_factory_from_yaml(tmp_path, monkeypatch):
    """`model.name: package.module:factory` + a plain state dict, run by the builder."""
    monkeypatch.setenv("AIRMODEL_ALLOW_IMPORT", "airmodel.models.resnet_cifar")
    from airmodel.builder import build_model

    torch.manual_seed(0)
    net = get_model("resnet8", num_classes=10, in_channels=1)
    torch.save(net.state_dict(), tmp_path / "r8.pt")
    (tmp_path / "c.yaml").write_text(
        "model: {name: 'airmodel.models.resnet_cifar:resnet8', checkpoint: r8.pt}\n"
        "data: {dataset: digits}\n"
    )
    cfg = load_config(tmp_path / "c.yaml")  # checkpoint relative to the YAML file
    assert cfg.model.checkpoint == str(tmp_path / "r8.pt")
    with pytest.warns(UserWarning, match="no sha256 seal"):  # a plain file
        model, _ = build_model(cfg, torch.device("cpu"))
    for k, v in net.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)


def test_pluggable_metric(device):
    """metric(model, batch) -> float replaces accuracy; image-weighted mean over batches."""
    info = DatasetInfo("toy", 2, 1, (0.0,), (1.0,), (2, 2), ("a", "b"))
    torch.manual_seed(0)
    images = torch.randint(0, 255, (10, 2, 2, 1), dtype=torch.uint8)
    labels = torch.randint(0, 2, (10,))
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))

    def mean_logit(m, batch):
        x, _ = batch
        return float(m(x)[:, 0].mean())

    s = Scorer(
        images,
        labels,
        info,
        device=device,
        batch_size=3,
        metric=mean_logit,
        fused=False,
    )
    with torch.no_grad():
        expected = float(model.to(device)(s.x)[:, 0].mean())
    assert s.accuracy(model) == pytest.approx(expected, rel=1e-5)
    plain = Scorer(images, labels, info, device=device, batch_size=3, fused=False)
    assert 0.0 <= plain.accuracy(model) <= 1.0
