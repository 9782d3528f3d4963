"""Analog AWGN link throughput for a ResNet-18-sized payload vs a bare numpy baseline.

Each case runs in a fresh subprocess so its peak RSS is its own.
Usage: python benchmarks/link_throughput.py [--weights 11200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time

CASES = ("numpy_baseline", "airmodel_link")


def run_case(case: str, n: int, repeats: int) -> dict:
    import numpy as np
    import torch

    sys.path.insert(0, ".")
    from benchmarks._common import peak_rss_mb

    torch.set_num_threads(torch.get_num_threads())
    times = []
    if case == "numpy_baseline":
        rng = np.random.default_rng(0)
        w = rng.standard_normal(n, dtype=np.float32) * 0.05
        v = 1e-4
        for _ in range(repeats):
            t0 = time.perf_counter()
            y = w + np.sqrt(v) * rng.standard_normal(n)
            times.append(time.perf_counter() - t0)
        del y
    else:
        from airmodel.link import Link
        from airmodel.receiver.denoiser import MMSE

        g = torch.Generator().manual_seed(0)
        sd = {
            f"layer{i}.weight": torch.randn(n // 4, generator=g) * 0.05
            for i in range(4)
        }
        link = Link("awgn", denoiser=MMSE())
        link(sd, 10.0, seed=0)  # warm-up
        for r in range(repeats):
            t0 = time.perf_counter()
            sd_hat, _ = link(
                sd, 10.0, seed=r
            )  # flatten→modulate→AWGN→demod→MMSE→unflatten
            times.append(time.perf_counter() - t0)
    best = min(times)
    return {
        "case": case,
        "weights": n,
        "best_s": best,
        "weights_per_s": n / best,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--weights", type=int, default=11_200_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benchmarks/results/link_throughput.json")
    p.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    a = p.parse_args()
    sys.path.insert(0, ".")
    from benchmarks._common import machine, print_table, weight_cases, write_json

    rows = weight_cases(__file__, a, run_case, list(CASES))
    if rows is None:  # the child process ran one case
        return
    ratio = rows[1]["weights_per_s"] / rows[0]["weights_per_s"]
    for r in rows:
        r["vs_baseline"] = r["weights_per_s"] / rows[0]["weights_per_s"]
    print_table(
        rows,
        ["case", "weights", "best_s", "weights_per_s", "peak_rss_mb", "vs_baseline"],
    )
    verdict = "PASS" if ratio >= 0.25 else "FAIL"
    print(f"target: link >= 0.25 x baseline -> {ratio:.2f} x ({verdict})")
    write_json(
        a.out,
        {
            "machine": machine(),
            "threads": a.threads,
            "rows": rows,
            "ratio": ratio,
            "target": 0.25,
            "pass": ratio >= 0.25,
        },
    )


if __name__ == "__main__":
    main()
