"""No tracebacks for users: every user-caused error of `airmodel run`/`train` is one
short line naming the thing, the value and the fix, exit 2 (1: disk/network)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
import torch

import airmodel.training.trainer as train_mod
from airmodel.cli import main
from airmodel.errors import CorruptFileError, UserError, message_for
from airmodel.evaluation.results import read_results
from airmodel.integrity import dumps_sealed, loads_sealed, read_json
from airmodel.training import read_checkpoint, save_atomic, train

ROOT = Path(__file__).resolve().parents[2]
CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-jpeg.tar.gz"

TRAIN_KW = dict(
    model_name="resnet8", dataset="digits", batch_size=64, lr=0.1, seed=0,
    device="cpu", amp_bf16=False, progress=False, max_train_samples=128,
    eval_every=0,
)  # fmt: skip

CONFIG = """
name: tiny
out_dir: {out}
model: {{name: resnet8, checkpoint: {ckpt}}}
data: {{dataset: digits, test_samples: 120}}
receiver: {{kappa: 20, denoisers: [ml]}}
sweep: {{snr_db: [20], draws: 1}}
evaluation: {{device: cpu}}
"""


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A sealed resnet8/digits final.pt (1 epoch on 128 images)."""
    return train(epochs=1, out_dir=tmp_path_factory.mktemp("m"), **TRAIN_KW)


def write_config(tmp_path, ckpt, **fmt):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(out=tmp_path / "res", ckpt=ckpt, **fmt))
    return cfg


def run_cli(capsys, *args):
    """``main(args)``: (exit code, stderr); asserts no traceback and a short message."""
    rc = main(list(args))
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert rc == 0 or len(lines) == 1, err
    return rc, err


class TestCheckpointIntegrity:
    def test_round_trip_and_seal(self, tmp_path):
        sd = {"w": torch.randn(5, 3), "i": torch.arange(4)}
        path = save_atomic({"state_dict": sd, "test_accuracy": 0.5}, tmp_path / "a.pt")
        got = read_checkpoint(path)
        assert set(got) == {"state_dict", "test_accuracy"}
        assert all(torch.equal(got["state_dict"][k], sd[k]) for k in sd)
        assert path.read_bytes()[-80:].startswith(b"airmodel-sha256=")
        assert not list(tmp_path.glob(".*tmp"))  # no temporary file left

    def test_flipped_bits_say_corrupt(self, ckpt, tmp_path):
        """60 flipped bits in the weights (the issue's case) fail the sha256."""
        data = bytearray(ckpt.read_bytes())
        g = torch.Generator().manual_seed(0)
        for i in torch.randint(2000, len(data) - 200, (60,), generator=g).tolist():
            data[i] ^= 1 << (i % 8)
        bad = tmp_path / "final.pt"
        bad.write_bytes(bytes(data))
        with pytest.raises(CorruptFileError, match=r"final.pt is corrupt \(sha256"):
            read_checkpoint(bad)

    def test_committed_checkpoints_are_sealed_and_unchanged(self):
        """Re-saved with a seal: the weights are bit-identical to the unsealed files
        (sha256 of all state_dict tensor bytes, measured before re-saving)."""
        import hashlib
        import warnings

        want = {
            "resnet20_cifar10jpeg.pt": "fd7326e1c45dbcb8852a9e31d58fcfc6"
            "cd3eba3c24f128c3e6fb0fe6520b5618",
            "resnet20_cifar10jpeg_e60.pt": "8c7c751b403f7cde1496e71a3a27f805"
            "ef2eb7e7467cc3b93abf183cf53a67c7",
            "resnet20_cifar10jpeg_hardened.pt": "2e25f53fcb9971d060d454c3c9d107ba"
            "53c816d131c0fcf95ad10b500d45b3a9",
            # saved sealed by `airmodel train` (issue #29): digests at commit time
            "resnet20_cifar10jpeg_prune50_hardened.pt": "6564c9c27cf0ece035d06f83d837c9c6"
            "ecdfbbbf52c69c68e58d176e7fafd848",
            "resnet20_cifar10jpeg_prune35_hardened.pt": "88db080ec0d293d11f487572cd20ce7e"
            "2d56936707b5c8110a545b7c627bf2c7",
            "resnet20_cifar10jpeg_hardened_fixed0.pt": "b2cca747aba1f09af308dfe06c1d3d5d"
            "ff93e695794090f04ef573410a853748",
            "resnet20_cifar10jpeg_hardened_fixed5.pt": "4d5ba0dfae4500464748af7554058ea0"
            "9c4e3eb4ad39197b15d23908cae6bfa0",
        }
        for name, digest in want.items():
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # sealed: no "no seal" warning
                ck = read_checkpoint(ROOT / "checkpoints" / name)
            tensors = b"".join(v.numpy().tobytes() for v in ck["state_dict"].values())
            assert hashlib.sha256(tensors).hexdigest() == digest, name

    def test_unsealed_legacy_file_is_read_with_a_warning(self, ckpt, tmp_path):
        legacy = tmp_path / "old.pt"
        ck = read_checkpoint(ckpt)
        torch.save(ck, legacy)
        with pytest.warns(UserWarning, match="no sha256 seal"):
            assert read_checkpoint(legacy)["model_name"] == "resnet8"

    def test_non_finite_weights_refused_with_counts(self, ckpt, tmp_path):
        ck = read_checkpoint(ckpt)
        ck["state_dict"]["conv1.weight"].view(-1)[:3] = float("nan")
        path = save_atomic(ck, tmp_path / "nan.pt")
        from airmodel.training import load_checkpoint

        with pytest.raises(UserError, match="conv1.weight 3 of"):
            load_checkpoint(path)


