"""Analog link throughput over fading: AWGN baseline, Rayleigh block fading, TDL OFDM + LS.

A ResNet-18-sized payload goes through Link(channel, MMSE()): flatten, modulate,
channel, equalize, demodulate, heteroscedastic MMSE, unflatten. Each case runs in
a fresh subprocess so its peak RSS is its own.
Usage: python benchmarks/fading_throughput.py [--weights 11200000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import time

CASES = ("awgn", "rayleigh_block1024", "tdl_c_ls")
TARGET_TDL_S = 10.0


def make_channel(case: str):
    from airmodel.channels import RayleighChannel, TDLChannel

    if case == "awgn":
        return "awgn"
    if case == "rayleigh_block1024":
        return RayleighChannel(block_length=1024)
    return TDLChannel(
        "C", delay_spread=300e-9, carrier_frequency=3.5e9, max_speed=3.0, csi="ls"
    )


def run_case(case: str, n: int, repeats: int) -> dict:
    import torch

    sys.path.insert(0, ".")
    from airmodel.link import Link
    from airmodel.receiver.denoiser import MMSE
    from benchmarks._common import peak_rss_mb

    g = torch.Generator().manual_seed(0)
    sd = {f"layer{i}.weight": torch.randn(n // 4, generator=g) * 0.05 for i in range(4)}
    link = Link(make_channel(case), denoiser=MMSE())
    link({"w": sd["layer0.weight"][:100_000]}, 10.0, seed=0)  # warm-up, small
    times, mse = [], None
    for r in range(repeats):
        t0 = time.perf_counter()
        _, stats = link(sd, 10.0, seed=r)
        times.append(time.perf_counter() - t0)
        mse = stats.weight_mse
    best = min(times)
    return {
        "case": case,
        "weights": n,
        "best_s": best,
        "weights_per_s": n / best,
        "peak_rss_mb": peak_rss_mb(),
        "weight_mse_10db": mse,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--weights", type=int, default=11_200_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/results/fading_throughput.json")
    p.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    a = p.parse_args()
    sys.path.insert(0, ".")
    from benchmarks._common import machine, print_table, weight_cases, write_json

    rows = weight_cases(__file__, a, run_case, list(CASES))
    if rows is None:  # the child process ran one case
        return
    for r in rows:
        r["vs_awgn"] = r["best_s"] / rows[0]["best_s"]
    print_table(
        rows,
        [
            "case",
            "weights",
            "best_s",
            "weights_per_s",
            "peak_rss_mb",
            "weight_mse_10db",
            "vs_awgn",
        ],
    )
    tdl_s = rows[-1]["best_s"]
    ok = tdl_s <= TARGET_TDL_S
    print(
        f"target: TDL+LS <= {TARGET_TDL_S:.0f} s -> {tdl_s:.2f} s ({'PASS' if ok else 'FAIL'})"
    )
    write_json(
        a.out,
        {
            "machine": machine(),
            "threads": a.threads,
            "rows": rows,
            "target_tdl_s": TARGET_TDL_S,
            "pass": ok,
        },
    )


if __name__ == "__main__":
    main()
