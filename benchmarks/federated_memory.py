"""Benchmark: peak RSS of a federated run for 10 vs 100 rounds (memory stays O(model)).

configs/feel_quickstart.yaml shrunk to one Es/N0 (``--snr-db``, default -5 dB),
the ML and MMSE server receivers, one run, test accuracy every 10 rounds;
everything else as the quickstart (digits, ResNet-8, 10 devices, 4 active, 2
local epochs, AWGN uplink; ``--channel rayleigh`` adds truncated inversion).
Each round count runs :func:`airmodel.experiment.run_federated` in its own
process into a temporary results folder and reports its peak RSS, its RSS at
the end and the wall time. The 10-round case is the baseline; per-round growth
is ``(peak_100 - peak_10) / 90``. Target: below 0.05 MB per round (a
0.3 MB model: anything kept per round would show as >= 0.3 MB per round).

    python benchmarks/federated_memory.py [--rounds 10 100] [--out benchmarks/results/federated_memory.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, print_table, write_json  # noqa: E402

TARGET_MB_PER_ROUND = 0.05


def rss_now_mb() -> float:
    """Current resident set size of this process [MB]."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_case(rounds: int, snr_db: float, channel: str) -> dict:
    """One federated run of ``rounds`` rounds in this process."""
    import resource

    import torch

    from airmodel.config import load_config
    from airmodel.experiment import run_federated

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        sets = [
            f"out_dir={tmp}",
            f"federated.rounds={rounds}",
            "federated.eval_every=10",
            f"sweep.snr_db=[{snr_db}]",
            "receiver.denoisers=[ml, mmse]",
        ]
        if channel != "awgn":
            sets += [
                f"channel.name={channel}",
                "channel.options={power_control: truncated_inversion, "
                "inversion_threshold: 0.1}",
            ]
        cfg = load_config(ROOT / "configs" / "feel_quickstart.yaml", sets)
        t0 = time.perf_counter()
        folder = run_federated(cfg, progress=False)
        seconds = time.perf_counter() - t0
        rows = json.loads((folder / "results.json").read_text())["rows"]
        acc = {r["denoiser"]: r["accuracy"] for r in rows if r.get("last")}
    return {
        "rounds": rounds,
        "runs": 2,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "end_rss_mb": rss_now_mb(),
        "acc_ml": acc.get("ml"),
        "acc_mmse": acc.get("mmse"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--snr-db", type=float, default=-5.0)
    ap.add_argument("--channel", default="awgn")
    ap.add_argument("--case", type=int, help=argparse.SUPPRESS)
    ap.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "federated_memory.json")
    )
    a = ap.parse_args()
    if a.case is not None:
        print(json.dumps(run_case(a.case, a.snr_db, a.channel)))
        return
    import subprocess

    rows = []
    for r in a.rounds:
        out = subprocess.run(
            [sys.executable, __file__, "--case", str(r), "--snr-db", str(a.snr_db),
             "--channel", a.channel],
            check=True, capture_output=True, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base, last = rows[0], rows[-1]
    extra = last["rounds"] - base["rounds"]
    growth = (last["peak_rss_mb"] - base["peak_rss_mb"]) / extra if extra else 0.0
    for r in rows:
        r["peak_vs_base_mb"] = r["peak_rss_mb"] - base["peak_rss_mb"]
    print_table(
        rows,
        ["rounds", "runs", "seconds", "peak_rss_mb", "end_rss_mb", "peak_vs_base_mb",
         "acc_ml", "acc_mmse"],
    )  # fmt: skip
    ok = growth < TARGET_MB_PER_ROUND
    print(
        f"peak RSS growth per round: {growth:.4f} MB (target < {TARGET_MB_PER_ROUND}): "
        + ("PASS" if ok else "FAIL")
    )
    from airmodel.provenance import provenance

    write_json(
        a.out,
        {
            "benchmark": "federated_memory",
            "provenance": provenance(0, "cpu"),  # the config's seed
            "config": "configs/feel_quickstart.yaml shrunk (see docstring)",
            "snr_db": a.snr_db,
            "channel": a.channel,
            "machine": machine(),
            "load_avg": os.getloadavg(),
            "rows": rows,
            "growth_mb_per_round": growth,
            "target_mb_per_round": TARGET_MB_PER_ROUND,
            "pass": ok,
        },
    )


if __name__ == "__main__":
    main()