class TestAccuracyCheck:
    def test_tolerance(self):
        """4 binomial standard errors + 0.5 points: p=0.9, n=10,000 -> 1.7 points."""
        from airmodel.training import accuracy_tolerance

        assert accuracy_tolerance(0.9, 10_000) == pytest.approx(0.012 + 0.005)
        assert accuracy_tolerance(0.9, 100) == pytest.approx(0.12 + 0.005)

    def test_gap_stops_the_run_and_the_flag_overrides(self, ckpt, tmp_path, capsys):
        """A checkpoint recording 99 % whose model scores ~10-30 % is refused."""
        ck = read_checkpoint(ckpt)
        ck["test_accuracy"] = 0.99
        lying = save_atomic(ck, tmp_path / "m" / "final.pt")
        cfg = write_config(tmp_path, lying)
        rc, err = run_cli(capsys, "run", str(cfg), "--no-progress")
        assert rc == 2 and "records 99.00%" in err and "--accept-accuracy-gap" in err
        assert read_results(tmp_path / "res")[1] == []  # refused before any row
        rc, err = run_cli(
            capsys, "run", str(cfg), "--no-progress", "--accept-accuracy-gap"
        )
        assert rc == 0 and "warning" in err
        assert len(read_results(tmp_path / "res")[1]) > 0


