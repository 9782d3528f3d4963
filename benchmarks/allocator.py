"""Benchmark: CPU scoring and training with and without ``keep_freed_memory``.

Each setting runs in its own process (the malloc setting is process-wide and
sticky), alternating off/on ``--rounds`` times. Per process: Scorer images/s
on ``--n`` images (ResNet-20, batch 128), minor page faults and system seconds
per pass, and SGD training images/s (batch 128, channels_last).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from airmodel.allocator import keep_freed_memory
from airmodel.data import DatasetInfo, load_dataset
from airmodel.data.info import CIFAR10_MEAN, CIFAR10_STD
from airmodel.evaluation import Scorer
from airmodel.models import get_model
a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
applied = keep_freed_memory()
if a["data"]:
    x, y, info = load_dataset("image_folder", a["data"], "test")
    x, y = x[: a["n"]], y[: a["n"]]
else:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (a["n"], 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, a["n"])
    info = DatasetInfo("random", 10, 3, CIFAR10_MEAN, CIFAR10_STD, (32, 32))
model = get_model("resnet20")
scorer = Scorer(x, y, info, "cpu", 128)
scorer.accuracy(model)
ru0, times = resource.getrusage(resource.RUSAGE_SELF), []
for _ in range(a["passes"]):
    t0 = time.perf_counter(); scorer.accuracy(model); times.append(time.perf_counter() - t0)
ru1 = resource.getrusage(resource.RUSAGE_SELF)
model.train().to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
xb, yb = scorer.x[:128], scorer.y[:128]
def step():
    loss = torch.nn.functional.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
for _ in range(3): step()
t0 = time.perf_counter()
for _ in range(a["steps"]): step()
train = a["steps"] * 128 / (time.perf_counter() - t0)
print(json.dumps({
    "applied": applied, "images_per_s": len(y) / float(np.median(times)),
    "best_images_per_s": len(y) / min(times),
    "minor_faults_per_pass": (ru1.ru_minflt - ru0.ru_minflt) / a["passes"],
    "sys_s_per_pass": (ru1.ru_stime - ru0.ru_stime) / a["passes"],
    "train_images_per_s": train, "max_rss_mb": ru1.ru_maxrss / 1024,
}))
"""


def run_child(setting: str, args: argparse.Namespace) -> dict:
    """One process with ``AIRMODEL_KEEP_FREED_MEMORY`` = ``setting``."""
    env = {**os.environ, "AIRMODEL_KEEP_FREED_MEMORY": setting}
    child_args = {
        k: getattr(args, k) for k in ("threads", "data", "n", "passes", "steps")
    }
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(child_args)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a table, write JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None, help="image-folder root (test split)")
    p.add_argument("--n", type=int, default=10_000, help="images to score")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--passes", type=int, default=4, help="timed scoring passes")
    p.add_argument("--steps", type=int, default=30, help="timed training steps")
    p.add_argument("--rounds", type=int, default=2, help="off/on process pairs")
    p.add_argument("--out", default="benchmarks/results/allocator.json")
    args = p.parse_args(argv)
    rows = []
    for r in range(args.rounds):
        for setting in ("0", "1"):
            row = {"round": r, "keep_freed_memory": setting == "1"}
            row.update(run_child(setting, args))
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    print(f"{'keep_freed':<11} {'score img/s':>11} {'best':>6} {'faults/pass':>12} "
          f"{'sys s/pass':>10} {'train img/s':>11} {'RSS MB':>7}")  # fmt: skip
    for r in rows:
        print(
            f"{r['keep_freed_memory']!s:<11} {r['images_per_s']:>11.0f} "
            f"{r['best_images_per_s']:>6.0f} {r['minor_faults_per_pass']:>12.0f} "
            f"{r['sys_s_per_pass']:>10.2f} {r['train_images_per_s']:>11.0f} "
            f"{r['max_rss_mb']:>7.0f}"
        )
    on = [r for r in rows if r["keep_freed_memory"]]
    off = [r for r in rows if not r["keep_freed_memory"]]
    speedup = {
        k: float(np.median([a[k] for a in on]) / np.median([b[k] for b in off]))
        for k in ("images_per_s", "train_images_per_s")
    }
    print(f"speed-up (median on / median off): scoring {speedup['images_per_s']:.2f}x, "
          f"training {speedup['train_images_per_s']:.2f}x")  # fmt: skip
    result = {
        "threads": args.threads, "n": args.n, "passes": args.passes,
        "data": args.data or "random uint8, CIFAR shape", "rows": rows,
        "speedup": speedup, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
