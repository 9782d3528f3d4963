"""`airmodel run --shard i/N` and `airmodel merge`: shards merged equal the full run."""

from __future__ import annotations

import json

import pytest

from airmodel.cli import main
from airmodel.evaluation.results import read_results
from airmodel.evaluation.shard import parse_shard, shard_of

CONFIG = """
name: shards
seed: 5
out_dir: {out}
model:
  name: resnet8
  train: {{epochs: 1, batch_size: 128, lr: 0.05, out: {models}}}
data: {{dataset: digits, test_samples: 100}}
receiver:
  kappa: 20
  lam_grid: [0.99, 1.0]
  beta_grid: [-1.0, 0.0]
  denoisers: [ml, {{name: mmse_pb, select: validation}}]
sweep: {{snr_db: [-2, 4, 10], draws: 3}}
evaluation: {{device: cpu, threads: 1}}
"""


def _rows(folder):
    _, rows = read_results(folder)
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Digits ResNet-8 (1 epoch), 3 points x 3 draws x 2 receivers: full run + 3 shards."""
    root = tmp_path_factory.mktemp("shard")
    cfg = root / "c.yaml"
    cfg.write_text(CONFIG.format(out=root / "full", models=root / "models"))
    assert main(["run", str(cfg), "--no-progress"]) == 0
    for i in (1, 2, 3):
        args = ["run", str(cfg), "--no-progress", "--shard", f"{i}/3"]
        assert main([*args, "--set", f"out_dir={root / 'sh'}"]) == 0
    return root, cfg


def test_shards_merged_equal_the_full_run(runs, capsys):
    root, _ = runs
    shards = [root / "sh" / f"shard-{i}-of-3" for i in (1, 2, 3)]
    sizes = [len(_rows(s)) for s in shards]
    assert sum(sizes) == 18 and all(sizes)  # disjoint, every row somewhere
    assert main(["merge", str(root / "merged"), *map(str, shards)]) == 0
    assert "18 rows" in capsys.readouterr().out
    assert _rows(root / "merged") == _rows(root / "full")  # same order, same bits
    view = json.loads((root / "merged" / "results.json").read_text())
    assert len(view["rows"]) == 18 and len(view["meta"]["merged_from"]) == 3


def test_merged_folder_resumes_with_the_config(runs):
    """The merged folder is an ordinary results folder of the config: nothing to redo."""
    root, cfg = runs
    before = _rows(root / "merged")
    args = ["run", str(cfg), "--no-progress", "--set", f"out_dir={root / 'merged'}"]
    assert main(args) == 0
    assert _rows(root / "merged") == before


def test_merge_refuses_missing_or_foreign_shards(runs, capsys):
    root, cfg = runs
    sh = root / "sh"
    assert main(["merge", str(root / "m2"), str(sh / "shard-1-of-3")]) == 2
    assert "2/3, 3/3 missing" in capsys.readouterr().err
    other = root / "other"
    args = ["run", str(cfg), "--no-progress", "--shard", "2/3"]
    assert main([*args, "--set", f"out_dir={other}", "--set", "seed=6"]) == 0
    folders = [sh / "shard-1-of-3", other / "shard-2-of-3", sh / "shard-3-of-3"]
    assert main(["merge", str(root / "m3"), *map(str, folders)]) == 2
    assert "different configs" in capsys.readouterr().err
    assert main(["merge", str(root / "m4"), str(root / "full")]) == 2
    assert "not a shard folder" in capsys.readouterr().err


def test_shard_folder_refuses_another_shard(runs, capsys):
    root, cfg = runs
    folder = root / "sh" / "shard-1-of-3"
    args = ["run", str(cfg), "--no-progress", "--shard", "1/3"]
    assert main([*args, "--set", f"out_dir={folder.parent}"]) == 0  # resumes
    store = json.loads((folder / "store.json").read_text())
    assert store["shard"] == "1/3"
    assert main(["run", str(cfg), "--no-progress", "--set", f"out_dir={folder}"]) == 2
    assert "holds shard 1/3" in capsys.readouterr().err


def test_shard_assignment_is_stable_and_parsed():
    """A trial's shard depends on its key alone: more draws move no trial."""
    keys = [(s, d) for s in (-2.0, 4.0, 10.0) for d in range(3)]
    more = [(s, d) for s in (-2.0, 4.0, 10.0, 20.0) for d in range(10)]
    a = {k: shard_of(*k, n=3) for k in keys}
    b = {k: shard_of(*k, n=3) for k in more}
    assert all(a[k] == b[k] for k in keys)
    assert parse_shard("2/8") == (2, 8)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)
