"""`airmodel run`: results folder, provenance, resume, dry run, clean errors."""

from __future__ import annotations

import json

import pytest

from airmodel.cli import main

CONFIG = """
name: tiny
seed: 3
out_dir: {out}
model:
  name: resnet8
  train: {{epochs: 1, batch_size: 128, lr: 0.05, out: {models}}}
data: {{dataset: digits, test_samples: 120}}
receiver:
  kappa: 20
  lam_grid: [0.99, 1.0]
  beta_grid: [-1.0, 0.0]
  denoisers: [ml, mmse, {{name: mmse_pb, select: validation}}]
sweep: {{snr_db: [0, 20], draws: 2}}
evaluation: {{device: cpu}}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    cfg = root / "tiny.yaml"
    cfg.write_text(CONFIG.format(out=root / "res", models=root / "models"))
    assert main(["run", str(cfg), "--no-progress"]) == 0
    return root, cfg


class TestRun:
    def test_results_folder(self, run_dir):
        root, _ = run_dir
        res = root / "res"
        for f in (
            "config.yaml",
            "provenance.json",
            "results.csv",
            "results.json",
            "accuracy_vs_snr.png",
        ):
            assert (res / f).is_file(), f
        data = json.loads((res / "results.json").read_text())
        rows = data["rows"]
        assert len(rows) == 2 * 2 * 3
        prov = data["meta"]["provenance"]
        records = json.loads((res / "provenance.json").read_text())
        assert len(records) == 1 and records[0]["rows_at_start"] == 0
        assert (
            records[0]["seed"] == 3 and records[0]["argv"] and records[0]["invoked_at"]
        )
        assert prov["seed"] == 3 and prov["versions"]["torch"] and "git_commit" in prov
        assert (
            data["meta"]["test_images"] == 120
            and data["meta"]["validation_images"] == 20
        )
        sel = [r for r in rows if r["denoiser"] == "mmse_pb[validation]"]
        assert all(r["evaluations"] == 4 and r["lam"] in (0.99, 1.0) for r in sel)
        # every denoiser of a (point, draw) saw the same draw
        for snr in (0.0, 20.0):
            seeds = {r["seed"] for r in rows if r["esno_db"] == snr and r["draw"] == 0}
            assert len(seeds) == 1
        # at 20 dB the rebuilt model is close to clean; at 0 dB ML is much worse
        hi = [
            r["accuracy"]
            for r in rows
            if r["esno_db"] == 20.0 and r["denoiser"] == "ml"
        ]
        assert min(hi) > data["meta"]["clean_accuracy"] - 0.1
        lines = (res / "results.csv").read_text().splitlines()
        assert len(lines) == 13 and lines[0].startswith("esno_db,draw,denoiser")

    def test_resume_skips_finished_rows(self, run_dir):
        """A row missing from the journal (the source of truth) is redone, same value."""
        root, cfg = run_dir
        path = root / "res" / "results.json"
        lost = json.loads(path.read_text())["rows"][4]
        journal = root / "res" / "rows.jsonl"
        lines = journal.read_text().splitlines(keepends=True)
        journal.write_text("".join(lines[:4] + lines[5:]))
        assert main(["run", str(cfg), "--no-progress"]) == 0
        again = json.loads(path.read_text())["rows"]
        assert len(again) == 12
        redone = [
            r
            for r in again
            if (r["esno_db"], r["draw"], r["denoiser"])
            == (lost["esno_db"], lost["draw"], lost["denoiser"])
        ]
        assert len(redone) == 1 and redone[0]["accuracy"] == lost["accuracy"]

    def test_other_config_in_same_folder_refused(self, run_dir, capsys):
        root, cfg = run_dir
        assert main(["run", str(cfg), "--no-progress", "--set", "seed=4"]) == 2
        assert "different config" in capsys.readouterr().err

    def test_more_points_extend_the_folder(self, run_dir):
        root, cfg = run_dir
        assert (
            main(
                ["run", str(cfg), "--no-progress", "--set", "sweep.snr_db=[0, 20, 40]"]
            )
            == 0
        )
        rows = json.loads((root / "res" / "results.json").read_text())["rows"]
        assert len(rows) == 3 * 2 * 3
        assert "40" in (root / "res" / "config.yaml").read_text()

    def test_dry_run(self, run_dir, capsys):
        _, cfg = run_dir
        assert main(["run", str(cfg), "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "config OK" in out and "rows" in out


class TestErrors:
    @pytest.mark.parametrize(
        ("overrides", "match"),
        [
            (["sweep.snr_db=[0, ten]"], "sweep.snr_db\\[1\\]"),
            (["model.checkpoint=/no/such.pt", "model.train=null"], "model.checkpoint"),
            (["data.dataset=cifar10", "data.root=/no/such/dir"], "data.root"),
            (["sweep.draws"], "key=value"),
        ],
    )
    def test_user_errors_exit_2_without_traceback(
        self, tmp_path, capsys, overrides, match
    ):
        cfg = tmp_path / "c.yaml"
        cfg.write_text(CONFIG.format(out=tmp_path / "r", models=tmp_path / "m"))
        args = ["run", str(cfg), "--dry-run"]
        for o in overrides:
            args += ["--set", o]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert pytest.importorskip("re").search(match, err), err