class TestRunErrors:
    @pytest.mark.parametrize(
        ("content", "match"),
        [(b"", "empty file"), (None, "torch.load fails"), (b"x" * 99, "torch.load")],
    )
    def test_truncated_or_empty_checkpoint(
        self, ckpt, tmp_path, capsys, content, match
    ):
        bad = tmp_path / "bad.pt"
        bad.write_bytes(ckpt.read_bytes()[:5000] if content is None else content)
        cfg = write_config(tmp_path, bad)
        rc, err = run_cli(capsys, "run", str(cfg), "--no-progress")
        assert rc == 2 and "bad.pt is corrupt" in err and match in err

    def test_channels_do_not_fit_the_dataset(self, tmp_path, capsys):
        cfg = write_config(tmp_path, ROOT / "checkpoints" / "resnet20_cifar10jpeg.pt")
        rc, err = run_cli(capsys, "run", str(cfg), "--set", "model.name=resnet20")
        assert rc == 2 and "in_channels 3 vs dataset 1" in err

    @pytest.mark.skipif(
        torch.cuda.is_available(), reason="needs a machine without CUDA"
    )
    def test_cuda_without_cuda(self, ckpt, tmp_path, capsys):
        cfg = write_config(tmp_path, ckpt)
        rc, err = run_cli(capsys, "run", str(cfg), "--set", "evaluation.device=cuda")
        assert rc == 2 and "evaluation.device" in err and "cuda" in err
        # the suggested fix works as written
        fix = err.split("E.g. ")[1].split()[:2]
        assert fix == ["--set", "evaluation.device=cpu"]
        rc, _ = run_cli(capsys, "run", str(cfg), "--no-progress", *fix)
        assert rc == 0

    def test_missing_checkpoint_fix_works(self, tmp_path, capsys):
        """The suggested `airmodel train ...` command, run as printed (plus a smaller
        epoch budget to stay fast), makes the config run."""
        cfg = write_config(tmp_path, tmp_path / "models" / "final.pt")
        rc, err = run_cli(capsys, "run", str(cfg), "--dry-run")
        assert rc == 2 and "Train one with `airmodel train" in err
        cmd = err.split("`airmodel ")[1].split("`")[0].split()
        assert (
            main([*cmd, "--epochs", "1", "--max-train-samples", "64", "--no-progress"])
            == 0
        )
        assert run_cli(capsys, "run", str(cfg), "--no-progress")[0] == 0

    def test_out_dir_is_a_file(self, ckpt, tmp_path, capsys):
        cfg = write_config(tmp_path, ckpt)
        (tmp_path / "afile").write_text("x")
        rc, err = run_cli(
            capsys,
            "run",
            str(cfg),
            "--no-progress",
            "--set",
            f"out_dir={tmp_path}/afile",
        )
        assert rc == 2 and "afile" in err

    def test_numbers_like_5e_4_are_numbers(self, ckpt, tmp_path, capsys):
        cfg = write_config(tmp_path, ckpt)
        rc, _ = run_cli(
            capsys, "run", str(cfg), "--dry-run", "--set", "sweep.snr_db=[5e-4, 1E1]"
        )
        assert rc == 0
        from airmodel.config import load_config

        c = load_config(cfg, ["model.train={lr: 5e-4}", "receiver.lam_grid=[1e-1]"])
        assert c.model.train.lr == 5e-4 and c.receiver.lam_grid == [0.1]

    def test_list_item_fix_names_the_whole_list(self, ckpt, tmp_path, capsys):
        cfg = write_config(tmp_path, ckpt)
        rc, err = run_cli(
            capsys, "run", str(cfg), "--dry-run", "--set", "sweep.snr_db=[0,x]"
        )
        assert rc == 2 and "--set sweep.snr_db=[...]" in err and "[1]=" not in err

    def test_snr_below_minus_100_db_refused(self, ckpt, tmp_path, capsys):
        cfg = write_config(tmp_path, ckpt)
        rc, err = run_cli(
            capsys, "run", str(cfg), "--dry-run", "--set", "sweep.snr_db=[-400]"
        )
        assert rc == 2 and "-400 dB" in err and "sweep.snr_db=[-10,0,10]" in err
        rc, _ = run_cli(
            capsys, "run", str(cfg), "--dry-run", "--set", "sweep.snr_db=[-10,0,10]"
        )
        assert rc == 0

    def test_full_disk_exit_1(self, ckpt, tmp_path, capsys, monkeypatch):
        """A real ENOSPC: the checkpoint's temporary file is opened on /dev/full."""
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full")
        import airmodel.provenance as prov

        out = tmp_path / "t"
        out.mkdir()
        real_open = os.open

        def open_full(path, flags, *args):
            if Path(path).name.startswith(".last.pt."):
                return real_open("/dev/full", os.O_WRONLY)
            return real_open(path, flags, *args)

        monkeypatch.setattr(prov.os, "open", open_full)
        rc = main(["train", "--model", "resnet8", "--dataset", "digits", "--epochs", "1",
                   "--max-train-samples", "64", "--out", str(out), "--no-progress",
                   "--device", "cpu", "--bf16", "off"])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 1 and "disk full" in err and "Traceback" not in err
        assert not (out / "last.pt").exists()

    def test_permission_denied_exit_2(self, ckpt, tmp_path, capsys):
        """A folder nobody may write to (chmod; as root: chattr +i, immutable)."""
        text, code = message_for(
            PermissionError(errno.EACCES, "Permission denied", "/x")
        )
        assert code == 2 and "permission denied for /x" in text
        locked = tmp_path / "locked"
        locked.mkdir()
        if os.geteuid() != 0:
            locked.chmod(0o500)
        elif subprocess.run(
            ["chattr", "+i", str(locked)], capture_output=True
        ).returncode:
            pytest.skip("root without chattr: cannot make a folder unwritable")
        try:
            cfg = write_config(tmp_path, ckpt)
            rc, err = run_cli(capsys, "run", str(cfg), "--no-progress",
                              "--set", f"out_dir={locked}/res")  # fmt: skip
            assert rc == 2 and f"permission denied for {locked}/res" in err
            rc, err = run_cli(capsys, "train", "--model", "resnet8", "--dataset",
                              "digits", "--out", f"{locked}/m")  # fmt: skip
            assert rc == 2 and "permission denied" in err
        finally:
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(locked)], check=True)
            locked.chmod(0o700)

    def test_debug_re_raises(self, tmp_path, capsys, monkeypatch):
        """--debug (anywhere on the line) or AIRMODEL_DEBUG=1: the exception escapes
        main(), so Python prints its traceback."""
        from airmodel.config import ConfigError

        monkeypatch.delenv("AIRMODEL_DEBUG", raising=False)
        args = ["run", str(tmp_path / "no.yaml")]
        assert run_cli(capsys, *args)[0] == 2
        with pytest.raises(ConfigError, match="not found"):
            main(["--debug", *args])
        with pytest.raises(ConfigError):
            main([*args, "--debug"])
        monkeypatch.setenv("AIRMODEL_DEBUG", "1")
        with pytest.raises(ConfigError):
            main(args)
        with pytest.raises(SystemExit):  # train's parser still exits on bad options
            main(["train", "--debug", "--model", "nope"])


