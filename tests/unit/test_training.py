"""Tests for training, checkpoints, resume and the train CLI (digits, resnet8)."""

import pytest
import torch

import airmodel.training.trainer as train_mod
from airmodel.data import load_dataset
from airmodel.evaluation import Scorer
from airmodel.train_cli import main_train
from airmodel.training import load_checkpoint, train

KW = dict(
    model_name="resnet8",
    dataset="digits",
    batch_size=64,
    lr=0.1,
    seed=0,
    device="cpu",
    amp_bf16=False,
    progress=False,
    max_train_samples=200,
    eval_every=1,
)
FIELDS = {
    "model_name", "num_classes", "in_channels", "dataset", "normalization",
    "test_accuracy", "config", "state_dict", "train_wall_s",
}  # fmt: skip


def test_one_epoch_writes_final(tmp_path):
    path = train(epochs=1, out_dir=tmp_path, **KW)
    assert path == tmp_path / "final.pt" and (tmp_path / "last.pt").is_file()
    ck = torch.load(path, weights_only=True)
    assert FIELDS <= set(ck)
    assert ck["model_name"] == "resnet8" and ck["in_channels"] == 1
    assert ck["num_classes"] == 10 and ck["dataset"] == "digits"
    assert len(ck["normalization"]["mean"]) == 1
    assert ck["config"]["epochs"] == 1 and ck["config"]["flip"] is False
    assert 0.0 <= ck["test_accuracy"] <= 1.0 and ck["train_wall_s"] > 0
    assert all(v.is_contiguous() for v in ck["state_dict"].values())
    model, meta = load_checkpoint(path)
    assert not model.training
    x, y, info = load_dataset("digits", split="test")
    assert Scorer(x, y, info, device="cpu").accuracy(model) == pytest.approx(
        meta["test_accuracy"]
    )


def test_resume_continues_bit_exactly(tmp_path, monkeypatch, capsys):
    """An interrupted 2-epoch run, resumed, ends with the uninterrupted weights."""
    ref = torch.load(train(epochs=2, out_dir=tmp_path / "ref", **KW))

    real_save = train_mod.save_atomic

    def save_then_die(obj, path):
        real_save(obj, path)
        if path.name == "last.pt":
            raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "save_atomic", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(epochs=2, out_dir=tmp_path / "run", **KW)
    assert torch.load(tmp_path / "run" / "last.pt")["epoch"] == 1
    assert not (tmp_path / "run" / "final.pt").exists()
    monkeypatch.setattr(train_mod, "save_atomic", real_save)
    got = torch.load(train(epochs=2, out_dir=tmp_path / "run", **KW))
    assert "Resuming" in capsys.readouterr().err
    for k, v in ref["state_dict"].items():
        torch.testing.assert_close(got["state_dict"][k], v, rtol=0, atol=0, msg=k)

    with pytest.raises(ValueError, match="lr"):
        train(epochs=2, out_dir=tmp_path / "run", **{**KW, "lr": 0.5})


def test_init_from_starts_at_the_given_weights(tmp_path):
    first = train(epochs=1, out_dir=tmp_path / "a", **KW)
    w0 = torch.load(first, weights_only=True)
    tiny = {**KW, "lr": 1e-12}
    ck = torch.load(train(epochs=1, out_dir=tmp_path / "b", init_from=first, **tiny))
    conv = "conv1.weight"
    torch.testing.assert_close(ck["state_dict"][conv], w0["state_dict"][conv])
    fresh = torch.load(train(epochs=1, out_dir=tmp_path / "c", **tiny))
    assert not torch.allclose(fresh["state_dict"][conv], w0["state_dict"][conv])
    assert ck["config"]["init_from"] == str(first)
    assert ck["config"]["init"]["test_accuracy"] == w0["test_accuracy"]
    with pytest.raises(ValueError, match="model_name='resnet8'"):
        train(epochs=1, out_dir=tmp_path / "d", init_from=first,
              **{**KW, "model_name": "resnet20"})  # fmt: skip
    torch.save(w0["state_dict"], tmp_path / "plain.pt")
    with (
        pytest.raises(ValueError, match="not an airmodel checkpoint"),
        pytest.warns(UserWarning, match="no sha256 seal"),
    ):
        train(epochs=1, out_dir=tmp_path / "f", init_from=tmp_path / "plain.pt", **KW)
    with pytest.raises(FileNotFoundError, match="drop --init-from"):
        train(epochs=1, out_dir=tmp_path / "e", init_from=tmp_path / "no.pt", **KW)


def test_checkpoint_mismatch_lists_keys(tmp_path):
    path = train(epochs=1, out_dir=tmp_path, **KW)
    with pytest.raises(ValueError) as e:
        load_checkpoint(path, model_name="resnet20")
    msg = str(e.value)
    assert "missing keys ['layer1.1.bn1.bias'" in msg  # sorted
    assert "unexpected keys []" in msg
    with pytest.raises(FileNotFoundError, match="airmodel train"):
        load_checkpoint(tmp_path / "nope.pt")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="epochs"):
        train(epochs=0, out_dir=tmp_path, **KW)
    with pytest.raises(ValueError, match="schedule"):
        train(epochs=1, out_dir=tmp_path, **{**KW, "schedule": "step"})


