"""Ray: a driver killed with SIGKILL mid-run resumes without losing a row (slow: ~60-90 s)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from airmodel.config import load_config
from airmodel.evaluation.store import Journal
from airmodel.experiment import run_experiment
from tests.unit.test_execution import (  # noqa: F401  (cluster, model_args: fixtures)
    SWEEP,
    _rows,
    cluster,
    model_args,
)

ray = pytest.importorskip(
    "ray", reason="the ray extra is not installed (pip install 'airmodel[ray]')"
)


@pytest.mark.slow
def test_driver_killed_resumes_without_losing_rows(cluster, tmp_path, model_args):  # noqa: F811
    """`airmodel run` on Ray (its own 2-CPU cluster) is killed with SIGKILL once
    rows are stored; the rerun keeps every stored row unchanged and completes the
    folder to the local backend's rows (5 Es/N0 x 2 draws x 4 receivers = 40)."""
    # the unit tests' digits sweep, more points (later overrides win)
    base = [*SWEEP, *model_args, "sweep.snr_db=[0, 5, 10, 15, 20]", "sweep.draws=2"]
    out = tmp_path / "r"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: kill\n")
    cmd = [sys.executable, "-m", "airmodel.cli", "run", str(cfg), "--no-progress"]
    for o in [*base, f"out_dir={out}", "execution.backend=ray"]:
        cmd += ["--set", o]
    local = run_experiment(load_config(cfg, [*base, f"out_dir={tmp_path / 'l'}"]))
    env = {**os.environ, "RAY_ADDRESS": ""}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    journal = out / "rows.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and len(journal.read_text().splitlines()) >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the cluster it started
    proc.wait()
    before = [e["row"] for e in Journal(journal, write=False).entries if "row" in e]
    assert 4 <= len(before) < 40
    after = run_experiment(
        load_config(cfg, [*base, f"out_dir={out}", "execution.backend=ray"])
    )
    rows = _rows(after)
    assert rows == _rows(local)
    kept = {(r["esno_db"], r["draw"], r["denoiser"]): r for r in rows}
    for r in before:
        r = {k: v for k, v in r.items() if k != "seconds"}
        assert kept[(r["esno_db"], r["draw"], r["denoiser"])] == r
