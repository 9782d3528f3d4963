"""Writing never leaves its folder (issue #26 items 3, 4, 7): no symlink followed
in a results folder, no results name outside results/, no training over a
checkpoint the config names, no other model's final.pt replaced, caches in one
folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airmodel.cli import main
from airmodel.config import ConfigError, load_config
from airmodel.errors import UserError
from airmodel.evaluation.results import read_results
from airmodel.evaluation.store import FolderLock, Journal, SymlinkRefusedError
from airmodel.training import train

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, out: Path, checkpoint: str, extra: str = "") -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"name: trust\nout_dir: {out}\n"
        f"model: {{name: resnet8, checkpoint: {checkpoint}{extra}}}\n"
        "data: {dataset: digits, test_samples: 50}\n"
        "sweep: {snr_db: [10], draws: 1}\nevaluation: {device: cpu}\n"
    )
    return cfg


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "thesis.tex"
    victim.write_text("years of work\n")
    return victim


def test_lock_symlink_refused_target_intact(tmp_path, capsys):
    """The issue's reproduction: `ln -s SOMEFILE OUT/.lock`, then a run into OUT."""
    victim = _victim(tmp_path)
    out = tmp_path / "res"
    out.mkdir()
    (out / ".lock").symlink_to(victim)
    with pytest.raises(SymlinkRefusedError, match="is a symbolic link"):
        FolderLock(out)
    cfg = _config(tmp_path, out, str(tmp_path / "none.pt"))
    assert main(["run", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ".lock is a symbolic link" in err[0], err
    assert victim.read_text() == "years of work\n"


@pytest.mark.parametrize("name", ["rows.jsonl", "results.json"])
def test_other_folder_files_never_followed(tmp_path, name):
    """The journal (written) and results.json (read) refuse a link too."""
    victim = _victim(tmp_path)
    out = tmp_path / "res"
    out.mkdir()
    (out / name).symlink_to(victim)
    with pytest.raises(SymlinkRefusedError):
        if name == "rows.jsonl":
            Journal(out / name)
        else:
            (out / "meta.json").write_text("{}")
            read_results(out)
    assert victim.read_text() == "years of work\n"


def test_results_name_cannot_climb_out(tmp_path):
    for name in ("../x", "a/b", "..", "/etc"):
        with pytest.raises(ConfigError, match="config key `name`"):
            load_config(ROOT / "configs" / "quickstart.yaml", [f"name={name}"])
    # an explicit out_dir goes where it says
    cfg = load_config(
        ROOT / "configs" / "quickstart.yaml",
        ["name=../x", f"out_dir={tmp_path / 'anywhere'}"],
    )
    assert cfg.results_dir == tmp_path / "anywhere"


@pytest.fixture(scope="module")
def tiny_final(tmp_path_factory) -> Path:
    """A real (1 epoch, 64 images) digits resnet8 final.pt."""
    out = tmp_path_factory.mktemp("tiny")
    return train(**_kw(out))


def _kw(out: Path, **over) -> dict:
    kw = dict(
        model_name="resnet8", dataset="digits", epochs=1, batch_size=32, lr=0.05,
        device="cpu", amp_bf16=False, progress=False, max_train_samples=64,
        eval_every=0, out_dir=out,
    )  # fmt: skip
    return {**kw, **over}


def test_missing_checkpoint_with_train_section_is_an_error(
    tmp_path, tiny_final, capsys
):
    """A mistyped model.checkpoint never trains (and never replaces final.pt)."""
    models = tmp_path / "models"
    models.mkdir()
    final = models / "final.pt"
    final.write_bytes(tiny_final.read_bytes())
    before = final.read_bytes()
    train_section = f", train: {{epochs: 1, batch_size: 32, lr: 0.05, out: {models}}}"
    typo = _config(tmp_path, tmp_path / "res", str(models / "finl.pt"), train_section)
    for extra in ([], ["--dry-run"]):
        assert main(["run", str(typo), "--no-progress", *extra]) == 2
        err = capsys.readouterr().err
        assert "finl.pt' does not exist" in err and "remove `model.checkpoint`" in err
    folder = _config(tmp_path, tmp_path / "res2", str(models), train_section)
    assert main(["run", str(folder), "--no-progress"]) == 2
    assert "is a folder; give the checkpoint file in it" in capsys.readouterr().err
    assert final.read_bytes() == before and sorted(os.listdir(models)) == ["final.pt"]


def test_training_never_replaces_another_final(tmp_path, tiny_final):
    """Other settings' final.pt: refused before any work; --overwrite replaces it."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "final.pt").write_bytes(tiny_final.read_bytes())  # lr 0.05
    before = (out / "final.pt").read_bytes()
    with pytest.raises(UserError, match="holds another model") as err:
        train(**_kw(out, lr=0.1))
    assert "--overwrite" in str(err.value) and "'lr': (0.05, 0.1)" in str(err.value)
    assert (out / "final.pt").read_bytes() == before and not (out / "last.pt").exists()
    (out / "junk.pt").write_bytes(b"x")
    os.replace(out / "junk.pt", out / "final.pt")  # unreadable: refused too
    with pytest.raises(UserError, match="a file this run cannot read"):
        train(**_kw(out))
    path = train(**_kw(out, lr=0.1), overwrite=True)
    assert path.read_bytes() != before


def test_cli_caches_under_one_folder(tmp_path):
    """matplotlib and inductor/Triton caches go under $AIRMODEL_CACHE_DIR."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MPLCONFIGDIR", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")
    }
    env.update(AIRMODEL_CACHE_DIR=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    code = (
        "import os, sys\n"
        "from airmodel.cli import main\n"
        "main(['configs'])\n"
        "import matplotlib\n"
        "from torch._inductor.runtime.cache_dir_utils import cache_dir\n"
        "print(matplotlib.get_configdir(), matplotlib.get_cachedir(), cache_dir(),"
        " os.environ['TRITON_CACHE_DIR'], file=sys.stderr)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    dirs = res.stderr.strip().splitlines()[-1].split()
    root = tmp_path / "cache"
    assert dirs[:2] == [str(root / "matplotlib")] * 2
    assert dirs[2] == str(root / "inductor") and dirs[3] == str(root / "triton")
    assert not (tmp_path / "home").exists()  # nothing under ~/.config, ~/.cache


def test_plot_never_written_through_a_link(tmp_path):
    """A plot (or the old fixed temporary name) that is a link: the link is
    replaced, its target untouched."""
    from airmodel.evaluation.plot import plot_accuracy

    victim = _victim(tmp_path)
    out = tmp_path / "res"
    out.mkdir()
    (out / "p.png").symlink_to(victim)
    (out / ".p.tmp.png").symlink_to(victim)
    rows = [
        {"denoiser": "ml", "esno_db": s, "accuracy": 0.5 + 0.01 * s} for s in (0, 5)
    ]
    plot_accuracy(rows, out / "p.png", title="t", clean_accuracy=0.9)
    assert not (out / "p.png").is_symlink()
    assert (out / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert victim.read_text() == "years of work\n"


def test_merge_reads_shards_under_a_shared_lock(tmp_path):
    """`airmodel merge` refuses a shard folder a writer holds; readers share."""
    from airmodel.evaluation.shard import merge
    from airmodel.evaluation.store import FolderLockedError

    shard = tmp_path / "shard-1-of-1"
    shard.mkdir()
    (shard / "store.json").write_text("{}")
    (shard / "config.yaml").write_text("name: x\n")
    writer = FolderLock(shard)
    with pytest.raises(FolderLockedError, match="is being written by PID"):
        merge(tmp_path / "out", [shard])
    writer.release()
    reader = FolderLock(shard, shared=True)  # a second reader is fine
    with pytest.raises(ValueError, match="seed scheme"):  # past the lock
        merge(tmp_path / "out", [shard])
    with pytest.raises(FolderLockedError):  # ... but no writer while it reads
        FolderLock(shard)
    reader.release()
    FolderLock(shard).release()


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ("sweep.snr_db=[1e308]", "1e+308 dB is above 200 dB"),
        ("sweep.snr_db=[0,5,0]", "[0.0] appear(s) twice"),
        ("name=../x", "would put the results outside results/"),
    ],
)
def test_messages_name_the_field_and_fix(override, says, capsys):
    """Issue #26 item 9: one line at validation, not mid-run."""
    assert main(["run", "quickstart", "--dry-run", "--set", override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "config key `" in err[0], err


def test_no_noise_point_still_accepted():
    cfg = load_config(ROOT / "configs" / "quickstart.yaml", ["sweep.snr_db=[0,.inf]"])
    assert cfg.sweep.snr_db[-1] == float("inf")
