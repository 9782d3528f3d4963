"""Benchmark: CPU scoring and training with and without ``keep_freed_memory``.

Each setting runs in its own process (the malloc setting is process-wide and
sticky), alternating off/on ``--rounds`` times. Per process: Scorer images/s
on ``--n`` images (ResNet-20, batch 128), minor page faults and system seconds
per pass, and SGD training images/s (batch 128, channels_last).
Usage: python benchmarks/allocator.py [--data cifar10-jpeg.tar.gz] [--steps 150]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

CASES = ("off", "on")


def run_case(case: str, a: argparse.Namespace) -> dict:
    """One setting, in this (fresh) process."""
    os.environ["AIRMODEL_KEEP_FREED_MEMORY"] = "1" if case == "on" else "0"
    import resource

    import numpy as np
    import torch

    sys.path.insert(0, ".")
    from airmodel.allocator import keep_freed_memory
    from airmodel.data import DatasetInfo, load_dataset
    from airmodel.data.info import CIFAR10_MEAN, CIFAR10_STD
    from airmodel.evaluation import Scorer
    from airmodel.models import get_model
    from benchmarks._common import peak_rss_mb

    torch.set_num_threads(a.threads)
    applied = keep_freed_memory()
    if a.data:
        x, y, info = load_dataset("image_folder", a.data, "test")
        x, y = x[: a.n], y[: a.n]
    else:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (a.n, 32, 32, 3), dtype=np.uint8)
        y = rng.integers(0, 10, a.n)
        info = DatasetInfo("random", 10, 3, CIFAR10_MEAN, CIFAR10_STD, (32, 32))
    model = get_model("resnet20")
    scorer = Scorer(x, y, info, "cpu", 128)
    scorer.accuracy(model)
    ru0, times = resource.getrusage(resource.RUSAGE_SELF), []
    for _ in range(a.passes):
        t0 = time.perf_counter()
        scorer.accuracy(model)
        times.append(time.perf_counter() - t0)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)

    model.train().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    xb, yb = scorer.x[:128], scorer.y[:128]

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    return {
        "keep_freed_memory": case == "on", "applied": applied,
        "images_per_s": len(y) / float(np.median(times)),
        "best_images_per_s": len(y) / min(times),
        "minor_faults_per_pass": (ru1.ru_minflt - ru0.ru_minflt) / a.passes,
        "sys_s_per_pass": (ru1.ru_stime - ru0.ru_stime) / a.passes,
        "train_images_per_s": a.steps * 128 / (time.perf_counter() - t0),
        "max_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None, help="image-folder root (test split)")
    p.add_argument("--n", type=int, default=10_000, help="images to score")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--passes", type=int, default=4, help="timed scoring passes")
    p.add_argument("--steps", type=int, default=30, help="timed training steps")
    p.add_argument("--rounds", type=int, default=2, help="off/on process pairs")
    p.add_argument("--out", default="benchmarks/results/allocator.json")
    p.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.case:  # the child process runs one setting
        import json

        print(json.dumps(run_case(a.case, a)))
        return
    sys.path.insert(0, ".")
    import numpy as np

    from benchmarks._common import machine, print_table, run_cases, write_json

    args = [
        "--n", str(a.n), "--threads", str(a.threads), "--passes", str(a.passes),
        "--steps", str(a.steps), *(["--data", a.data] if a.data else []),
    ]  # fmt: skip
    rows = run_cases(__file__, list(CASES) * a.rounds, args)
    print_table(
        rows,
        ["keep_freed_memory", "images_per_s", "best_images_per_s",
         "minor_faults_per_pass", "sys_s_per_pass", "train_images_per_s",
         "max_rss_mb"],
    )  # fmt: skip
    speedup = {
        k: float(
            np.median([r[k] for r in rows if r["keep_freed_memory"]])
            / np.median([r[k] for r in rows if not r["keep_freed_memory"]])
        )
        for k in ("images_per_s", "train_images_per_s")
    }
    print(f"speed-up (median on / median off): scoring {speedup['images_per_s']:.2f}x, "
          f"training {speedup['train_images_per_s']:.2f}x")  # fmt: skip
    write_json(
        a.out,
        {
            "machine": machine(), "threads": a.threads, "n": a.n,
            "passes": a.passes, "steps": a.steps,
            "data": a.data or "random uint8, CIFAR shape", "rows": rows,
            "speedup": speedup, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )  # fmt: skip
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
