"""Benchmark: Ray scale-out of a sweep (1 and 2 single-threaded workers) vs the local 2-thread run.

Issue #3's ResNet-20 protocol (configs/cifar10_resnet20_awgn.yaml: ML, MMSE,
MMSE_pb fitted on kappa = 100 validation images, ML + batch-norm
recalibration on 500 images; 1,000 test images) on ``--points`` of its 16
Es/N0 points x ``--draws`` of its 5 draws (default: all 16 points, 1 draw =
1/5 of the protocol, 16 trials). In one process, one after another:

* ``ray 1`` / ``ray 2``: a private Ray cluster with 1 or 2 CPUs, one task per
  trial (``cpus_per_trial=1``, one torch thread), the shared context put once;
* ``local 2-thread``: :func:`run_trial` in this process, two torch threads.

Reported: wall seconds (cluster start and worker warm-up excluded: each
worker first imports airmodel and fetches the shared context, timed
separately; the object-store put of the timed map included), trials/s, speed-up of 2 workers over 1 (target >= 1.7x), the ratio
to the local 2-thread run, per-task overhead (wall x workers minus the
trials' own compute time, per trial; and a no-op task's round trip), peak RSS
per worker, the load average (the 2 cores are shared), and whether the Ray
runs' rows equal each other bit for bit (both one thread per trial).

    python benchmarks/scale_out.py --data-root ../shared/datasets/cifar10-jpeg.tar.gz
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import ray
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airmodel.builder import build_data, build_link, build_model  # noqa: E402
from airmodel.config import load_config  # noqa: E402
from airmodel.evaluation.sweep import SweepPlan, TrialContext, run_trial  # noqa: E402
from airmodel.execution.ray import RayBackend  # noqa: E402
from benchmarks._common import machine, peak_rss_mb, print_table, write_json  # noqa: E402


def timed_trial(ctx: TrialContext, trial: object) -> dict:
    """:func:`run_trial` plus where and how long it ran and the worker's peak RSS."""
    t0 = time.perf_counter()
    rows = run_trial(ctx, trial)
    return {
        "rows": rows,
        "seconds": time.perf_counter() - t0,
        "pid": os.getpid(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def noop(ctx: TrialContext, trial: int) -> int:
    """A task that does nothing: its round trip is Ray's per-task cost."""
    return trial


def warm(ctx: TrialContext, trial: int) -> int:
    """Hold a worker for 1 s, so that every worker imports and fetches the context."""
    time.sleep(1.0)
    return os.getpid()


def _strip(rows: list[dict]) -> list[dict]:
    rows = [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
    return sorted(rows, key=lambda r: (r["esno_db"], r["draw"], r["denoiser"]))


def ray_case(ctx: TrialContext, trials: list, workers: int) -> tuple[dict, list]:
    """Run the trials on a fresh ``workers``-CPU cluster; (table row, rows)."""
    t0 = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=workers,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=512 * 1024**2,
    )
    start_s = time.perf_counter() - t0
    load0 = os.getloadavg()[0]
    backend = RayBackend(cpus_per_trial=1)
    t0 = time.perf_counter()
    pids = {p for _, p in backend.map(warm, range(2 * workers), ctx)}
    warm_s = time.perf_counter() - t0 - 2.0  # minus the sleeps per worker
    t0 = time.perf_counter()
    results = [r for _, r in backend.map(timed_trial, trials, ctx)]
    wall = time.perf_counter() - t0
    n = 200
    t0 = time.perf_counter()
    list(backend.map(noop, range(n), ctx))
    noop_ms = (time.perf_counter() - t0) / n * 1e3 * workers
    ray.shutdown()
    busy = sum(r["seconds"] for r in results)
    peak: dict[int, float] = {}
    for r in results:
        peak[r["pid"]] = max(peak.get(r["pid"], 0.0), r["peak_rss_mb"])
    row = {
        "case": f"ray {workers}",
        "workers": workers,
        "torch_threads": 1,
        "wall_s": wall,
        "trials_per_s": len(trials) / wall,
        "overhead_ms_per_task": (wall * workers - busy) / len(trials) * 1e3,
        "noop_task_ms": noop_ms,
        "peak_rss_mb_per_worker": max(peak.values()),
        "workers_used": len(peak),
        "cluster_start_s": start_s,
        "worker_warmup_s": warm_s,
        "workers_warmed": len(pids),
        "load_avg_1min_before": load0,
    }
    return row, [x for r in results for x in r["rows"]]


def main() -> None:
    """Parse arguments, run the three cases, print the table and write JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default="../shared/datasets/cifar10-jpeg.tar.gz")
    p.add_argument("--config", default="configs/cifar10_resnet20_awgn.yaml")
    p.add_argument("--points", type=int, default=16, help="first N Es/N0 points")
    p.add_argument("--draws", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/scale_out.json")
    a = p.parse_args()
    cfg = load_config(
        a.config,
        [
            "data.dataset=image_folder",
            f"data.root={a.data_root}",
            f"sweep.draws={a.draws}",
            "evaluation.device=cpu",
        ],
    )
    points = cfg.sweep.snr_db[: a.points]
    device = torch.device("cpu")
    model, _ = build_model(cfg, device)
    data = build_data(cfg, device)
    ctx = TrialContext.build(
        build_link(cfg), model, {"test": data.test, "validation": data.validation},
        cfg.receiver.denoisers, cfg.receiver.lam_grid, cfg.receiver.beta_grid,
    )  # fmt: skip
    trials = SweepPlan(points, a.draws, cfg.seed).trials()
    protocol = len(cfg.sweep.snr_db) * 5
    print(
        f"{len(trials)} trials ({len(points)} Es/N0 x {a.draws} draws = "
        f"{len(trials) / protocol:.0%} of issue #3's 80) x "
        f"{len(cfg.receiver.denoisers)} receivers, ResNet-20, "
        f"{len(data.test)} test images"
    )
    table, rows = [], {}
    for workers in (1, 2):
        row, rows[workers] = ray_case(ctx, trials, workers)
        table.append(row)
    torch.set_num_threads(2)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    local_rows = [x for t in trials for x in run_trial(ctx, t)]
    wall = time.perf_counter() - t0
    table.append(
        {
            "case": "local 2-thread",
            "workers": 1,
            "torch_threads": 2,
            "wall_s": wall,
            "trials_per_s": len(trials) / wall,
            "peak_rss_mb_per_worker": peak_rss_mb(),
            "load_avg_1min_before": load0,
        }
    )
    one, two, local = table
    summary = {
        "speedup_2_over_1": two["trials_per_s"] / one["trials_per_s"],
        "scaling_efficiency": two["trials_per_s"] / one["trials_per_s"] / 2,
        "ray2_over_local_2thread": two["trials_per_s"] / local["trials_per_s"],
        "ray_rows_equal": _strip(rows[1]) == _strip(rows[2]),
        "ray_rows_equal_local_2thread": _strip(rows[1]) == _strip(local_rows),
        "load_avg_end": os.getloadavg(),
    }
    print_table(
        table,
        ["case", "workers", "torch_threads", "wall_s", "trials_per_s",
         "overhead_ms_per_task", "noop_task_ms", "worker_warmup_s",
         "peak_rss_mb_per_worker", "load_avg_1min_before"],
    )  # fmt: skip
    for k, v in summary.items():
        print(f"{k}: {v}")
    write_json(
        a.out,
        {
            "benchmark": "scale_out",
            "machine": machine(),
            "args": vars(a),
            "trials": len(trials),
            "fraction_of_protocol": len(trials) / protocol,
            "rows": table,
            "summary": summary,
        },
    )


if __name__ == "__main__":
    main()
