"""The shipped quickstart configs give the same rows, bit for bit, as recorded.

A guard for refactors (issue #31): every number a row holds (accuracies, weight
MSE, seeds, selected ``lam``/``beta``) must be unchanged; only the timing field
``seconds`` is left out. The expected values are one SHA-256 per row
(``tests/integration/data/bit_identity.json``), keyed by the row's identity, so a
mismatch names the row. Recorded on main at 32af448 with one torch thread:
the quickstart (56 rows, ~35 s) and the federated quickstart shrunk to 2 rounds
and two Es/N0 points (12 rows, ~25 s). Rerecord only for an intended change:
``python tests/integration/test_bit_identity.py``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).parent / "data" / "bit_identity.json"
#: Row fields that are wall-clock measurements, not results.
TIMING = ("seconds",)
#: name: (config, overrides besides out_dir and the model cache).
RUNS = {
    "quickstart": ("configs/quickstart.yaml", []),
    "feel_quickstart": (
        "configs/feel_quickstart.yaml",
        ["federated.rounds=2", "federated.eval_every=1", "sweep.snr_db=[-5,.inf]"],
    ),
}
#: Row columns that identify a row (inference, federated).
IDENTITY = ("esno_db", "snr_db", "draw", "run", "round", "denoiser")


def row_digests(folder: Path) -> dict[str, str]:
    """``{identity: sha256 of the row without timing fields}`` of a results folder."""
    out = {}
    for line in (folder / "rows.jsonl").read_text().splitlines():
        rec = json.loads(line.partition(" ")[2])
        if "row" not in rec:
            continue
        row = {k: v for k, v in rec["row"].items() if k not in TIMING}
        key = "/".join(f"{k}={row[k]}" for k in IDENTITY if k in row)
        text = json.dumps(row, sort_keys=True)  # repr floats: exact
        out[key] = hashlib.sha256(text.encode()).hexdigest()[:20]
    return out


def run(name: str, out: Path) -> Path:
    """Run ``name`` of :data:`RUNS` into ``out`` (model trained afresh there)."""
    from airmodel.config import load_config
    from airmodel.experiment import run_experiment

    path, extra = RUNS[name]
    sets = [f"out_dir={out / name}", f"model.train.out={out / 'model'}", *extra]
    cfg = load_config(ROOT / path, sets)
    return run_experiment(cfg, progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_rows_bit_identical(name, tmp_path):
    """Every row of ``name`` hashes as recorded (N rows: 56 and 12), no row missing."""
    expected = json.loads(EXPECTED.read_text())[name]
    got = row_digests(run(name, tmp_path))
    assert sorted(got) == sorted(expected)
    assert {k: v for k, v in got.items() if expected[k] != v} == {}


def test_digest_ignores_only_timing(tmp_path):
    """A changed result changes its row's digest; a changed ``seconds`` does not."""
    row = {"esno_db": 0.0, "draw": 0, "denoiser": "ml", "accuracy": 0.5, "seconds": 1.0}

    def digest(r):
        (tmp_path / "rows.jsonl").write_text("x " + json.dumps({"row": r}) + "\n")
        return row_digests(tmp_path)

    base = digest(row)
    assert list(base) == ["esno_db=0.0/draw=0/denoiser=ml"]
    assert digest({**row, "seconds": 2.0}) == base
    assert digest({**row, "accuracy": 0.5 + 2**-40}) != base


if __name__ == "__main__":  # rerecord (an intended change of results only)
    import tempfile

    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        rec = {n: row_digests(run(n, Path(tmp))) for n in sorted(RUNS)}
    EXPECTED.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
