"""Benchmark: write cost per row of the results store, journal vs rewrite-everything.

A synthetic sweep appends ``--rows`` rows (15 columns, like a sweep row) to a
:class:`~airmodel.evaluation.results.ResultsFolder` (journal line + fsync per
row; results.json/csv views rewritten every 30 s and on close) and records
each ``add``'s time. The per-row cost is reported over the ``--window`` rows
before 1k, 10k and 100k rows. Baseline in the same run: the store before the
journal (every row rewrote results.json and results.csv through a temporary
file with fsync), measured on ``--old-samples`` rows added to a folder already
holding 1k / 10k / 100k rows (bounded: it costs seconds per row there).
Usage: python benchmarks/results_store.py [--rows 100000] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airmodel.evaluation.results import ResultsFolder, to_csv  # noqa: E402
from airmodel.provenance import write_atomic  # noqa: E402
from benchmarks._common import machine, print_table, write_json  # noqa: E402

SIZES = (1_000, 10_000, 100_000)


def row(i: int) -> dict:
    """A sweep-like row (key: esno_db, draw, denoiser)."""
    return {
        "esno_db": float(i // 600), "draw": (i // 6) % 100,
        "denoiser": f"mmse_pb[validation]#{i % 6}", "seed": 1234567890123 + i,
        "wnr_db": 3.21 + i * 1e-6, "weight_mse": 1.5e-4, "accuracy": 0.9123,
        "lam": 1.0, "beta": -1.2, "evaluations": 299, "select_score": 0.91,
        "recalibrate": 0, "noise_var": 0.0123, "num_air": 270000, "seconds": 1.23,
    }  # fmt: skip


def old_add(path: Path, rows: list[dict], r: dict) -> None:
    """The pre-journal store's add: rewrite both files atomically (fsync each)."""
    rows.append(r)
    write_atomic(
        path / "results.json", json.dumps({"meta": {}, "rows": rows}, indent=2)
    )
    write_atomic(path / "results.csv", to_csv(rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--window", type=int, default=500)
    p.add_argument("--old-samples", type=int, default=3)
    p.add_argument("--dir", default=None, help="where the folders go (a real disk)")
    a = p.parse_args()
    sizes = [n for n in SIZES if n <= a.rows]
    root = Path(tempfile.mkdtemp(prefix="results_store_", dir=a.dir))
    key = ("esno_db", "draw", "denoiser")

    times = []
    t_all = time.perf_counter()
    with ResultsFolder(root / "new", {"bench": 1}, key) as f:
        for i in range(a.rows):
            t0 = time.perf_counter()
            f.add(row(i))
            times.append(time.perf_counter() - t0)
        t_close = time.perf_counter()
    close_s = time.perf_counter() - t_close
    total_s = time.perf_counter() - t_all

    out = []
    for n in sizes:
        w = times[max(0, n - a.window) : n]
        old_path = root / f"old{n}"
        old_path.mkdir()
        rows = [row(i) for i in range(n - a.old_samples)]
        old = []
        for i in range(n - a.old_samples, n):
            t0 = time.perf_counter()
            old_add(old_path, rows, row(i))
            old.append(time.perf_counter() - t0)
        new_ms = 1e3 * statistics.mean(w)
        out.append({
            "rows": n, "new_ms_per_row": new_ms,
            "new_p50_ms": 1e3 * statistics.median(w), "new_max_ms": 1e3 * max(w),
            "old_ms_per_row": 1e3 * statistics.mean(old),
            "old_samples": len(old), "speedup": statistics.mean(old) * 1e3 / new_ms,
        })  # fmt: skip
    print(f"results store: {a.rows} rows in {total_s:.1f} s (close: {close_s:.2f} s)")
    print_table(out, list(out[0]))
    write_json(
        Path(__file__).parent / "results" / "results_store.json",
        {
            "machine": machine(), "rows": a.rows, "window": a.window,
            "total_s": total_s, "close_s": close_s, "table": out,
        },
    )  # fmt: skip
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
