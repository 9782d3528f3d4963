"""Hostile files (issue #26): a pickle that would run code, given as last.pt,
final.pt, a plain state dict, a CIFAR-10 batch or a zip with odd member names,
with and without a forged seal. Nothing executes (the marker file the payload
would create never appears) and each is refused with one line naming the file.
"""

from __future__ import annotations

import io
import os
import pickle
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from airmodel.cli import main
from airmodel.data import load_dataset
from airmodel.errors import CorruptFileError, UserError
from airmodel.integrity import seal_zip
from airmodel.models.loading import load_weights
from airmodel.training import load_checkpoint, read_checkpoint, train
from airmodel.training.checkpoint import read_train_state


class Payload:
    """Unpickling this runs ``os.system("touch MARKER")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _weights():
    return {"w": torch.ones(2, 2), "b": torch.zeros(2)}


def _zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A zip archive; ``links``: symlink members (name -> target)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return buf.getvalue()


def hostile_files(marker: Path) -> dict[str, bytes]:
    """Name -> bytes of every hostile file; each would create ``marker`` if unpickled."""
    evil = Payload(marker)
    ckpt = {
        "model_name": "resnet8", "num_classes": 10, "in_channels": 1,
        "state_dict": _weights(), "test_accuracy": 0.9, "config": {},
    }  # fmt: skip
    state = {
        "model": _weights(), "optimizer": {}, "scheduler": {}, "epoch": 1,
        "rng_state": torch.Generator().get_state(), "config": {},
    }  # fmt: skip
    pkl = pickle.dumps({"data": evil}, protocol=2)
    inner = _torch_bytes({"x": evil})
    with zipfile.ZipFile(io.BytesIO(inner)) as z:
        data_pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
        pkl_in_zip = z.read(data_pkl)
    return {
        "payload as the whole file": _torch_bytes(evil),
        "airmodel checkpoint with a payload": _torch_bytes({**ckpt, "extra": evil}),
        "payload in the state dict": _torch_bytes({**_weights(), "w2": evil}),
        "payload inside a tensor's place": _torch_bytes({"state_dict": {"w": evil}}),
        "training state with a payload": _torch_bytes({**state, "scheduler": evil}),
        "forged seal over a payload": seal_zip(_torch_bytes({**ckpt, "x": evil})),
        "forged seal, integrity recorded": seal_zip(
            _torch_bytes({**ckpt, "integrity": "sha256-zip-comment", "x": evil})
        ),
        "legacy (non-zip) pickle": pkl,
        "zip member ../ climbing out": _zip(
            {"archive/data.pkl": pkl_in_zip, "archive/../../escaped": b"x"}
        ),
        "zip member absolute path": _zip(
            {"archive/data.pkl": pkl_in_zip, str(marker.parent / "abs"): b"x"}
        ),
        "zip member symlink": _zip(
            {"archive/data.pkl": pkl_in_zip},
            links={"archive/data/0": "/etc/passwd", "archive/link": "../../outside"},
        ),
        "zip whose data.pkl is a symlink": _zip(
            {"archive/version": b"3\n"}, links={"archive/data.pkl": "/etc/passwd"}
        ),
    }


CASES = sorted(hostile_files(Path("/nonexistent")))


def _after(tmp_path: Path, marker: Path) -> None:
    """Nothing ran and nothing was extracted next to the file."""
    assert not marker.exists(), "the payload ran"
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "abs").exists()
    assert not (tmp_path.parent / "escaped").exists()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("as_name", ["final.pt", "last.pt", "weights.pth"])
def test_hostile_checkpoint_refused(tmp_path, case, as_name):
    """Every loader (checkpoint, plain weights, model, training state) refuses it."""
    marker = tmp_path / "PWNED"
    path = tmp_path / as_name
    path.write_bytes(hostile_files(marker)[case])
    for reader in (
        read_checkpoint,
        load_weights,
        load_checkpoint,
        lambda p: read_train_state(p, fix="Delete it."),
    ):
        with pytest.raises(UserError) as err:
            reader(path)
        msg = str(err.value)
        assert "\n" not in msg and str(path) in msg, msg
    _after(tmp_path, marker)


def test_code_refusal_says_why(tmp_path):
    """A payload is named as such: not a damaged file, a file that wants to run code."""
    marker = tmp_path / "PWNED"
    path = tmp_path / "final.pt"
    path.write_bytes(hostile_files(marker)["airmodel checkpoint with a payload"])
    with pytest.raises(CorruptFileError, match="never unpickles code") as err:
        load_weights(path)
    assert "posix.system" in str(err.value) or "os.system" in str(err.value)
    assert not marker.exists()


def _resume_kw(out: Path) -> dict:
    return dict(
        model_name="resnet8", dataset="digits", epochs=1, batch_size=64, lr=0.1,
        device="cpu", amp_bf16=False, progress=False, max_train_samples=64,
        eval_every=0, out_dir=out,
    )  # fmt: skip


@pytest.mark.parametrize(
    "case", ["training state with a payload", "forged seal over a payload"]
)
def test_resume_refuses_hostile_last_pt(tmp_path, case):
    """``train(resume=True)`` with a hostile last.pt: refused, says --no-resume."""
    marker = tmp_path / "PWNED"
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(hostile_files(marker)[case])
    with pytest.raises(CorruptFileError, match="--no-resume") as err:
        train(**_resume_kw(out))
    assert "\n" not in str(err.value)
    assert not marker.exists() and not (out / "final.pt").exists()


def test_resume_refuses_state_without_its_entries(tmp_path):
    """A tensors-only last.pt (no optimizer, config, ...): one line, not a KeyError."""
    out = tmp_path / "run"
    out.mkdir()
    torch.save({"model": _weights()}, out / "last.pt")
    with pytest.raises(CorruptFileError, match="not a training state"):
        train(**_resume_kw(out))


def test_cli_hostile_checkpoint_exit_2(tmp_path, capsys):
    """`airmodel run` with a hostile model.checkpoint: exit 2, one line, nothing ran."""
    marker = tmp_path / "PWNED"
    ck = tmp_path / "final.pt"
    ck.write_bytes(hostile_files(marker)["forged seal over a payload"])
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"name: hostile\nout_dir: {tmp_path / 'res'}\n"
        f"model: {{name: resnet8, checkpoint: {ck}}}\n"
        "data: {dataset: digits, test_samples: 50}\n"
        "sweep: {snr_db: [10], draws: 1}\nevaluation: {device: cpu}\n"
    )
    assert main(["run", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "never unpickles code" in err, err
    assert not marker.exists()


def test_cli_hostile_last_pt_in_train_out(tmp_path, capsys):
    """`airmodel run` whose model.train.out holds a hostile last.pt: exit 2."""
    marker = tmp_path / "PWNED"
    models = tmp_path / "models"
    models.mkdir()
    (models / "last.pt").write_bytes(
        hostile_files(marker)["training state with a payload"]
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"name: hostile\nout_dir: {tmp_path / 'res'}\nmodel:\n  name: resnet8\n"
        f"  train: {{epochs: 1, batch_size: 128, lr: 0.05, out: {models}}}\n"
        "data: {dataset: digits, test_samples: 50}\n"
        "sweep: {snr_db: [10], draws: 1}\nevaluation: {device: cpu}\n"
    )
    assert main(["run", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "last.pt" in err, err
    assert not marker.exists()


def _cifar_batch(entry) -> bytes:
    return pickle.dumps(entry, protocol=2)


def test_cifar_batch_with_payload_refused(tmp_path):
    """A CIFAR-10 python batch is a pickle: only numpy arrays, lists and bytes load."""
    marker = tmp_path / "PWNED"
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    good = {
        b"data": np.zeros((2, 3072), np.uint8),
        b"labels": [0, 1],
        b"batch_label": b"x",
    }
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(_cifar_batch(good))
    (folder / "test_batch").write_bytes(
        _cifar_batch({**good, b"labels": Payload(marker)})
    )
    x, _, _ = load_dataset("cifar10", tmp_path, "train")  # the plain ones still load
    assert x.shape == (10, 32, 32, 3)
    with pytest.raises(UserError, match="posix.system|os.system") as err:
        load_dataset("cifar10", tmp_path, "test")
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_committed_checkpoints_load_weights_only():
    """Every shipped checkpoint is tensors and plain data (weights_only=True)."""
    root = Path(__file__).resolve().parents[2] / "checkpoints"
    paths = sorted(root.glob("*.pt"))
    assert len(paths) >= 5
    for path in paths:
        assert isinstance(read_checkpoint(path)["state_dict"], dict)