class TestPackagingCommandErrors:
    """Issue #15's commands and names (bundled configs, registries) under guarded():
    one line, exit 2."""

    def test_configs_run_by_name_and_registry_names(self, tmp_path, capsys):
        rc, _ = run_cli(capsys, "configs", "quickstart", "--out", str(tmp_path))
        assert rc == 0 and (tmp_path / "quickstart.yaml").is_file()
        rc, err = run_cli(capsys, "configs", "quickstart", "--out", str(tmp_path))
        assert rc == 2 and "quickstart.yaml exists" in err
        rc, err = run_cli(capsys, "run", "nosuch")
        assert rc == 2 and "not a bundled config" in err and "quickstart" in err
        cfg = str(tmp_path / "quickstart.yaml")
        rc, err = run_cli(capsys, "run", cfg, "--dry-run", "--set", "model.name=nosuch")
        assert rc == 2 and "Unknown model name 'nosuch'" in err and "resnet8" in err
        from airmodel.registry import RegistryError

        assert issubclass(RegistryError, UserError)  # one line from the Python API too


class TestTrainErrors:
    def test_threads_zero_and_out_is_a_file(self, tmp_path, capsys):
        base = ["train", "--model", "resnet8", "--dataset", "digits"]
        with pytest.raises(SystemExit) as e:
            main([*base, "--threads", "0", "--out", str(tmp_path)])
        assert e.value.code == 2 and "--threads" in capsys.readouterr().err
        (tmp_path / "f").write_text("x")
        rc, err = run_cli(capsys, *base, "--out", str(tmp_path / "f"))
        assert rc == 2 and "is a file" in err
        with pytest.raises(UserError, match="num_threads"):
            train(epochs=1, out_dir=tmp_path / "o", num_threads=0, **TRAIN_KW)

    def test_resume_refuses_a_corrupt_last_pt_and_the_fix_works(self, tmp_path, capsys):
        out = tmp_path / "run"
        argv = ["train", "--model", "resnet8", "--dataset", "digits", "--epochs", "1",
                "--max-train-samples", "64", "--batch-size", "64", "--out", str(out),
                "--no-progress", "--device", "cpu", "--bf16", "off"]  # fmt: skip
        assert main(argv) == 0
        data = bytearray((out / "last.pt").read_bytes())
        data[len(data) // 2] ^= 0x10
        (out / "last.pt").write_bytes(bytes(data))
        rc, err = run_cli(capsys, *argv, "--epochs", "2")
        assert rc == 2 and "last.pt is corrupt" in err and "--no-resume" in err
        # its final.pt (1 epoch) is another model now: replaced only on request
        rc, err = run_cli(capsys, *argv, "--epochs", "2", "--no-resume")
        assert rc == 2 and "holds another model" in err and "--overwrite" in err
        assert main([*argv, "--epochs", "2", "--no-resume", "--overwrite"]) == 0

    def test_other_settings_fix_works(self, tmp_path, capsys):
        out = tmp_path / "run"
        argv = ["train", "--model", "resnet8", "--dataset", "digits", "--epochs", "1",
                "--max-train-samples", "64", "--batch-size", "64", "--out", str(out),
                "--no-progress", "--device", "cpu", "--bf16", "off"]  # fmt: skip
        assert main(argv) == 0
        rc, err = run_cli(capsys, *argv, "--lr", "5e-4")
        assert rc == 2 and "--no-resume" in err and "drop --resume" not in err
        assert "its final.pt too with --overwrite" in err
        assert main([*argv, "--lr", "5e-4", "--no-resume", "--overwrite"]) == 0

    def test_non_finite_loss_stops_with_epoch_and_advice(self, tmp_path, monkeypatch):
        real = train_mod.F.cross_entropy

        def nan_loss(*a, **k):
            return real(*a, **k) * float("nan")

        monkeypatch.setattr(train_mod.F, "cross_entropy", nan_loss)
        with pytest.raises(
            UserError, match=r"epoch 1/2 is not finite.*Lower the learning"
        ):
            train(epochs=2, out_dir=tmp_path, **TRAIN_KW)
        assert not (tmp_path / "final.pt").exists()

    def test_corrupt_archive(self, tmp_path, capsys):
        if not CIFAR.is_file():
            pytest.skip("../shared/datasets/cifar10-jpeg.tar.gz absent")
        part = tmp_path / "part.tar.gz"
        with open(CIFAR, "rb") as f:
            part.write_bytes(f.read(200_000))
        rc, err = run_cli(
            capsys, "train", "--model", "resnet8", "--dataset", "image_folder",
            "--data-root", str(part), "--out", str(tmp_path / "o"),
            "--cache-dir", str(tmp_path / "cache"),
        )  # fmt: skip
        assert rc == 2 and "part.tar.gz is corrupt" in err

    def test_no_network_exit_1(self, tmp_path, capsys, monkeypatch):
        import urllib.error
        import urllib.request

        def offline(*a, **k):
            raise urllib.error.URLError(
                OSError(errno.ENETUNREACH, "Network unreachable")
            )

        monkeypatch.setattr(urllib.request, "urlopen", offline)
        rc, err = run_cli(
            capsys, "train", "--model", "resnet8", "--dataset", "cifar10",
            "--data-root", str(tmp_path / "dl"), "--download", "--out", str(tmp_path / "o"),
        )  # fmt: skip
        assert rc == 1 and "Without network" in err
        assert not list((tmp_path / "dl").glob("*.part"))

    def test_missing_cifar_fix_names_real_options(self, tmp_path, capsys):
        rc, err = run_cli(
            capsys, "train", "--model", "resnet8", "--dataset", "cifar10",
            "--data-root", str(tmp_path / "none"), "--out", str(tmp_path / "o"),
        )  # fmt: skip
        assert rc == 2 and "--set data.download=true" in err
        assert "airmodel run --download" not in err


class TestSealedJson:
    def test_round_trip_and_standard_json(self, tmp_path):
        import json

        obj = {"meta": {"a": 1}, "rows": [{"x": 0.5, "y": None}]}
        text = dumps_sealed(obj)
        assert json.loads(text)["rows"] == obj["rows"]
        assert loads_sealed(text) == obj
        assert loads_sealed(dumps_sealed({})) == {}
        with pytest.raises(ValueError):
            dumps_sealed({"x": float("nan")})  # not standard JSON

    def test_corrupt_results_json_message(self, tmp_path):
        p = tmp_path / "results.json"
        p.write_text('{"rows": [1, 2')
        with pytest.raises(CorruptFileError, match="results.json is corrupt .not JSON"):
            read_json(p)
        text, code = message_for(CorruptFileError(p, "x", "Fix."))
        assert code == 2 and str(p) in text
        # a reader that has not named its file yet still gets one line, exit 2
        import json

        try:
            json.loads("{")
        except json.JSONDecodeError as err:
            text, code = message_for(err)
        assert code == 2 and "results.json" in text


def test_library_messages_suggest_no_missing_options():
    """Grep: no message suggests an option that does not exist."""
    src = "".join(p.read_text() for p in (ROOT / "airmodel").rglob("*.py"))
    for gone in ("drop --resume", "CLI: --download)", "`airmodel run --download`"):
        assert gone not in src, gone


class TestAtomicWrites:
    def test_dead_writers_temporary_is_removed_by_the_next_save(self, tmp_path):
        """A `kill -9`'d checkpoint writer leaves `.final.pt.PID.X.tmp`; the next
        save of that file removes it (its PID is gone); a live writer's stays."""
        import subprocess
        import sys

        from airmodel.training.checkpoint import save_atomic

        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        stale = tmp_path / f".final.pt.{int(dead.stdout)}.abcd.tmp"
        live = tmp_path / f".final.pt.{os.getpid()}.beef.tmp"
        stale.write_bytes(b"half a checkpoint")
        live.write_bytes(b"being written")
        save_atomic({"x": torch.ones(2)}, tmp_path / "final.pt")
        assert not stale.exists() and live.exists()
        assert read_checkpoint(tmp_path / "final.pt")["x"].tolist() == [1.0, 1.0]

    def test_failed_write_names_the_file(self, tmp_path, monkeypatch):
        """ENOSPC inside write_atomic is reported with the file's path."""
        from airmodel.provenance import write_atomic

        def full(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
        target = tmp_path / "results.json"
        with pytest.raises(OSError) as info:
            write_atomic(target, "{}")
        text, code = message_for(info.value)
        assert code == 1 and str(target) in text and "disk full" in text
        assert list(tmp_path.iterdir()) == []  # no temporary left behind