def test_cli_errors_exit_2(tmp_path, capsys):
    rc = main_train(
        ["--model", "resnet8", "--dataset", "cifar10", "--data-root",
         str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "cifar-10-python.tar.gz" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main_train(["--model", "resnet99", "--dataset", "digits", "--out", "x"])
    assert e.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_trains(tmp_path, capsys):
    rc = main_train(
        ["--model", "resnet8", "--dataset", "digits", "--epochs", "1",
         "--batch-size", "64", "--max-train-samples", "128", "--out",
         str(tmp_path), "--no-progress", "--device", "cpu", "--bf16", "off"]
    )  # fmt: skip
    assert rc == 0 and (tmp_path / "final.pt").is_file()
    assert str(tmp_path / "final.pt") in capsys.readouterr().out


def test_weight_noise_matches_the_link_and_is_removed(tmp_path):
    """Equal energy per weight: the hardening noise at WNR w is the analog AWGN
    link's weight noise at Es/N0 = w (variance = on-air mean square / 10^(w/10),
    checked against ``Link.transmit``'s ``no_w`` to 1e-5 relative), its sample
    variance over the 77k on-air ResNet-8 weights is within 2 % (7 sigma) of it,
    only on-air tensors are noised (batch norm untouched), and ``remove`` restores
    the weights bit-exactly."""
    from airmodel.link import Link
    from airmodel.models import get_model
    from airmodel.training.weight_noise import WeightNoise, parse_wnr_range

    model = get_model("resnet8", 10, 1)
    sd0 = {k: v.clone() for k, v in model.state_dict().items()}
    noise = WeightNoise(model, (3.0, 3.0))
    tx = Link("awgn", precision="double").transmit(model.state_dict(), 3.0, seed=0)
    no_w = float(tx.reception.no_w.double().mean())
    assert noise.variance(3.0) == pytest.approx(no_w, rel=1e-5)
    assert set(noise.keys) == set(tx.spec.air_names)
    wnr = noise.add(torch.Generator().manual_seed(0))
    assert wnr == 3.0
    sd1 = model.state_dict()
    diff = torch.cat([(sd1[k] - sd0[k]).flatten() for k in noise.keys]).double()
    assert diff.var().item() == pytest.approx(no_w, rel=0.02)
    for k in sd0:
        if k not in noise.keys:
            assert torch.equal(sd1[k], sd0[k]), k
    noise.remove()
    for k, v in sd0.items():
        assert torch.equal(model.state_dict()[k], v), k
    assert parse_wnr_range("-2:10.5") == (-2.0, 10.5)
    for bad in ("10:0", "5", "a:b", "0:inf"):
        with pytest.raises(ValueError, match="WNR_LO:WNR_HI"):
            parse_wnr_range(bad)


def test_weight_noise_training_updates_clean_weights(tmp_path, monkeypatch):
    """With --weight-noise the optimizer sees the clean weights: every
    ``opt.step`` starts from weights equal to the last step's result (noise
    removed), the config records the range, and a run without noise differs."""
    steps = []
    real_step = torch.optim.SGD.step

    def spy(self, *a, **kw):
        p = self.param_groups[0]["params"][0]
        steps.append(p.detach().clone())
        out = real_step(self, *a, **kw)
        steps.append(p.detach().clone())
        return out

    monkeypatch.setattr(torch.optim.SGD, "step", spy)
    ck = torch.load(
        train(epochs=1, out_dir=tmp_path / "n", weight_noise=(0.0, 10.0), **KW)
    )
    assert len(steps) == 2 * 3  # 200 samples // 64
    for after, before_next in zip(steps[1:-1:2], steps[2::2], strict=True):
        assert torch.equal(after, before_next)
    assert ck["config"]["weight_noise"]["wnr_db"] == [0.0, 10.0]
    monkeypatch.setattr(torch.optim.SGD, "step", real_step)
    plain = torch.load(train(epochs=1, out_dir=tmp_path / "p", **KW))
    assert not torch.equal(
        plain["state_dict"]["conv1.weight"], ck["state_dict"]["conv1.weight"]
    )
    with pytest.raises(SystemExit) as e:
        main_train(["--model", "resnet8", "--dataset", "digits", "--out",
                    str(tmp_path / "x"), "--weight-noise", "9:1"])  # fmt: skip
    assert e.value.code == 2


@pytest.mark.parametrize("total", range(1, 12))
def test_onecycle_short_runs(total):
    """Issue #26 item 5: `airmodel train --model resnet8 --dataset digits --epochs 1`
    is 5 steps, where OneCycleLR divided by a zero-length warm-up. Every length
    steps through, nears lr (from 4 steps on) and ends below lr/10."""
    from airmodel.training.trainer import make_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = make_scheduler(opt, "onecycle", 0.1, total)
    lrs = []
    for _ in range(total):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert all(0 < v <= 0.1 + 1e-12 for v in lrs)
    if total >= 4:
        assert max(lrs) > 0.08 and lrs[-1] < 0.01  # peak within a step of lr


def test_cli_one_epoch_of_digits(tmp_path, capsys):
    """The issue's command (1 epoch of digits, default batch 256: 5 steps) exits 0."""
    argv = ["--model", "resnet8", "--dataset", "digits", "--epochs", "1",
            "--out", str(tmp_path), "--no-progress", "--device", "cpu"]  # fmt: skip
    assert main_train(argv) == 0
    assert (tmp_path / "final.pt").is_file()
